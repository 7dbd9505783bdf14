package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/sqlite"
)

// Every API request needs credentials. A test that starts a server gets an
// admin token with it, made through the server's store, and passes it to the
// commands under test (--token) and to its own requests (apiRequest).

// startTestServer starts a server on cfg — a temporary data directory, a
// free port and synchronous=normal unless cfg says otherwise — and returns
// it with an admin API token. The caller shuts the server down.
func startTestServer(t *testing.T, cfg serverConfig) (*runningServer, string) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Synchronous == "" {
		cfg.Synchronous = "normal"
	}
	rs, err := startServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	token, err := rs.adminToken(context.Background(), "test")
	if err != nil {
		rs.Shutdown(context.Background())
		t.Fatal(err)
	}
	return rs, token
}

// storeToken creates an admin API token in the data directory dir (made
// if missing) before any server runs on it, and returns it.
func storeToken(t *testing.T, dir string) string {
	t.Helper()
	store, err := openStore(dir, "normal", correlate.Policies{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, token, err := store.CreateToken(context.Background(), &weft.Token{
		Name: "test", Grants: []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}}, CreatedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// apiRequest sends a request with token (none when "") and returns the
// answer; body may be nil. The caller closes the answer's body.
func apiRequest(t *testing.T, method, url, token, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	setToken(req, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestDemo runs the demo on a kept data directory: it feeds its server with
// credentials, and the password and token it prints are those of an admin.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"demo", "--exit", "--addr", "127.0.0.1:0", "--data", dir}, &out, &errb)
	if err != nil {
		t.Fatalf("demo: %v\nstderr: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"weft demo: feeding", "(0 rejected)", "Top of the queue", "/api/v1/incidents", "export WEFT_URL="} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	m := regexp.MustCompile(`user +demo, one-time password (\S+) `).FindStringSubmatch(s)
	tok := regexp.MustCompile(`API token +(weft_\S+)`).FindStringSubmatch(s)
	if m == nil || tok == nil {
		t.Fatalf("demo output lacks the user's password or the token:\n%s", s)
	}
	if n := strings.Count(s, tok[1]); n != 2 { // the token line and the export line
		t.Errorf("the token is printed %d times, want twice (the token, and the line to export it)", n)
	}
	if strings.Contains(errb.String(), tok[1]) || strings.Contains(errb.String(), m[1]) {
		t.Errorf("a credential reached standard error (the log):\n%s", errb.String())
	}
	store, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	u, err := store.Authenticate(context.Background(), "demo", m[1])
	if err != nil || !u.MustChangePassword {
		t.Errorf("signing in as demo with the printed password: %+v, %v; want a user who must change it", u, err)
	}
	p, err := store.TokenPrincipal(context.Background(), tok[1])
	if err != nil || weft.Authorize(p, weft.DefaultTenantID, weft.RoleAdmin) != nil {
		t.Errorf("the printed token: %+v, %v; want an admin", p, err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, c := range commands() {
			if !strings.Contains(out.String(), c.name) {
				t.Errorf("%v: usage does not list %s", args, c.name)
			}
		}
	}
	for _, c := range commands() {
		var out bytes.Buffer
		err := run(context.Background(), []string{c.name, "--help"}, &out, &out)
		if err == nil || !strings.Contains(out.String(), "Usage: weft "+c.name) {
			t.Errorf("%s --help: err %v, output %q; want flag.ErrHelp and a usage text", c.name, err, out.String())
		}
	}
	if err := run(context.Background(), []string{"nonsense"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("an unknown command gave no error")
	}
}

func TestIngestCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "alerts.ndjson")
	body := string(crashBatch(0, 3)) + "{\"source\":\"crashtest\",\"providerAlertId\":\"bad\",\"title\":\"t\",\"severity\":\"severe\"}\n" + string(crashBatch(3, 2))
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("DataDir", func(t *testing.T) {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"ingest", "--data", dir, file}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "1 records rejected") {
			t.Fatalf("got %v, want an error saying 1 record was rejected", err)
		}
		if !strings.Contains(out.String(), "6 records: 5 stored") || !strings.Contains(errb.String(), "line 4: rejected: severity:") {
			t.Fatalf("stdout %q stderr %q: want 5 stored and line 4 rejected", out.String(), errb.String())
		}
		store, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		page, err := store.ListAlerts(context.Background(), weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true})
		if err != nil || page.Count != 5 {
			t.Fatalf("store holds %d alerts (%v), want 5", page.Count, err)
		}
	})

	t.Run("URLInBatches", func(t *testing.T) {
		rs, token := startTestServer(t, serverConfig{})
		defer rs.Shutdown(context.Background())
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"ingest", "--url", rs.URL, "--token", token, "--batch", "2", file}, &out, &errb)
		if err == nil || !strings.Contains(out.String(), "6 records: 5 stored") {
			t.Fatalf("err %v, stdout %q: want 5 stored and an error for the rejected one", err, out.String())
		}
		// Line numbers are those of the file, not of the batch.
		if !strings.Contains(errb.String(), "line 4: rejected: severity:") {
			t.Fatalf("stderr %q: want line 4 reported", errb.String())
		}
	})
}

// TestShutdownFinishesInFlight sends SIGTERM while clients are ingesting:
// the server exits cleanly and every acknowledged alert is stored.
func TestShutdownFinishesInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the weft binary")
	}
	bin := buildWeft(t)
	dir := t.TempDir()
	token := storeToken(t, dir)
	url, cmd := startWeft(t, bin, dir)
	acked := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := 0; ; b++ {
			ans, err := postNDJSON(context.Background(), url, token, crashBatch(b*500, 500))
			if err != nil {
				return
			}
			for _, r := range ans.Results {
				acked[r.ID] = true
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("weft serve exited with %v after SIGTERM, want status 0", err)
	}
	<-done
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before SIGTERM; the test proves nothing")
	}
	url, _ = startWeft(t, bin, dir)
	seen := map[string]bool{}
	for _, id := range listAlertIDs(t, url, token) {
		seen[id] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged alert %s is missing after a clean shutdown", id)
		}
	}
}

