package respond_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

// The tests of docs/respond.md's invariants on the service and the worker,
// on a real SQLite store, driven round by round (Step) with an injected
// clock. The store's own guarantees are storetest.RunActionTests.

var (
	alice = weft.ActionActor{Kind: weft.ActorUser, Name: "alice@contoso.com"}
	bob   = weft.ActionActor{Kind: weft.ActorUser, Name: "bob@contoso.com"}
	rule  = weft.ActionActor{Kind: weft.ActorAutomation, Name: "isolate on ransomware", RuleID: 7, RuleVersion: 3}
)

const (
	tenant = weft.DefaultTenantID
	ws1    = "device.fqdn:ws1.contoso.com"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// answer is one scripted answer of a test connector.
type answer struct {
	res weft.ActionResult
	err error
}

var (
	ok      = answer{res: weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: "ext"}}
	pending = answer{res: weft.ActionResult{ActionOutcome: weft.DispatchPending, ExternalID: "ext"}}
	busy    = answer{err: weft.RetryableError(errors.New("target busy"))}
	refused = answer{err: errors.New("403: not allowed")}
)

// connector answers from a script (the last answer repeats) and records
// each dispatch.
type connector struct {
	mu      sync.Mutex
	script  []answer
	calls   []string // "key#attempt"
	blocked bool     // wait for ctx instead
}

func (c *connector) Name() string { return "test" }

func (c *connector) Dispatch(ctx context.Context, a *weft.Action) (weft.ActionResult, error) {
	c.mu.Lock()
	c.calls = append(c.calls, fmt.Sprintf("%s#%d", a.IdempotencyKey(), a.Attempt))
	if c.blocked {
		c.mu.Unlock()
		<-ctx.Done()
		return weft.ActionResult{}, ctx.Err()
	}
	ans := c.script[0]
	if len(c.script) > 1 {
		c.script = c.script[1:]
	}
	c.mu.Unlock()
	return ans.res, ans.err
}

func (c *connector) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

type env struct {
	svc   *respond.Service
	store *sqlite.Store
	clock *clock
	conn  *connector
}

func newEnv(t *testing.T, script ...answer) *env {
	t.Helper()
	return newEnvWith(t, func(*respond.Options) {}, script...)
}

func newEnvWith(t *testing.T, change func(*respond.Options), script ...answer) *env {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if len(script) == 0 {
		script = []answer{ok}
	}
	e := &env{store: s, clock: &clock{t: storetest.Base}, conn: &connector{script: script}}
	opts := respond.Options{Now: e.clock.Now, Connectors: map[string]weft.Connector{"test": e.conn},
		DefaultConnector: "test", Rand: func(n int64) int64 { return n - 1 }} // the longest backoff
	change(&opts)
	e.svc = respond.New(s, opts)
	return e
}

func (e *env) request(t *testing.T, typ, target string, by weft.ActionActor, params map[string]string) *weft.Action {
	t.Helper()
	a, existed, err := e.svc.Request(context.Background(), weft.ActionRequest{TenantID: tenant, Type: typ,
		Target: target, Parameters: params, By: by})
	if err != nil || existed {
		t.Fatalf("ActionRequest %s %s: existed %v, %v", typ, target, existed, err)
	}
	return a
}

