package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// The browser suite (http/browser): weft's web UI driven in Debian's
// chromium by playwright-core, against a real server on an embedded store
// filled by weft gen. TestBrowser prepares the server and runs the suite;
// the suite's scripts say what each step checks.
//
// Without node, /usr/bin/chromium or http/browser/node_modules (npm ci)
// the test is skipped — unless WEFT_BROWSER_TESTS=required (as .ci/run
// sets it), when it fails instead, so that CI cannot pass without it.

// chromiumPath is Debian's chromium, the browser the suite drives.
const chromiumPath = "/usr/bin/chromium"

// browserSuiteDir is the suite, relative to this package.
var browserSuiteDir = filepath.Join("..", "..", "http", "browser")

// xssPayloads are put into alert titles, descriptions, command lines, URLs
// and entity names; the suite fails if any of them runs. Each sets
// window.__xss or opens a dialog when it runs.
var xssPayloads = []string{
	`<script>window.__xss='script'</script>`,
	`<img src=x onerror="window.__xss='img'">`,
	`"><svg onload="window.__xss='svg'">`,
	`javascript:window.__xss='url';alert(1)`,
	`</title><script>alert('title')</script>`,
}

func TestBrowser(t *testing.T) {
	required := os.Getenv("WEFT_BROWSER_TESTS") == "required"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf("WEFT_BROWSER_TESTS=required, but "+format, args...)
		}
		t.Skipf(format+" (set WEFT_BROWSER_TESTS=required to make this a failure)", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not installed")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		unavailable("%s is missing: apt-get install chromium", chromiumPath)
	}
	suite, err := filepath.Abs(browserSuiteDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core", "package.json")); err != nil {
		unavailable("playwright-core is not installed: run npm ci in %s", suite)
	}
	artifacts := os.Getenv("WEFT_BROWSER_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(suite, "artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	weftCmd := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		var err error
		if args[0] == "admin" {
			err = admin(ctx, args[1:], strings.NewReader(stdin), &out, &errb)
		} else {
			err = run(ctx, args, &out, &errb)
		}
		if err != nil {
			t.Fatalf("weft %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	// The demo's scenario over the last day: the multi-stage attack
	// (the showcase phish-chain), smaller attacks and benign noise.
	alerts := filepath.Join(dir, "alerts.ndjson")
	weftCmd("", "gen", "--seed", "1", "--attacks", "4", "--noise", "450", "--users", "1000", "--devices", "1050",
		"--days", "1", "--now", time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "--templates", "spray-bec,commodity", alerts)
	weftCmd("", "ingest", "--data", data, alerts)
	const password = "correct horse battery staple"
	weftCmd(password+"\n", "admin", "create-user", "--data", data, "--name", "ana", "--role", "analyst", "--password-stdin")
	// A user with a one-time password, as weft demo makes: the suite
	// changes it at the first sign-in.
	oneTime := strings.TrimSpace(weftCmd("", "admin", "create-user", "--data", data, "--name", "olivia", "--role", "analyst"))
	// Two responders for the response flow (respond.test.js): one
	// requests, the other approves, as the approval policy demands.
	for _, name := range []string{"rhea", "remy"} {
		weftCmd(password+"\n", "admin", "create-user", "--data", data, "--name", name, "--role", "responder", "--password-stdin")
	}
	token := storeToken(t, data)

	rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: data, Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs.Shutdown(sctx)
	}()
	xssIncident := ingestXSS(t, rs.URL, token)
	demo := startDemo(t, filepath.Join(dir, "demo"))

	nctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(nctx, node, "--test", "--test-concurrency=1", "--test-reporter=spec", "tests/")
	cmd.Dir = suite
	cmd.Env = append(os.Environ(),
		"WEFT_URL="+rs.URL, "WEFT_TOKEN="+token,
		"WEFT_USER=ana", "WEFT_PASSWORD="+password,
		"WEFT_ONE_TIME_USER=olivia", "WEFT_ONE_TIME_PASSWORD="+oneTime,
		"WEFT_XSS_INCIDENT="+xssIncident,
		"WEFT_RESPONDER_A=rhea", "WEFT_RESPONDER_B=remy",
		"WEFT_ARTIFACTS="+artifacts,
		"WEFT_CHROMIUM="+chromiumPath,
		"WEFT_DEMO_UI="+demo.ui, "WEFT_DEMO_USER="+demo.user, "WEFT_DEMO_PASSWORD="+demo.password,
		"WEFT_DEMO_TOKEN="+demo.token, "WEFT_DEMO_TOP="+demo.top,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser suite (screenshots in %s):\n%s", artifacts, out)
	if err != nil {
		t.Fatalf("the browser suite failed: %v", err)
	}
}

// demoRun is weft demo running for the suite's demo.test.js, with what it
// printed for the user.
type demoRun struct {
	ui, user, password, token, top string
}

// startDemo runs weft demo as the README has a new user run it (on a free
// port, its data kept in dir), waits until it has fed its alerts and says
// so, and reads the web UI's address, the account, the API token and the
// top incident from what it printed. The demo stops when the test ends.
func startDemo(t *testing.T, dir string) demoRun {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data", dir}, &out, &errb) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("weft demo: %v\n%s", err, errb.String())
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("weft demo ended before it was ready: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("weft demo is not ready after 2 minutes:\n%s", out.String())
		}
	}
	s := out.String()
	field := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("weft demo's output lacks %s:\n%s", re, s)
		}
		return m
	}
	account := field(`(?m)^  user +(\S+), one-time password (\S+) `)
	return demoRun{
		ui:       field(`(?m)^  web UI +(\S+)$`)[1],
		user:     account[1],
		password: account[2],
		token:    field(`(?m)^  API token +(weft_\S+) `)[1],
		top:      field(`(?m)^  top incident +\S+/incidents/(\d+) `)[1],
	}
}

