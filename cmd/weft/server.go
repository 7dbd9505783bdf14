package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/respond"
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
	// TLSCert and TLSKey are PEM files of the server's certificate chain
	// and private key: with both the server speaks HTTPS only (and the API
	// marks its session cookies Secure, as it does for any TLS request);
	// with neither, plain HTTP.
	TLSCert, TLSKey string
	// Bootstrap, when not nil, receives the one-time bootstrap token of a
	// store that has no accounts (see bootstrap). It is the terminal of
	// weft serve, never its logger: logs are shipped elsewhere and kept.
	Bootstrap io.Writer
	// Now is the clock of the store and the API (default time.Now).
	Now func() time.Time
	// RateLimit and RateBurst are the API's request rate (per second) and
	// burst per token or session; zero means the API's defaults.
	RateLimit float64
	RateBurst int
	// OIDC configures OpenID Connect sign-in; nil: off.
	OIDC *wefthttp.OIDCConfig
	// Connectors are the response-action connectors (connectors.go); the
	// zero value runs every action on the simulator.
	Connectors connectorsConfig
	// NotifyPrivateNetworks lets notification webhooks reach non-public
	// addresses (automation.Notifier.AllowPrivateNetworks).
	NotifyPrivateNetworks bool
	// NotifySecretsDir is the notification secrets directory
	// (automation.Notifier.SecretsDir); empty, no rule can sign.
	NotifySecretsDir string
}

// unlimited is a rate limit and burst that never limit: for weft bench,
// which measures the server, and feeds it from the same process.
const unlimited = 1e9

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
	// automation is the automation runner and the notifier
	// (startAutomation); stopAutomation ends them and waits.
	automation     *automationWorkers
	stopAutomation func()
	// actions is the response-action service; stopActions ends its
	// worker and waits for the dispatches in flight.
	actions     *respond.Service
	stopActions func()
}

// dbFile is the database file inside a data directory.
const dbFile = "weft.db"

// openStore creates the data directory if needed and opens its store, with
// the correlation engine placing new alerts into incidents and the priority
// package naming and scoring them.
func openStore(dir, synchronous string, policies correlate.Policies) (*sqlite.Store, error) {
	return openStoreAt(dir, synchronous, policies, nil, nil)
}

// openStoreAt is openStore with the store's clock (nil: time.Now) and
// logger (nil: slog.Default()).
func openStoreAt(dir, synchronous string, policies correlate.Policies, now func() time.Time, logger *slog.Logger) (*sqlite.Store, error) {
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
		Now:            now,
		Synchronous:    synchronous,
		Correlator:     engine,
		Describe:       describeIncident,
		TenantPolicies: tenants,
		Logger:         logger,
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
// server is ready when startServer returns. Every API request needs a
// token or a session of an account in the store (docs/security.md); with
// cfg.Bootstrap, a store without accounts gets a bootstrap token first.
func startServer(cfg serverConfig) (*runningServer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	start := time.Now()
	tlsConfig, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, err
	}
	// The connectors read their secrets now, so that a wrong path or a
	// missing secret fails before anything is opened.
	actionRT, err := cfg.Connectors.build(cfg.Logger.With("component", "connectors"), cfg.Now)
	if err != nil {
		return nil, err
	}
	store, err := openStoreAt(cfg.DataDir, cfg.Synchronous, cfg.Policy, cfg.Now, cfg.Logger)
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
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	if cfg.Bootstrap != nil {
		if err := bootstrap(context.Background(), store, cfg.Now(), url, cfg.DataDir, cfg.Bootstrap); err != nil {
			ln.Close()
			store.Close()
			return nil, err
		}
	}
	reg := prometheus.NewRegistry()
	rs := &runningServer{store: store, served: make(chan error, 1), logger: cfg.Logger}
	var api *wefthttp.Server
	rs.batcher = ingest.NewBatcher(store, ingest.BatcherOptions{Observe: func(n int, d time.Duration, err error) {
		if api != nil {
			api.ObserveCommit(n, d, err)
		}
	}})
	auto, err := newAutomationWorkers(store, cfg.Now, cfg.Logger)
	if err == nil {
		auto.notifier.AllowPrivateNetworks = cfg.NotifyPrivateNetworks
		err = auto.setSecretsDir(cfg.NotifySecretsDir)
	}
	if err != nil {
		ln.Close()
		store.Close()
		return nil, err
	}
	rs.automation = auto
	rs.actions = respond.New(store, actionRT.Options)
	auto.setActions(rs.actions)
	var callback http.Handler
	if actionRT.Callback != nil {
		callback = actionRT.Callback(rs.actions)
	}
	api = wefthttp.NewServer(store, rs.batcher, wefthttp.Options{
		Actions:        rs.actions,
		ActionCallback: callback,
		Connectors:     connectorsInfo(actionRT.Options),
		Automation:     auto.evaluator,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Logger:         cfg.Logger,
		Registry:       reg,
		Now:            cfg.Now,
		Auth:           store, // required: the API is never served without authentication
		RateLimit:      cfg.RateLimit,
		RateBurst:      cfg.RateBurst,
		OIDC:           cfg.OIDC,
	})
	rs.api = api
	rs.http = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	// Shutdown waits for responses to finish; event streams (GET
	// /api/v1/events) end only when told to.
	rs.http.RegisterOnShutdown(api.Close)
	rs.URL = url
	if tlsConfig != nil {
		// The certificate is in TLSConfig: ServeTLS takes no files.
		go func() { rs.served <- rs.http.ServeTLS(ln, "", "") }()
	} else {
		go func() { rs.served <- rs.http.Serve(ln) }()
	}
	rs.stopAutomation = auto.start()
	rs.stopActions = startActionWorker(rs.actions, cfg.Logger)
	cfg.Logger.Info("response actions", "connectors", cfg.Connectors.describe())
	api.SetReady(true)
	cfg.Logger.Info("weft ready", "url", rs.URL, "data", cfg.DataDir, "version", weft.Version,
		"go", runtime.Version(), "startup", time.Since(start).Round(time.Millisecond), "tls", tlsConfig != nil)
	return rs, nil
}

