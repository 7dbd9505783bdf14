package respond

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftxdr/weft"
)

// The worker (invariants 3 and 4). One round:
//
//  1. expire what is past its TTL (ExpireDue);
//  2. claim due actions (ClaimDue): each claim commits dispatched, attempt
//     n, lease until now+Lease, before the connector is called, so that a
//     crash at any point after leaves an action the next worker (this
//     process restarted, or another) claims again once the lease passes,
//     and sends with the same idempotency key;
//  3. dispatch each claimed action in its own goroutine, within
//     DispatchTimeout, and record the answer with a compare-and-set on the
//     version the claim returned: a late answer (the action was expired,
//     or claimed again by another worker after its lease ran out) changes
//     nothing.
//
// Between rounds it sleeps until the store's next due time, a new approval
// (Approve, an approved request), or a dispatch finishing.

// idle is how long the worker sleeps when no action is open; an approval
// wakes it sooner.
const idle = time.Minute

// Run runs the worker until ctx is done; it then waits for the dispatches
// in flight to return and returns nil. A store error is logged and the
// round tried again a little later. Run one worker per Service; workers
// of several processes on one store are safe (the store's claims are
// exclusive).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, s.opts.Batch)
	inFlight := 0
	for {
		// Collect the dispatches that finished.
	drain:
		for {
			select {
			case <-done:
				inFlight--
			default:
				break drain
			}
		}
		wait, err := s.round(ctx, &wg, done, &inFlight)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("response actions: worker round", "err", err)
			wait = min(wait, s.opts.BackoffBase)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.wake:
		case <-done:
			inFlight--
		case <-timer.C:
		}
		timer.Stop()
	}
}

// round runs one round and returns how long to wait for the next.
func (s *Service) round(ctx context.Context, wg *sync.WaitGroup, done chan<- struct{}, inFlight *int) (time.Duration, error) {
	now := s.now()
	if _, err := s.store.ExpireDue(ctx, now, 100); err != nil {
		return idle, err
	}
	free := s.opts.Batch - *inFlight
	if free <= 0 {
		// Every slot is busy: the next dispatch to finish wakes Run.
		return idle, nil
	}
	claimed, err := s.store.ClaimDue(ctx, now, s.opts.Lease, free)
	for _, a := range claimed {
		*inFlight++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { done <- struct{}{} }()
			s.dispatch(ctx, a)
		}()
	}
	if err != nil {
		return idle, err
	}
	if len(claimed) == free {
		return 0, nil // there may be more due
	}
	next, ok, err := s.store.NextDue(ctx)
	if err != nil || !ok {
		return idle, err
	}
	return max(min(next.Sub(s.now()), idle), 0), nil
}

// dispatch sends a claimed action to its connector and records the answer.
// When ctx ends (shutdown) before the connector answers, nothing is
// recorded: the action stays dispatched and is sent again once its lease
// has passed.
func (s *Service) dispatch(ctx context.Context, a *weft.Action) {
	log := s.log.With("tenant", a.TenantID, "action", a.ID, "type", a.Type, "attempt", a.Attempt)
	var res weft.ActionResult
	var err error
	if c, ok := s.opts.Connectors[a.Connector]; !ok {
		err = fmt.Errorf("no connector %q is configured", a.Connector)
	} else {
		dctx, cancel := context.WithTimeout(ctx, s.opts.DispatchTimeout)
		res, err = dispatchSafely(dctx, c, a)
		cancel()
		if ctx.Err() != nil {
			log.Info("response actions: shut down during dispatch; the lease will send it again")
			return
		}
		if errors.Is(err, context.DeadlineExceeded) && !weft.IsRetryable(err) {
			// The dispatch timed out: another attempt may do better.
			err = weft.RetryableError(err)
		}
	}
	// The answer is recorded even if shutdown begins now: it is what the
	// connector did.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, ferr := s.finish(rctx, a, res, err); ferr != nil {
		log.Error("response actions: record outcome", "err", ferr)
	}
}

// dispatchSafely calls c.Dispatch, turning a panic into a permanent failure
// so that one broken connector does not stop the worker.
func dispatchSafely(ctx context.Context, c weft.Connector, a *weft.Action) (res weft.ActionResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("connector %s panicked: %v", c.Name(), r)
		}
	}()
	cp := *a
	return c.Dispatch(ctx, &cp)
}

