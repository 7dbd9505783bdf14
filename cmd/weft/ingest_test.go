package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestIngestArrayFile streams a pretty-printed JSON array, the shape of the
// Suricata samples, with a malformed element over several lines and a
// well-formed one that breaks a rule: --data and --url store the same
// alerts and report the same file lines.
func TestIngestArrayFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("[\n")
	for i := range 4 {
		fmt.Fprintf(&b, "  {\n    \"source\": \"arraytest\",\n    \"providerAlertId\": \"a-%d\",\n    \"title\": \"t\",\n    \"firstActivityDateTime\": %q\n  },\n", i, crashTime)
	}
	b.WriteString("  {\n    \"source\": \"arraytest\",\n    \"providerAlertId\": \"broken\"\n    \"title\": \"t\"\n  },\n") // line 26: no comma after the id
	b.WriteString("  {\n    \"source\": \"arraytest\",\n    \"providerAlertId\": \"bad\",\n    \"title\": \"t\",\n    \"severity\": \"severe\"\n  }\n]\n")
	file := filepath.Join(t.TempDir(), "alerts.json")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, token := startTestServer(t, serverConfig{})
	defer rs.Shutdown(context.Background())
	for _, target := range [][]string{{"--data", t.TempDir()}, {"--url", rs.URL, "--token", token, "--batch", "2"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(append([]string{"ingest"}, target...), file), &out, &errb)
		if err == nil || !strings.Contains(out.String(), "6 records: 4 stored") {
			t.Fatalf("%s: err %v, stdout %q: want 4 stored and 2 rejected", target[0], err, out.String())
		}
		want := "line 26: rejected: invalid JSON at line 29, column 5: invalid character '\"' after object value (expecting ',' or '}')\nline 31: rejected: severity:"
		if !strings.HasPrefix(errb.String(), want) {
			t.Errorf("%s: stderr %q, want it to start %q", target[0], errb.String(), want)
		}
	}
}

func TestIngestProgress(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&w, true)
	p.update(&ingestSummary{Received: 10, Rejected: 1}, 5e6)
	if w.Len() != 0 {
		t.Fatalf("progress printed %q before its interval", w.String())
	}
	p.every = 0
	p.update(&ingestSummary{Received: 10, Rejected: 1}, 5e6)
	if !strings.Contains(w.String(), "10 records, 5.0 MB read") || !strings.Contains(w.String(), "1 rejected") {
		t.Fatalf("progress line %q: want records, bytes and rejected", w.String())
	}
	if newProgress(&bytes.Buffer{}, false).on {
		t.Fatal("progress is on for a writer that is not a terminal")
	}
}

// TestSendBatchWaitsOutRateLimit: a batch answered 429 is sent again, the
// same, with its token, after the wait the server asks for.
func TestSendBatchWaitsOutRateLimit(t *testing.T) {
	var mu sync.Mutex
	var bodies, auths []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies, auths = append(bodies, string(b)), append(auths, r.Header.Get("Authorization"))
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "0.1")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"too_many_requests","message":"slow down"}}`)
			return
		}
		io.WriteString(w, `{"received":1,"stored":1}`)
	}))
	defer ts.Close()
	raw, err := sendBatch(context.Background(), http.MethodPost, ts.URL, "application/x-ndjson", "", "weft_ratelimited", []byte("{}\n"), 1)
	if err != nil || string(raw) != `{"received":1,"stored":1}` {
		t.Fatalf("got %q, %v; want the second answer", raw, err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || auths[0] != "Bearer weft_ratelimited" || auths[1] != auths[0] {
		t.Fatalf("got bodies %q with Authorization %q; want the same batch twice, with the token", bodies, auths)
	}
}