func (e *env) step(t *testing.T) time.Duration {
	t.Helper()
	wait, err := e.svc.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func (e *env) find(t *testing.T, id int64) *weft.Action {
	t.Helper()
	a, err := e.svc.Find(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) log(t *testing.T, id int64) []weft.ActionLogEntry {
	t.Helper()
	log, err := e.svc.Log(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if weft.ErrorCode(err) != code || !strings.Contains(weft.ErrorMessage(err), msg) {
		t.Fatalf("got %v, want %s containing %q", err, code, msg)
	}
}

// transitions renders a log as "from→to by actor" lines.
func transitions(log []weft.ActionLogEntry) string {
	var b strings.Builder
	for _, e := range log {
		fmt.Fprintf(&b, "%s→%s by %s/%s; ", e.From, e.To, e.Actor.Kind, e.Actor.Name)
	}
	return b.String()
}

// Invariant 1: a double click, a retried request and concurrent requests are
// one action; another window, or the end of the first action, allows another.
func TestRequestOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.request(t, "isolate", ws1, alice, nil)
	if a.Parameters["isolationType"] != "full" || a.ActionStatus != weft.ActionApproved || a.Connector != "test" ||
		!a.ExpiresAt.Equal(storetest.Base.Add(72*time.Hour)) || a.Contains != weft.ContainmentIsolated || a.EntityType != weft.EntityDevice {
		t.Fatalf("requested %+v", a)
	}
	// The same request with the default spelled out, by someone else, a
	// minute later: the same action.
	e.clock.Add(time.Minute)
	again, existed, err := e.svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1,
		Parameters: map[string]string{"isolationType": "full"}, By: bob})
	if err != nil || !existed || again.ID != a.ID {
		t.Fatalf("repeat: %+v existed %v, %v", again, existed, err)
	}
	// Other parameters are another action.
	sel, existed, err := e.svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1,
		Parameters: map[string]string{"isolationType": "selective"}, By: bob})
	if err != nil || existed || sel.ID == a.ID {
		t.Fatalf("selective: %+v existed %v, %v", sel, existed, err)
	}
	// Concurrent double requests.
	const n = 8
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			x, _, err := e.svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "disable",
				Target: "user.upn:carol@contoso.com", By: alice})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- x.ID
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("concurrent requests made actions %d and %d", first, id)
		}
	}
	// Once the first is final, the same request within the window is a
	// new action (the dedupe key is unique among open actions only).
	e.step(t)
	if got := e.find(t, a.ID); got.ActionStatus != weft.ActionSucceeded {
		t.Fatalf("after a round: %s", got.ActionStatus)
	}
	if x := e.request(t, "isolate", ws1, alice, nil); x.ID == a.ID {
		t.Fatal("a succeeded action still holds its key")
	}
	// Another window: another key.
	k1 := respond.DedupeKey("isolate", ws1, map[string]string{"isolationType": "full"}, storetest.Base)
	k2 := respond.DedupeKey("isolate", ws1, map[string]string{"isolationType": "full"}, storetest.Base.Add(respond.DedupeWindow))
	k3 := respond.DedupeKey("isolate", ws1, map[string]string{"isolationType": "full"}, storetest.Base.Add(respond.DedupeWindow-time.Second))
	if k1 == k2 || k1 != k3 {
		t.Fatalf("keys %q %q %q", k1, k2, k3)
	}
	// An explicit key is kept as it is.
	x, _, err := e.svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "revokeSessions",
		Target: "user.upn:carol@contoso.com", DedupeKey: "ticket-42", By: alice})
	if err != nil || x.DedupeKey != "ticket-42" {
		t.Fatalf("explicit key: %+v, %v", x, err)
	}
}

func TestRequestInvalid(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		r    weft.ActionRequest
		msg  string
	}{
		{"ErrTenant", weft.ActionRequest{Type: "isolate", Target: ws1, By: alice}, "must be 1 to 64 characters"},
		{"ErrType", weft.ActionRequest{TenantID: tenant, Type: "nuke", Target: ws1, By: alice}, `type: action "nuke" does not exist`},
		{"ErrTarget", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: "ws1", By: alice}, "target: \"ws1\" is not an entity key"},
		{"ErrEntityType", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: "user.upn:a@b.c", By: alice}, `does not apply to a user`},
		{"ErrParam", weft.ActionRequest{TenantID: tenant, Type: "runAntivirusScan", Target: ws1, By: alice,
			Parameters: map[string]string{"scanType": "deep"}}, `parameters.scanType: "deep" is not allowed; one of: quick, full`},
		{"ErrActorKind", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1}, `actor: kind "" is not one of`},
		{"ErrActorName", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1, By: weft.ActionActor{Kind: weft.ActorUser}}, "actor: the name"},
		{"ErrIncident", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1, By: alice, IncidentID: -1}, "incidentId: must not be negative"},
		{"ErrIncidentNotFound", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1, By: alice, IncidentID: 99}, "incidentId: incident 99 not found"},
		{"ErrDedupeKey", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1, By: alice, DedupeKey: strings.Repeat("k", 300)}, "dedupeKey: must be valid UTF-8 of at most 256 bytes"},
		{"ErrTargetName", weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1, By: alice, TargetName: "a\x00b"}, "targetName: contains a control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.Request(context.Background(), tc.r)
			code := weft.EINVALID
			if tc.name == "ErrIncidentNotFound" {
				code = weft.ENOTFOUND
			}
			wantCode(t, err, code, tc.msg)
		})
	}
	if p, _ := e.svc.List(context.Background(), weft.ActionQuery{TenantID: tenant}); len(p.Actions) != 0 {
		t.Fatalf("invalid requests stored %d actions", len(p.Actions))
	}
}

