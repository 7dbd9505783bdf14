package automation_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
)

// hook is a webhook that answers the statuses of codes in turn (then 200)
// and keeps the bodies it received.
type hook struct {
	mu     sync.Mutex
	codes  []int
	bodies [][]byte
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	code := 200
	if len(h.codes) > 0 {
		code, h.codes = h.codes[0], h.codes[1:]
	}
	if code == 200 {
		h.bodies = append(h.bodies, b)
	}
	w.WriteHeader(code)
}

func (h *hook) received() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.bodies) }

func newNotifier(t *testing.T, codes ...int) (*automation.Notifier, *hook, *clock, context.Context) {
	t.Helper()
	c := &clock{t: t0}
	s := openStore(t, c)
	h := &hook{codes: codes}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now, Client: srv.Client(),
		Backoff: time.Minute, MaxAttempts: 3}
	ctx := context.Background()
	if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "high", Enabled: true,
		Condition: "severity == 'high'", Events: []string{"created", "updated"}, URL: srv.URL + "/hook/secret-path", Format: weft.NotifySlack}, "admin"); err != nil {
		t.Fatal(err)
	}
	return n, h, c, ctx
}

func store(n *automation.Notifier) weft.NotificationStore { return n.Store }

func TestNotifierAtMostOnce(t *testing.T) {
	n, h, _, ctx := newNotifier(t)
	s := n.Store.(interface {
		weft.AlertStore
		weft.IncidentManager
	})
	res, err := s.StoreAlerts(ctx, []*weft.Alert{newAlert(t, alertSpec{n: 1, title: "hi", severity: weft.SeverityHigh, device: "ws-1"}),
		newAlert(t, alertSpec{n: 2, title: "lo", severity: weft.SeverityLow, device: "ws-2"})})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // scanning twice is scanning once
		if err := n.Scan(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if k, err := n.Deliver(ctx); err != nil || k != 1 || h.received() != 1 {
		t.Fatalf("Deliver = %d, %v, received %d; want 1 sent (the high incident only)", k, err, h.received())
	}
	// Two updates are one "updated" notification; a restarted notifier
	// (a new one on the same store, its cursor moved back by hand as if the
	// crash came before the cursor was saved) sends nothing again.
	for _, tag := range []string{"a", "b"} {
		tags := []string{tag}
		if _, err := s.UpdateIncident(ctx, weft.DefaultTenantID, res[0].IncidentID, weft.IncidentPatch{CustomTags: &tags}, "bob", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := *n
	if err := n.Store.(interface {
		weft.EventCursorStore
	}).SetEventCursor(ctx, weft.DefaultTenantID, weft.ConsumerNotifications, 0); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := restarted.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if h.received() != 2 {
		t.Fatalf("received %d notifications; want 2 (created, updated)", h.received())
	}
	ds, err := store(n).ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Kind != weft.NotifyUpdated || ds[1].Kind != weft.NotifyCreated || ds[0].State != weft.DeliverySent {
		t.Errorf("deliveries = %+v; want updated and created, sent", ds)
	}
	// A delivery left sending by a crash is not sent again.
	d := &weft.NotificationDelivery{TenantID: weft.DefaultTenantID, RuleID: ds[0].RuleID, IncidentID: 99, Kind: weft.NotifyCreated, NextAttempt: t0}
	if _, err := store(n).AddDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if ok, err := store(n).ClaimDelivery(ctx, d.ID, t0); !ok || err != nil {
		t.Fatalf("ClaimDelivery = %v, %v", ok, err)
	}
	if k, err := store(n).AbandonSending(ctx, t0); k != 1 || err != nil {
		t.Fatalf("AbandonSending = %d, %v; want 1", k, err)
	}
	if k, _ := n.Deliver(ctx); k != 0 {
		t.Errorf("Deliver after abandon attempted %d; want 0", k)
	}
}

func TestNotifierRetry(t *testing.T) {
	t.Run("RetryOn503", func(t *testing.T) {
		n, h, c, ctx := newNotifier(t, 503, 503)
		ingestVia(t, n, ctx)
		for i, wantSent := range []int{0, 0, 1} {
			if _, err := n.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			if h.received() != wantSent {
				t.Fatalf("attempt %d: received %d; want %d", i+1, h.received(), wantSent)
			}
			if k, _ := n.Deliver(ctx); k != 0 {
				t.Fatalf("attempt %d: a delivery was retried before its backoff", i+1)
			}
			c.Add(time.Duration(1<<i) * time.Minute)
		}
		ds, _ := store(n).ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
		if len(ds) != 1 || ds[0].State != weft.DeliverySent || ds[0].Attempts != 3 {
			t.Errorf("delivery = %+v; want sent at the 3rd attempt", ds[0])
		}
	})
	t.Run("GiveUpAfterMaxAttempts", func(t *testing.T) {
		n, h, c, ctx := newNotifier(t, 503, 503, 503, 503)
		ingestVia(t, n, ctx)
		for range 5 {
			n.Deliver(ctx)
			c.Add(time.Hour)
		}
		ds, _ := store(n).ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
		if h.received() != 0 || ds[0].State != weft.DeliveryFailed || ds[0].Attempts != 3 || !strings.Contains(ds[0].LastError, "gave up after 3 attempts") {
			t.Errorf("delivery = %+v, received %d; want failed after 3 attempts", ds[0], h.received())
		}
	})
	t.Run("NoRetryOn400", func(t *testing.T) {
		n, h, c, ctx := newNotifier(t, 400)
		ingestVia(t, n, ctx)
		n.Deliver(ctx)
		c.Add(time.Hour)
		if k, _ := n.Deliver(ctx); k != 0 || h.received() != 0 {
			t.Fatalf("a 400 was retried")
		}
		ds, _ := store(n).ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
		if ds[0].State != weft.DeliveryFailed || ds[0].LastError != "the webhook answered 400 Bad Request" {
			t.Errorf("delivery = %+v; want failed with the status", ds[0])
		}
		if strings.Contains(ds[0].LastError, "secret-path") {
			t.Errorf("the error shows the URL: %q", ds[0].LastError)
		}
	})
}

func ingestVia(t *testing.T, n *automation.Notifier, ctx context.Context) {
	t.Helper()
	if _, err := n.Store.(weft.AlertStore).StoreAlerts(ctx, []*weft.Alert{newAlert(t, alertSpec{n: 1, title: "hi", severity: weft.SeverityHigh, device: "ws-1"})}); err != nil {
		t.Fatal(err)
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPayload(t *testing.T) {
	score := 80
	inc := &weft.Incident{ID: 7, DisplayName: "Ransomware <on> ws-1", Severity: weft.SeverityHigh, Status: weft.IncidentStatusActive,
		AlertCount: 3, Categories: []string{"Ransomware"}, PriorityScore: &score}
	t.Run("Slack", func(t *testing.T) {
		b, err := automation.Payload(weft.NotifySlack, weft.NotifyCreated, inc, "https://weft.example/incidents/")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text struct {
					Type, Text string
				} `json:"text"`
				Fields []struct{ Type, Text string } `json:"fields"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Text != "New incident 7: Ransomware <on> ws-1" || len(got.Blocks) != 2 || got.Blocks[0].Type != "section" ||
			got.Blocks[0].Text.Text != "*<https://weft.example/incidents/7|New incident 7: Ransomware &lt;on&gt; ws-1>*" ||
			len(got.Blocks[1].Fields) != 6 || got.Blocks[1].Fields[0].Text != "*Severity*\nhigh" {
			t.Errorf("slack payload = %s", b)
		}
	})
	t.Run("Teams", func(t *testing.T) {
		b, err := automation.Payload(weft.NotifyTeams, weft.NotifyUpdated, inc, "")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Type        string `json:"type"`
			Attachments []struct {
				ContentType string `json:"contentType"`
				Content     struct {
					Type    string `json:"type"`
					Version string `json:"version"`
					Body    []struct {
						Type  string                          `json:"type"`
						Text  string                          `json:"text"`
						Facts []struct{ Title, Value string } `json:"facts"`
					} `json:"body"`
				} `json:"content"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != "message" || len(got.Attachments) != 1 || got.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
			got.Attachments[0].Content.Type != "AdaptiveCard" || got.Attachments[0].Content.Body[0].Text != "Incident updated 7: Ransomware <on> ws-1" ||
			got.Attachments[0].Content.Body[1].Type != "FactSet" || got.Attachments[0].Content.Body[1].Facts[0].Value != "high" {
			t.Errorf("teams payload = %s", b)
		}
	})
	t.Run("Generic", func(t *testing.T) {
		b, err := automation.Payload(weft.NotifyGeneric, weft.NotifyCreated, inc, "")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Kind     string         `json:"kind"`
			Incident *weft.Incident `json:"incident"`
		}
		if err := json.Unmarshal(b, &got); err != nil || got.Kind != "created" || got.Incident.ID != 7 {
			t.Errorf("generic payload = %s, %v", b, err)
		}
	})
}

// TestNotifierSecrets: a generic notification with a secret file is signed
// over the timestamp and the body; neither the key nor the URL appears in a
// delivery's error, also when the webhook cannot be reached.
func TestNotifierSecrets(t *testing.T) {
	const key = "s3cr3t-key-material"
	var mu sync.Mutex
	var gotSig, gotTS string
	var gotBody []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		gotSig, gotTS = r.Header.Get("Weft-Signature"), r.Header.Get("Weft-Timestamp")
		gotBody, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	c := &clock{t: t0}
	s := openStore(t, c)
	n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now, Client: srv.Client(),
		ReadSecret: func(_ context.Context, name string) ([]byte, error) {
			if name != "hook.key" {
				t.Errorf("read secret %q", name)
			}
			return []byte(key + "\n"), nil
		}}
	ctx := context.Background()
	if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "signed", Enabled: true,
		Condition: "true", URL: srv.URL + "/signed", Format: weft.NotifyGeneric, SecretFile: "hook.key"}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "unreachable", Enabled: true,
		Condition: "true", URL: "https://127.0.0.1:1/token-in-path", Format: weft.NotifySlack}, "admin"); err != nil {
		t.Fatal(err)
	}
	ingestVia(t, n, ctx)
	if _, err := n.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(gotTS + "."))
	mac.Write(gotBody)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); gotSig != want || gotTS != fmt.Sprint(t0.Unix()) {
		t.Errorf("signature %q at %q; want %q at %d", gotSig, gotTS, want, t0.Unix())
	}
	ds, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
	for _, d := range ds {
		if strings.Contains(d.LastError, "token-in-path") || strings.Contains(d.LastError, key) || strings.Contains(d.LastError, "127.0.0.1:1") {
			t.Errorf("delivery error leaks the URL or key: %q", d.LastError)
		}
	}
	if len(ds) != 2 || ds[0].State != weft.DeliveryPending || ds[0].LastError != "the webhook could not be reached" {
		t.Errorf("deliveries = %+v; want the unreachable one pending a retry", ds)
	}
}

// TestNotifierRefusesPrivateAddresses: without AllowPrivateNetworks the
// notifier does not connect to a loopback address (a tenant admin cannot
// make the server post into its own network), and does not retry.
func TestNotifierRefusesPrivateAddresses(t *testing.T) {
	h := &hook{}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := &clock{t: t0}
	s := openStore(t, c)
	n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now}
	ctx := context.Background()
	if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "internal", Enabled: true,
		Condition: "true", URL: srv.URL + "/internal"}, "admin"); err != nil {
		t.Fatal(err)
	}
	ingestVia(t, n, ctx)
	if _, err := n.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
	if h.received() != 0 || len(ds) != 1 || ds[0].State != weft.DeliveryFailed || !strings.Contains(ds[0].LastError, "not public") {
		t.Fatalf("deliveries = %+v, received %d; want one failed as not public, nothing received", ds, h.received())
	}
}
