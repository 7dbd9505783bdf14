package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/sqlite"
)

// serverConfig is what it takes to run a weft server.
type serverConfig struct {
	Addr         string // listen address; port 0 picks a free port
	DataDir      string // holds weft.db
	Synchronous  string // SQLite synchronous mode: full or normal
	MaxBodyBytes int64
	Logger       *slog.Logger
	Policy       correlate.Policies // zero: correlate.DefaultConfig() for every tenant
}

// runningServer is a started server: its store, its group-commit batcher and
// its HTTP listener.
type runningServer struct {
	URL     string
	store   *sqlite.Store
	batcher *ingest.Batcher
	api     *wefthttp.Server
	http    *http.Server
	served  chan error
	logger  *slog.Logger
}

// dbFile is the database file inside a data directory.
const dbFile = "weft.db"

// openStore creates the data directory if needed and opens its store, with
// the correlation engine placing new alerts into incidents and the priority
// package naming and scoring them.
func openStore(dir, synchronous string, policies correlate.Policies) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	if policies.Default.StrongWindow == 0 { // the zero Policies: none given
		policies.Default = correlate.DefaultConfig()
	}
	engine, err := correlate.New(policies.Default)
	if err != nil {
		return nil, err
	}
	tenants := map[string][]byte{}
	for id, cfg := range policies.Tenants {
		tenants[id] = correlate.MarshalPolicy(cfg)
	}
	return sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{
		Synchronous:    synchronous,
		Correlator:     engine,
		Describe:       describeIncident,
		TenantPolicies: tenants,
	})
}

// describeIncident names an incident after Defender's grammar and scores it
// (design §5) at the store's clock, with the criticality of the tenant's
// assets and the prevalence of its detectors that the store keeps.
func describeIncident(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
	score, factors := priority.Score(priority.Input{
		Alerts:             in.Alerts,
		Now:                in.Now,
		Criticality:        in.Criticality,
		DetectorPrevalence: in.Prevalence,
	})
	return priority.Name(in.Alerts), &score, factors
}

// startServer opens the store, starts the batcher and begins serving. The
// server is ready when startServer returns.
func startServer(cfg serverConfig) (*runningServer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	store, err := openStore(cfg.DataDir, cfg.Synchronous, cfg.Policy)
	if err != nil {
		return nil, err
	}
	for _, p := range store.PolicyProblems() {
		cfg.Logger.Warn("a stored correlation policy was not applied; the tenant runs on its file or default policy", "err", p)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	reg := prometheus.NewRegistry()
	rs := &runningServer{store: store, served: make(chan error, 1), logger: cfg.Logger}
	var api *wefthttp.Server
	rs.batcher = ingest.NewBatcher(store, ingest.BatcherOptions{Observe: func(n int, d time.Duration, err error) {
		if api != nil {
			api.ObserveCommit(n, d, err)
		}
	}})
	api = wefthttp.NewServer(store, rs.batcher, wefthttp.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       cfg.Logger,
		Registry:     reg,
	})
	rs.api = api
	rs.http = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for responses to finish; event streams (GET
	// /api/v1/events) end only when told to.
	rs.http.RegisterOnShutdown(api.Close)
	rs.URL = "http://" + ln.Addr().String()
	go func() { rs.served <- rs.http.Serve(ln) }()
	api.SetReady(true)
	cfg.Logger.Info("weft ready", "url", rs.URL, "data", cfg.DataDir, "version", weft.Version,
		"go", runtime.Version(), "startup", time.Since(start).Round(time.Millisecond))
	return rs, nil
}

// Shutdown stops taking requests, lets in-flight requests finish (their
// batches are committed before they are answered), then closes the batcher
// and the store. ctx bounds the wait for in-flight requests.
func (rs *runningServer) Shutdown(ctx context.Context) error {
	rs.api.SetReady(false)
	err := rs.http.Shutdown(ctx)
	if err != nil {
		rs.logger.Warn("in-flight requests did not finish in time", "err", err)
	}
	rs.batcher.Close()
	if cerr := rs.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if serr := <-rs.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