// The approval policy: the default runs manual actions at once and holds
// automated ones; a listed type (or "*") holds every request of it.
func TestPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p, err := e.svc.ResponsePolicy(ctx, tenant)
	if err != nil || !p.AutomationRequiresApproval || len(p.RequireApproval) != 0 || p.RequireApproval == nil {
		t.Fatalf("default policy %+v, %v", p, err)
	}
	if a := e.request(t, "isolate", ws1, alice, nil); a.ActionStatus != weft.ActionApproved {
		t.Fatalf("manual request: %s", a.ActionStatus)
	}
	if a := e.request(t, "disable", "user.upn:x@contoso.com", rule, nil); a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("automated request: %s", a.ActionStatus)
	}
	p, err = e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"revokeSessions", "disable", "disable"}})
	if err != nil || strings.Join(p.RequireApproval, ",") != "disable,revokeSessions" || p.AutomationRequiresApproval {
		t.Fatalf("SetPolicy: %+v, %v", p, err)
	}
	if a := e.request(t, "disable", "user.upn:y@contoso.com", alice, nil); a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("listed type: %s", a.ActionStatus)
	}
	if a := e.request(t, "forcePasswordReset", "user.upn:y@contoso.com", rule, nil); a.ActionStatus != weft.ActionApproved {
		t.Fatalf("automation without AutomationRequiresApproval: %s", a.ActionStatus)
	}
	if _, err := e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if a := e.request(t, "runAntivirusScan", ws1, alice, nil); a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("*: %s", a.ActionStatus)
	}
	_, err = e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"isolate", "nuke"}})
	wantCode(t, err, weft.EINVALID, `requireApproval[1]: action "nuke" does not exist`)
}

