package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"demo", "--exit", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, &out, &errb)
	if err != nil {
		t.Fatalf("demo: %v\nstderr: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"weft demo: feeding", "(0 rejected)", "Top of the queue", "/api/v1/incidents"} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
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
		rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Shutdown(context.Background())
		var out, errb bytes.Buffer
		err = run(context.Background(), []string{"ingest", "--url", rs.URL, "--batch", "2", file}, &out, &errb)
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
	url, cmd := startWeft(t, bin, dir)
	acked := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := 0; ; b++ {
			ans, err := postNDJSON(context.Background(), url, crashBatch(b*500, 500))
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
	for _, id := range listAlertIDs(t, url) {
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
