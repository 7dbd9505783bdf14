package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// TestActionCrashRecovery is docs/respond.md's invariant 3 at the process
// level: weft serve is SIGKILLed while an action is dispatched (the
// simulator holding it far longer than the test runs), and the restarted
// server sends it again, with the same idempotency key, once its lease has
// passed, and completes it. Nothing is lost and nothing is run twice by one
// server: the log shows the dispatches and one success.
func TestActionCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the weft binary")
	}
	bin := buildWeft(t)
	dir := t.TempDir()
	token := storeToken(t, dir)
	conf := func(body string) string {
		p := filepath.Join(t.TempDir(), "connectors.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A short lease, so that the restarted server need not wait long; the
	// first server's simulator never answers within it.
	const timing = `"dispatchTimeout":"1s","lease":"2s"`
	url, cmd := startWeftArgs(t, bin, dir, "--connectors", conf(`{"simulator":{"delay":"1h"},`+timing+`}`))

	resp := apiRequest(t, http.MethodPost, url+"/api/v1/actions", token, "application/json",
		strings.NewReader(`{"type":"isolate","target":"device.fqdn:ws-crash.contoso.com","comment":"crash test"}`))
	var a weft.Action
	err := json.UnmarshalRead(resp.Body, &a, json.RejectUnknownMembers(false))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("request: status %d, %v", resp.StatusCode, err)
	}
	id := strconv.FormatInt(a.ID, 10)
	waitServerAction(t, url, token, id, func(a weft.Action) bool { return a.ActionStatus == weft.ActionDispatched })

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	url, _ = startWeftArgs(t, bin, dir, "--connectors", conf(`{`+timing+`}`))
	done := waitServerAction(t, url, token, id, func(a weft.Action) bool { return a.ActionStatus.Final() })
	if done.ActionStatus != weft.ActionSucceeded || done.Attempt < 2 {
		t.Fatalf("after the restart: %s at attempt %d (%s), want succeeded at attempt 2 or later", done.ActionStatus, done.Attempt, done.Message)
	}
	resp = apiRequest(t, http.MethodGet, url+"/api/v1/actions/"+id+"/log", token, "", nil)
	var log struct {
		Value []weft.ActionLogEntry `json:"value"`
	}
	err = json.UnmarshalRead(resp.Body, &log, json.RejectUnknownMembers(false))
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	dispatched, succeeded := 0, 0
	for _, e := range log.Value {
		switch e.To {
		case weft.ActionDispatched:
			dispatched++
		case weft.ActionSucceeded:
			succeeded++
			if e.Attempt != done.Attempt {
				t.Errorf("the success is logged at attempt %d, the action is at %d", e.Attempt, done.Attempt)
			}
		}
	}
	if dispatched < 2 || succeeded != 1 {
		t.Fatalf("the log has %d dispatches and %d successes, want 2 or more and 1: %+v", dispatched, succeeded, log.Value)
	}
}

// startWeftArgs starts `weft serve` on dataDir with extra flags and returns
// its URL, read from its first line ("weft listening on http://127.0.0.1:NNNN
// (data in …)"). The clients send as fast as the server answers: no rate
// limit.
func startWeftArgs(t *testing.T, bin, dataDir string, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--log-level", "warn", "--rate-limit", "1e9", "--rate-burst", "1000000000"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's first line: %v (stderr: %s)", err, stderr.String())
	}
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[3], "http://") {
		t.Fatalf("unexpected first line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return f[3], cmd
}

// waitServerAction polls an action until done says so; only the wait is
// bounded, nothing is timed.
func waitServerAction(t *testing.T, url, token, id string, done func(weft.Action) bool) weft.Action {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp := apiRequest(t, http.MethodGet, url+"/api/v1/actions/"+id, token, "", nil)
		var a weft.Action
		err := json.UnmarshalRead(resp.Body, &a, json.RejectUnknownMembers(false))
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if done(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %s: still %s at attempt %d (%s)", id, a.ActionStatus, a.Attempt, a.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
