package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// RunActionTests runs the conformance suite of a store's response actions
// (weft.ActionStore, docs/respond.md): deduplication (invariant 1), the
// state machine's arrows and nothing else, compare-and-set, the log and the
// incident activity of every transition (invariant 2), claims and leases
// (invariant 3), expiry (invariant 4), undo (invariant 5), who made each
// change (invariant 6), containment, listing and policies. open is as for
// RunStoreTests; the stores it returns must implement weft.ActionStore.
func RunActionTests(t *testing.T, open func(t *testing.T) weft.Store) {
	t.Run("Create", func(t *testing.T) { testActionCreate(t, open) })
	t.Run("ConcurrentCreateIsOneAction", func(t *testing.T) { testActionConcurrentCreate(t, open) })
	t.Run("OnlyTheArrows", func(t *testing.T) { testActionArrows(t, open) })
	t.Run("LostRaceChangesNothing", func(t *testing.T) { testActionLostRace(t, open) })
	t.Run("Claim", func(t *testing.T) { testActionClaim(t, open) })
	t.Run("ConcurrentClaimsAreExclusive", func(t *testing.T) { testActionConcurrentClaim(t, open) })
	t.Run("Expire", func(t *testing.T) { testActionExpire(t, open) })
	t.Run("UndoAndContainment", func(t *testing.T) { testActionUndo(t, open) })
	t.Run("List", func(t *testing.T) { testActionList(t, open) })
	t.Run("Policy", func(t *testing.T) { testActionPolicy(t, open) })
}

var (
	alice     = weft.ActionActor{Kind: weft.ActorUser, Name: "alice@contoso.com"}
	bob       = weft.ActionActor{Kind: weft.ActorUser, Name: "bob@contoso.com"}
	rule      = weft.ActionActor{Kind: weft.ActorAutomation, Name: "isolate on ransomware", RuleID: 7, RuleVersion: 3}
	simulator = weft.ActionActor{Kind: weft.ActorConnector, Name: "simulator"}
	weftActor = weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"}
)

func actionStore(t *testing.T, s weft.Store) weft.ActionStore {
	t.Helper()
	as, ok := s.(weft.ActionStore)
	if !ok {
		t.Fatalf("%T does not implement weft.ActionStore", s)
	}
	return as
}

// newAction returns an isolation of target, requested by alice at Base.
func newAction(target string, status weft.ActionStatus, incident int64) *weft.Action {
	return &weft.Action{TenantID: weft.DefaultTenantID, Type: "isolate", EntityType: weft.EntityDevice,
		Target: target, Parameters: map[string]string{"isolationType": "full"}, IncidentID: incident,
		DedupeKey: "k-" + target, ActionStatus: status, RequestedBy: alice, Connector: "simulator",
		ExpiresAt: Base.Add(72 * time.Hour), Contains: weft.ContainmentIsolated, Created: Base}
}

func mustCreate(t *testing.T, s weft.ActionStore, a *weft.Action) *weft.Action {
	t.Helper()
	out, existed, err := s.CreateAction(context.Background(), a)
	if err != nil || existed {
		t.Fatalf("CreateAction: existed %v, %v", existed, err)
	}
	return out
}

func mustTransition(t *testing.T, s weft.ActionStore, a *weft.Action, to weft.ActionStatus, by weft.ActionActor, at time.Time) *weft.Action {
	t.Helper()
	out, err := s.TransitionAction(context.Background(), weft.ActionTransition{TenantID: a.TenantID, ID: a.ID,
		Version: a.Version, To: to, By: by, Now: at, Message: "to " + string(to)})
	if err != nil {
		t.Fatalf("TransitionAction %d %s → %s: %v", a.ID, a.ActionStatus, to, err)
	}
	return out
}

func mustLog(t *testing.T, s weft.ActionStore, a *weft.Action) []weft.ActionLogEntry {
	t.Helper()
	log, err := s.ActionLog(context.Background(), a.TenantID, a.ID)
	if err != nil {
		t.Fatalf("ActionLog(%d): %v", a.ID, err)
	}
	return log
}

// newIncident stores an alert and returns the id of its incident.
func newIncident(t *testing.T, s weft.Store, i int) int64 {
	t.Helper()
	return mustStore(t, s, NewAlert(i))[0].IncidentID
}

