package ingest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/weftxdr/weft"
)

// Batcher commits the alerts of many concurrent senders in shared
// transactions ("group commit"). One transaction per request would spend most
// of its time in fsync; one per alert far more. Instead a single goroutine
// takes the first waiting request, adds every other request already waiting
// (up to MaxBatch alerts), commits them together and hands each request its
// own results.
//
// Invariant: Submit returns results only after the store has durably
// committed them, and a request's alerts are committed in one transaction
// (never split across two), so its results are all-or-nothing.
//
// A Batcher is safe for concurrent use.
type Batcher struct {
	store    weft.AlertStore
	maxBatch int
	observe  func(alerts int, took time.Duration, err error)

	reqs chan *batchRequest
	done chan struct{}

	mu     sync.RWMutex
	closed bool
}

type batchRequest struct {
	ctx     context.Context
	alerts  []*weft.Alert
	results []weft.StoreResult
	err     error
	done    chan struct{}
}

// BatcherOptions configures a Batcher; the zero value is usable.
type BatcherOptions struct {
	// MaxBatch caps the alerts of one transaction (default 5,000). A single
	// request larger than MaxBatch is still committed whole.
	MaxBatch int
	// Observe, if set, is called after every commit with the number of
	// alerts, the time the store took and its error, for metrics.
	Observe func(alerts int, took time.Duration, err error)
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = weft.Errorf(weft.EUNAVAILABLE, "weft is shutting down")

// NewBatcher starts a Batcher that commits into store.
func NewBatcher(store weft.AlertStore, opts BatcherOptions) *Batcher {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 5000
	}
	b := &Batcher{
		store:    store,
		maxBatch: opts.MaxBatch,
		observe:  opts.Observe,
		reqs:     make(chan *batchRequest, 64),
		done:     make(chan struct{}),
	}
	go b.run()
	return b
}

// Submit stores alerts (normalized, see weft.Alert.Normalize) and returns one
// result per alert once they are durably committed. If ctx ends before the
// alerts were taken into a transaction, nothing is stored and ctx's error is
// returned; once taken they are committed even if ctx ends meanwhile, so that
// the store never depends on a client staying connected.
func (b *Batcher) Submit(ctx context.Context, alerts []*weft.Alert) ([]weft.StoreResult, error) {
	if len(alerts) == 0 {
		return []weft.StoreResult{}, nil
	}
	r := &batchRequest{ctx: ctx, alerts: alerts, done: make(chan struct{})}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	b.mu.RUnlock()
	<-r.done
	return r.results, r.err
}

// Close stops accepting requests, commits every request already submitted,
// and returns when the last commit has finished.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.reqs)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *Batcher) run() {
	defer close(b.done)
	var group []*batchRequest
	for first := range b.reqs {
		group = append(group[:0], first)
		n := len(first.alerts)
	fill:
		for n < b.maxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break fill
				}
				group = append(group, r)
				n += len(r.alerts)
			default:
				break fill
			}
		}
		b.commit(group)
	}
}

// commit stores a group of requests in one transaction. If that fails and the
// group has more than one request, each is retried alone, so that one request
// the store refuses does not fail the others.
func (b *Batcher) commit(group []*batchRequest) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	all := live[0].alerts
	if len(live) > 1 {
		all = make([]*weft.Alert, 0, len(live)*len(live[0].alerts))
		for _, r := range live {
			all = append(all, r.alerts...)
		}
	}
	results, err := b.storeAlerts(all)
	if err != nil && len(live) > 1 {
		for _, r := range live {
			r.results, r.err = b.storeAlerts(r.alerts)
			close(r.done)
		}
		return
	}
	if err == nil && len(results) != len(all) {
		err = errors.New("ingest: store returned a result count that does not match the batch")
	}
	off := 0
	for _, r := range live {
		if err != nil {
			r.err = err
		} else {
			r.results = results[off : off+len(r.alerts) : off+len(r.alerts)]
		}
		off += len(r.alerts)
		close(r.done)
	}
}

func (b *Batcher) storeAlerts(alerts []*weft.Alert) ([]weft.StoreResult, error) {
	start := time.Now()
	results, err := b.store.StoreAlerts(context.Background(), alerts)
	if b.observe != nil {
		b.observe(len(alerts), time.Since(start), err)
	}
	return results, err
}