// ingestXSS sends alerts whose every text a page shows carries a script
// payload, sharing one device so that they form one incident, and returns
// that incident's id.
func ingestXSS(t *testing.T, url, token string) string {
	t.Helper()
	p := xssPayloads
	now := time.Now().UTC()
	at := func(m int) string { return now.Add(time.Duration(m-30) * time.Minute).Format(time.RFC3339) }
	device := map[string]any{"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "xss0000000000000000000000000000000000001",
		"deviceDnsName": "xss-host.contoso.com", "hostName": "xss-host", "roles": []string{"compromised"}}
	alerts := []map[string]any{
		{"source": "browser-test", "providerAlertId": "xss-1", "title": "XSS title " + p[0], "description": p[1], "severity": "high",
			"category": "Execution " + p[2], "serviceSource": "microsoftDefenderForEndpoint", "detectionSource": "antivirus",
			"firstActivityDateTime": at(0), "lastActivityDateTime": at(0),
			"evidence": []any{device,
				map[string]any{"@odata.type": "#microsoft.graph.security.processEvidence", "processId": 4242, "processCommandLine": "powershell -enc " + p[0] + p[1],
					"imageFile": map[string]any{"fileName": "evil" + p[1] + ".exe", "filePath": `C:\temp`}, "mdeDeviceId": "xss0000000000000000000000000000000000001"},
				map[string]any{"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": map[string]any{"accountName": "eve" + p[2], "domainName": "contoso", "userPrincipalName": "eve@contoso.com", "displayName": p[4]}},
			}},
		{"source": "browser-test", "providerAlertId": "xss-2", "title": p[1] + " malicious URL click", "severity": "high",
			"category": "InitialAccess", "serviceSource": "microsoftDefenderForOffice365", "detectionSource": "microsoftDefenderForOffice365",
			"firstActivityDateTime": at(5), "lastActivityDateTime": at(5),
			"evidence": []any{device,
				map[string]any{"@odata.type": "#microsoft.graph.security.urlEvidence", "url": p[3]},
				map[string]any{"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://evil.example/" + p[0]},
				map[string]any{"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": map[string]any{"fileName": p[2] + ".docm", "sha256": strings.Repeat("ab", 32)}, "verdict": "malicious", "remediationStatus": "prevented", "remediationStatusDetails": p[0]},
			}},
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	resp := apiRequest(t, "POST", url+"/api/v1/alerts", token, "application/json", bytes.NewReader(body))
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 || bytes.Contains(raw, []byte(`"rejected":[{`)) {
		t.Fatalf("ingesting the XSS alerts: %d %s", resp.StatusCode, raw)
	}
	// The alerts are correlated as they are committed; wait for the
	// incident of the first (at most a few seconds on a loaded machine).
	id := weft.AlertID(weft.DefaultTenantID, "browser-test", "xss-1")
	deadline := time.Now().Add(30 * time.Second)
	for {
		inc, err := alertIncident(t, url, token, id)
		if err == nil && inc != "" {
			return inc
		}
		if time.Now().After(deadline) {
			t.Fatalf("the XSS alert %s has no incident after 30 s: %v", id, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func alertIncident(t *testing.T, url, token, alertID string) (string, error) {
	resp := apiRequest(t, "GET", url+"/api/v1/alerts/"+alertID, token, "", nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("GET alert: %d %s", resp.StatusCode, raw)
	}
	var a struct {
		IncidentID string `json:"incidentId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return "", err
	}
	if a.IncidentID == "" || a.IncidentID == "0" {
		return "", errors.New("not correlated yet")
	}
	return a.IncidentID, nil
}
