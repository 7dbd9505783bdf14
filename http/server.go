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
}

// DefaultMaxBodyBytes is the default request body limit.
const DefaultMaxBodyBytes = 32 << 20

// NewServer returns a Server that reads from store and writes through
// committer. It is not ready (/readyz answers 503) until SetReady(true).
func NewServer(store weft.Store, committer Committer, opts Options) *Server {
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

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", s.metrics.handler(s.opts.Registry))

	s.mux.HandleFunc("POST /api/v1/alerts", s.handleIngest)
	s.mux.HandleFunc("POST /api/v1/ingest/{format}", s.handleIngest)
	s.mux.HandleFunc("GET /api/v1/alerts", s.handleListAlerts)
	s.mux.HandleFunc("GET /api/v1/alerts/{id}", s.handleGetAlert)
	s.mux.HandleFunc("GET /api/v1/incidents", s.handleListIncidents)
	s.mux.HandleFunc("GET /api/v1/incidents/export.csv", s.handleExportIncidents)
	s.mux.HandleFunc("GET /api/v1/incidents/{id}", s.handleGetIncident)
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/activity", s.handleListActivity)
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/story", s.handleIncidentStory())
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/origin", s.handleIncidentOrigin())
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/assets", s.handleIncidentAssets())
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/evidence", s.handleIncidentEvidence())
	s.mux.HandleFunc("GET /api/v1/incidents/{id}/related", s.handleIncidentRelated())
	s.mux.HandleFunc("PATCH /api/v1/incidents/{id}", s.handlePatchIncident)
	s.mux.HandleFunc("POST /api/v1/incidents/{id}/comments", s.handlePostComment)
	s.mux.HandleFunc("PATCH /api/v1/alerts/{id}", s.handlePatchAlert)
	s.mux.HandleFunc("GET /api/v1/tenants", s.handleListTenants)
	s.mux.HandleFunc("GET /api/v1/correlation/policy", s.handleGetPolicy)
	s.mux.HandleFunc("PUT /api/v1/correlation/policy", s.handlePutPolicy)
	s.mux.HandleFunc("DELETE /api/v1/correlation/policy", s.handleDeletePolicy)
	s.mux.HandleFunc("PUT /api/v1/assets", s.handlePutAssets)
	s.mux.HandleFunc("GET /api/v1/assets", s.handleListAssets)
	s.mux.HandleFunc("GET /api/v1/assets/{id}", s.handleGetAsset)
	s.mux.HandleFunc("DELETE /api/v1/assets/{id}", s.handleDeleteAsset)
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.handleOpenAPI)
	s.mux.HandleFunc("PATCH /api/v1/incidents", s.handleBulkUpdate)
	s.mux.HandleFunc("GET /api/v1/events", s.handleEvents)
	s.mux.HandleFunc("POST /api/v1/alerts/moveAlerts", s.handleMoveAlerts)
	s.mux.HandleFunc("POST /api/v1/incidents/mergeIncidents", s.handleMergeIncidents)
	s.mux.HandleFunc("POST /api/v1/incidents/{id}/split", s.handleSplitIncident)
	s.mux.HandleFunc("GET /api/v1/entities", s.handleSearchEntities)
	s.mux.HandleFunc("GET /api/v1/entities/{type}/{id}", s.handleGetEntity)
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

// TenantHeader names the tenant a request acts for. Until accounts and roles
// exist, any client may name any tenant; without the header it is the
// default tenant.
const TenantHeader = "Weft-Tenant"

func tenantOf(r *http.Request) string {
	if t := r.Header.Get(TenantHeader); t != "" {
		return t
	}
	return weft.DefaultTenantID
}