// Invariant 6: approvals need another person than the requester; every
// change records who made it.
func TestApprovalAndWho(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	inc := storeIncident(t, e.store)
	if _, err := e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"isolate"}, AutomationRequiresApproval: true}); err != nil {
		t.Fatal(err)
	}
	a, _, err := e.svc.Request(ctx, weft.ActionRequest{TenantID: tenant, Type: "isolate", Target: ws1,
		IncidentID: inc, Comment: "ransomware on ws1", By: alice})
	if err != nil || a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("request: %+v, %v", a, err)
	}
	// Nothing runs before the approval.
	e.step(t)
	if len(e.conn.Calls()) != 0 {
		t.Fatalf("dispatched before approval: %v", e.conn.Calls())
	}
	_, err = e.svc.Approve(ctx, tenant, a.ID, weft.ActionActor{Kind: weft.ActorUser, Name: "ALICE@contoso.com"}, "")
	wantCode(t, err, weft.EFORBIDDEN, "cannot approve it: another responder must")
	_, err = e.svc.Reject(ctx, tenant, a.ID, alice, "")
	wantCode(t, err, weft.EFORBIDDEN, "cancel it instead")
	_, err = e.svc.Approve(ctx, tenant, a.ID, rule, "")
	wantCode(t, err, weft.EFORBIDDEN, "only a person may approve")
	// A token alice created is alice for the four-eyes rule.
	aliceToken := weft.ActionActor{Kind: weft.ActorUser, Name: "token:alice-cli", Owner: "alice@contoso.com"}
	_, err = e.svc.Approve(ctx, tenant, a.ID, aliceToken, "")
	wantCode(t, err, weft.EFORBIDDEN, "cannot approve it: another responder must")
	approved, err := e.svc.Approve(ctx, tenant, a.ID, bob, "confirmed with the SOC lead")
	if err != nil || approved.ActionStatus != weft.ActionApproved || approved.DecidedBy == nil || *approved.DecidedBy != bob {
		t.Fatalf("approve: %+v, %v", approved, err)
	}
	_, err = e.svc.Approve(ctx, tenant, a.ID, bob, "")
	wantCode(t, err, weft.ECONFLICT, "is approved, not pending approval")
	e.step(t)
	log := e.log(t, a.ID)
	want := "→requested by user/alice@contoso.com; requested→pendingApproval by system/weft; " +
		"pendingApproval→approved by user/bob@contoso.com; approved→dispatched by system/weft; " +
		"dispatched→succeeded by connector/test; "
	if got := transitions(log); got != want {
		t.Fatalf("log:\n got %s\nwant %s", got, want)
	}
	if log[0].Message != "ransomware on ws1" || log[2].Message != "confirmed with the SOC lead" || log[3].Attempt != 1 {
		t.Fatalf("log messages %+v", log)
	}
	// The incident's activity log tells the same story.
	var acts []string
	all, err := e.store.ListActivities(ctx, tenant, inc)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if strings.HasPrefix(x.Type, "action") {
			acts = append(acts, x.Type+" by "+x.Actor)
		}
	}
	if got := strings.Join(acts, "; "); got != "actionRequested by alice@contoso.com; actionApproved by bob@contoso.com; "+
		"actionDispatched by weft; actionSucceeded by connector test" {
		t.Fatalf("activities: %s", got)
	}
	// An automation rule's request records the rule, its version and who
	// last saved it (Owner), who is its requester for the four-eyes rule:
	// neither they nor their token may approve or reject it.
	byRule := rule
	byRule.Owner = "carol@contoso.com"
	r := e.request(t, "isolate", "device.fqdn:ws2.contoso.com", byRule, nil)
	if got := e.log(t, r.ID)[0].Actor; got != byRule {
		t.Fatalf("automation requester %+v", got)
	}
	_, err = e.svc.Approve(ctx, tenant, r.ID, weft.ActionActor{Kind: weft.ActorUser, Name: "Carol@contoso.com"}, "")
	wantCode(t, err, weft.EFORBIDDEN, "last saved automation rule isolate on ransomware, which requested action")
	_, err = e.svc.Reject(ctx, tenant, r.ID, weft.ActionActor{Kind: weft.ActorUser, Name: "token:carol", Owner: "carol@contoso.com"}, "")
	wantCode(t, err, weft.EFORBIDDEN, "cannot reject it: another responder must")
	// Rejection by another person.
	rej, err := e.svc.Reject(ctx, tenant, r.ID, alice, "false positive")
	if err != nil || rej.ActionStatus != weft.ActionRejected || *rej.DecidedBy != alice {
		t.Fatalf("reject: %+v, %v", rej, err)
	}
}

// storeIncident stores an alert and returns its incident.
func storeIncident(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	res, err := s.StoreAlerts(context.Background(), []*weft.Alert{storetest.NewAlert(0)})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].IncidentID
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, pending)
	if _, err := e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"disable"}}); err != nil {
		t.Fatal(err)
	}
	// While pending approval: anyone may cancel, the requester too.
	a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
	c, err := e.svc.Cancel(ctx, tenant, a.ID, alice, "wrong user")
	if err != nil || c.ActionStatus != weft.ActionCancelled {
		t.Fatalf("cancel pending: %+v, %v", c, err)
	}
	_, err = e.svc.Approve(ctx, tenant, a.ID, bob, "")
	wantCode(t, err, weft.ECONFLICT, "is cancelled, not pending approval")
	// Approved but not yet sent.
	b := e.request(t, "isolate", ws1, alice, nil)
	if _, err := e.svc.Cancel(ctx, tenant, b.ID, bob, ""); err != nil {
		t.Fatal(err)
	}
	e.step(t)
	if calls := e.conn.Calls(); len(calls) != 0 {
		t.Fatalf("cancelled actions dispatched: %v", calls)
	}
	// Once dispatched, no more.
	d := e.request(t, "revokeSessions", "user.upn:x@contoso.com", alice, nil)
	e.step(t)
	_, err = e.svc.Cancel(ctx, tenant, d.ID, bob, "")
	wantCode(t, err, weft.ECONFLICT, "is dispatched; only an action pending approval or approved can be cancelled")
	_, err = e.svc.Cancel(ctx, tenant, 12345, bob, "")
	wantCode(t, err, weft.ENOTFOUND, "action 12345 not found")
}

