package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// buildWeft compiles the weft binary into a temporary directory.
func buildWeft(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "weft")
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build weft: %v", err)
	}
	out, err := exec.Command(gocmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startWeft runs "weft serve" on a free port and returns its URL and process.
func startWeft(t *testing.T, bin, dataDir string) (string, *exec.Cmd) {
	t.Helper()
	return startWeftArgs(t, bin, dataDir)
}

// crashTime is the event time of every crash-test alert: fixed, so that a
// resent alert is the same alert.
var crashTime = time.Now().UTC().Add(-time.Hour).Format(time.RFC3339Nano)

// crashBatch is an NDJSON batch of native-format alerts numbered from first.
func crashBatch(first, n int) []byte {
	var b bytes.Buffer
	t := crashTime
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `{"source":"crashtest","providerAlertId":"c-%d","title":"Suspicious process %d","severity":"high","category":"Execution","firstActivityDateTime":%q,"evidence":[{"entityType":"device","hostName":"ws-%d"},{"entityType":"user","userAccount":{"accountName":"user%d","domainName":"CONTOSO"}}]}`+"\n", i, i, t, i%50, i%30)
	}
	return b.Bytes()
}

type crashAnswer struct {
	Results []struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	} `json:"results"`
}

func postNDJSON(ctx context.Context, url, token string, body []byte) (*crashAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/alerts", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	setToken(req, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	var a crashAnswer
	if err := json.UnmarshalRead(resp.Body, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// listAlertIDs pages through every alert of the default tenant.
func listAlertIDs(t *testing.T, url, token string) []string {
	t.Helper()
	var ids []string
	next := url + "/api/v1/alerts?$top=1000"
	for next != "" {
		resp := apiRequest(t, http.MethodGet, next, token, "", nil)
		var page struct {
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID         string `json:"id"`
				IncidentID string `json:"incidentId"`
			} `json:"value"`
		}
		err := json.UnmarshalRead(resp.Body, &page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			if v.IncidentID == "" {
				t.Errorf("alert %s has no incident", v.ID)
			}
			ids = append(ids, v.ID)
		}
		next = page.NextLink
	}
	return ids
}

// TestCrashDuringIngest kills the server with SIGKILL while several clients
// are sending batches, restarts it on the same data directory, and checks
// that every acknowledged alert is there, none twice, and that sending
// everything again stores exactly the missing ones.
func TestCrashDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the weft binary")
	}
	bin := buildWeft(t)
	dir := t.TempDir()
	token := storeToken(t, dir)
	url, cmd := startWeft(t, bin, dir)

	const clients, perBatch, batchesPerClient = 4, 200, 40
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		sent  atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batchesPerClient {
				first := (c*batchesPerClient + b) * perBatch
				ans, err := postNDJSON(ctx, url, token, crashBatch(first, perBatch))
				sent.Add(1)
				if err != nil {
					return // the server was killed
				}
				mu.Lock()
				for _, r := range ans.Results {
					if r.Status != "stored" {
						t.Errorf("alert %s: status %s, want stored", r.ID, r.Status)
					}
					acked[r.ID] = true
				}
				mu.Unlock()
			}
		}()
	}
	// Kill once a good part of the batches went out, in the middle of ingest.
	deadline := time.Now().Add(30 * time.Second)
	for sent.Load() < clients*batchesPerClient/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	if nAcked == 0 {
		t.Fatal("no batch was acknowledged before the kill; the test proves nothing")
	}
	if nAcked == clients*batchesPerClient*perBatch {
		t.Fatal("every batch was acknowledged before the kill; the test proves nothing")
	}

	url, _ = startWeft(t, bin, dir)
	ids := listAlertIDs(t, url, token)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("alert %s is stored twice", id)
		}
		seen[id] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Errorf("acknowledged alert %s is missing after the restart", id)
		}
	}
	t.Logf("killed after %d acknowledged alerts; %d stored after restart", nAcked, len(ids))

	// Send everything again: what was stored is a duplicate, the rest is new.
	stored, dup := 0, 0
	for b := range clients * batchesPerClient {
		ans, err := postNDJSON(context.Background(), url, token, crashBatch(b*perBatch, perBatch))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ans.Results {
			switch {
			case r.Status == "duplicate" && seen[r.ID]:
				dup++
			case r.Status == "stored" && !seen[r.ID]:
				stored++
			default:
				t.Errorf("alert %s: status %s after restart (stored before: %v)", r.ID, r.Status, seen[r.ID])
			}
		}
	}
	if dup != len(ids) {
		t.Errorf("resending: %d duplicates, want %d", dup, len(ids))
	}
	if got := len(listAlertIDs(t, url, token)); got != clients*batchesPerClient*perBatch {
		t.Errorf("after resending: %d alerts, want %d", got, clients*batchesPerClient*perBatch)
	}
}
