package respond_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond"
	"github.com/weftxdr/weft/sqlite"
)

// The SIGKILL test of invariant 3 (crash safety): a child process (this
// test binary, re-executed to run TestCrashChild) runs the worker on a
// SQLite store with a connector that behaves like an idempotent receiver:
// it records every delivery durably, applies an action's effect only the
// first time it sees the action's idempotency key, and answers after a
// random short delay. The parent requests the actions, kills the child with
// SIGKILL at random points several times, restarts it, lets the last one
// finish, and checks that every action succeeded, that each action's effect
// was applied exactly once, that nothing was delivered with a key that is
// not an action's, and that no action was delivered more often than its
// attempts were committed (dispatched is written before the call). Run it many times: go test ./respond -run
// TestCrashRecovery -count=20.

const crashDirEnv = "WEFT_RESPOND_CRASH_DIR"

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const (
		n     = 40
		kills = 6
	)
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	svc := respond.New(store, respond.Options{DefaultConnector: "receiver"})
	keys := map[string]bool{}
	for i := range n {
		a, _, err := svc.Request(ctx, weft.ActionRequest{TenantID: weft.DefaultTenantID, Type: "disable",
			Target: fmt.Sprintf("user.upn:u%d@contoso.com", i), By: alice})
		if err != nil {
			t.Fatal(err)
		}
		keys[a.IdempotencyKey()] = true
	}

	var stderr bytes.Buffer
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for range kills {
		cmd := start()
		time.Sleep(time.Duration(20+rand.IntN(130)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait() // "signal: killed"
	}
	// The last child runs until every action is final (the deadline is
	// only a guard against a hang, not a measure).
	cmd := start()
	deadline := time.Now().Add(30 * time.Second)
	var succeeded int64
	for {
		p, err := store.ListActions(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID,
			ActionStatus: []weft.ActionStatus{weft.ActionSucceeded}, Count: true, Top: 1})
		if err != nil {
			t.Fatal(err)
		}
		if succeeded = p.Count; succeeded == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	all, err := store.ListActions(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, Top: n})
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, a := range all.Actions {
		attempts += a.Attempt
		if a.ActionStatus != weft.ActionSucceeded {
			t.Errorf("action %d: %s after attempt %d: %s", a.ID, a.ActionStatus, a.Attempt, a.Message)
		}
	}
	if succeeded != n {
		t.Fatalf("%d of %d actions succeeded; child stderr:\n%s", succeeded, n, stderr.String())
	}

	deliveries, effects := readReceiver(t, filepath.Join(dir, "receiver.log"))
	total := 0
	for key, d := range deliveries {
		total += d
		if !keys[key] {
			t.Errorf("delivered %d times with key %q, which is no action's", d, key)
		}
	}
	for key := range keys {
		if effects[key] != 1 {
			t.Errorf("key %s: effect applied %d times, delivered %d times; want once", key, effects[key], deliveries[key])
		}
	}
	// Every delivery followed a committed claim: no action was delivered
	// more often than its attempts were recorded.
	for _, a := range all.Actions {
		if d := deliveries[a.IdempotencyKey()]; d > a.Attempt {
			t.Errorf("action %d: delivered %d times in %d recorded attempts", a.ID, d, a.Attempt)
		}
	}
	t.Logf("%d actions, %d kills: %d deliveries, %d attempts recorded", n, kills, total, attempts)
}

// readReceiver counts the receiver's deliveries and effects by key. A last
// line without its newline (the write a kill cut short) is ignored.
func readReceiver(t *testing.T, path string) (deliveries, effects map[string]int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, effects = map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data[:bytes.LastIndexByte(data, '\n')+1]))
	for sc.Scan() {
		kind, key, ok := strings.Cut(sc.Text(), " ")
		switch {
		case ok && kind == "delivery":
			deliveries[key]++
		case ok && kind == "effect":
			effects[key]++
		default:
			t.Fatalf("receiver log line %q", sc.Text())
		}
	}
	return deliveries, effects
}

// TestCrashChild is the child of TestCrashRecovery; it does nothing unless
// started by it. It runs the worker until it is killed, its parent goes
// away, or a minute passes.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	store, err := sqlite.Open(filepath.Join(dir, "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rec, err := openReceiver(filepath.Join(dir, "receiver.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parent := os.Getppid()
	go func() {
		for ctx.Err() == nil && os.Getppid() == parent {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
	}()
	svc := respond.New(store, respond.Options{Connectors: map[string]weft.Connector{"receiver": rec},
		DefaultConnector: "receiver", DispatchTimeout: 100 * time.Millisecond, Lease: 250 * time.Millisecond, Batch: 8,
		// A dispatch that times out on a loaded machine is retried soon:
		// this test is about crashes, not backoff.
		BackoffBase: 10 * time.Millisecond, BackoffCap: 50 * time.Millisecond})
	if err := svc.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// receiver is an idempotent receiver with a durable log: "delivery KEY" for
// every request, "effect KEY" the first time a key is seen.
type receiver struct {
	mu      sync.Mutex
	f       *os.File
	applied map[string]bool
}

func openReceiver(path string) (*receiver, error) {
	r := &receiver{applied: map[string]bool{}}
	if data, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if key, ok := strings.CutPrefix(line, "effect "); ok {
				r.applied[key] = true
			}
		}
	}
	var err error
	r.f, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	return r, err
}

func (r *receiver) Name() string { return "receiver" }

func (r *receiver) Dispatch(ctx context.Context, a *weft.Action) (weft.ActionResult, error) {
	key := a.IdempotencyKey()
	r.mu.Lock()
	err := r.append("delivery " + key)
	if err == nil && !r.applied[key] {
		if err = r.append("effect " + key); err == nil {
			r.applied[key] = true
		}
	}
	r.mu.Unlock()
	if err != nil {
		return weft.ActionResult{}, weft.RetryableError(err)
	}
	select {
	case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
	case <-ctx.Done():
		return weft.ActionResult{}, ctx.Err()
	}
	return weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: key}, nil
}

func (r *receiver) append(line string) error {
	if _, err := r.f.WriteString(line + "\n"); err != nil {
		return err
	}
	return r.f.Sync()
}
