package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	wefthttp "github.com/weftxdr/weft/http"
)

const serveHelp = `
Run the weft server: the REST API under /api/v1, /healthz, /readyz and
/metrics, on an embedded SQLite database in the data directory (created if
missing). Every flag can also be set by the environment variable named in its
description; a flag wins over the environment.

Every API request needs an API token (Authorization: Bearer) or a signed-in
session; /healthz and /readyz need none. On the first start, when the
data directory holds no accounts, weft serve prints a one-time admin token,
valid for 24 hours, to standard error (never to the log), with what to do:
create the first admin through the API with it, or on this host with
weft admin create-user --data DIR, then revoke it. There is no default
password.

With --tls-cert and --tls-key the server speaks HTTPS only, and its session
cookies are marked Secure. Without them it speaks plain HTTP: keep it on
127.0.0.1 (the default) or behind a proxy that terminates TLS.

With --oidc-issuer, --oidc-client-id and --oidc-redirect-url, people may also
sign in through an OpenID Connect provider (GET /api/v1/auth/oidc/login). The
client secret is read from --oidc-client-secret-file or WEFT_OIDC_CLIENT_SECRET,
never from a flag. Only existing accounts sign in: an identity is matched to the
account linked to it, else to the account named by its verified e-mail address.

Response actions (isolate a device, disable a user, ...) run on connectors
(docs/connectors.md). By default every action runs on the simulator, which
only records the state an action leaves its target in. --connector webhook
with --webhook-url and --webhook-secret-file (or WEFT_WEBHOOK_SECRET) POSTs
each action, signed, to a receiver, whose asynchronous answers come back to
POST /api/v1/actions/callback; --connector command with --command-path runs a
program with the action as JSON on stdin. --connector-for routes some action
types elsewhere (isolate=webhook,disable=command). --connectors FILE gives
all of this, and more (command arguments and environment, timeouts), as
JSON, instead of these flags. Secrets are read from files or the
environment, never from a flag, and never logged.

SIGINT or SIGTERM shut the server down cleanly: it stops accepting requests,
finishes in-flight ingest batches (they are answered only once committed),
and closes the database.
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[flags]", serveHelp, stderr)
	addr := fs.String("addr", envOr("WEFT_ADDR", "127.0.0.1:8080"), "listen `address` (WEFT_ADDR)")
	data := fs.String("data", envOr("WEFT_DATA", "weft-data"), "data `directory` (WEFT_DATA)")
	logLevel := fs.String("log-level", envOr("WEFT_LOG_LEVEL", "info"), "log `level`: debug, info, warn, error (WEFT_LOG_LEVEL)")
	logFormat := fs.String("log-format", envOr("WEFT_LOG_FORMAT", "text"), "log `format`: text or json (WEFT_LOG_FORMAT)")
	sync := fs.String("sync", envOr("WEFT_SYNC", "full"), "SQLite synchronous `mode`: full (durable against power loss) or normal (durable against process crashes) (WEFT_SYNC)")
	maxBody := fs.Int64("max-body", 32<<20, "largest ingest request body in `bytes` (WEFT_MAX_BODY)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long to wait for in-flight requests on shutdown (WEFT_SHUTDOWN_TIMEOUT)")
	rateLimit := fs.Float64("rate-limit", wefthttp.DefaultRateLimit, "API requests a second per token or session; more are answered 429 (WEFT_RATE_LIMIT)")
	rateBurst := fs.Int("rate-burst", wefthttp.DefaultRateBurst, "API requests at once per token or session, above --rate-limit (WEFT_RATE_BURST)")
	tlsCert := fs.String("tls-cert", envOr("WEFT_TLS_CERT", ""), "serve HTTPS with the certificate chain in this PEM `file` (with --tls-key) (WEFT_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("WEFT_TLS_KEY", ""), "the private key of --tls-cert, a PEM `file` (WEFT_TLS_KEY)")
	policyFile := fs.String("policy", envOr("WEFT_POLICY", ""), "correlation policy `file`: one policy (JSON, see weft replay --print-policy), or {\"default\": …, \"tenants\": {\"id\": …}}; policies set through the API take precedence (default: the built-in policy) (WEFT_POLICY)")
	notifyPrivate := fs.Bool("notify-private-networks", envFlag("WEFT_NOTIFY_PRIVATE_NETWORKS"), "let notification webhooks reach loopback and private addresses, and use HTTPS_PROXY (off: public addresses only, so that a tenant admin cannot make the server post into its network) (WEFT_NOTIFY_PRIVATE_NETWORKS)")
	notifySecrets := fs.String("notify-secrets-dir", envOr("WEFT_NOTIFY_SECRETS_DIR", ""), "`directory` of the keys notification rules sign with: a rule's secretFile names a file in it; without it, rules cannot name one (WEFT_NOTIFY_SECRETS_DIR)")
	oidcConfig := addOIDCFlags(fs)
	connectorFlags := addConnectorFlags(fs)
	for flagName, env := range connectorEnv {
		if v := envOr(env, ""); v != "" {
			if err := fs.Set(flagName, v); err != nil {
				return fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
	}
	// Numeric and duration settings from the environment are parsed like
	// flags, so that a malformed value is an error, never silently ignored.
	for flagName, env := range map[string]string{"max-body": "WEFT_MAX_BODY", "shutdown-timeout": "WEFT_SHUTDOWN_TIMEOUT",
		"rate-limit": "WEFT_RATE_LIMIT", "rate-burst": "WEFT_RATE_BURST"} {
		if v := envOr(env, ""); v != "" {
			if err := fs.Set(flagName, v); err != nil {
				return fmt.Errorf("%s=%q: %v", env, v, err)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if *rateLimit <= 0 || *rateBurst < 1 {
		return fmt.Errorf("--rate-limit and --rate-burst must be positive, not %v and %d", *rateLimit, *rateBurst)
	}
	oidc, err := oidcConfig()
	if err != nil {
		return err
	}
	connectors, err := connectorFlags.config()
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	policy, err := readPolicy(*policyFile)
	if err != nil {
		return err
	}
	rs, err := startServer(serverConfig{
		Addr: *addr, DataDir: *data, Synchronous: *sync, MaxBodyBytes: *maxBody, Logger: logger, Policy: policy,
		TLSCert: *tlsCert, TLSKey: *tlsKey, RateLimit: *rateLimit, RateBurst: *rateBurst, OIDC: oidc,
		Connectors:            connectors,
		NotifyPrivateNetworks: *notifyPrivate,
		NotifySecretsDir:      *notifySecrets,
		Bootstrap:             stderr, // the terminal, never the logger
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "weft listening on %s (data in %s)\n", rs.URL, *data)
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-rs.served:
		rs.served <- err
		logger.Error("server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := rs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// addOIDCFlags adds the OpenID Connect flags to fs and returns the function
// that, once fs is parsed, makes their configuration: nil when none is set
// (OIDC sign-in off). The client secret is read from
// --oidc-client-secret-file, else from WEFT_OIDC_CLIENT_SECRET — never from a
// flag's value, which any user of the host can read in the process list.
// The function's errors name the flag and the reason, never the secret.
func addOIDCFlags(fs *flag.FlagSet) func() (*wefthttp.OIDCConfig, error) {
	issuer := fs.String("oidc-issuer", envOr("WEFT_OIDC_ISSUER", ""), "sign in through the OpenID Connect provider of this issuer `URL` (https; http only on a loopback address) (WEFT_OIDC_ISSUER)")
	clientID := fs.String("oidc-client-id", envOr("WEFT_OIDC_CLIENT_ID", ""), "weft's client `id` at the OIDC provider (WEFT_OIDC_CLIENT_ID)")
	secretFile := fs.String("oidc-client-secret-file", envOr("WEFT_OIDC_CLIENT_SECRET_FILE", ""), "`file` holding the OIDC client secret (WEFT_OIDC_CLIENT_SECRET_FILE; or the secret itself in WEFT_OIDC_CLIENT_SECRET)")
	redirect := fs.String("oidc-redirect-url", envOr("WEFT_OIDC_REDIRECT_URL", ""), "public `URL` of weft's /api/v1/auth/oidc/callback, as registered at the provider (WEFT_OIDC_REDIRECT_URL)")
	scopes := fs.String("oidc-scopes", envOr("WEFT_OIDC_SCOPES", strings.Join(wefthttp.DefaultOIDCScopes, ",")), "comma-separated OIDC `scopes` (WEFT_OIDC_SCOPES)")
	return func() (*wefthttp.OIDCConfig, error) {
		if *issuer == "" {
			if *clientID != "" || *secretFile != "" || *redirect != "" {
				return nil, errors.New("--oidc-client-id, --oidc-client-secret-file and --oidc-redirect-url need --oidc-issuer")
			}
			return nil, nil
		}
		if err := checkOIDCURL(*issuer); err != nil {
			return nil, fmt.Errorf("--oidc-issuer: %v", err)
		}
		if *clientID == "" {
			return nil, errors.New("--oidc-client-id: is required with --oidc-issuer")
		}
		if *redirect == "" {
			return nil, errors.New("--oidc-redirect-url: is required with --oidc-issuer (the public URL of /api/v1/auth/oidc/callback)")
		}
		if err := checkOIDCURL(*redirect); err != nil {
			return nil, fmt.Errorf("--oidc-redirect-url: %v", err)
		}
		if u, _ := url.Parse(*redirect); u.Path != "/api/v1/auth/oidc/callback" {
			return nil, fmt.Errorf("--oidc-redirect-url: the path must be /api/v1/auth/oidc/callback, not %q", u.Path)
		}
		secret := os.Getenv("WEFT_OIDC_CLIENT_SECRET")
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if secret == "" {
			return nil, errors.New("the OIDC client secret is missing: put it in a file named by --oidc-client-secret-file, or in WEFT_OIDC_CLIENT_SECRET")
		}
		var list []string
		for sc := range strings.SplitSeq(*scopes, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				list = append(list, sc)
			}
		}
		return &wefthttp.OIDCConfig{Issuer: *issuer, ClientID: *clientID, ClientSecret: secret, RedirectURL: *redirect, Scopes: list}, nil
	}
}

// checkOIDCURL checks an absolute URL of the OIDC flow: https, or http to a
// loopback address (a provider or a weft on the same host, in a test).
func checkOIDCURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("%q: must be https (http only on a loopback address)", s)
}
