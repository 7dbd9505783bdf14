package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestActionsCLI drives weft actions against a server wired as weft serve
// wires one (the simulator connector, the worker running): request,
// deduplication, a refused self-approval, approval by another responder,
// the list, the log, undo and rejection.
func TestActionsCLI(t *testing.T) {
	rs, token := startTestServer(t, serverConfig{})
	t.Cleanup(func() { rs.Shutdown(context.Background()) })
	resp := apiRequest(t, http.MethodPost, rs.URL+"/api/v1/alerts", token, "application/x-ndjson", strings.NewReader(triageAlerts()))
	resp.Body.Close()
	_, second, err := rs.store.CreateToken(context.Background(), &weft.Token{Name: "bob",
		Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleResponder}}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	resp = apiRequest(t, http.MethodPut, rs.URL+"/api/v1/response/policy", token, "application/json",
		strings.NewReader(`{"requireApproval":["isolate","release"],"automationRequiresApproval":true}`))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("policy: status %d", resp.StatusCode)
	}
	alice, bob := testServer{URL: rs.URL, Token: token}, testServer{URL: rs.URL, Token: second}
	const target = "device.fqdn:ws-1.contoso.com"

	out := mustCLI(t, alice, "actions", "request", "isolate", target, "--param", "isolationType=selective", "--comment", "contain")
	if want := "Requested action 1: isolate on " + target + ", pendingApproval."; strings.TrimSpace(out) != want {
		t.Fatalf("request: %q, want %q", out, want)
	}
	if out := mustCLI(t, alice, "actions", "request", "isolate", target, "--param", "isolationType=selective"); !strings.HasPrefix(out, "Already requested action 1:") {
		t.Fatalf("repeated request: %q", out)
	}
	if _, _, err := runCLI(alice, "actions", "approve", "1"); err == nil || !strings.Contains(err.Error(), "cannot approve") {
		t.Fatalf("self-approval: %v", err)
	}
	if out := mustCLI(t, bob, "actions", "approve", "1", "--comment", "go"); !strings.HasPrefix(out, "Approved action 1: isolate") {
		t.Fatalf("approve: %q", out)
	}
	waitCLIAction(t, alice, "1", weft.ActionSucceeded)

	out = mustCLI(t, alice, "actions", "list")
	if !strings.Contains(out, "isolate") || !strings.Contains(out, "succeeded") || !strings.Contains(out, "token:bob") {
		t.Fatalf("list:\n%s", out)
	}
	if out := mustCLI(t, alice, "actions", "list", "--status", "pendingApproval"); strings.TrimSpace(out) != "No actions match." {
		t.Fatalf("list --status pendingApproval: %q", out)
	}
	out = mustCLI(t, alice, "actions", "show", "1")
	for _, want := range []string{"Status:       succeeded", "Parameters:   isolationType=selective", "Log:", "pendingApproval", "connector simulator"} {
		if !strings.Contains(out, want) {
			t.Errorf("show: no %q in\n%s", want, out)
		}
	}
	if out := mustCLI(t, alice, "actions", "undo", "1", "--comment", "clean"); !strings.HasPrefix(out, "Requested the undo: action 2: release on "+target+", pendingApproval.") {
		t.Fatalf("undo: %q", out)
	}
	if out := mustCLI(t, bob, "actions", "reject", "2", "--comment", "not yet"); !strings.HasPrefix(out, "Rejected action 2: release") {
		t.Fatalf("reject: %q", out)
	}
	var listed []weft.Action
	if err := json.Unmarshal([]byte(mustCLI(t, alice, "actions", "list", "-o", "json", "--type", "release")), &listed); err != nil || len(listed) != 1 || listed[0].ActionStatus != weft.ActionRejected {
		t.Fatalf("list -o json: %v %+v", err, listed)
	}
	for _, args := range [][]string{
		{"actions", "approve", "x"},
		{"actions", "show", "1", "2"},
		{"actions", "request", "isolate"},
		{"actions", "request", "isolate", target, "--param", "nope"},
		{"actions", "list", "--incident", "zero"},
		{"actions", "frobnicate", "1"},
	} {
		if _, _, err := runCLI(alice, args...); err == nil {
			t.Errorf("weft %s: no error", strings.Join(args, " "))
		}
	}
}

