package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/webhook"
)

// completer is a fake weft.ActionCompleter that records its calls.
type completer struct {
	mu    sync.Mutex
	calls []completion
	err   error // answered by Complete
}

type completion struct {
	tenant  string
	id      int64
	attempt int
	res     weft.ActionResult
	err     error
}

func (c *completer) Complete(_ context.Context, _, tenantID string, actionID int64, attempt int, res weft.ActionResult, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, completion{tenantID, actionID, attempt, res, err})
	return c.err
}

// post sends body to the callback handler signed at ts with secret, or with
// the headers sig overrides.
func post(t *testing.T, h http.Handler, body, secret string, ts time.Time, sig map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/actions/callback", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(webhook.HeaderTimestamp, fmt.Sprint(ts.Unix()))
	r.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts.Unix(), []byte(body)))
	for k, v := range sig {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	return b.Error.Code, b.Error.Message
}

func TestCallbackCompletes(t *testing.T) {
	for name, c := range map[string]struct {
		body      string
		want      completion
		retryable bool
	}{
		"Succeeded": {
			`{"tenantId":"contoso","actionId":"42","attempt":2,"status":"succeeded","externalId":"mde-9","message":"isolated"}`,
			completion{"contoso", 42, 2, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: "mde-9", Message: "isolated"}, nil}, false,
		},
		"NumericID": {
			`{"tenantId":"contoso","actionId":42,"attempt":1,"status":"succeeded"}`,
			completion{"contoso", 42, 1, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded}, nil}, false,
		},
		"FailedPermanent": {
			`{"tenantId":"contoso","actionId":"42","attempt":1,"status":"failed","message":"device offboarded"}`,
			completion{"contoso", 42, 1, weft.ActionResult{}, errors.New("webhook webhook: device offboarded")}, false,
		},
		"FailedRetryable": {
			`{"tenantId":"contoso","actionId":"42","attempt":1,"status":"failed","retryable":true}`,
			completion{"contoso", 42, 1, weft.ActionResult{}, errors.New("webhook webhook: the receiver reported a failure")}, true,
		},
		"SecretScrubbed": {
			`{"tenantId":"contoso","actionId":"42","attempt":1,"status":"failed","message":"key ` + testSecret + ` refused"}`,
			completion{"contoso", 42, 1, weft.ActionResult{}, errors.New("webhook webhook: key [redacted] refused")}, false,
		},
	} {
		t.Run(name, func(t *testing.T) {
			wh := newWebhook(t, webhook.Config{URL: "https://soar.example.com/"}, nil)
			fc := &completer{}
			w := post(t, wh.CallbackHandler(fc), c.body, testSecret, fixedNow.Add(-4*time.Minute), nil)
			if w.Code != http.StatusNoContent {
				t.Fatalf("status %d (%s), want 204", w.Code, w.Body)
			}
			if len(fc.calls) != 1 {
				t.Fatalf("%d calls to Complete, want 1", len(fc.calls))
			}
			got := fc.calls[0]
			if got.tenant != c.want.tenant || got.id != c.want.id || got.attempt != c.want.attempt || got.res != c.want.res {
				t.Errorf("Complete(%q, %d, %d, %+v), want (%q, %d, %d, %+v)", got.tenant, got.id, got.attempt, got.res, c.want.tenant, c.want.id, c.want.attempt, c.want.res)
			}
			if (got.err == nil) != (c.want.err == nil) || (got.err != nil && got.err.Error() != c.want.err.Error()) {
				t.Errorf("Complete's err %v, want %v", got.err, c.want.err)
			}
			if got.err != nil && weft.IsRetryable(got.err) != c.retryable {
				t.Errorf("retryable %v, want %v", weft.IsRetryable(got.err), c.retryable)
			}
		})
	}
}