// actionActivities returns the incident's activities about actions.
func actionActivities(t *testing.T, s weft.Store, incident int64) []*weft.Activity {
	t.Helper()
	var out []*weft.Activity
	for _, a := range mustActivities(t, s, weft.DefaultTenantID, incident) {
		if strings.HasPrefix(a.Type, "action") {
			out = append(out, a)
		}
	}
	return out
}

func testActionCreate(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	a := mustCreate(t, as, newAction("device.fqdn:ws1.contoso.com", weft.ActionPendingApproval, inc))
	if a.ID == 0 || a.Version != 1 || a.ActionStatus != weft.ActionPendingApproval || a.Attempt != 0 ||
		!a.Created.Equal(Base) || !a.Updated.Equal(Base) || a.Created.Location() != time.UTC ||
		a.RequestedBy != alice || a.DecidedBy != nil || a.Parameters["isolationType"] != "full" ||
		a.Contains != weft.ContainmentIsolated || !a.ExpiresAt.Equal(Base.Add(72*time.Hour)) {
		t.Fatalf("created %+v", a)
	}
	got, err := as.FindAction(ctx, weft.DefaultTenantID, a.ID)
	if err != nil || fmt.Sprint(*got) != fmt.Sprint(*a) {
		t.Fatalf("FindAction: got %+v, %v; want %+v", got, err, a)
	}
	_, err = as.FindAction(ctx, "other", a.ID)
	wantCode(t, err, weft.ENOTFOUND)
	_, err = as.ActionLog(ctx, "other", a.ID)
	wantCode(t, err, weft.ENOTFOUND)

	t.Run("LogSaysWho", func(t *testing.T) {
		log := mustLog(t, as, a)
		if len(log) != 2 || log[0].From != "" || log[0].To != weft.ActionRequested || log[0].Actor != alice ||
			log[1].From != weft.ActionRequested || log[1].To != weft.ActionPendingApproval || log[1].Actor != weftActor {
			t.Fatalf("log %+v", log)
		}
		acts := actionActivities(t, s, inc)
		if len(acts) != 1 || acts[0].Type != weft.ActivityActionRequested || acts[0].Actor != alice.Name ||
			!strings.Contains(acts[0].Message, fmt.Sprintf("Action %d isolate", a.ID)) {
			t.Fatalf("activities %+v", acts)
		}
	})
	t.Run("SameKeyIsTheSameAction", func(t *testing.T) {
		again := newAction("device.fqdn:ws1.contoso.com", weft.ActionApproved, inc)
		again.RequestedBy = bob
		got, existed, err := as.CreateAction(ctx, again)
		if err != nil || !existed || got.ID != a.ID || got.RequestedBy != alice || got.ActionStatus != weft.ActionPendingApproval {
			t.Fatalf("got %+v existed %v, %v; want action %d", got, existed, err, a.ID)
		}
		if n := len(mustLog(t, as, a)); n != 2 {
			t.Fatalf("the repeat logged: %d entries", n)
		}
		if n := len(actionActivities(t, s, inc)); n != 1 {
			t.Fatalf("the repeat logged %d activities", n)
		}
	})
	t.Run("OtherKeyTypeTargetOrTenantIsAnother", func(t *testing.T) {
		for _, change := range []func(*weft.Action){
			func(x *weft.Action) { x.DedupeKey = "other" },
			func(x *weft.Action) { x.Type = "restrictAppExecution" },
			func(x *weft.Action) { x.Target = "device.fqdn:ws2.contoso.com" },
			func(x *weft.Action) { x.TenantID = "acme"; x.IncidentID = 0 },
		} {
			x := newAction("device.fqdn:ws1.contoso.com", weft.ActionPendingApproval, inc)
			change(x)
			if got := mustCreate(t, as, x); got.ID == a.ID {
				t.Fatalf("got the same action for %+v", x)
			}
		}
	})
	t.Run("FinalFreesTheKey", func(t *testing.T) {
		b := mustCreate(t, as, newAction("device.fqdn:ws9.contoso.com", weft.ActionPendingApproval, 0))
		mustTransition(t, as, b, weft.ActionCancelled, alice, Base)
		c := mustCreate(t, as, newAction("device.fqdn:ws9.contoso.com", weft.ActionPendingApproval, 0))
		if c.ID == b.ID {
			t.Fatal("a cancelled action still holds its key")
		}
	})
	t.Run("ErrIncidentNotFound", func(t *testing.T) {
		_, _, err := as.CreateAction(ctx, newAction("device.fqdn:ws3.contoso.com", weft.ActionApproved, inc+1000))
		wantCode(t, err, weft.ENOTFOUND)
	})
	t.Run("ErrStatus", func(t *testing.T) {
		_, _, err := as.CreateAction(ctx, newAction("device.fqdn:ws4.contoso.com", weft.ActionSucceeded, 0))
		wantCode(t, err, weft.EINVALID)
	})
}