// TestGenIngestEval runs the quality loop a detection engineer runs: generate
// a scenario with its truth, store it, and score weft and the baselines.
func TestGenIngestEval(t *testing.T) {
	dir := t.TempDir()
	alerts, truth, data := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "a.truth.csv"), filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--users", "500", "--attacks", "6", "--noise", "300", "--days", "2", alerts}, &out, &errb); err != nil {
		t.Fatalf("gen: %v %s", err, errb.String())
	}
	if _, err := os.Stat(truth); err != nil {
		t.Fatalf("gen wrote no truth file: %v", err)
	}
	if err := run(context.Background(), []string{"ingest", "--data", data, alerts}, &out, &errb); err != nil {
		t.Fatalf("ingest: %v %s", err, errb.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"eval", "--alerts", alerts, "--data", data, truth}, &out, &errb); err != nil {
		t.Fatalf("eval: %v %s", err, errb.String())
	}
	for _, want := range []string{"weft", "singletons", "same-detector-device-1h", "shared-identifier-24h", "pair F1", "ARI", "B-cubed F1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("eval output lacks %q:\n%s", want, out.String())
		}
	}
	// Every generated alert was stored and scored: none is missing from
	// weft's incidents or the baselines.
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "missing" || f[0] == "extra") {
			for _, v := range f[1:] {
				if v != "0" {
					t.Errorf("%s: %v, want all 0", f[0], f[1:])
				}
			}
		}
	}
}

func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	alerts := filepath.Join(dir, "a.ndjson")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--users", "500", "--attacks", "6", "--noise", "300", "--days", "2", alerts}, &out, &errb); err != nil {
		t.Fatalf("gen: %v %s", err, errb.String())
	}
	policy := filepath.Join(dir, "p.json")
	if err := os.WriteFile(policy, []byte(`{"noisyThreshold": 2, "strongWindow": "2h"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "part.csv")
	out.Reset()
	err := run(context.Background(), []string{"replay", "--compare", policy, "--truth", filepath.Join(dir, "a.truth.csv"), "--out", part, alerts}, &out, &errb)
	if err != nil {
		t.Fatalf("replay: %v %s", err, errb.String())
	}
	for _, want := range []string{"policy (windows 24h0m0s", "compared policy (windows 2h0m0s", "what the compared policy changes:", "pair F1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("replay output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(part); err != nil || !strings.HasPrefix(string(b), "alertId,incidentKey\n") {
		t.Fatalf("partition file: %v %q", err, b)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"hubThreshhold": 3}`), 0o600)
	if err := run(context.Background(), []string{"replay", "--policy", bad, alerts}, &out, &errb); err == nil || !strings.Contains(err.Error(), "hubThreshhold") {
		t.Fatalf("a misspelt setting: got %v, want an error naming it", err)
	}
}

