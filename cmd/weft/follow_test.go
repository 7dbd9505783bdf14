package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// syncBuffer is a bytes.Buffer that a follower and a test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// following is one run of weft ingest --follow in the background.
type following struct {
	stop           context.CancelFunc
	done           chan error
	stdout, stderr syncBuffer
}

func startFollowing(t *testing.T, args ...string) *following {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &following{stop: cancel, done: make(chan error, 1)}
	go func() {
		f.done <- run(ctx, append([]string{"ingest", "--follow", "--poll", "5ms"}, args...), &f.stdout, &f.stderr)
	}()
	t.Cleanup(func() { cancel(); <-f.done })
	return f
}

// end stops the run as SIGINT would and returns its summary line.
func (f *following) end(t *testing.T) string {
	t.Helper()
	f.stop()
	if err := <-f.done; err != nil {
		t.Fatalf("weft ingest --follow: %v\nstderr: %s", err, f.stderr.String())
	}
	f.done <- nil // for the cleanup
	return f.stdout.String()
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool, f *following) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s; stderr:\n%s", what, f.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// alertCount asks the server how many alerts it holds.
func alertCount(t *testing.T, url, token string) int {
	t.Helper()
	resp := apiRequest(t, http.MethodGet, url+"/api/v1/alerts?$count=true&$top=1", token, "", nil)
	defer resp.Body.Close()
	var page struct {
		Count int `json:"@odata.count"`
	}
	if err := json.UnmarshalRead(resp.Body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Count
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFollow appends to a followed file in pieces, rotates it by renaming
// it and creating a new one, then truncates it in place (copytruncate): every
// alert is stored exactly once and no half line is ever read.
func TestFollow(t *testing.T) {
	rs, token := startTestServer(t, serverConfig{})
	defer rs.Shutdown(context.Background())
	dir := t.TempDir()
	file := filepath.Join(dir, "eve.json")
	appendFile(t, file, crashBatch(0, 3))
	f := startFollowing(t, "--url", rs.URL, "--token", token, file)
	stored := func(n int) func() bool { return func() bool { return alertCount(t, rs.URL, token) == n } }
	waitFor(t, "the first 3 alerts", stored(3), f)

	// A line written in two halves is read once whole.
	line := crashBatch(3, 1)
	appendFile(t, file, line[:len(line)/2])
	time.Sleep(50 * time.Millisecond) // give the follower polls in which to misread it
	appendFile(t, file, line[len(line)/2:])
	appendFile(t, file, crashBatch(4, 1))
	waitFor(t, "the line written in halves", stored(5), f)

	// Rotation: the log is renamed, the writer appends a last batch to it,
	// and a new log is created.
	if err := os.Rename(file, file+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, file+".1", crashBatch(5, 2))
	appendFile(t, file, crashBatch(7, 3))
	waitFor(t, "the rotated and the new file", stored(10), f)

	// copytruncate: the log is copied, truncated and written again.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".2", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, file, crashBatch(10, 2))
	waitFor(t, "the truncated file", stored(12), f)

	out := f.end(t)
	if !strings.Contains(out, "12 records: 12 stored, 0 updated, 0 duplicate, 0 stale, 0 rejected") {
		t.Fatalf("summary %q: want 12 stored once each and none rejected\nstderr: %s", out, f.stderr.String())
	}
	for _, want := range []string{"rotated", "truncated"} {
		if !strings.Contains(f.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, f.stderr.String())
		}
	}
}

// TestFollowRestart stops and restarts weft ingest --follow --data: lines
// written while it was stopped are read, nothing is read twice, and a file
// rotated while it was stopped is finished before the new one is read.
func TestFollowRestart(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	file, state := filepath.Join(dir, "alerts.json"), filepath.Join(dir, "state")
	records := func(n int) func() bool {
		return func() bool { st, ok, _ := loadState(state); return ok && st.Records == n }
	}
	follow := func(what string, want int) (stdout, stderr string) {
		t.Helper()
		f := startFollowing(t, "--data", data, "--state", state, file)
		waitFor(t, what, records(want), f)
		return f.end(t), f.stderr.String()
	}

	appendFile(t, file, crashBatch(0, 3))
	out, _ := follow("the first run", 3)
	if !strings.Contains(out, "3 records: 3 stored") {
		t.Fatalf("first run: %q, want 3 stored", out)
	}

	appendFile(t, file, crashBatch(3, 2))
	out, errs := follow("the lines written while stopped", 5)
	if !strings.Contains(out, "2 records: 2 stored, 0 updated, 0 duplicate") || !strings.Contains(errs, "resuming") {
		t.Fatalf("second run: %q (stderr %q), want the 2 new alerts only, resumed", out, errs)
	}

	// Rotated while stopped: the old file gets a last line, a new one starts.
	if err := os.Rename(file, file+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, file+".1", crashBatch(5, 1))
	appendFile(t, file, crashBatch(6, 2))
	out, errs = follow("the rotated file and the new one", 2)
	if !strings.Contains(out, "3 records: 3 stored, 0 updated, 0 duplicate") || !strings.Contains(errs, "finishing the old file") {
		t.Fatalf("third run: %q (stderr %q), want the old file's last alert and the 2 new ones", out, errs)
	}

	store, err := sqlite.Open(filepath.Join(data, dbFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	page, err := store.ListAlerts(context.Background(), weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true})
	if err != nil || page.Count != 8 {
		t.Fatalf("store holds %d alerts (%v), want 8", page.Count, err)
	}
}

// TestFollowWaitsForTheServer follows a file while its server is down: the
// follower says it will try again, and once a server listens every line is
// stored exactly once.
func TestFollowWaitsForTheServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there until the server starts below
	dir, data := t.TempDir(), t.TempDir()
	token := storeToken(t, data) // the server that starts later takes it
	file := filepath.Join(dir, "eve.json")
	appendFile(t, file, crashBatch(0, 3))
	f := startFollowing(t, "--url", "http://"+addr, "--token", token, file)
	waitFor(t, "a retry", func() bool { return strings.Contains(f.stderr.String(), "trying again") }, f)
	appendFile(t, file, crashBatch(3, 2))

	rs, err := startServer(serverConfig{Addr: addr, DataDir: data, Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Shutdown(context.Background())
	waitFor(t, "all 5 alerts", func() bool { return alertCount(t, rs.URL, token) == 5 }, f)
	if out := f.end(t); !strings.Contains(out, "5 records: 5 stored, 0 updated, 0 duplicate") {
		t.Fatalf("summary %q: want 5 stored once each\nstderr: %s", out, f.stderr.String())
	}
}