// Complete implements weft.ActionCompleter.
func (s *Service) Complete(ctx context.Context, connector, tenantID string, actionID int64, attempt int, res weft.ActionResult, err error) error {
	if terr := checkTenant(tenantID); terr != nil {
		return terr
	}
	a, ferr := s.store.FindAction(ctx, tenantID, actionID)
	if ferr != nil {
		return ferr
	}
	if a.Connector != connector {
		return weft.Errorf(weft.ENOTFOUND, "tenant %q has no action %d run by connector %q", tenantID, actionID, connector)
	}
	if a.Attempt != attempt {
		return nil // a late or repeated callback of an earlier attempt
	}
	_, ferr = s.finish(ctx, a, res, err)
	return ferr
}

// finish records the outcome of attempt a.Attempt of a (a as its claim or
// a read returned it). An outcome for an attempt that is no longer current
// changes nothing and is not an error.
func (s *Service) finish(ctx context.Context, a *weft.Action, res weft.ActionResult, err error) (*weft.Action, error) {
	for range 3 {
		if a.ActionStatus != weft.ActionDispatched {
			return a, nil
		}
		out, terr := s.store.TransitionAction(ctx, s.outcome(a, res, err))
		if weft.ErrorCode(terr) != weft.ECONFLICT {
			if terr == nil {
				s.log.Info("response actions: outcome", "tenant", out.TenantID, "action", out.ID,
					"attempt", out.Attempt, "status", string(out.ActionStatus))
			}
			return out, terr
		}
		// Lost a race: read again; if the attempt is still the current
		// one (an unrelated change, such as another completion of the
		// same attempt), try again.
		cur, ferr := s.store.FindAction(ctx, a.TenantID, a.ID)
		if ferr != nil {
			return nil, ferr
		}
		if cur.Attempt != a.Attempt {
			return cur, nil
		}
		a = cur
	}
	return a, nil
}

// outcome is the transition an answer makes.
func (s *Service) outcome(a *weft.Action, res weft.ActionResult, err error) weft.ActionTransition {
	now := s.now()
	t := weft.ActionTransition{TenantID: a.TenantID, ID: a.ID, Version: a.Version, Now: now,
		By: weft.ActionActor{Kind: weft.ActorConnector, Name: a.Connector}}
	switch {
	case err != nil && weft.IsRetryable(err):
		next := now.Add(s.Backoff(a.Attempt))
		if !next.Before(a.ExpiresAt) {
			t.To, t.By = weft.ActionExpired, system
			t.Message = fmt.Sprintf("attempt %d failed and the next would be past the action's time to live: %s", a.Attempt, errMessage(err))
			return t
		}
		t.To, t.NotBefore = weft.ActionApproved, next
		t.Message = fmt.Sprintf("attempt %d failed, retrying at %s: %s", a.Attempt, next.Format(time.RFC3339Nano), errMessage(err))
	case err != nil:
		t.To, t.Message = weft.ActionFailed, errMessage(err)
	case res.ActionOutcome == weft.DispatchSucceeded:
		t.To, t.ExternalID, t.Message = weft.ActionSucceeded, res.ExternalID, truncate(res.Message, 1000)
		t.Undoes = weft.InverseOf(a.Type)
	case res.ActionOutcome == weft.DispatchPending:
		t.To, t.ExternalID, t.LeaseUntil = weft.ActionDispatched, res.ExternalID, a.ExpiresAt
		t.Message = "accepted; waiting for the connector to complete it"
		if res.Message != "" {
			t.Message += ": " + truncate(res.Message, 1000)
		}
	default:
		t.To = weft.ActionFailed
		t.Message = fmt.Sprintf("the connector answered an unknown outcome %q", truncate(string(res.ActionOutcome), 64))
	}
	return t
}

// Backoff returns the delay before the retry that follows failed attempt n
// (from 1): full jitter, uniformly random in [0, min(cap, base·2^(n-1))].
func (s *Service) Backoff(attempt int) time.Duration {
	ceil := s.opts.BackoffBase
	for i := 1; i < attempt && ceil < s.opts.BackoffCap; i++ {
		ceil *= 2
	}
	ceil = min(ceil, s.opts.BackoffCap)
	return time.Duration(s.opts.Rand(int64(ceil) + 1))
}
