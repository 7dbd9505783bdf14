// Package http serves weft's REST API (/api/v1), health and metrics
// endpoints over net/http, speaking only in domain terms.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/ingest"
)

// Committer stores decoded alerts durably; *ingest.Batcher is one.
type Committer interface {
	Submit(ctx context.Context, alerts []*weft.Alert) ([]weft.StoreResult, error)
}

// Options configures a Server. The zero value of each limit means its default.
type Options struct {
	// MaxBodyBytes caps one request body (default 32 MiB); a larger one is
	// refused with 413 before anything is stored.
	MaxBodyBytes int64
	// Limits bound records within a body (see ingest.Limits).
	Limits ingest.Limits
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// Registry receives weft's metrics; nil creates a private one.
	Registry *prometheus.Registry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Auth keeps users, tokens, sessions and the audit log. It is
	// required: NewServer panics without one, for there is no way to serve
	// the API without authentication (docs/security.md).
	Auth weft.AuthStore
	// RateLimit and RateBurst are each session's and token's request rate
	// (per second) and burst (defaults DefaultRateLimit, DefaultRateBurst);
	// a request over them is refused with 429 and Retry-After.
	RateLimit float64
	RateBurst int
	// OIDC configures OpenID Connect sign-in (oidc.go); nil: off, and its
	// routes answer 404.
	OIDC *OIDCConfig
	// Automation checks and tests automation and notification rules
	// (automation.go; automation.Engine with a loader); nil: the rule
	// routes answer 400 (unsupported).
	Automation weft.AutomationEvaluator
	// Actions serves response actions (actions.go); nil: the action
	// routes answer 400, and entities show no containment.
	Actions weft.ActionService
	// ActionCallback is the webhook connector's callback handler, served
	// at POST /api/v1/actions/callback; nil: that route answers 404.
	ActionCallback http.Handler
	// Connectors describes the response-action connectors for GET
	// /api/v1/response/connectors (connectors.go): names and kinds only;
	// nil: that route answers 404.
	Connectors *ConnectorsInfo
}

// Server is weft's HTTP API. Create it with NewServer and serve Handler().
type Server struct {
	store     weft.Store
	committer Committer
	opts      Options
	logger    *slog.Logger
	metrics   *metrics
	now       func() time.Time
	ready     atomic.Bool
	mux       *http.ServeMux
	events    eventStreams // open event streams (events.go)
	auth      weft.AuthStore
	limiter   *rateLimiter   // requests per session or token (ratelimit.go)
	logins    *loginThrottle // failed sign-ins (ratelimit.go)
}

// DefaultMaxBodyBytes is the default request body limit.
const DefaultMaxBodyBytes = 32 << 20

// NewServer returns a Server that reads from store and writes through
// committer. It is not ready (/readyz answers 503) until SetReady(true).
// It panics when opts.Auth is nil: every route but health, readiness, the
// OpenAPI document and sign-in needs credentials, and there is no way to
// turn that off.
func NewServer(store weft.Store, committer Committer, opts Options) *Server {
	if opts.Auth == nil {
		panic("http: NewServer needs Options.Auth; the API is never served without authentication")
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = DefaultRateBurst
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		store:     store,
		committer: committer,
		opts:      opts,
		logger:    opts.Logger,
		metrics:   newMetrics(opts.Registry),
		now:       opts.Now,
		mux:       http.NewServeMux(),
		auth:      opts.Auth,
		limiter:   newRateLimiter(opts.RateLimit, opts.RateBurst, opts.Now),
		logins:    newLoginThrottle(opts.Now),
	}
	s.routes()
	return s
}

// SetReady marks the server ready (or not) to serve traffic.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

// ObserveCommit records one store commit of n alerts that took d for the
// metrics; pass it as ingest.BatcherOptions.Observe.
func (s *Server) ObserveCommit(n int, d time.Duration, err error) {
	s.metrics.batchAlerts.Observe(float64(n))
	s.metrics.storeSeconds.WithLabelValues("store_alerts").Observe(d.Seconds())
	if err != nil {
		s.metrics.storeErrors.WithLabelValues("store_alerts").Inc()
	}
}

// routes registers the route table (routes.go) and the answer to a path
// under /api/ that no route serves.
func (s *Server) routes() {
	s.registerRoutes(s.routeTable())
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, weft.Errorf(weft.ENOTFOUND, "no API route for %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": weft.Version})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		s.writeError(w, r, weft.Errorf(weft.EUNAVAILABLE, "not ready"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "err", err)
		s.writeError(w, r, weft.Errorf(weft.EUNAVAILABLE, "store unavailable"))
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// TenantHeader names the tenant a request acts for; without it, the default
// tenant. guard (auth.go) checks that the principal holds a grant there
// before any handler runs.
const TenantHeader = "Weft-Tenant"

func tenantOf(r *http.Request) string {
	if t := r.Header.Get(TenantHeader); t != "" {
		return t
	}
	return weft.DefaultTenantID
}
