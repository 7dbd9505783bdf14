package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/weftxdr/weft"
)

// recordingStore is an AlertStore that records the batches it was given and
// can be told to fail batches that contain a given provider id.
type recordingStore struct {
	weft.AlertStore
	mu      sync.Mutex
	batches [][]*weft.Alert
	failOn  string
	stored  map[string]bool
}

func (s *recordingStore) StoreAlerts(ctx context.Context, alerts []*weft.Alert) ([]weft.StoreResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range alerts {
		if a.ProviderAlertID == s.failOn {
			return nil, errors.New("refused")
		}
	}
	s.batches = append(s.batches, alerts)
	res := make([]weft.StoreResult, len(alerts))
	for i, a := range alerts {
		out := weft.OutcomeStored
		if s.stored[a.ID] {
			out = weft.OutcomeDuplicate
		}
		s.stored[a.ID] = true
		res[i] = weft.StoreResult{Outcome: out, AlertID: a.ID}
	}
	return res, nil
}

func testAlerts(prefix string, n int) []*weft.Alert {
	out := make([]*weft.Alert, n)
	for i := range out {
		id := fmt.Sprintf("%s-%d", prefix, i)
		out[i] = &weft.Alert{ID: id, ProviderAlertID: id}
	}
	return out
}

func TestBatcher(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		st := &recordingStore{stored: map[string]bool{}}
		b := NewBatcher(st, BatcherOptions{MaxBatch: 100})
		var wg sync.WaitGroup
		for c := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				alerts := testAlerts(fmt.Sprint("c", c), 30)
				res, err := b.Submit(context.Background(), alerts)
				if err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
				if len(res) != len(alerts) {
					t.Errorf("got %d results, want %d", len(res), len(alerts))
					return
				}
				for i, r := range res {
					if r.AlertID != alerts[i].ID {
						t.Errorf("result %d is for %s, want %s", i, r.AlertID, alerts[i].ID)
					}
				}
			}()
		}
		wg.Wait()
		b.Close()
		if got := len(st.stored); got != 600 {
			t.Fatalf("stored %d alerts, want 600", got)
		}
	})

	t.Run("ErrOneRequestDoesNotFailOthers", func(t *testing.T) {
		st := &recordingStore{stored: map[string]bool{}, failOn: "bad-0"}
		b := NewBatcher(st, BatcherOptions{})
		defer b.Close()
		// Hand the batcher several requests in one group by calling commit
		// directly, as run would when they arrive together.
		good := &batchRequest{ctx: context.Background(), alerts: testAlerts("good", 3), done: make(chan struct{})}
		bad := &batchRequest{ctx: context.Background(), alerts: testAlerts("bad", 2), done: make(chan struct{})}
		b.commit([]*batchRequest{good, bad})
		if good.err != nil || len(good.results) != 3 {
			t.Fatalf("good request: err %v, %d results; want nil, 3", good.err, len(good.results))
		}
		if bad.err == nil {
			t.Fatal("bad request: got no error")
		}
	})

	t.Run("ErrClosed", func(t *testing.T) {
		b := NewBatcher(&recordingStore{stored: map[string]bool{}}, BatcherOptions{})
		b.Close()
		if _, err := b.Submit(context.Background(), testAlerts("x", 1)); weft.ErrorCode(err) != weft.EUNAVAILABLE {
			t.Fatalf("got %v, want an unavailable error", err)
		}
	})

	t.Run("ErrCanceledBeforeCommit", func(t *testing.T) {
		st := &recordingStore{stored: map[string]bool{}}
		b := NewBatcher(st, BatcherOptions{})
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := &batchRequest{ctx: ctx, alerts: testAlerts("late", 2), done: make(chan struct{})}
		b.commit([]*batchRequest{r})
		if !errors.Is(r.err, context.Canceled) || len(st.stored) != 0 {
			t.Fatalf("got err %v and %d stored; want context.Canceled and none", r.err, len(st.stored))
		}
	})
}
