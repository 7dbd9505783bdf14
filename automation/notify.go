package automation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/weftxdr/weft"
)

// Notifier posts a tenant's incidents that match its notification rules to
// their webhooks, at most once per incident per rule per event kind.
//
// Scan tails each tenant's event log from its cursor (weft.ConsumerNotifications;
// the tenant's first notification rule starts it): an incidentCreated event
// is of kind "created", any other change of kind "updated". For each enabled
// rule that takes the kind and whose condition matches the incident, it
// writes a pending delivery row, unique by (rule, incident, kind), before
// anything is sent: a repeated event, a second scan or a restart finds the
// row and sends nothing more.
//
// Deliver sends the due deliveries: each is claimed (pending → sending)
// before its POST and finished after it (sent; pending again with
// exponential backoff on a 5xx, a 429 or a network error or timeout; failed
// on any other answer or after MaxAttempts). A delivery found sending at
// start-up (Run) was interrupted mid-send and is marked failed rather than
// sent again. The URL (chat webhooks carry their secret in it) and the
// signing key never appear in errors or logs.
type Notifier struct {
	Store  weft.NotificationStore
	Events weft.EventStore
	Load   func(ctx context.Context, tenantID string, id int64) (*Subject, error)
	Engine *Engine
	// Client posts the notifications; nil means a client with a 10 s
	// timeout that verifies TLS certificates, follows no redirect, and
	// connects only to public addresses unless AllowPrivateNetworks.
	Client *http.Client
	// AllowPrivateNetworks lets the default client connect to loopback,
	// private, link-local and other non-public addresses. Off, a tenant
	// admin cannot make the server post to its own network (SSRF): the
	// address is checked when the connection is made, after DNS, so a
	// name that resolves to a private address is refused too.
	AllowPrivateNetworks bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxAttempts is how many times a delivery is tried (default 5);
	// Backoff the wait after the first failure, doubled after each
	// (default 30 s, at most 1 h).
	MaxAttempts int
	Backoff     time.Duration
	// IncidentURL, when set, makes the link of an incident in a message:
	// IncidentURL with the id appended ("https://weft.example/incidents/").
	IncidentURL string
	// SecretsDir is the notification secrets directory: a rule's
	// SecretFile names a file in it (ReadSecretFile). Empty, a rule with a
	// SecretFile is not sent (failed, saying the server needs
	// --notify-secrets-dir).
	SecretsDir string
	// ReadSecret reads a rule's SecretFile (default ReadSecretFile from
	// SecretsDir); tests replace it.
	ReadSecret func(ctx context.Context, name string) ([]byte, error)
	// Parallel is how many deliveries are sent at once (default 4), each
	// tenant's one at a time, so that a tenant whose webhook hangs holds
	// one sender, not all.
	Parallel int
	// Poll is how often Run looks for work without a signal (default 5 s).
	Poll   time.Duration
	Logger *slog.Logger
}

// Run marks interrupted deliveries failed, then scans and delivers until ctx
// ends, waking when the event log grows and at least every Poll. It returns
// nil when ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	if k, err := n.Store.AbandonSending(ctx, n.now()); err != nil {
		n.logger().Warn("notifications: cannot mark interrupted deliveries", "err", err)
	} else if k > 0 {
		n.logger().Warn("notifications: deliveries interrupted mid-send marked failed, not sent again", "count", k)
	}
	return wakeLoop(ctx, n.Events, n.Poll, func() {
		if err := n.Scan(ctx); err != nil && ctx.Err() == nil {
			n.logger().Warn("notifications: scan failed", "err", err)
		}
		if _, err := n.Deliver(ctx); err != nil && ctx.Err() == nil {
			n.logger().Warn("notifications: delivery failed", "err", err)
		}
	})
}

func (n *Notifier) logger() *slog.Logger { return loggerOr(n.Logger) }

func (n *Notifier) now() time.Time { return nowUTC(n.Now) }

// Scan turns the events since each tenant's cursor into pending deliveries.
func (n *Notifier) Scan(ctx context.Context) error {
	tenants, err := n.Store.CursorTenants(ctx, weft.ConsumerNotifications)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := n.scanTenant(ctx, t); err != nil {
			return fmt.Errorf("notifications: tenant %s: %w", t, err)
		}
	}
	return nil
}

