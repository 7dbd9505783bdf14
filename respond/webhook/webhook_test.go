package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/connectortest"
	"github.com/weftxdr/weft/respond/webhook"
	"github.com/weftxdr/weft/respond/wire"
)

// fixedNow is the clock of every test: signatures and their checks agree
// on it, and a test moves it to make a timestamp old.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testSecret = "0123456789abcdef0123456789abcdef"

// receiver is a TLS receiver for tests; caFile trusts its certificate.
type receiver struct {
	srv    *httptest.Server
	caFile string
}

func newReceiver(t *testing.T, h http.HandlerFunc) *receiver {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// Handshakes that tests break off on purpose are not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return &receiver{srv: srv, caFile: caFile}
}

func secretFile(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newWebhook(t *testing.T, cfg webhook.Config, logger *slog.Logger) *webhook.Webhook {
	t.Helper()
	if cfg.SecretFile == "" && cfg.SecretEnv == "" {
		cfg.SecretFile = secretFile(t, testSecret)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	w, err := webhook.New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// verified reads a request's body and checks its signature as a receiver
// must, failing the test when it does not hold.
func verified(t *testing.T, r *http.Request, secret string) []byte {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
	}
	if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, fixedNow); err != nil {
		t.Errorf("receiver: signature refused: %v", err)
	}
	return body
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, s *connectortest.Setup) weft.Connector {
		rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
			verified(t, r, s.Secret)
			key := r.Header.Get(webhook.HeaderIdempotencyKey)
			w.Header().Set("Content-Type", "application/json")
			switch s.Answer {
			case connectortest.AnswerSucceeded:
				fmt.Fprintf(w, `{"status":"succeeded","externalId":"ext-%s","message":"done, secret %s"}`, key, s.Secret)
			case connectortest.AnswerPending:
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"externalId":"ext-%s","message":"queued, secret %s"}`, key, s.Secret)
			case connectortest.AnswerRetryable:
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, `{"error":"busy; my secret is %s"}`, s.Secret)
			case connectortest.AnswerPermanent:
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":"bad request signed with %s"}`, s.Secret)
			}
		})
		return newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: rcv.caFile, SecretFile: secretFile(t, s.Secret)}, s.Logger)
	})
}

// TestPayload shows what a receiver gets: the signed, documented payload
// with the idempotency key in the body and the header.
func TestPayload(t *testing.T) {
	var got []byte
	var hdr http.Header
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		got = verified(t, r, testSecret)
		hdr = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	})
	wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL + "/hook?route=a", CAFile: rcv.caFile, CallbackURL: "https://weft.example.com/api/v1/actions/callback"}, nil)
	a := connectortest.NewAction()
	a.Attempt = 3
	res, err := wh.Dispatch(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if res.ActionOutcome != weft.DispatchSucceeded {
		t.Errorf("outcome %q, want succeeded", res.ActionOutcome)
	}
	var p map[string]any
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"actionId": "42", "tenantId": "contoso", "type": "isolate", "entityType": "device",
		"target": "device:ws-0042", "targetName": "WS-0042",
		"parameters": map[string]any{"isolationType": "full"}, "incidentId": "7",
		"requestedBy": map[string]any{"kind": "user", "name": "alice"}, "attempt": float64(3),
		"idempotencyKey": "contoso/42", "callbackUrl": "https://weft.example.com/api/v1/actions/callback",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("payload\n got %v\nwant %v", p, want)
	}
	for h, want := range map[string]string{
		"Content-Type":               "application/json",
		webhook.HeaderIdempotencyKey: "contoso/42",
		webhook.HeaderTimestamp:      fmt.Sprint(fixedNow.Unix()),
		webhook.HeaderSignature:      webhook.Sign([]byte(testSecret), fixedNow.Unix(), got),
		"User-Agent":                 "weft",
	} {
		if hdr.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, hdr.Get(h), want)
		}
	}
}

