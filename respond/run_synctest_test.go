package respond_test

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond"
	"github.com/weftxdr/weft/sqlite"
)

// TestRunWakesAtNextDue runs the worker in a synctest bubble (fake time):
// after a retryable failure it sleeps until the retry is due, not longer
// (the retry is done at 2 s, the backoff's ceiling) and not sooner (nothing
// is sent before), and it stops when its context ends.
func TestRunWakesAtNextDue(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(dir, "weft.db"), sqlite.Options{Synchronous: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		conn := &connector{script: []answer{busy, ok}}
		svc := respond.New(s, respond.Options{Connectors: map[string]weft.Connector{"test": conn},
			DefaultConnector: "test", Rand: func(n int64) int64 { return n - 1 }})
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error)
		go func() { stopped <- svc.Run(ctx) }()
		a, _, err := svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "disable",
			Target: "user.upn:x@contoso.com", By: alice})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		synctest.Wait()
		cur, err := svc.Find(ctx, tenant, a.ID)
		if err != nil || cur.ActionStatus != weft.ActionApproved || cur.Attempt != 1 || !cur.NotBefore.Equal(start.Add(2*time.Second)) {
			t.Fatalf("after the first attempt: %+v, %v", cur, err)
		}
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		if n := len(conn.Calls()); n != 1 {
			t.Fatalf("%d dispatches before the retry was due", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if cur, _ = svc.Find(ctx, tenant, a.ID); cur.ActionStatus != weft.ActionSucceeded || cur.Attempt != 2 {
			t.Fatalf("after the retry: %+v", cur)
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	})
}
