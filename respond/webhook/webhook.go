// Package webhook is the response-action connector that POSTs each action,
// as a signed JSON payload, to a receiver the operator runs (a SOAR, a
// script, a bridge to an EDR's API), and the callback handler through which
// a receiver completes an action it accepted as pending (docs/respond.md,
// "Connectors"; docs/connectors.md).
//
// Requests are signed with HMAC-SHA256 over a timestamp and the body (Sign,
// Verify) and carry the action's idempotency key, which stays the same for
// every attempt, so that a receiver can apply an action once however often
// weft sends it (invariant 3). TLS verification is always on. Failures say
// whether another attempt may help: a 5xx, a 429, a 408, a timeout or a
// connection error is retryable; any other answer that is not a 2xx is
// permanent. The secret never appears in an error or a log line
// (invariant 7); what a receiver says is scrubbed of it.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/wire"
)

// Defaults and limits.
const (
	DefaultName    = "webhook"
	DefaultTimeout = 10 * time.Second
	// MinSecretLen is the shortest secret accepted (bytes); 32 random
	// bytes, hex-encoded, are recommended.
	MinSecretLen = 16
	// maxExcerpt bounds the part of a failed answer's body kept in the
	// error.
	maxExcerpt = 300
)

// Config configures a Webhook. Secrets are never inline: exactly one of
// SecretFile and SecretEnv names where the shared secret is.
type Config struct {
	// Name is the connector's name; "" is DefaultName.
	Name string
	// URL is the receiver's https URL.
	URL string
	// SecretFile is a file holding the shared secret (surrounding
	// whitespace is ignored); SecretEnv the name of an environment
	// variable holding it.
	SecretFile string
	SecretEnv  string
	// CAFile is a PEM file of the certificate authorities the receiver's
	// certificate must chain to, instead of the system's. Verification
	// cannot be turned off.
	CAFile string
	// Timeout bounds one dispatch, from connecting to reading the answer;
	// 0 is DefaultTimeout.
	Timeout time.Duration
	// CallbackURL, when set, is sent in every payload: the URL of weft's
	// callback route (POST /api/v1/actions/callback) as the receiver
	// reaches it.
	CallbackURL string
	// Now is the clock of signatures and of the callback's timestamp
	// check; nil is time.Now.
	Now func() time.Time
}

// Validate checks the configuration's shape, without reading files or the
// environment, and returns an EINVALID *weft.Error naming the first field
// that is wrong.
func (c Config) Validate() error {
	if _, err := parseURL("url", c.URL, false); err != nil {
		return err
	}
	switch {
	case c.SecretFile == "" && c.SecretEnv == "":
		return weft.Errorf(weft.EINVALID, "webhook: secretFile or secretEnv: one is required (the secret is never written in the configuration)")
	case c.SecretFile != "" && c.SecretEnv != "":
		return weft.Errorf(weft.EINVALID, "webhook: secretFile and secretEnv: give only one")
	case c.SecretEnv != "" && !wire.ValidEnvName(c.SecretEnv):
		return weft.Errorf(weft.EINVALID, "webhook: secretEnv: %q is not an environment variable name", wire.Clean(c.SecretEnv, 64))
	case c.Timeout < 0:
		return weft.Errorf(weft.EINVALID, "webhook: timeout: %s is negative", c.Timeout)
	}
	if c.CallbackURL != "" {
		if _, err := parseURL("callbackUrl", c.CallbackURL, true); err != nil {
			return err
		}
	}
	return nil
}

// parseURL checks an absolute URL: https (or, when allowHTTP, http), with a
// host, without credentials (which would end up in errors) or fragment.
func parseURL(field, s string, allowHTTP bool) (*url.URL, error) {
	if s == "" {
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: required", field)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: not a URL", field)
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		if allowHTTP {
			return nil, weft.Errorf(weft.EINVALID, "webhook: %s: must be an absolute http or https URL", field)
		}
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: must be an https URL (TLS verification is always on)", field)
	case u.Host == "" || u.Hostname() == "":
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: has no host", field)
	case u.User != nil:
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: must not carry credentials (user:password@); the payload is signed with the secret instead", field)
	case u.Fragment != "":
		return nil, weft.Errorf(weft.EINVALID, "webhook: %s: must not have a fragment", field)
	}
	return u, nil
}

// Webhook is the webhook connector. It is safe for concurrent use.
type Webhook struct {
	name        string
	url         string
	display     string // scheme://host of the URL, for errors and logs
	secret      []byte
	callbackURL string
	timeout     time.Duration
	client      *http.Client
	now         func() time.Time
	logger      *slog.Logger
}

var _ weft.Connector = (*Webhook)(nil)

// New returns a webhook connector: the error of cfg.Validate, or an
// EINVALID *weft.Error when the secret cannot be read or is shorter than
// MinSecretLen, or the CA file cannot be read or holds no certificate. A
// nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	secret, err := wire.LoadSecret("webhook", cfg.SecretFile, cfg.SecretEnv, MinSecretLen)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, weft.Errorf(weft.EINVALID, "webhook: caFile: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, weft.Errorf(weft.EINVALID, "webhook: caFile %s: no PEM certificate in it", cfg.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, _ := url.Parse(cfg.URL) // checked by Validate
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return &Webhook{
		name: cfg.Name,
		url:  cfg.URL,
		// Errors reach the action log: they name the receiver's host
		// only, since a URL's path or query may hold a token.
		display:     u.Scheme + "://" + u.Host,
		secret:      []byte(secret),
		callbackURL: cfg.CallbackURL,
		timeout:     cfg.Timeout,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			// A redirect is not followed: the signed payload goes to
			// the configured receiver and nowhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now:    cfg.Now,
		logger: logger,
	}, nil
}

