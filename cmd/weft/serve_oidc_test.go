package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOIDCFlags parses the OIDC flags of weft serve and their environment.
func TestOIDCFlags(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		issuer   = "https://idp.example.com/realms/soc"
		callback = "https://weft.example.com/api/v1/auth/oidc/callback"
	)
	full := []string{"--oidc-issuer", issuer, "--oidc-client-id", "weft", "--oidc-redirect-url", callback}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		off     bool
		secret  string
		scopes  []string
		wantErr string
	}{
		{name: "Off", off: true},
		{name: "OKSecretFile", args: append(slices.Clone(full), "--oidc-client-secret-file", secretFile),
			secret: "s3cret-from-file", scopes: []string{"openid", "email", "profile"}},
		{name: "OKSecretEnv", args: full, env: map[string]string{"WEFT_OIDC_CLIENT_SECRET": "s3cret-from-env"},
			secret: "s3cret-from-env", scopes: []string{"openid", "email", "profile"}},
		{name: "OKFileWinsOverEnv", args: append(slices.Clone(full), "--oidc-client-secret-file", secretFile),
			env: map[string]string{"WEFT_OIDC_CLIENT_SECRET": "s3cret-from-env"}, secret: "s3cret-from-file", scopes: []string{"openid", "email", "profile"}},
		{name: "OKEnvOnly", env: map[string]string{"WEFT_OIDC_ISSUER": issuer, "WEFT_OIDC_CLIENT_ID": "weft", "WEFT_OIDC_REDIRECT_URL": callback,
			"WEFT_OIDC_CLIENT_SECRET_FILE": secretFile, "WEFT_OIDC_SCOPES": "openid, email ,groups"},
			secret: "s3cret-from-file", scopes: []string{"openid", "email", "groups"}},
		{name: "OKLoopbackHTTP", args: []string{"--oidc-issuer", "http://127.0.0.1:5556", "--oidc-client-id", "weft",
			"--oidc-redirect-url", "http://localhost:8080/api/v1/auth/oidc/callback"}, env: map[string]string{"WEFT_OIDC_CLIENT_SECRET": "x"},
			secret: "x", scopes: []string{"openid", "email", "profile"}},
		{name: "ErrNoSecret", args: full, wantErr: "client secret is missing"},
		{name: "ErrSecretFileMissing", args: append(slices.Clone(full), "--oidc-client-secret-file", secretFile+".gone"), wantErr: "--oidc-client-secret-file"},
		{name: "ErrNoClientID", args: []string{"--oidc-issuer", issuer, "--oidc-redirect-url", callback}, wantErr: "--oidc-client-id: is required"},
		{name: "ErrNoRedirect", args: []string{"--oidc-issuer", issuer, "--oidc-client-id", "weft"}, wantErr: "--oidc-redirect-url: is required"},
		{name: "ErrRedirectPath", args: []string{"--oidc-issuer", issuer, "--oidc-client-id", "weft", "--oidc-redirect-url", "https://weft.example.com/"},
			wantErr: "the path must be /api/v1/auth/oidc/callback"},
		{name: "ErrPlainHTTPIssuer", args: []string{"--oidc-issuer", "http://idp.example.com", "--oidc-client-id", "weft", "--oidc-redirect-url", callback},
			wantErr: "--oidc-issuer: \"http://idp.example.com\": must be https"},
		{name: "ErrRelativeIssuer", args: []string{"--oidc-issuer", "idp", "--oidc-client-id", "weft", "--oidc-redirect-url", callback},
			wantErr: "not an absolute URL"},
		{name: "ErrWithoutIssuer", args: []string{"--oidc-client-id", "weft"}, wantErr: "need --oidc-issuer"},
		{name: "ErrNoSecretFlag", args: append(slices.Clone(full), "--oidc-client-secret", "x"), wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"WEFT_OIDC_ISSUER", "WEFT_OIDC_CLIENT_ID", "WEFT_OIDC_CLIENT_SECRET", "WEFT_OIDC_CLIENT_SECRET_FILE", "WEFT_OIDC_REDIRECT_URL", "WEFT_OIDC_SCOPES"} {
				t.Setenv(k, tt.env[k])
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			config := addOIDCFlags(fs)
			err := fs.Parse(tt.args)
			if err == nil {
				cfg, cerr := config()
				err = cerr
				if err == nil {
					switch {
					case tt.off && cfg != nil:
						t.Fatalf("got %+v, want OIDC off", cfg)
					case tt.off:
					case cfg == nil:
						t.Fatal("got OIDC off, want it on")
					case cfg.ClientSecret != tt.secret || !slices.Equal(cfg.Scopes, tt.scopes) || cfg.ClientID != "weft":
						t.Fatalf("got secret %q scopes %q client %q, want %q %q weft", cfg.ClientSecret, cfg.Scopes, cfg.ClientID, tt.secret, tt.scopes)
					}
				}
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error %q holds the secret", err)
			}
		})
	}
}