func testActionConcurrentCreate(t *testing.T, open func(t *testing.T) weft.Store) {
	as := actionStore(t, open(t))
	const n = 8
	ids := make([]int64, n)
	existed := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a, ex, err := as.CreateAction(context.Background(), newAction("device.fqdn:ws1.contoso.com", weft.ActionApproved, 0))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], existed[i] = a.ID, ex
		})
	}
	wg.Wait()
	if ids[0] == 0 || slices.ContainsFunc(ids, func(id int64) bool { return id != ids[0] }) {
		t.Fatalf("got ids %v, want one action", ids)
	}
	if created := slices.Index(existed, false); created < 0 || slices.Index(existed[created+1:], false) >= 0 {
		t.Fatalf("existed %v: want exactly one request to create", existed)
	}
}

// reach returns n new actions (targets distinct) in status st, made through
// the arrows.
func reach(t *testing.T, as weft.ActionStore, st weft.ActionStatus, n int, prefix string) []*weft.Action {
	t.Helper()
	start := weft.ActionApproved
	switch st {
	case weft.ActionPendingApproval, weft.ActionRejected, weft.ActionCancelled, weft.ActionExpired:
		start = weft.ActionPendingApproval
	}
	path := map[weft.ActionStatus][]weft.ActionStatus{
		weft.ActionRejected:   {weft.ActionRejected},
		weft.ActionCancelled:  {weft.ActionCancelled},
		weft.ActionExpired:    {weft.ActionExpired},
		weft.ActionDispatched: {weft.ActionDispatched},
		weft.ActionSucceeded:  {weft.ActionDispatched, weft.ActionSucceeded},
		weft.ActionFailed:     {weft.ActionDispatched, weft.ActionFailed},
		weft.ActionUndone:     {weft.ActionDispatched, weft.ActionSucceeded, weft.ActionUndone},
	}[st]
	out := make([]*weft.Action, n)
	for i := range out {
		a := mustCreate(t, as, newAction(fmt.Sprintf("device.fqdn:%s-%d.contoso.com", prefix, i), start, 0))
		for _, to := range path {
			a = mustTransition(t, as, a, to, bob, Base)
		}
		if a.ActionStatus != st {
			t.Fatalf("reached %s, want %s", a.ActionStatus, st)
		}
		out[i] = a
	}
	return out
}

// testActionArrows tries every (from, to) pair of statuses: the arrows of
// the state machine succeed, every other pair is ECONFLICT and changes
// nothing. (No action is ever stored as requested: CreateAction records the
// request and the policy's decision in one transaction.)
func testActionArrows(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	as := actionStore(t, open(t))
	for _, from := range weft.ActionStatuses {
		if from == weft.ActionRequested {
			continue
		}
		actions := reach(t, as, from, len(weft.ActionStatuses), string(from))
		for i, to := range weft.ActionStatuses {
			a := actions[i]
			before := len(mustLog(t, as, a))
			got, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: a.TenantID, ID: a.ID,
				Version: a.Version, To: to, By: bob, Now: Base.Add(time.Minute)})
			if weft.CanTransitionAction(from, to) {
				if err != nil || got.ActionStatus != to || got.Version != a.Version+1 || !got.Updated.Equal(Base.Add(time.Minute)) {
					t.Errorf("%s → %s: got %+v, %v", from, to, got, err)
				}
				if n := len(mustLog(t, as, a)); n != before+1 {
					t.Errorf("%s → %s: log grew by %d, want 1", from, to, n-before)
				}
				continue
			}
			if weft.ErrorCode(err) != weft.ECONFLICT {
				t.Errorf("%s → %s: got %v, want ECONFLICT", from, to, err)
				continue
			}
			cur, err := as.FindAction(ctx, a.TenantID, a.ID)
			if err != nil || cur.ActionStatus != from || cur.Version != a.Version || len(mustLog(t, as, a)) != before {
				t.Errorf("%s → %s refused but changed the action: %+v, %v", from, to, cur, err)
			}
		}
	}
	_, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: weft.DefaultTenantID, ID: 1 << 40,
		Version: 1, To: weft.ActionApproved, By: bob, Now: Base})
	wantCode(t, err, weft.ENOTFOUND)
}