// waitCLIAction polls an action with weft actions show -o json until it
// reaches want; the worker runs on its own, so only the wait is bounded.
func waitCLIAction(t *testing.T, server testServer, id string, want weft.ActionStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var shown struct {
			Action weft.Action `json:"action"`
		}
		if err := json.Unmarshal([]byte(mustCLI(t, server, "actions", "show", id, "-o", "json")), &shown); err != nil {
			t.Fatal(err)
		}
		if shown.Action.ActionStatus == want {
			return
		}
		if shown.Action.ActionStatus.Final() || time.Now().After(deadline) {
			t.Fatalf("action %s is %s (%s), want %s", id, shown.Action.ActionStatus, shown.Action.Message, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnectorConfig checks what the connector flags and the --connectors
// file accept and what they refuse, and that a refusal never shows a
// secret.
func TestConnectorConfig(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cr3t-webhook-signing-key-0123456789"
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := func(args ...string) (connectorsConfig, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addConnectorFlags(fs)
		if err := fs.Parse(args); err != nil {
			return connectorsConfig{}, err
		}
		return f.config()
	}
	build := func(cfg connectorsConfig) error {
		_, err := cfg.build(nil, nil)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("an error shows the secret: %v", err)
		}
		return err
	}

	// The default: everything on the simulator.
	cfg, err := flags()
	if err != nil || build(cfg) != nil {
		t.Fatalf("no flags: %v %v", err, build(cfg))
	}
	rt, _ := cfg.build(nil, nil)
	if rt.Options.DefaultConnector != "simulator" || rt.Callback != nil || len(rt.Options.Connectors) != 1 {
		t.Fatalf("default runtime: %+v", rt.Options)
	}

	// A webhook from flags, isolation routed to it.
	cfg, err = flags("--webhook-url", "https://edr.example/weft", "--webhook-secret-file", secretFile, "--connector-for", "isolate=webhook")
	if err != nil {
		t.Fatal(err)
	}
	if rt, err = cfg.build(nil, nil); err != nil || rt.Callback == nil || rt.Options.ConnectorFor["isolate"] != "webhook" || rt.Options.DefaultConnector != "simulator" {
		t.Fatalf("webhook: %v %+v", err, rt.Options)
	}

	// A file with a webhook and a command.
	file := filepath.Join(dir, "connectors.json")
	os.WriteFile(file, []byte(`{"default":"edr","actions":{"disable":"idp"},
		"webhooks":[{"name":"edr","url":"https://edr.example/weft","secretFile":"`+secretFile+`","timeout":"5s"}],
		"commands":[{"name":"idp","path":"/usr/bin/true","args":["--tenant","contoso"],"timeout":"30s"}]}`), 0o600)
	cfg, err = flags("--connectors", file)
	if err != nil {
		t.Fatal(err)
	}
	if rt, err = cfg.build(nil, nil); err != nil || rt.Options.DefaultConnector != "edr" || len(rt.Options.Connectors) != 3 {
		t.Fatalf("file: %v %+v", err, rt.Options)
	}
	// The dispatch timeout outlasts the slowest connector's own limit (the
	// command's 30 s), so that a slow answer is not cut off and retried.
	if got, want := rt.Options.DispatchTimeout, 30*time.Second+dispatchMargin; got != want {
		t.Fatalf("dispatch timeout %v, want %v", got, want)
	}
	os.WriteFile(file, []byte(`{"dispatchTimeout":"2m","commands":[{"name":"idp","path":"/usr/bin/true","timeout":"90s"}]}`), 0o600)
	if cfg, err = flags("--connectors", file); err != nil {
		t.Fatal(err)
	}
	if rt, err = cfg.build(nil, nil); err != nil || rt.Options.DispatchTimeout != 2*time.Minute {
		t.Fatalf("explicit dispatch timeout: %v %+v", err, rt.Options)
	}

	for _, c := range []struct {
		name string
		args []string
		file string
		want string
	}{
		{"FileAndFlags", []string{"--connectors", file, "--connector", "webhook"}, "", "not both"},
		{"ForMalformed", []string{"--connector-for", "isolate"}, "", "type=connector"},
		{"SecretWithoutURL", []string{"--webhook-secret-file", secretFile}, "", "need --webhook-url"},
		{"UnknownDefault", []string{"--connector", "webhook"}, "", `no connector is named "webhook"`},
		{"UnknownType", []string{"--connector-for", "explode=simulator"}, "", `"explode" is not an action type`},
		{"UnknownRoute", []string{"--connector-for", "isolate=edr"}, "", `no connector is named "edr"`},
		{"WebhookHTTP", []string{"--webhook-url", "http://edr.example/weft", "--webhook-secret-file", secretFile}, "", "webhook"},
		{"WebhookNoSecret", []string{"--webhook-url", "https://edr.example/weft", "--webhook-secret-file", filepath.Join(dir, "missing")}, "", "webhook"},
		{"CommandRelative", []string{"--command-path", "bin/respond"}, "", "not absolute"},
		{"FailureRate", []string{"--simulator-failure-rate", "2"}, "", "failureRate"},
		{"FileUnknownMember", nil, `{"defualt":"simulator"}`, "defualt"},
		{"FileBadDuration", nil, `{"simulator":{"delay":"soon"}}`, "duration"},
		{"FileTwoWebhooks", nil, `{"webhooks":[{"name":"a","url":"https://a.example","secretFile":"` + secretFile + `"},{"name":"b","url":"https://b.example","secretFile":"` + secretFile + `"}]}`, "at most one webhook"},
		{"FileDispatchTooShort", nil, `{"dispatchTimeout":"30s","commands":[{"name":"idp","path":"/usr/bin/true","timeout":"2m"}]}`, "dispatchTimeout 30s is too short for commands[0].timeout (2m0s)"},
		{"FileDuplicateName", nil, `{"commands":[{"name":"simulator","path":"/usr/bin/true"}]}`, `two connectors are named "simulator"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				p := filepath.Join(t.TempDir(), "c.json")
				os.WriteFile(p, []byte(c.file), 0o600)
				args = []string{"--connectors", p}
			}
			cfg, err := flags(args...)
			if err == nil {
				err = build(cfg)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}