// Invariant 4: retryable failures back off (full jitter, base 2 s, cap
// 5 min) up to the TTL, then expire; a permanent failure fails at once.
func TestRetries(t *testing.T) {
	t.Run("RetryThenSucceed", func(t *testing.T) {
		e := newEnv(t, busy, busy, busy, ok)
		a := e.request(t, "isolate", ws1, alice, nil)
		want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} // Rand gives the ceiling
		for i, d := range want {
			e.step(t)
			cur := e.find(t, a.ID)
			if cur.ActionStatus != weft.ActionApproved || cur.Attempt != i+1 || !cur.NotBefore.Equal(e.clock.Now().Add(d)) ||
				!strings.Contains(cur.Message, "target busy") {
				t.Fatalf("after attempt %d: %+v; want approved, not before +%v", i+1, cur, d)
			}
			// Not due a nanosecond early.
			e.clock.Add(d - time.Nanosecond)
			if wait := e.step(t); wait != time.Nanosecond || len(e.conn.Calls()) != i+1 {
				t.Fatalf("early: wait %v, calls %v", wait, e.conn.Calls())
			}
			e.clock.Add(time.Nanosecond)
		}
		e.step(t)
		cur := e.find(t, a.ID)
		if cur.ActionStatus != weft.ActionSucceeded || cur.Attempt != 4 || cur.ExternalID != "ext" {
			t.Fatalf("final %+v", cur)
		}
		// Every attempt carried the same idempotency key.
		key := cur.IdempotencyKey()
		if got := strings.Join(e.conn.Calls(), " "); got != fmt.Sprintf("%s#1 %s#2 %s#3 %s#4", key, key, key, key) {
			t.Fatalf("calls %s", got)
		}
		log := transitions(e.log(t, a.ID))
		if strings.Count(log, "dispatched→approved by connector/test") != 3 {
			t.Fatalf("log %s", log)
		}
	})
	t.Run("ExpirePastTTL", func(t *testing.T) {
		e := newEnv(t, busy)
		a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
		for range 400 {
			e.step(t)
			cur := e.find(t, a.ID)
			if cur.ActionStatus.Final() {
				break
			}
			e.clock.Add(cur.NotBefore.Sub(e.clock.Now()))
		}
		cur := e.find(t, a.ID)
		if cur.ActionStatus != weft.ActionExpired || !strings.Contains(cur.Message, "past the action's time to live: target busy") {
			t.Fatalf("final %+v", cur)
		}
		// 2+4+...+256 s, then 5 min each until the next would pass 24 h.
		attempts := len(e.conn.Calls())
		sum := 510 * time.Second
		wantAttempts := 8 + int((24*time.Hour-sum)/(5*time.Minute)) + 1
		if attempts != wantAttempts || e.clock.Now().After(cur.ExpiresAt) {
			t.Fatalf("%d attempts, now %v; want %d, before %v", attempts, e.clock.Now(), wantAttempts, cur.ExpiresAt)
		}
		if log := e.log(t, a.ID); log[len(log)-1].Actor.Kind != weft.ActorSystem {
			t.Fatalf("expired by %+v", log[len(log)-1].Actor)
		}
	})
	t.Run("PermanentFailsAtOnce", func(t *testing.T) {
		e := newEnv(t, refused)
		a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
		e.step(t)
		if cur := e.find(t, a.ID); cur.ActionStatus != weft.ActionFailed || cur.Attempt != 1 || cur.Message != "403: not allowed" {
			t.Fatalf("final %+v", cur)
		}
	})
	t.Run("UnknownConnectorFails", func(t *testing.T) {
		e := newEnvWith(t, func(o *respond.Options) { o.ConnectorFor = map[string]string{"disable": "missing"} })
		a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
		e.step(t)
		if cur := e.find(t, a.ID); cur.ActionStatus != weft.ActionFailed || cur.Connector != "missing" ||
			cur.Message != `no connector "missing" is configured` {
			t.Fatalf("final %+v", cur)
		}
	})
	t.Run("TimeoutIsRetryable", func(t *testing.T) {
		e := newEnvWith(t, func(o *respond.Options) { o.DispatchTimeout = time.Millisecond })
		e.conn.blocked = true
		a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
		e.step(t)
		if cur := e.find(t, a.ID); cur.ActionStatus != weft.ActionApproved || !strings.Contains(cur.Message, "did not answer in time") {
			t.Fatalf("after a timeout %+v", cur)
		}
	})
	t.Run("PendingThenComplete", func(t *testing.T) {
		ctx := context.Background()
		e := newEnv(t, pending)
		a := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
		e.step(t)
		cur := e.find(t, a.ID)
		if cur.ActionStatus != weft.ActionDispatched || !cur.LeaseUntil.Equal(cur.ExpiresAt) || cur.ExternalID != "ext" {
			t.Fatalf("pending %+v", cur)
		}
		// Not sent again while it waits for its callback.
		e.clock.Add(time.Hour)
		e.step(t)
		if n := len(e.conn.Calls()); n != 1 {
			t.Fatalf("%d dispatches", n)
		}
		// A completion through another connector is refused: the holder
		// of one connector's secret cannot complete another's actions.
		if err := e.svc.Complete(ctx, "webhook", tenant, a.ID, 1, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded}, nil); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Fatalf("completion through another connector: %v, want ENOTFOUND", err)
		}
		if got := e.find(t, a.ID); got.Version != cur.Version {
			t.Fatalf("a completion through another connector changed %+v", got)
		}
		// A callback for another attempt changes nothing.
		if err := e.svc.Complete(ctx, "test", tenant, a.ID, 2, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded}, nil); err != nil {
			t.Fatal(err)
		}
		if got := e.find(t, a.ID); got.Version != cur.Version {
			t.Fatalf("a stale callback changed %+v", got)
		}
		if err := e.svc.Complete(ctx, "test", tenant, a.ID, 1, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, Message: "done"}, nil); err != nil {
			t.Fatal(err)
		}
		done := e.find(t, a.ID)
		if done.ActionStatus != weft.ActionSucceeded || done.Message != "done" {
			t.Fatalf("completed %+v", done)
		}
		// A repeated callback is not an error and changes nothing.
		if err := e.svc.Complete(ctx, "test", tenant, a.ID, 1, weft.ActionResult{}, errors.New("late")); err != nil {
			t.Fatal(err)
		}
		if got := e.find(t, a.ID); got.Version != done.Version {
			t.Fatalf("a repeated callback changed %+v", got)
		}
		// A pending action whose callback never comes expires.
		b := e.request(t, "disable", "user.upn:y@contoso.com", alice, nil)
		e.step(t)
		e.clock.Add(24 * time.Hour)
		e.step(t)
		if got := e.find(t, b.ID); got.ActionStatus != weft.ActionExpired {
			t.Fatalf("uncompleted %+v", got)
		}
	})
}

