package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// statusWith answers the status of GET url with token.
func statusWith(t *testing.T, client *http.Client, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	setToken(req, token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestBootstrapToken starts a server on a fresh data directory: it prints
// one admin token, not to its log; a second start prints none; the token
// works until it expires 24 hours later, and then a start prints a new one.
func TestBootstrapToken(t *testing.T) {
	dir := t.TempDir()
	clock := &testClock{now: time.Now()}
	var boot, logs bytes.Buffer
	cfg := serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: "normal", Now: clock.Now,
		Bootstrap: &boot, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	rs, err := startServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tokens := tokenPattern.FindAllString(boot.String(), -1)
	if len(tokens) != 1 {
		t.Fatalf("the first start printed %d tokens, want 1:\n%s", len(tokens), boot.String())
	}
	token := tokens[0]
	for _, want := range []string{"first start: no accounts exist in " + dir, "weft admin create-user --data " + dir, "weft admin revoke-token --data " + dir + " bootstrap", "expires at " + clock.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)} {
		if !strings.Contains(boot.String(), want) {
			t.Errorf("the bootstrap text lacks %q:\n%s", want, boot.String())
		}
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token reached the log:\n%s", logs.String())
	}

	incidents := rs.URL + "/api/v1/incidents"
	if got := statusWith(t, http.DefaultClient, incidents, token); got != http.StatusOK {
		t.Errorf("with the bootstrap token: %d, want 200", got)
	}
	if got := statusWith(t, http.DefaultClient, incidents, ""); got != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", got)
	}
	if err := rs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	boot.Reset()
	rs, err = startServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if boot.Len() != 0 {
		t.Errorf("the second start printed a bootstrap text:\n%s", boot.String())
	}
	incidents = rs.URL + "/api/v1/incidents"
	if got := statusWith(t, http.DefaultClient, incidents, token); got != http.StatusOK {
		t.Errorf("with the bootstrap token after a restart: %d, want 200", got)
	}
	clock.Add(24*time.Hour + time.Minute)
	if got := statusWith(t, http.DefaultClient, incidents, token); got != http.StatusUnauthorized {
		t.Errorf("with the bootstrap token a day later: %d, want 401", got)
	}
	if err := rs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Expired unused, and no user: the next start prints a new token.
	boot.Reset()
	rs, err = startServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Shutdown(context.Background())
	if again := tokenPattern.FindAllString(boot.String(), -1); len(again) != 1 || again[0] == token {
		t.Errorf("a start after the token expired printed %q, want one new token", again)
	}
}

// TestServeBootstrapOnce runs weft serve twice on one data directory: the
// first run prints the token on standard error, outside the log lines; the
// second prints none.
func TestServeBootstrapOnce(t *testing.T) {
	dir := t.TempDir()
	for run1, want := range []int{1, 0} {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json", "--sync", "normal"}, &out, &errb)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), "weft listening on") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("start %d: %v\n%s", run1+1, err, errb.String())
		}
		if got := len(tokenPattern.FindAllString(errb.String(), -1)); got != want {
			t.Errorf("start %d: %d tokens on standard error, want %d:\n%s", run1+1, got, want, errb.String())
		}
		if tokenPattern.MatchString(out.String()) {
			t.Errorf("start %d: a token on standard output: %s", run1+1, out.String())
		}
		for _, line := range strings.Split(errb.String(), "\n") {
			if strings.HasPrefix(line, "{") && strings.Contains(line, "weft_") {
				t.Errorf("start %d: a log line carries a token: %s", run1+1, line)
			}
		}
	}
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files and returns them with a pool that trusts the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "weft test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	rs, token := startTestServer(t, serverConfig{TLSCert: certFile, TLSKey: keyFile})
	defer rs.Shutdown(context.Background())
	if !strings.HasPrefix(rs.URL, "https://") {
		t.Fatalf("URL %s, want https://", rs.URL)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	if got := statusWith(t, client, rs.URL+"/healthz", ""); got != http.StatusOK {
		t.Errorf("GET /healthz over TLS: %d, want 200", got)
	}
	if got := statusWith(t, client, rs.URL+"/api/v1/incidents", token); got != http.StatusOK {
		t.Errorf("GET /api/v1/incidents over TLS with a token: %d, want 200", got)
	}
	// Plain HTTP to the TLS port is refused: a token never travels in clear.
	plain := "http://" + strings.TrimPrefix(rs.URL, "https://")
	if got := statusWith(t, http.DefaultClient, plain+"/healthz", ""); got != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", got)
	}

	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"ErrCertOnly", certFile, "", "--tls-cert and --tls-key: give both"},
		{"ErrKeyOnly", "", keyFile, "--tls-cert and --tls-key: give both"},
		{"ErrNoFile", filepath.Join(t.TempDir(), "none.pem"), keyFile, "--tls-cert"},
		{"ErrKeyIsNotTheCertificate", keyFile, keyFile, "--tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), TLSCert: tc.cert, TLSKey: tc.key})
			if err == nil {
				rs.Shutdown(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