func (n *Notifier) scanTenant(ctx context.Context, tenant string) error {
	after, err := n.Store.EventCursor(ctx, tenant, weft.ConsumerNotifications)
	if err != nil {
		return err
	}
	for {
		evs, err := n.Events.Events(ctx, tenant, after, weft.DefaultEventBatch)
		if err != nil || len(evs) == 0 {
			return err
		}
		rules, err := n.Store.NotificationRules(ctx, tenant)
		if err != nil {
			return err
		}
		type key struct {
			id   int64
			kind string
		}
		var order []key
		last := map[key]int64{}
		for _, ev := range evs {
			if ev.ActivityType == weft.ActivityIncidentRedirected {
				continue
			}
			k := key{ev.IncidentID, weft.NotifyUpdated}
			if ev.Type == weft.EventIncidentCreated {
				k.kind = weft.NotifyCreated
			}
			if _, ok := last[k]; !ok {
				order = append(order, k)
			}
			last[k] = ev.ID
		}
		subjects := map[int64]*Subject{}
		vars := map[int64]map[string]any{}
		for _, k := range order {
			for _, r := range rules {
				if !r.Enabled || !takes(r, k.kind) {
					continue
				}
				s, ok := subjects[k.id]
				if !ok {
					s, err = n.Load(ctx, tenant, k.id)
					if weft.ErrorCode(err) == weft.ENOTFOUND {
						break
					}
					if err != nil {
						return err
					}
					subjects[k.id], vars[k.id] = s, activation(s)
				}
				if s.Incident.Status == weft.IncidentStatusRedirected {
					break
				}
				ok, err := n.Engine.matchVars(ctx, r.Condition, vars[k.id])
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					n.logger().Warn("notifications: condition failed", "tenant", tenant, "rule", r.ID, "incident", k.id, "err", errText(err))
					continue
				}
				if !ok {
					continue
				}
				d := &weft.NotificationDelivery{TenantID: tenant, RuleID: r.ID, RuleVersion: r.Version, IncidentID: k.id,
					Kind: k.kind, EventID: last[k], State: weft.DeliveryPending, NextAttempt: n.now()}
				if _, err := n.Store.AddDelivery(ctx, d); err != nil {
					return err
				}
			}
		}
		after = evs[len(evs)-1].ID
		if err := n.Store.SetEventCursor(ctx, tenant, weft.ConsumerNotifications, after); err != nil {
			return err
		}
	}
}

func takes(r *weft.NotificationRule, kind string) bool {
	for _, e := range r.Events {
		if e == kind {
			return true
		}
	}
	return false
}