// The bounds of the backoff: full jitter in [0, min(cap, base·2^(n-1))].
func TestBackoff(t *testing.T) {
	var asked []int64
	s := respond.New(nil, respond.Options{Rand: func(n int64) int64 { asked = append(asked, n); return n - 1 }})
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		if got := s.Backoff(i + 1); got != want {
			t.Errorf("attempt %d: got %v, want %v", i+1, got, want)
		}
	}
	if got := s.Backoff(1000); got != 5*time.Minute {
		t.Errorf("attempt 1000: %v", got)
	}
	s = respond.New(nil, respond.Options{Rand: func(int64) int64 { return 0 }})
	if got := s.Backoff(3); got != 0 {
		t.Errorf("zero jitter: %v", got)
	}
	// The default source stays within the bounds and spreads.
	s = respond.New(nil, respond.Options{})
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := s.Backoff(4)
		if d < 0 || d > 16*time.Second {
			t.Fatalf("backoff %v out of [0, 16s]", d)
		}
		seen[d/time.Second] = true
	}
	if len(seen) < 10 {
		t.Fatalf("the jitter hardly varies: %v", seen)
	}
}

// Invariant 5: undo only where an inverse exists and only from succeeded;
// it goes through approval; when it succeeds, the original is undone.
func TestUndo(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	scan := e.request(t, "runAntivirusScan", ws1, alice, nil)
	iso := e.request(t, "isolate", ws1, alice, map[string]string{"isolationType": "selective"})
	_, err := e.svc.Undo(ctx, tenant, iso.ID, alice, "")
	wantCode(t, err, weft.ECONFLICT, "is approved; only a succeeded action can be undone")
	e.step(t)
	_, err = e.svc.Undo(ctx, tenant, scan.ID, alice, "")
	wantCode(t, err, weft.EINVALID, "runAntivirusScan) cannot be undone: the action has no inverse")
	c, _ := e.svc.Containment(ctx, tenant, []string{ws1})
	if c[ws1].State != weft.ContainmentIsolated || c[ws1].ActionID != iso.ID {
		t.Fatalf("containment %+v", c)
	}
	// Undo follows the policy: listed, it waits for another person.
	if _, err := e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"release"}}); err != nil {
		t.Fatal(err)
	}
	u, err := e.svc.Undo(ctx, tenant, iso.ID, alice, "contained")
	if err != nil || u.Type != "release" || u.UndoOf != iso.ID || u.ActionStatus != weft.ActionPendingApproval || u.Target != ws1 {
		t.Fatalf("undo: %+v, %v", u, err)
	}
	// Asking twice is the same undo.
	if again, err := e.svc.Undo(ctx, tenant, iso.ID, bob, ""); err != nil || again.ID != u.ID {
		t.Fatalf("second undo: %+v, %v", again, err)
	}
	e.step(t)
	if got := e.find(t, iso.ID); got.ActionStatus != weft.ActionSucceeded {
		t.Fatalf("undone before the undo ran: %s", got.ActionStatus)
	}
	if _, err := e.svc.Approve(ctx, tenant, u.ID, bob, ""); err != nil {
		t.Fatal(err)
	}
	e.step(t)
	if got := e.find(t, u.ID); got.ActionStatus != weft.ActionSucceeded {
		t.Fatalf("undo action %s", got.ActionStatus)
	}
	orig := e.find(t, iso.ID)
	if orig.ActionStatus != weft.ActionUndone || orig.UndoneBy != u.ID {
		t.Fatalf("original after the undo %+v", orig)
	}
	if c, _ := e.svc.Containment(ctx, tenant, []string{ws1}); len(c) != 0 {
		t.Fatalf("containment after undo %+v", c)
	}
	_, err = e.svc.Undo(ctx, tenant, iso.ID, alice, "")
	wantCode(t, err, weft.ECONFLICT, "is undone")
	// A plain request of an inverse is linked to what it undoes.
	dis := e.request(t, "disable", "user.upn:x@contoso.com", alice, nil)
	e.step(t)
	en := e.request(t, "enable", "user.upn:x@contoso.com", bob, nil)
	if en.UndoOf != dis.ID {
		t.Fatalf("enable linked to %d, want %d", en.UndoOf, dis.ID)
	}
	e.step(t)
	if got := e.find(t, dis.ID); got.ActionStatus != weft.ActionUndone || got.UndoneBy != en.ID {
		t.Fatalf("disable after enable %+v", got)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.request(t, "isolate", ws1, alice, nil)
	e.request(t, "disable", "user.upn:x@contoso.com", bob, nil)
	p, err := e.svc.List(ctx, weft.ActionQuery{TenantID: tenant, Type: []string{"disable"}, Count: true})
	if err != nil || len(p.Actions) != 1 || p.Count != 1 || p.Actions[0].RequestedBy != bob {
		t.Fatalf("list %+v, %v", p, err)
	}
	_, err = e.svc.List(ctx, weft.ActionQuery{TenantID: tenant, ActionStatus: []weft.ActionStatus{"done"}})
	wantCode(t, err, weft.EINVALID, `status: "done" is not an action status`)
	_, err = e.svc.List(ctx, weft.ActionQuery{TenantID: tenant, Top: 1001})
	wantCode(t, err, weft.EINVALID, "top: must be from 1 to 1000")
	_, err = e.svc.List(ctx, weft.ActionQuery{TenantID: tenant, Type: []string{"nuke"}})
	wantCode(t, err, weft.EINVALID, `action "nuke" does not exist`)
	_, err = e.svc.Log(ctx, tenant, 999)
	wantCode(t, err, weft.ENOTFOUND, "action 999 not found")
}