func TestTokenFlags(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, empty := file("good", "weft_fromfile\n"), file("empty", " \n")
	for _, tc := range []struct {
		name                string
		token, tokenFile    string
		envToken, envFile   string
		want, wantErr, leak string
	}{
		{name: "None"},
		{name: "Flag", token: "weft_flag", envToken: "weft_env", want: "weft_flag"},
		{name: "File", tokenFile: good, envToken: "weft_env", want: "weft_fromfile"},
		{name: "Env", envToken: "weft_env", envFile: good, want: "weft_env"},
		{name: "EnvFile", envFile: good, want: "weft_fromfile"},
		{name: "ErrBoth", token: "weft_flag", tokenFile: good, wantErr: "--token and --token-file: give one of them"},
		{name: "ErrEmptyFile", tokenFile: empty, wantErr: "is empty"},
		{name: "ErrNoFile", envFile: filepath.Join(dir, "none"), wantErr: "WEFT_TOKEN_FILE: open"},
		{name: "ErrSpace", token: "weft_a secret", wantErr: "--token: the token holds a space", leak: "secret"},
		{name: "ErrNewline", envToken: "weft_a\r\nX-Injected: 1", wantErr: "WEFT_TOKEN: the token holds", leak: "Injected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WEFT_TOKEN", tc.envToken)
			t.Setenv("WEFT_TOKEN_FILE", tc.envFile)
			got, err := (&tokenFlags{token: tc.token, file: tc.tokenFile}).secret()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || tc.leak != "" && strings.Contains(err.Error(), tc.leak) {
					t.Fatalf("got %q, %v; want an error containing %q that does not repeat the token", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestCommandsWithoutValidToken runs every command that talks to a server
// without a token and with one the server does not know: each fails with
// the server's refusal and what to do, and never shows the token.
func TestCommandsWithoutValidToken(t *testing.T) {
	t.Setenv("WEFT_TOKEN", "")
	t.Setenv("WEFT_TOKEN_FILE", "")
	rs, token := startTestServer(t, serverConfig{})
	defer rs.Shutdown(context.Background())
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.ndjson")
	assets := filepath.Join(dir, "assets.json")
	if err := os.WriteFile(alerts, crashBatch(0, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(assets, []byte(assetFile), 0o600); err != nil {
		t.Fatal(err)
	}
	bogus := "weft_" + strings.Repeat("x7", 20) // well-formed, unknown to the server
	commands := map[string][]string{
		"IncidentsList": {"incidents", "list", "--url", rs.URL},
		"IncidentsShow": {"incidents", "show", "1", "--url", rs.URL},
		"AlertsMove":    {"alerts", "move", "wa1", "--new", "--comment", "c", "--url", rs.URL},
		"Ingest":        {"ingest", "--url", rs.URL, alerts},
		"IngestFollow":  {"ingest", "--follow", "--poll", "5ms", "--state", filepath.Join(dir, "state"), "--url", rs.URL, alerts},
		"AssetsImport":  {"assets", "import", "--url", rs.URL, assets},
	}
	for name, args := range commands {
		for _, cred := range []struct{ name, token string }{{"NoToken", ""}, {"UnknownToken", bogus}} {
			t.Run(name+"/"+cred.name, func(t *testing.T) {
				if cred.token != "" {
					t.Setenv("WEFT_TOKEN", cred.token)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				var out, errb bytes.Buffer
				err := run(ctx, args, &out, &errb)
				if ctx.Err() != nil {
					t.Fatalf("still running after 20 s: a refused token must stop the command, not be retried\nstderr: %s", errb.String())
				}
				if err == nil || !strings.Contains(err.Error(), "set WEFT_TOKEN") || !strings.Contains(err.Error(), "weft admin create-token") {
					t.Fatalf("got %v, want the server's refusal and what to do", err)
				}
				for where, s := range map[string]string{"the error": err.Error(), "stdout": out.String(), "stderr": errb.String()} {
					if strings.Contains(s, bogus) || strings.Contains(s, token) {
						t.Errorf("%s shows a token: %s", where, s)
					}
				}
			})
		}
	}

	t.Run("ErrRoleTooWeak", func(t *testing.T) {
		_, viewer, err := rs.store.CreateToken(context.Background(), &weft.Token{
			Name: "reader", Grants: []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleViewer}}, CreatedBy: "test",
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{commands["Ingest"], commands["AssetsImport"]} {
			var out, errb bytes.Buffer
			n := len(args) - 1 // the flags go before the FILE
			err := run(context.Background(), append(append(args[:n:n], "--token", viewer), args[n]), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "ask an admin for a token with the role needed") || strings.Contains(err.Error(), viewer) {
				t.Errorf("%s with a viewer's token: got %v, want the 403 and what to do", args[0], err)
			}
		}
	})

	t.Run("TokenFromEnvironmentAndFile", func(t *testing.T) {
		t.Setenv("WEFT_TOKEN", token)
		if _, errb, err := runCLI(testServer{URL: rs.URL}, "incidents", "list"); err != nil {
			t.Fatalf("WEFT_TOKEN: %v\n%s", err, errb)
		}
		t.Setenv("WEFT_TOKEN", "")
		file := filepath.Join(dir, "token")
		if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"ingest", "--url", rs.URL, "--token-file", file, alerts}, &out, &errb); err != nil {
			t.Fatalf("--token-file: %v\n%s", err, errb.String())
		}
	})

	t.Run("ErrCredentialsInURL", func(t *testing.T) {
		u := strings.Replace(rs.URL, "://", "://admin:"+bogus+"@", 1)
		_, _, err := runCLI(testServer{URL: u}, "incidents", "list")
		if err == nil || !strings.Contains(err.Error(), "carries credentials") || strings.Contains(err.Error(), bogus) {
			t.Fatalf("got %v, want the URL refused without repeating it", err)
		}
	})
}