// Deliver sends the deliveries that are due and returns how many it
// attempted.
//
// The due deliveries are grouped by tenant; up to Parallel tenants are
// served at once, each tenant's deliveries one after another, oldest first.
// A slow or dead webhook thus delays its own tenant only. Within a tenant,
// once a rule's delivery is left pending for a retry (an unreachable host,
// a timeout, a 5xx), that rule's other deliveries are not tried in this
// round: they stay pending, unclaimed, for the next one, so that a dead
// host costs one timeout per rule per round. Every delivery is claimed
// before its POST, so a notification still goes out at most once.
func (n *Notifier) Deliver(ctx context.Context) (int, error) {
	due, err := n.Store.DueDeliveries(ctx, n.now(), 100)
	if err != nil {
		return 0, err
	}
	var tenants []string
	byTenant := map[string][]*weft.NotificationDelivery{}
	for _, d := range due {
		if _, ok := byTenant[d.TenantID]; !ok {
			tenants = append(tenants, d.TenantID)
		}
		byTenant[d.TenantID] = append(byTenant[d.TenantID], d)
	}
	parallel := n.Parallel
	if parallel <= 0 {
		parallel = 4
	}
	var (
		mu       sync.Mutex
		tried    int
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, parallel)
	for _, t := range tenants {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			k, err := n.deliverTenant(ctx, byTenant[t])
			mu.Lock()
			defer mu.Unlock()
			tried += k
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	wg.Wait()
	return tried, firstErr
}

// deliverTenant sends one tenant's due deliveries in order (see Deliver).
func (n *Notifier) deliverTenant(ctx context.Context, due []*weft.NotificationDelivery) (int, error) {
	tried := 0
	deferred := map[int64]bool{} // rules whose delivery waits for a retry
	for _, d := range due {
		if ctx.Err() != nil {
			return tried, nil
		}
		if deferred[d.RuleID] {
			continue
		}
		ok, err := n.Store.ClaimDelivery(ctx, d.ID, n.now())
		if err != nil {
			return tried, err
		}
		if !ok {
			continue
		}
		tried++
		d.Attempts++
		state, next, msg := n.attempt(ctx, d)
		if err := n.Store.FinishDelivery(context.WithoutCancel(ctx), d.ID, state, next, msg, n.now()); err != nil {
			return tried, err
		}
		if state == weft.DeliveryPending {
			deferred[d.RuleID] = true
		}
		if state != weft.DeliverySent {
			n.logger().Warn("notifications: delivery not sent", "tenant", d.TenantID, "rule", d.RuleID,
				"incident", d.IncidentID, "attempt", d.Attempts, "state", state, "err", msg)
		}
	}
	return tried, nil
}

// attempt sends one claimed delivery and says what became of it.
func (n *Notifier) attempt(ctx context.Context, d *weft.NotificationDelivery) (weft.DeliveryState, time.Time, string) {
	r, err := n.Store.FindNotificationRule(ctx, d.TenantID, d.RuleID)
	if err != nil {
		return weft.DeliveryFailed, time.Time{}, "rule: " + weft.ErrorMessage(err)
	}
	if !r.Enabled {
		return weft.DeliveryFailed, time.Time{}, "the rule was disabled before the notification was sent"
	}
	s, err := n.Load(ctx, d.TenantID, d.IncidentID)
	if err != nil {
		return n.retry(d, "incident: "+weft.ErrorMessage(err), weft.ErrorCode(err) != weft.ENOTFOUND)
	}
	body, err := n.payload(r, d.Kind, s)
	if err != nil {
		return weft.DeliveryFailed, time.Time{}, "payload: " + err.Error()
	}
	err = n.post(ctx, r, body)
	if err == nil {
		return weft.DeliverySent, time.Time{}, ""
	}
	var pe *postError
	if errors.As(err, &pe) {
		return n.retry(d, pe.msg, pe.retry)
	}
	return n.retry(d, err.Error(), true)
}

func (n *Notifier) retry(d *weft.NotificationDelivery, msg string, retryable bool) (weft.DeliveryState, time.Time, string) {
	max := n.MaxAttempts
	if max <= 0 {
		max = 5
	}
	if !retryable {
		return weft.DeliveryFailed, time.Time{}, msg
	}
	if d.Attempts >= max {
		return weft.DeliveryFailed, time.Time{}, fmt.Sprintf("%s (gave up after %d attempts)", msg, d.Attempts)
	}
	wait := n.Backoff
	if wait <= 0 {
		wait = 30 * time.Second
	}
	for i := 1; i < d.Attempts && wait < time.Hour; i++ {
		wait *= 2
	}
	return weft.DeliveryPending, n.now().Add(min(wait, time.Hour)), msg
}

// postError is a failed POST, described without the URL.
type postError struct {
	msg   string
	retry bool
}

func (e *postError) Error() string { return e.msg }

// post sends body to the rule's webhook.
func (n *Notifier) post(ctx context.Context, r *weft.NotificationRule, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return &postError{msg: "the URL cannot be used", retry: false}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "weft/"+weft.Version)
	if r.SecretFile != "" {
		read := n.ReadSecret
		if read == nil {
			read = func(ctx context.Context, name string) ([]byte, error) { return ReadSecretFile(ctx, n.SecretsDir, name) }
		}
		key, err := read(ctx, r.SecretFile)
		if err != nil {
			if ctx.Err() != nil {
				return &postError{msg: "stopped before the secret file was read", retry: true}
			}
			// ReadSecretFile's messages name the file, never a path.
			msg := "the secret file cannot be read"
			if weft.ErrorCode(err) == weft.EINVALID {
				msg = weft.ErrorMessage(err)
			}
			return &postError{msg: msg, retry: false}
		}
		ts := strconv.FormatInt(n.now().Unix(), 10)
		mac := hmac.New(sha256.New, bytes.TrimSpace(key))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		req.Header.Set("Weft-Timestamp", ts)
		req.Header.Set("Weft-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	client := n.Client
	if client == nil {
		client = publicClient
		if n.AllowPrivateNetworks {
			client = privateClient
		}
	}
	resp, err := client.Do(req)
	if errors.Is(err, errNotPublic) {
		return &postError{msg: "the webhook's address is not public (loopback, private or link-local); the server is not set to reach private networks", retry: false}
	}
	if err != nil {
		// *url.Error repeats the URL: say only what kind of failure it was.
		msg := "the webhook could not be reached"
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			msg = "the webhook did not answer in time"
		}
		return &postError{msg: msg, retry: true}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return &postError{msg: "the webhook answered " + resp.Status, retry: true}
	}
	return &postError{msg: "the webhook answered " + resp.Status, retry: false}
}

var (
	publicClient  = webhookClient(false)
	privateClient = webhookClient(true)
)

// errNotPublic refuses a connection to a non-public address.
var errNotPublic = errors.New("not a public address")

// webhookClient returns the client of notifications: TLS verified (the
// default settings, never relaxed), 10 s in all, no redirects (one could
// carry the request elsewhere; webhooks do not redirect). The public client
// connects only to public addresses and uses no proxy (a proxy would hide
// the address it checks); the private one connects anywhere and honours
// HTTPS_PROXY.
func webhookClient(private bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !private {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return errNotPublic
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !publicAddr(ip.Unmap()) {
				return errNotPublic
			}
			return nil
		}
	}
	var proxy func(*http.Request) (*url.URL, error)
	if private {
		proxy = http.ProxyFromEnvironment
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               proxy,
			DialContext:         d.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConns:        10,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// publicAddr says whether ip is a public unicast address a webhook may be
// posted to. An address that carries an IPv4 address (IPv4-mapped
// ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by that
// address, since the packet ends there. Refused besides the loopback,
// private, link-local, multicast, broadcast and unspecified addresses are
// the special-purpose ranges of the IANA registries that are not globally
// reachable or reach somewhere else (nonPublic): among them carrier-grade
// NAT, benchmarking, documentation, the local-use NAT64 prefix
// 64:ff9b:1::/48 (its IPv4 half lives in the site) and Teredo 2001::/32
// (a tunnel to an address the packet does not show).
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return publicAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return publicAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var (
	// nat64 is the well-known NAT64 prefix (RFC 6052): the IPv4 address
	// is its last 32 bits.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
	// sixToFour is 6to4 (RFC 3056): the IPv4 address follows 2002.
	sixToFour = netip.MustParsePrefix("2002::/16")
	// nonPublic are the special-purpose ranges publicAddr refuses beyond
	// those the netip predicates cover.
	nonPublic = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598), used inside clouds
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation
		netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (deprecated)
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
		netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated) and unspecified
		netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
		netip.MustParsePrefix("100::/64"),        // discard-only
		netip.MustParsePrefix("2001::/32"),       // Teredo
		netip.MustParsePrefix("2001:2::/48"),     // benchmarking
		netip.MustParsePrefix("2001:10::/28"),    // ORCHID
		netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("3fff::/20"),       // documentation
		netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
		netip.MustParsePrefix("5f00::/16"),       // SRv6 SIDs
	}
)