// loadTLS reads the certificate chain and key of --tls-cert and --tls-key;
// nil, nil when neither is given. Reading them before the store is opened
// makes a wrong path fail at once, naming the flag.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key: give both (the certificate chain and its private key, PEM) or neither")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// bootstrapTTL is how long a bootstrap token is valid.
const bootstrapTTL = 24 * time.Hour

// bootstrap gives a store without accounts its first credential: an admin
// token in every tenant, named "bootstrap", valid for bootstrapTTL, printed
// once to w with what to do with it. There is never a default password.
// While the token is valid the store has an account, so a later start
// prints nothing; once it has expired unused (and no user exists), the
// next start prints a new one. weft admin create-token --data DIR makes
// another at any time: it needs the data directory, not the API.
func bootstrap(ctx context.Context, auth weft.AuthStore, now time.Time, url, dataDir string, w io.Writer) error {
	has, err := auth.HasAccounts(ctx)
	if err != nil {
		return fmt.Errorf("looking for accounts: %w", err)
	}
	if has {
		return nil
	}
	expires := now.Add(bootstrapTTL)
	_, secret, err := auth.CreateToken(ctx, &weft.Token{
		Name:      "bootstrap",
		Grants:    []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}},
		CreatedBy: "weft serve (first start)",
		Expires:   &expires,
	})
	if err != nil {
		return fmt.Errorf("creating the bootstrap token: %w", err)
	}
	rule := strings.Repeat("-", 72)
	fmt.Fprintf(w, `%[1]s
weft: first start: no accounts exist in %[2]s.
This one-time admin token (every tenant) is shown only now; it expires at %[3]s:

    %[4]s

Use it to create the first admin through the API (POST %[5]s/api/v1/users),
or create the admin on this host, which needs no token:

    weft admin create-user --data %[2]s --name NAME --role admin --tenant '*'

then revoke the token: weft admin revoke-token --data %[2]s bootstrap
API tokens for the CLI (WEFT_TOKEN): weft admin create-token --data %[2]s --name NAME --role ROLE
%[1]s
`, rule, dataDir, expires.UTC().Format(time.RFC3339), secret, url)
	return nil
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
	if rs.stopAutomation != nil {
		rs.stopAutomation()
	}
	// After automation, which requests actions; before the store closes.
	if rs.stopActions != nil {
		rs.stopActions()
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

// adminToken creates an admin API token in every tenant, valid for a day,
// for a client in this process (weft bench feeding its own server): the
// bench talks HTTP as any client does, with credentials.
func (rs *runningServer) adminToken(ctx context.Context, name string) (string, error) {
	expires := time.Now().Add(bootstrapTTL)
	_, secret, err := rs.store.CreateToken(ctx, &weft.Token{
		Name:      name,
		Grants:    []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}},
		CreatedBy: "weft " + name,
		Expires:   &expires,
	})
	if err != nil {
		return "", fmt.Errorf("creating a token for %s: %w", name, err)
	}
	return secret, nil
}