func TestCallbackRefused(t *testing.T) {
	const ok = `{"tenantId":"contoso","actionId":"42","attempt":1,"status":"succeeded"}`
	for name, c := range map[string]struct {
		body     string
		secret   string
		ts       time.Time
		headers  map[string]string
		method   string
		complete error
		status   int
		code     string
		message  string
	}{
		"ErrWrongSecret":  {body: ok, secret: "another-secret-of-enough-length", status: 401, code: weft.EUNAUTHENTICATED, message: "signature: signature does not match the body and timestamp"},
		"ErrOldTimestamp": {body: ok, ts: fixedNow.Add(-5*time.Minute - time.Second), status: 401, code: weft.EUNAUTHENTICATED, message: "signature: Weft-Timestamp is more than 5 minutes from now (off by 5m1s)"},
		"ErrFuture":       {body: ok, ts: fixedNow.Add(6 * time.Minute), status: 401, code: weft.EUNAUTHENTICATED, message: "signature: Weft-Timestamp is more than 5 minutes from now (off by -6m0s)"},
		"ErrNoSignature":  {body: ok, headers: map[string]string{webhook.HeaderSignature: ""}, status: 401, code: weft.EUNAUTHENTICATED, message: "signature: no v1 signature in the Weft-Signature header"},
		"ErrNoTimestamp":  {body: ok, headers: map[string]string{webhook.HeaderTimestamp: ""}, status: 401, code: weft.EUNAUTHENTICATED, message: "signature: no Weft-Timestamp header"},
		"ErrTimestampChanged": {body: ok, headers: map[string]string{webhook.HeaderTimestamp: fmt.Sprint(fixedNow.Unix())}, ts: fixedNow.Add(-time.Minute),
			status: 401, code: weft.EUNAUTHENTICATED, message: "signature: signature does not match the body and timestamp"},
		"ErrNotJSON":        {body: `tenantId=contoso`, status: 400, code: weft.EINVALID, message: "body: not a JSON callback object"},
		"ErrNoTenant":       {body: `{"actionId":"42","attempt":1,"status":"succeeded"}`, status: 400, code: weft.EINVALID, message: "tenantId: required"},
		"ErrNoActionID":     {body: `{"tenantId":"contoso","attempt":1,"status":"succeeded"}`, status: 400, code: weft.EINVALID, message: "actionId: required"},
		"ErrBadActionID":    {body: `{"tenantId":"contoso","actionId":"x1","attempt":1,"status":"succeeded"}`, status: 400, code: weft.EINVALID, message: `actionId: "x1" is not an action id`},
		"ErrNoAttempt":      {body: `{"tenantId":"contoso","actionId":"42","status":"succeeded"}`, status: 400, code: weft.EINVALID, message: "attempt: required, the payload's attempt (1 or more)"},
		"ErrAttemptType":    {body: `{"tenantId":"contoso","actionId":"42","attempt":"1","status":"succeeded"}`, status: 400, code: weft.EINVALID, message: "attempt: must be a JSON number"},
		"ErrStatus":         {body: `{"tenantId":"contoso","actionId":"42","attempt":1,"status":"pending"}`, status: 400, code: weft.EINVALID, message: `status: "pending" is not "succeeded" or "failed"`},
		"ErrRetryableOK":    {body: `{"tenantId":"contoso","actionId":"42","attempt":1,"status":"succeeded","retryable":true}`, status: 400, code: weft.EINVALID, message: "retryable: only a failed callback can be retryable"},
		"ErrTrailing":       {body: ok + `{}`, status: 400, code: weft.EINVALID, message: "body: more than one JSON value"},
		"ErrTooLarge":       {body: `{"message":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413, code: weft.ETOOLARGE, message: "body: larger than 65536 bytes"},
		"ErrMethod":         {body: ok, method: http.MethodGet, status: 405, code: weft.EUNSUPPORTED, message: "method: the callback takes POST only"},
		"ErrNotFound":       {body: ok, complete: weft.Errorf(weft.ENOTFOUND, "action 42 not found"), status: 404, code: weft.ENOTFOUND, message: "action 42 not found"},
		"ErrInternalHidden": {body: ok, complete: errors.New("disk I/O error at /var/lib/weft"), status: 500, code: weft.EINTERNAL, message: "internal error"},
	} {
		t.Run(name, func(t *testing.T) {
			wh := newWebhook(t, webhook.Config{URL: "https://soar.example.com/"}, nil)
			fc := &completer{err: c.complete}
			h := wh.CallbackHandler(fc)
			secret, ts := testSecret, fixedNow
			if c.secret != "" {
				secret = c.secret
			}
			if !c.ts.IsZero() {
				ts = c.ts
			}
			var w *httptest.ResponseRecorder
			if c.method != "" {
				r := httptest.NewRequest(c.method, "/api/v1/actions/callback", nil)
				w = httptest.NewRecorder()
				h.ServeHTTP(w, r)
			} else {
				w = post(t, h, c.body, secret, ts, c.headers)
			}
			if w.Code != c.status {
				t.Errorf("status %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			code, msg := errorOf(t, w)
			if code != c.code || msg != c.message {
				t.Errorf("error (%q, %q), want (%q, %q)", code, msg, c.code, c.message)
			}
			if c.complete == nil && len(fc.calls) != 0 {
				t.Errorf("Complete called %d times for a refused callback", len(fc.calls))
			}
		})
	}
}

// TestCallbackReplay: the same signed callback sent twice reaches Complete
// twice; Complete (the action service) ignores the second because the
// attempt is no longer dispatched. A replay after the tolerance is refused
// before it reaches Complete.
func TestCallbackReplay(t *testing.T) {
	now := fixedNow
	wh := newWebhook(t, webhook.Config{URL: "https://soar.example.com/", Now: func() time.Time { return now }}, nil)
	fc := &completer{}
	h := wh.CallbackHandler(fc)
	const body = `{"tenantId":"contoso","actionId":"42","attempt":1,"status":"succeeded"}`
	signedAt := fixedNow
	if w := post(t, h, body, testSecret, signedAt, nil); w.Code != 204 {
		t.Fatalf("first: %d", w.Code)
	}
	now = fixedNow.Add(10 * time.Minute)
	if w := post(t, h, body, testSecret, signedAt, nil); w.Code != 401 {
		t.Fatalf("replay after 10 minutes: %d, want 401", w.Code)
	}
	if len(fc.calls) != 1 {
		t.Errorf("Complete called %d times, want 1", len(fc.calls))
	}
}

// TestCallbackEndToEnd: a receiver answers pending at once and completes
// the action later through the callback, signing it the same way.
func TestCallbackEndToEnd(t *testing.T) {
	fc := &completer{}
	var wh *webhook.Webhook
	callbacks := make(chan []byte, 1)
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		callbacks <- verified(t, r, testSecret)
		w.WriteHeader(http.StatusAccepted)
	})
	wh = newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: rcv.caFile, CallbackURL: "https://weft.example.com/api/v1/actions/callback"}, nil)
	res, err := wh.Dispatch(t.Context(), actionWithAttempt(2))
	if err != nil || res.ActionOutcome != weft.DispatchPending {
		t.Fatalf("dispatch: (%+v, %v), want pending", res, err)
	}
	var p struct {
		TenantID, ActionID, CallbackURL string
		Attempt                         int
	}
	if err := json.Unmarshal(<-callbacks, &p); err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(webhook.Callback{TenantID: p.TenantID, ActionID: p.ActionID, Attempt: p.Attempt, Status: webhook.CallbackSucceeded, ExternalID: "job-1"})
	if w := post(t, wh.CallbackHandler(fc), string(cb), testSecret, fixedNow, nil); w.Code != 204 {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	want := completion{"contoso", 42, 2, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: "job-1"}, nil}
	if len(fc.calls) != 1 || fc.calls[0] != want {
		t.Errorf("Complete calls %+v, want [%+v]", fc.calls, want)
	}
}

func actionWithAttempt(n int) *weft.Action {
	a := &weft.Action{ID: 42, TenantID: "contoso", Type: "isolate", EntityType: weft.EntityDevice, Target: "device.host:ws1", Attempt: n}
	return a
}

// FuzzCallback signs arbitrary bodies and feeds them to the callback
// handler: it must answer 204 only after a Complete with a tenant, a
// positive id and attempt, and a known status, and 400 or 413 otherwise,
// never panic or 5xx.
func FuzzCallback(f *testing.F) {
	for _, s := range []string{
		`{"tenantId":"contoso","actionId":"42","attempt":1,"status":"succeeded"}`,
		`{"tenantId":"t","actionId":7,"attempt":3,"status":"failed","retryable":true,"message":"x"}`,
		`{"actionId":"-1"}`, `{"actionId":"9223372036854775808"}`, `[]`, `{"attempt":1e3}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	file := filepath.Join(f.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testSecret), 0o600); err != nil {
		f.Fatal(err)
	}
	wh, err := webhook.New(webhook.Config{URL: "https://soar.example.com/", SecretFile: file, Now: func() time.Time { return fixedNow }}, nil)
	if err != nil {
		f.Fatal(err)
	}
	secret := testSecret
	f.Fuzz(func(t *testing.T, body []byte) {
		fc := &completer{}
		w := post(t, wh.CallbackHandler(fc), string(body), secret, fixedNow, nil)
		switch w.Code {
		case http.StatusNoContent:
			if len(fc.calls) != 1 {
				t.Fatalf("204 after %d calls to Complete", len(fc.calls))
			}
			c := fc.calls[0]
			if c.tenant == "" || c.id <= 0 || c.attempt < 1 || (c.err == nil) != (c.res.ActionOutcome == weft.DispatchSucceeded) {
				t.Fatalf("Complete(%+v) from %q", c, body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if len(fc.calls) != 0 {
				t.Fatalf("%d after a call to Complete", w.Code)
			}
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