// payload renders the notification of an incident in the rule's format.
func (n *Notifier) payload(r *weft.NotificationRule, kind string, s *Subject) ([]byte, error) {
	return Payload(r.Format, kind, s.Incident, n.IncidentURL)
}

// Payload renders the notification of an incident: Slack's
// {"text", "blocks"}, a Teams message with an Adaptive Card, or weft's
// generic {"kind", "incident"}. incidentURL, when set, is the prefix of the
// incident's link.
func Payload(format weft.NotificationFormat, kind string, inc *weft.Incident, incidentURL string) ([]byte, error) {
	verb := "New incident"
	if kind == weft.NotifyUpdated {
		verb = "Incident updated"
	}
	title := fmt.Sprintf("%s %d: %s", verb, inc.ID, inc.DisplayName)
	facts := [][2]string{
		{"Severity", string(inc.Severity)}, {"Status", string(inc.Status)},
		{"Alerts", strconv.Itoa(inc.AlertCount)},
		{"Assigned to", or(inc.AssignedTo, "unassigned")},
		{"Categories", or(strings.Join(inc.Categories, ", "), "none")},
	}
	if inc.PriorityScore != nil {
		facts = append(facts, [2]string{"Priority", strconv.Itoa(*inc.PriorityScore)})
	}
	link := ""
	if incidentURL != "" {
		link = incidentURL + strconv.FormatInt(inc.ID, 10)
	}
	switch format {
	case weft.NotifySlack:
		var fields []map[string]string
		for _, f := range facts {
			fields = append(fields, map[string]string{"type": "mrkdwn", "text": "*" + f[0] + "*\n" + slackEscape(f[1])})
		}
		text := slackEscape(title)
		if link != "" {
			text = "<" + link + "|" + text + ">"
		}
		return json.Marshal(map[string]any{
			"text": title,
			"blocks": []any{
				map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": "*" + text + "*"}},
				map[string]any{"type": "section", "fields": fields},
			},
		})
	case weft.NotifyTeams:
		var tf []map[string]string
		for _, f := range facts {
			tf = append(tf, map[string]string{"title": f[0], "value": f[1]})
		}
		card := map[string]any{
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
			"type":    "AdaptiveCard", "version": "1.4",
			"body": []any{
				map[string]any{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true},
				map[string]any{"type": "FactSet", "facts": tf},
			},
		}
		if link != "" {
			card["actions"] = []any{map[string]string{"type": "Action.OpenUrl", "title": "Open in weft", "url": link}}
		}
		return json.Marshal(map[string]any{
			"type": "message",
			"attachments": []any{map[string]any{
				"contentType": "application/vnd.microsoft.card.adaptive",
				"content":     card,
			}},
		})
	}
	plain := *inc
	plain.Alerts = nil
	return json.Marshal(map[string]any{"kind": kind, "title": title, "url": link, "incident": &plain})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