func TestAnswers(t *testing.T) {
	type answer struct {
		status      int
		contentType string
		body        string
	}
	for name, c := range map[string]struct {
		answer
		want       weft.ActionOutcome // "" for an error
		retryable  bool
		wantErr    string
		externalID string
	}{
		"OK":                   {answer{200, "", ""}, weft.DispatchSucceeded, false, "", ""},
		"NoContent":            {answer{204, "", ""}, weft.DispatchSucceeded, false, "", ""},
		"OKText":               {answer{200, "text/plain", "OK"}, weft.DispatchSucceeded, false, "", ""},
		"OKJSON":               {answer{200, "application/json", `{"status":"succeeded","externalId":"mde-1","message":"isolated"}`}, weft.DispatchSucceeded, false, "", "mde-1"},
		"OKJSONPending":        {answer{200, "application/json; charset=utf-8", `{"status":"pending","externalId":"q-7"}`}, weft.DispatchPending, false, "", "q-7"},
		"AcceptedIsPending":    {answer{202, "", ""}, weft.DispatchPending, false, "", ""},
		"AcceptedJSON":         {answer{202, "application/json", `{"externalId":"q-8"}`}, weft.DispatchPending, false, "", "q-8"},
		"AcceptedButSucceeded": {answer{202, "application/json", `{"status":"succeeded"}`}, weft.DispatchSucceeded, false, "", ""},
		"ErrBadJSON":           {answer{200, "application/json", `{"status":`}, "", false, "JSON body that is not a result", ""},
		"ErrUnknownStatus":     {answer{200, "application/json", `{"status":"done"}`}, "", false, `status "done" is not`, ""},
		"ErrTwoValues":         {answer{200, "application/json", `{"status":"succeeded"} {}`}, "", false, "more than one JSON value", ""},
		"ErrTooLarge":          {answer{200, "application/json", `{"message":"` + strings.Repeat("x", wire.MaxResultSize) + `"}`}, "", false, "larger than", ""},
		"Err503":               {answer{503, "text/plain", "maintenance"}, "", true, `answered 503 Service Unavailable: "maintenance"`, ""},
		"Err500":               {answer{500, "", ""}, "", true, "answered 500 Internal Server Error", ""},
		"Err502":               {answer{502, "", ""}, "", true, "answered 502", ""},
		"Err429":               {answer{429, "", ""}, "", true, "answered 429 Too Many Requests", ""},
		"Err408":               {answer{408, "", ""}, "", true, "answered 408", ""},
		"Err400":               {answer{400, "application/json", `{"error":"unknown device"}`}, "", false, `answered 400 Bad Request: "{\"error\":\"unknown device\"}"`, ""},
		"Err401":               {answer{401, "", ""}, "", false, "answered 401 Unauthorized", ""},
		"Err404":               {answer{404, "", ""}, "", false, "answered 404", ""},
		"Err422":               {answer{422, "", ""}, "", false, "answered 422", ""},
		"ErrControlChars":      {answer{400, "text/plain", "bad\x1b[31m\x00input"}, "", false, `"bad [31m input"`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				verified(t, r, testSecret)
				if c.contentType != "" {
					w.Header().Set("Content-Type", c.contentType)
				}
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			})
			wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: rcv.caFile}, nil)
			res, err := wh.Dispatch(t.Context(), connectortest.NewAction())
			if c.want != "" {
				if err != nil {
					t.Fatalf("got error %v, want outcome %s", err, c.want)
				}
				if res.ActionOutcome != c.want || res.ExternalID != c.externalID {
					t.Errorf("got %+v, want outcome %s, external id %q", res, c.want, c.externalID)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", res)
			}
			if weft.IsRetryable(err) != c.retryable {
				t.Errorf("retryable = %v, want %v (%v)", weft.IsRetryable(err), c.retryable, err)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not say %q", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), "webhook webhook: action 42 attempt 1: POST https://127.0.0.1:") {
				t.Errorf("error %q does not name the connector, action and URL", err)
			}
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var hits atomic.Int32
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			hits.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL + "/hook", CAFile: rcv.caFile}, nil)
	_, err := wh.Dispatch(t.Context(), connectortest.NewAction())
	if err == nil || weft.IsRetryable(err) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	if !strings.Contains(err.Error(), `answered 307 Temporary Redirect to "/elsewhere": redirects are not followed`) {
		t.Errorf("error %q does not explain the redirect", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestDuplicateDelivery: weft sends one action again (a retry, or a
// re-dispatch after a crash) and a receiver that dedupes on the
// idempotency key applies it once and answers the same.
func TestDuplicateDelivery(t *testing.T) {
	var mu sync.Mutex
	applied := map[string]int{}
	answers := map[string]string{}
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		body := verified(t, r, testSecret)
		var p wire.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Error(err)
		}
		if p.IdempotencyKey != r.Header.Get(webhook.HeaderIdempotencyKey) {
			t.Errorf("payload key %q, header %q", p.IdempotencyKey, r.Header.Get(webhook.HeaderIdempotencyKey))
		}
		mu.Lock()
		ext, seen := answers[p.IdempotencyKey]
		if !seen {
			applied[p.IdempotencyKey]++
			ext = fmt.Sprintf("job-%d", len(answers)+1)
			answers[p.IdempotencyKey] = ext
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"succeeded","externalId":%q}`, ext)
	})
	wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: rcv.caFile}, nil)
	var wg sync.WaitGroup
	exts := make([]string, 6)
	for i := range exts {
		wg.Go(func() {
			a := connectortest.NewAction()
			a.Attempt = i + 1
			res, err := wh.Dispatch(context.Background(), a)
			if err != nil {
				t.Error(err)
			}
			exts[i] = res.ExternalID
		})
	}
	wg.Wait()
	other := connectortest.NewAction()
	other.ID = 43
	if _, err := wh.Dispatch(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	for i, e := range exts {
		if e != exts[0] {
			t.Errorf("attempt %d answered %q, attempt 1 %q", i+1, e, exts[0])
		}
	}
	if want := map[string]int{"contoso/42": 1, "contoso/43": 1}; !reflect.DeepEqual(applied, want) {
		t.Errorf("applied %v, want %v", applied, want)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: rcv.caFile, Timeout: 50 * time.Millisecond}, nil)
	_, err := wh.Dispatch(t.Context(), connectortest.NewAction())
	if !weft.IsRetryable(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Errorf("error %q does not say it timed out", err)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	wh := newWebhook(t, webhook.Config{URL: "https://" + addr + "/hooks/T0123/tok3n?token=abc"}, nil)
	_, err = wh.Dispatch(t.Context(), connectortest.NewAction())
	if !weft.IsRetryable(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "tok3n") {
		t.Errorf("error %q shows the URL's path or query", err)
	}
	if !strings.Contains(err.Error(), "POST https://"+addr+":") {
		t.Errorf("error %q does not name the receiver", err)
	}
}

// TestTLSVerified: a receiver whose certificate weft cannot verify gets
// no payload.
func TestTLSVerified(t *testing.T) {
	var hits atomic.Int32
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	for name, caFile := range map[string]string{"SystemRoots": "", "OtherCA": otherCA(t)} {
		t.Run(name, func(t *testing.T) {
			wh := newWebhook(t, webhook.Config{URL: rcv.srv.URL, CAFile: caFile}, nil)
			_, err := wh.Dispatch(t.Context(), connectortest.NewAction())
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("got %v, want a certificate error", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the receiver got %d requests over an unverified connection", n)
	}
}

// otherCA writes a PEM file of a fresh self-signed CA, which signed nothing
// the receivers present (httptest's servers all share one certificate).
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "other test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfig(t *testing.T) {
	good := secretFile(t, testSecret)
	short := secretFile(t, "short")
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	t.Setenv("WEFT_TEST_WEBHOOK_SECRET", testSecret)
	t.Setenv("WEFT_TEST_EMPTY", "")
	const u = "https://soar.example.com/weft"
	for name, c := range map[string]struct {
		cfg  webhook.Config
		want string // "" for no error
	}{
		"OK":              {webhook.Config{URL: u, SecretFile: good}, ""},
		"OKEnv":           {webhook.Config{URL: u, SecretEnv: "WEFT_TEST_WEBHOOK_SECRET", Timeout: time.Second, CallbackURL: "http://127.0.0.1:8080/api/v1/actions/callback"}, ""},
		"ErrNoURL":        {webhook.Config{SecretFile: good}, "webhook: url: required"},
		"ErrHTTP":         {webhook.Config{URL: "http://soar.example.com/weft", SecretFile: good}, "webhook: url: must be an https URL (TLS verification is always on)"},
		"ErrRelative":     {webhook.Config{URL: "/weft", SecretFile: good}, "webhook: url: must be an https URL (TLS verification is always on)"},
		"ErrNoHost":       {webhook.Config{URL: "https:///weft", SecretFile: good}, "webhook: url: has no host"},
		"ErrCredentials":  {webhook.Config{URL: "https://u:p@soar.example.com/", SecretFile: good}, "webhook: url: must not carry credentials (user:password@); the payload is signed with the secret instead"},
		"ErrNoSecret":     {webhook.Config{URL: u}, "webhook: secretFile or secretEnv: one is required (the secret is never written in the configuration)"},
		"ErrTwoSecrets":   {webhook.Config{URL: u, SecretFile: good, SecretEnv: "X"}, "webhook: secretFile and secretEnv: give only one"},
		"ErrEnvName":      {webhook.Config{URL: u, SecretEnv: "1X-Y"}, `webhook: secretEnv: "1X-Y" is not an environment variable name`},
		"ErrTimeout":      {webhook.Config{URL: u, SecretFile: good, Timeout: -time.Second}, "webhook: timeout: -1s is negative"},
		"ErrCallbackURL":  {webhook.Config{URL: u, SecretFile: good, CallbackURL: "ftp://x/"}, "webhook: callbackUrl: must be an absolute http or https URL"},
		"ErrMissingFile":  {webhook.Config{URL: u, SecretFile: "/nonexistent/secret"}, "webhook: secretFile: /nonexistent/secret: no such file or directory"},
		"ErrEmptyFile":    {webhook.Config{URL: u, SecretFile: empty}, "webhook: secretFile " + empty + ": the secret is empty or unset"},
		"ErrShortSecret":  {webhook.Config{URL: u, SecretFile: short}, "webhook: secretFile " + short + ": the secret is 5 bytes; it must be at least 16 (generate one with: openssl rand -hex 32)"},
		"ErrEmptyEnv":     {webhook.Config{URL: u, SecretEnv: "WEFT_TEST_EMPTY"}, "webhook: environment variable WEFT_TEST_EMPTY: the secret is empty or unset"},
		"ErrCAFileNotPEM": {webhook.Config{URL: u, SecretFile: good, CAFile: notPEM}, "webhook: caFile " + notPEM + ": no PEM certificate in it"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := webhook.New(c.cfg, nil)
			if got := weft.ErrorMessage(err); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if err != nil && weft.ErrorCode(err) != weft.EINVALID {
				t.Errorf("code %q, want invalid", weft.ErrorCode(err))
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// TestNameAndDefaults checks the default name.
func TestNameAndDefaults(t *testing.T) {
	wh := newWebhook(t, webhook.Config{URL: "https://soar.example.com/"}, nil)
	if wh.Name() != "webhook" {
		t.Errorf("name %q, want webhook", wh.Name())
	}
	wh = newWebhook(t, webhook.Config{Name: "soar", URL: "https://soar.example.com/"}, nil)
	if wh.Name() != "soar" {
		t.Errorf("name %q, want soar", wh.Name())
	}
}