// Run wakes on an approval, dispatches, and stops when its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := newEnvWith(t, func(o *respond.Options) { o.Now = time.Now })
	stopped := make(chan error)
	go func() { stopped <- e.svc.Run(ctx) }()
	if _, err := e.svc.SetPolicy(ctx, tenant, weft.ResponsePolicy{RequireApproval: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	a := e.request(t, "isolate", ws1, alice, nil)
	if _, err := e.svc.Approve(ctx, tenant, a.ID, bob, ""); err != nil {
		t.Fatal(err)
	}
	// With nothing due, the worker sleeps up to a minute: the approval's
	// wake-up is what gets the action done quickly. (Polling the store,
	// no assertion on time.)
	for e.find(t, a.ID).ActionStatus != weft.ActionSucceeded {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestSamePerson: approvals compare the people behind actors: a token is
// its creator (ActionActor.Owner), two tokens of one creator are one
// person, and an automation rule is the person who last saved it (its
// Owner) (invariant 6).
func TestSamePerson(t *testing.T) {
	user := func(name, owner string) weft.ActionActor {
		return weft.ActionActor{Kind: weft.ActorUser, Name: name, Owner: owner}
	}
	auto := func(name, owner string) weft.ActionActor {
		return weft.ActionActor{Kind: weft.ActorAutomation, Name: name, Owner: owner, RuleID: 7, RuleVersion: 1}
	}
	for _, tc := range []struct {
		a, b weft.ActionActor
		same bool
	}{
		{user("alice", ""), user("ALICE", ""), true},
		{user("alice", ""), user("bob", ""), false},
		{user("alice", ""), user("token:ci", "alice"), true},
		{user("token:ci", "alice"), user("alice", ""), true},
		{user("token:ci", "alice"), user("token:soar", "alice"), true},
		{user("token:ci", "alice"), user("token:ci", "bob"), true},
		{user("token:ci", "alice"), user("token:soar", "bob"), false},
		{user("token:ci", "alice"), user("bob", ""), false},
		{auto("isolate (v1)", "alice"), user("ALICE", ""), true},
		{auto("isolate (v1)", "alice"), user("token:ci", "alice"), true},
		{auto("isolate (v1)", "alice"), user("bob", ""), false},
		// The rule's name is not a person: a user who happens to bear it
		// is someone else, and a rule without an Owner (saved before
		// owners were recorded) is no one's.
		{auto("bob", "alice"), user("bob", ""), false},
		{auto("isolate (v1)", ""), user("isolate (v1)", ""), false},
		{weft.ActionActor{Kind: weft.ActorConnector, Name: "alice"}, user("alice", ""), false},
		{weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"}, user("weft", ""), false},
	} {
		if got := respond.SamePerson(tc.a, tc.b); got != tc.same {
			t.Errorf("samePerson(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