func testActionLostRace(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	a := mustCreate(t, as, newAction("device.fqdn:ws1.contoso.com", weft.ActionPendingApproval, inc))
	approved := mustTransition(t, as, a, weft.ActionApproved, bob, Base.Add(time.Minute))
	if approved.DecidedBy == nil || *approved.DecidedBy != bob || approved.Message != "to approved" {
		t.Fatalf("approved %+v, want decided by bob", approved)
	}
	// A second decision read the same version: it lost.
	_, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: a.TenantID, ID: a.ID, Version: a.Version,
		To: weft.ActionCancelled, By: alice, Now: Base.Add(2 * time.Minute)})
	wantCode(t, err, weft.ECONFLICT)
	cur, err := as.FindAction(ctx, a.TenantID, a.ID)
	if err != nil || fmt.Sprint(*cur) != fmt.Sprint(*approved) {
		t.Fatalf("after the lost race: %+v, %v; want %+v", cur, err, approved)
	}
	log := mustLog(t, as, a)
	if len(log) != 3 || log[2].To != weft.ActionApproved || log[2].Actor != bob || !log[2].Time.Equal(Base.Add(time.Minute)) {
		t.Fatalf("log %+v", log)
	}
	acts := actionActivities(t, s, inc)
	if len(acts) != 2 || acts[1].Type != weft.ActivityActionApproved || acts[1].Actor != bob.Name {
		t.Fatalf("activities %+v", acts)
	}
	// Concurrent transitions from one version: exactly one wins.
	b := mustCreate(t, as, newAction("device.fqdn:ws2.contoso.com", weft.ActionPendingApproval, inc))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 6 {
		wg.Go(func() {
			_, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: b.TenantID, ID: b.ID, Version: b.Version,
				To: weft.ActionRejected, By: bob, Now: Base})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if weft.ErrorCode(err) != weft.ECONFLICT {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || len(mustLog(t, as, b)) != 3 {
		t.Fatalf("%d concurrent transitions won, log %v", wins, mustLog(t, as, b))
	}
}

func testActionClaim(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	now := Base.Add(time.Hour)
	lease := time.Minute
	due := mustCreate(t, as, newAction("device.fqdn:due.contoso.com", weft.ActionApproved, inc))
	later := newAction("device.fqdn:later.contoso.com", weft.ActionApproved, 0)
	later.NotBefore = now.Add(lease)
	later = mustCreate(t, as, later)
	pending := mustCreate(t, as, newAction("device.fqdn:pending.contoso.com", weft.ActionPendingApproval, 0))
	gone := newAction("device.fqdn:gone.contoso.com", weft.ActionApproved, 0)
	gone.ExpiresAt = now
	mustCreate(t, as, gone)

	if next, ok, err := as.NextDue(ctx); err != nil || !ok || !next.Equal(Base) {
		t.Fatalf("NextDue: %v %v %v, want %v", next, ok, err, Base)
	}
	claimed, err := as.ClaimDue(ctx, now, lease, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != due.ID {
		t.Fatalf("ClaimDue: %v, %v; want action %d only", claimed, err, due.ID)
	}
	c := claimed[0]
	if c.ActionStatus != weft.ActionDispatched || c.Attempt != 1 || !c.LeaseUntil.Equal(now.Add(lease)) || c.Version != 2 {
		t.Fatalf("claimed %+v", c)
	}
	if log := mustLog(t, as, c); log[len(log)-1].Actor != weftActor || log[len(log)-1].Attempt != 1 {
		t.Fatalf("claim log %+v", log)
	}
	if acts := actionActivities(t, s, inc); acts[len(acts)-1].Type != weft.ActivityActionDispatched {
		t.Fatalf("activities %+v", acts)
	}
	// Within the lease: nothing more is due.
	if again, err := as.ClaimDue(ctx, now.Add(lease-time.Nanosecond), lease, 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed within the lease: %v, %v", again, err)
	}
	// After the lease (the worker died): sent again, the next attempt;
	// the later action is due by then too.
	again, err := as.ClaimDue(ctx, now.Add(lease+time.Nanosecond), lease, 10)
	if err != nil || len(again) != 2 || again[0].ID != due.ID || again[0].Attempt != 2 || again[1].ID != later.ID || again[1].Attempt != 1 {
		t.Fatalf("re-claim: %+v, %v", again, err)
	}
	if cur, _ := as.FindAction(ctx, pending.TenantID, pending.ID); cur.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("a pending action was claimed: %+v", cur)
	}
	// The outcome of a superseded claim loses (compare and set).
	_, err = as.TransitionAction(ctx, weft.ActionTransition{TenantID: c.TenantID, ID: c.ID, Version: c.Version,
		To: weft.ActionSucceeded, By: simulator, Now: now})
	wantCode(t, err, weft.ECONFLICT)
	// A retryable failure waits for its NotBefore.
	retry, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: c.TenantID, ID: c.ID, Version: again[0].Version,
		To: weft.ActionApproved, By: simulator, Now: now, NotBefore: now.Add(time.Hour), Message: "busy"})
	if err != nil || !retry.NotBefore.Equal(now.Add(time.Hour)) || !retry.LeaseUntil.IsZero() || retry.Message != "busy" {
		t.Fatalf("retry: %+v, %v", retry, err)
	}
	if acts := actionActivities(t, s, inc); acts[len(acts)-1].Type != weft.ActivityActionRetrying {
		t.Fatalf("activities %+v", acts)
	}
	// gone has been due since it was approved (but expiry, not a claim,
	// will end it).
	if next, ok, err := as.NextDue(ctx); err != nil || !ok || !next.Equal(Base) {
		t.Fatalf("NextDue: %v %v %v, want %v", next, ok, err, Base)
	}
	if _, err := as.ClaimDue(ctx, now, 0, 1); weft.ErrorCode(err) != weft.EINVALID {
		t.Fatalf("zero lease: %v", err)
	}
}