// Name returns the connector's name.
func (w *Webhook) Name() string { return w.name }

// Dispatch POSTs a's payload (wire.Payload), signed, with its idempotency
// key, and reads the receiver's answer: a 2xx is a success, pending for a
// 202 or when its JSON body ({"status":"pending"}) says so; a 5xx, 429,
// 408, timeout or connection error is a retryable error; anything else,
// including a redirect (never followed) and a 2xx whose JSON body is not a
// result, is a permanent error. Errors name the connector, the action and
// attempt, the receiver's scheme and host (never the URL's path or query,
// which may hold a token), the receiver's status and an excerpt of what it
// said, scrubbed of the secret.
func (w *Webhook) Dispatch(ctx context.Context, a *weft.Action) (weft.ActionResult, error) {
	body, err := wire.NewPayload(a, w.callbackURL).Marshal()
	if err != nil {
		return weft.ActionResult{}, fmt.Errorf("webhook %s: action %d: encoding the payload: %w", w.name, a.ID, err)
	}
	ts := w.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return weft.ActionResult{}, fmt.Errorf("webhook %s: action %d: %w", w.name, a.ID, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "weft")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	req.Header.Set(HeaderIdempotencyKey, a.IdempotencyKey())

	log := w.logger.With("connector", w.name, "tenant", a.TenantID, "action", a.ID, "attempt", a.Attempt)
	where := fmt.Sprintf("webhook %s: action %d attempt %d: POST %s", w.name, a.ID, a.Attempt, w.display)
	resp, err := w.client.Do(req)
	if err != nil {
		err = weft.RetryableError(fmt.Errorf("%s: %w", where, w.transportError(ctx, err)))
		log.DebugContext(ctx, "webhook: dispatch failed", "err", err)
		return weft.ActionResult{}, err
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(io.LimitReader(resp.Body, wire.MaxResultSize+1))
	res, err := w.answer(ctx, resp, b, readErr)
	if err != nil {
		err = fmt.Errorf("%s: %w", where, err) // keeps a RetryableError mark
		log.DebugContext(ctx, "webhook: dispatch failed", "status", resp.StatusCode, "retryable", weft.IsRetryable(err), "err", err)
		return weft.ActionResult{}, err
	}
	log.DebugContext(ctx, "webhook: dispatched", "status", resp.StatusCode, "outcome", res.ActionOutcome, "externalId", res.ExternalID)
	return res, nil
}

// answer reads the receiver's answer. Errors are marked retryable by
// RetryableError where another attempt may help.
func (w *Webhook) answer(ctx context.Context, resp *http.Response, b []byte, readErr error) (weft.ActionResult, error) {
	code := resp.StatusCode
	status := strconv.Itoa(code)
	if t := http.StatusText(code); t != "" {
		status += " " + t
	}
	switch {
	case code >= 200 && code <= 299:
		if readErr != nil {
			// The receiver took the action but its answer broke off:
			// a retry with the same key gets the answer again.
			return weft.ActionResult{}, weft.RetryableError(fmt.Errorf("answered %s, then reading the answer failed: %w", status, w.transportError(ctx, readErr)))
		}
		def := wire.StatusSucceeded
		if code == http.StatusAccepted {
			def = wire.StatusPending
		}
		if !isJSON(resp.Header.Get("Content-Type")) {
			return weft.ActionResult{ActionOutcome: outcomeOf(def)}, nil
		}
		res, err := wire.ParseResult(b, def, string(w.secret))
		if err != nil {
			return weft.ActionResult{}, fmt.Errorf("answered %s with a JSON body that is not a result: %w", status, err)
		}
		return res, nil
	case code >= 300 && code <= 399:
		loc := wire.Text(resp.Header.Get("Location"), string(w.secret), 200)
		return weft.ActionResult{}, fmt.Errorf("answered %s to %q: redirects are not followed; configure the final URL", status, loc)
	}
	err := fmt.Errorf("answered %s%s", status, w.excerpt(b))
	if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
		return weft.ActionResult{}, weft.RetryableError(err)
	}
	return weft.ActionResult{}, err
}

func outcomeOf(status string) weft.ActionOutcome {
	if status == wire.StatusPending {
		return weft.DispatchPending
	}
	return weft.DispatchSucceeded
}

// excerpt is ": " and the start of a failed answer's body, scrubbed and
// cleaned, or "" when it is empty.
func (w *Webhook) excerpt(b []byte) string {
	s := wire.Text(string(b), string(w.secret), maxExcerpt)
	if s == "" {
		return ""
	}
	return ": " + strconv.Quote(s)
}

// transportError drops the *url.Error's operation and URL (the caller names
// the host alone) and says whether the
// dispatch was cancelled (ctx ended) or timed out (Timeout passed).
func (w *Webhook) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled: %w", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out after %s: %w", w.timeout, err)
	}
	return err
}

// isJSON says whether a Content-Type is application/json or a +json type.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json")
}