func testActionConcurrentClaim(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	as := actionStore(t, open(t))
	const n = 20
	for i := range n {
		mustCreate(t, as, newAction(fmt.Sprintf("device.fqdn:ws%d.contoso.com", i), weft.ActionApproved, 0))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := as.ClaimDue(ctx, Base.Add(time.Minute), time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, a := range got {
					seen[a.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d actions, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("action %d claimed %d times", id, k)
		}
	}
}

func testActionExpire(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	exp := Base.Add(time.Hour)
	mk := func(name string, st weft.ActionStatus) *weft.Action {
		a := newAction("device.fqdn:"+name+".contoso.com", st, inc)
		a.ExpiresAt = exp
		return mustCreate(t, as, a)
	}
	pending := mk("pending", weft.ActionPendingApproval)
	waiting := newAction("device.fqdn:waiting.contoso.com", weft.ActionApproved, inc)
	waiting.ExpiresAt, waiting.NotBefore = exp, exp.Add(time.Minute) // a retry after the TTL
	waiting = mustCreate(t, as, waiting)
	mk("inflight1", weft.ActionApproved)
	mk("inflight2", weft.ActionApproved)
	// Both are claimed now, with leases that outlive the TTL: a dispatch
	// in progress is not expired under its worker.
	claimed, err := as.ClaimDue(ctx, exp.Add(-time.Minute), 2*time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if got, err := as.ExpireDue(ctx, exp.Add(-time.Nanosecond), 10); err != nil || len(got) != 0 {
		t.Fatalf("expired before the TTL: %v, %v", got, err)
	}
	got, err := as.ExpireDue(ctx, exp, 10)
	if err != nil || len(got) != 2 || got[0].ID != pending.ID || got[1].ID != waiting.ID || got[0].ActionStatus != weft.ActionExpired {
		t.Fatalf("ExpireDue at the TTL: %+v, %v; want the pending and the approved action", got, err)
	}
	log := mustLog(t, as, pending)
	if last := log[len(log)-1]; last.To != weft.ActionExpired || last.Actor != weftActor {
		t.Fatalf("log %+v", log)
	}
	// Once the leases have run out, the dispatched ones expire too.
	got, err = as.ExpireDue(ctx, exp.Add(2*time.Minute), 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ExpireDue after the leases: %+v, %v; want the 2 dispatched", got, err)
	}
	if _, ok, err := as.NextDue(ctx); ok || err != nil {
		t.Fatalf("NextDue with nothing open: ok %v, %v", ok, err)
	}
	if acts := actionActivities(t, s, inc); acts[len(acts)-1].Type != weft.ActivityActionExpired {
		t.Fatalf("activities %+v", acts)
	}
}

func testActionUndo(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	const dev = "device.fqdn:ws1.contoso.com"
	succeed := func(a *weft.Action, at time.Time, undoes []string) *weft.Action {
		t.Helper()
		d := mustTransition(t, as, a, weft.ActionDispatched, weftActor, at)
		out, err := as.TransitionAction(ctx, weft.ActionTransition{TenantID: d.TenantID, ID: d.ID, Version: d.Version,
			To: weft.ActionSucceeded, By: simulator, Now: at, ExternalID: "ext-1", Undoes: undoes})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	iso := succeed(mustCreate(t, as, newAction(dev, weft.ActionApproved, inc)), Base.Add(time.Minute), nil)
	if iso.ExternalID != "ext-1" {
		t.Fatalf("external id %q", iso.ExternalID)
	}
	restrict := newAction(dev, weft.ActionApproved, 0)
	restrict.Type, restrict.Contains, restrict.Parameters = "restrictAppExecution", weft.ContainmentRestricted, nil
	restrict = succeed(mustCreate(t, as, restrict), Base.Add(2*time.Minute), nil)
	c, err := as.Containment(ctx, weft.DefaultTenantID, []string{dev, "device.fqdn:other.contoso.com"})
	if err != nil || len(c) != 1 || c[dev].State != weft.ContainmentRestricted || c[dev].ActionID != restrict.ID ||
		!c[dev].Since.Equal(Base.Add(2*time.Minute)) {
		t.Fatalf("containment %+v, %v; want restricted by %d", c, err, restrict.ID)
	}
	if c, _ := as.Containment(ctx, "acme", []string{dev}); len(c) != 0 {
		t.Fatalf("another tenant sees containment %+v", c)
	}
	// The undo of the restriction names it; when it succeeds, the
	// restriction is undone and the isolation shows again.
	undo := &weft.Action{TenantID: weft.DefaultTenantID, Type: "removeAppRestriction", EntityType: weft.EntityDevice,
		Target: dev, IncidentID: inc, DedupeKey: "undo", ActionStatus: weft.ActionApproved, RequestedBy: bob,
		Connector: "simulator", ExpiresAt: Base.Add(24 * time.Hour), UndoOf: restrict.ID, Created: Base.Add(3 * time.Minute)}
	undo = succeed(mustCreate(t, as, undo), Base.Add(3*time.Minute), []string{"restrictAppExecution"})
	restrict, _ = as.FindAction(ctx, restrict.TenantID, restrict.ID)
	if restrict.ActionStatus != weft.ActionUndone || restrict.UndoneBy != undo.ID {
		t.Fatalf("restriction after its undo: %+v", restrict)
	}
	if log := mustLog(t, as, restrict); log[len(log)-1].To != weft.ActionUndone || log[len(log)-1].Actor != simulator {
		t.Fatalf("log %+v", log)
	}
	c, _ = as.Containment(ctx, weft.DefaultTenantID, []string{dev})
	if c[dev].State != weft.ContainmentIsolated || c[dev].ActionID != iso.ID {
		t.Fatalf("containment %+v; want isolated by %d", c, iso.ID)
	}
	// A release without UndoOf undoes every isolation of the device.
	iso2 := newAction(dev, weft.ActionApproved, 0)
	iso2.DedupeKey = "second"
	iso2 = succeed(mustCreate(t, as, iso2), Base.Add(4*time.Minute), nil)
	rel := &weft.Action{TenantID: weft.DefaultTenantID, Type: "release", EntityType: weft.EntityDevice,
		Target: dev, DedupeKey: "rel", ActionStatus: weft.ActionApproved, RequestedBy: bob,
		Connector: "simulator", ExpiresAt: Base.Add(24 * time.Hour), Created: Base.Add(5 * time.Minute)}
	rel = succeed(mustCreate(t, as, rel), Base.Add(5*time.Minute), []string{"isolate"})
	for _, id := range []int64{iso.ID, iso2.ID} {
		if a, _ := as.FindAction(ctx, weft.DefaultTenantID, id); a.ActionStatus != weft.ActionUndone || a.UndoneBy != rel.ID {
			t.Fatalf("isolation %d after the release: %+v", id, a)
		}
	}
	if c, _ := as.Containment(ctx, weft.DefaultTenantID, []string{dev}); len(c) != 0 {
		t.Fatalf("containment after the release: %+v", c)
	}
	var undone int
	for _, a := range actionActivities(t, s, inc) {
		if a.Type == weft.ActivityActionUndone {
			undone++
		}
	}
	if undone != 1 { // only the first isolation was on the incident
		t.Fatalf("%d undone activities, want 1", undone)
	}
}

func testActionList(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	s := open(t)
	as := actionStore(t, s)
	inc := newIncident(t, s, 0)
	var ids []int64
	for i := range 5 {
		a := newAction(fmt.Sprintf("device.fqdn:ws%d.contoso.com", i), weft.ActionApproved, 0)
		a.Created = Base.Add(time.Duration(i) * time.Hour)
		if i%2 == 0 {
			a.ActionStatus, a.IncidentID, a.RequestedBy = weft.ActionPendingApproval, inc, rule
		}
		ids = append(ids, mustCreate(t, as, a).ID)
	}
	mustCreate(t, as, &weft.Action{TenantID: "acme", Type: "disable", EntityType: weft.EntityUser, Target: "user.upn:x@acme.com",
		DedupeKey: "k", ActionStatus: weft.ActionApproved, RequestedBy: alice, Connector: "simulator",
		ExpiresAt: Base.Add(time.Hour), Created: Base})
	list := func(q weft.ActionQuery) []int64 {
		t.Helper()
		q.TenantID = weft.DefaultTenantID
		p, err := as.ListActions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, a := range p.Actions {
			got = append(got, a.ID)
		}
		return got
	}
	for _, tc := range []struct {
		name string
		q    weft.ActionQuery
		want []int64
	}{
		{"NewestFirst", weft.ActionQuery{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"Status", weft.ActionQuery{ActionStatus: []weft.ActionStatus{weft.ActionPendingApproval}}, []int64{ids[4], ids[2], ids[0]}},
		{"Incident", weft.ActionQuery{IncidentID: inc}, []int64{ids[4], ids[2], ids[0]}},
		{"RequestedBy", weft.ActionQuery{RequestedBy: alice.Name}, []int64{ids[3], ids[1]}},
		{"Target", weft.ActionQuery{Target: "device.fqdn:ws1.contoso.com"}, []int64{ids[1]}},
		{"Type", weft.ActionQuery{Type: []string{"disable"}}, nil},
		{"EntityType", weft.ActionQuery{EntityType: weft.EntityDevice, Top: 2}, []int64{ids[4], ids[3]}},
		{"SinceUntil", weft.ActionQuery{Since: Base.Add(time.Hour), Until: Base.Add(3 * time.Hour)}, []int64{ids[2], ids[1]}},
		{"Skip", weft.ActionQuery{Skip: 3}, []int64{ids[1], ids[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.q); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	p, err := as.ListActions(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, Top: 2, Count: true})
	if err != nil || p.Count != 5 || !p.More || len(p.Actions) != 2 {
		t.Fatalf("page %+v, %v; want count 5, more", p, err)
	}
	if p, _ := as.ListActions(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID}); p.Count != -1 || p.More {
		t.Fatalf("page without count: %+v", p)
	}
}

func testActionPolicy(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	as := actionStore(t, open(t))
	_, err := as.GetResponsePolicy(ctx, weft.DefaultTenantID)
	wantCode(t, err, weft.ENOTFOUND)
	want := weft.ResponsePolicy{RequireApproval: []string{"disable", "isolate"}, AutomationRequiresApproval: false}
	if err := as.PutResponsePolicy(ctx, weft.DefaultTenantID, want); err != nil {
		t.Fatal(err)
	}
	got, err := as.GetResponsePolicy(ctx, weft.DefaultTenantID)
	if err != nil || !slices.Equal(got.RequireApproval, want.RequireApproval) || got.AutomationRequiresApproval {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	want = weft.ResponsePolicy{AutomationRequiresApproval: true}
	if err := as.PutResponsePolicy(ctx, weft.DefaultTenantID, want); err != nil {
		t.Fatal(err)
	}
	if got, err = as.GetResponsePolicy(ctx, weft.DefaultTenantID); err != nil || len(got.RequireApproval) != 0 || !got.AutomationRequiresApproval {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = as.GetResponsePolicy(ctx, "acme")
	wantCode(t, err, weft.ENOTFOUND)
}
