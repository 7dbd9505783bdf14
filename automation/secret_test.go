package automation_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
)

// secretsDir makes a notification secrets directory with a key, and
// outside it a file the server must never hand out.
func secretsDir(t *testing.T) (dir, outside string) {
	t.Helper()
	base := t.TempDir()
	dir = filepath.Join(base, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "hook.key"), []byte("k3y\n"))
	outside = filepath.Join(base, "server.key")
	write(outside, []byte("the server's own secret"))
	write(filepath.Join(dir, "big.key"), []byte(strings.Repeat("x", automation.MaxSecretBytes+1)))
	write(filepath.Join(dir, "max.key"), []byte(strings.Repeat("x", automation.MaxSecretBytes)))
	write(filepath.Join(dir, "empty.key"), []byte(" \n"))
	// Kubernetes secret volumes: key -> ..data/key, ..data -> ..2026_x.
	if err := os.Mkdir(filepath.Join(dir, "..2026_x"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(dir, "..2026_x", "k8s.key"), []byte("from-k8s"))
	for _, l := range [][2]string{{"..2026_x", "..data"}, {"..data/k8s.key", "k8s.key"},
		{outside, "out-abs.key"}, {"../server.key", "out-rel.key"}, {"/dev/zero", "zero.key"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, outside
}

// TestReadSecretFile: a secret is a plain name inside the secrets
// directory, a regular file of at most 4 KiB; paths, escaping symlinks,
// FIFOs, devices and directories are refused without naming any path, and
// without blocking.
func TestReadSecretFile(t *testing.T) {
	dir, outside := secretsDir(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, file, want, err string
	}{
		{name: "Plain", file: "hook.key", want: "k3y\n"},
		{name: "AtMost4KiB", file: "max.key", want: strings.Repeat("x", automation.MaxSecretBytes)},
		{name: "SymlinkInside", file: "k8s.key", want: "from-k8s"},
		{name: "AbsolutePath", file: outside, err: "plain name"},
		{name: "AbsolutePathInside", file: filepath.Join(dir, "hook.key"), err: "plain name"},
		{name: "DotDot", file: "..", err: "plain name"},
		{name: "Dot", file: ".", err: "plain name"},
		{name: "Traversal", file: "../server.key", err: "plain name"},
		{name: "Subpath", file: "subdir/x", err: "plain name"},
		{name: "Backslash", file: `..\server.key`, err: "plain name"},
		{name: "NUL", file: "hook.key\x00", err: "plain name"},
		{name: "Missing", file: "nope.key", err: "is not in the notification secrets directory"},
		{name: "SymlinkOutAbsolute", file: "out-abs.key", err: "not a file inside"},
		{name: "SymlinkOutRelative", file: "out-rel.key", err: "not a file inside"},
		{name: "SymlinkToDevice", file: "zero.key", err: "not a file inside"},
		{name: "FIFO", file: "fifo.key", err: "not a regular file"},
		{name: "Directory", file: "subdir", err: "not a regular file"},
		{name: "TooBig", file: "big.key", err: "larger than 4 KiB"},
		{name: "Empty", file: "empty.key", err: "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := automation.ReadSecretFile(ctx, dir, tc.file)
			if tc.err == "" {
				if err != nil || string(b) != tc.want {
					t.Fatalf("ReadSecretFile(%q) = %q, %v; want %q", tc.file, b, err, tc.want)
				}
				return
			}
			if err == nil || weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("ReadSecretFile(%q) = %q, %v; want EINVALID %q", tc.file, b, err, tc.err)
			}
			if msg := err.Error(); strings.Contains(msg, dir) || strings.Contains(msg, filepath.Dir(dir)) && tc.file != outside {
				t.Errorf("error %q reveals a server path", msg)
			}
		})
	}
	t.Run("NoDirectory", func(t *testing.T) {
		_, err := automation.ReadSecretFile(ctx, "", "hook.key")
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(err.Error(), "--notify-secrets-dir") {
			t.Fatalf("err = %v; want EINVALID naming --notify-secrets-dir", err)
		}
	})
	t.Run("ContextEnded", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := automation.ReadSecretFile(cctx, dir, "hook.key"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
	})
}

// TestNotifierSecretsDir: the notifier signs with a key from its secrets
// directory; a rule naming a FIFO there fails at once (it used to block
// Deliver for every tenant), and without a directory a signed rule fails
// saying which flag the server needs. No error names a path.
func TestNotifierSecretsDir(t *testing.T) {
	dir, _ := secretsDir(t)
	var mu sync.Mutex
	sigs := map[string]string{}
	var ts string
	var body []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		sigs[r.URL.Path] = r.Header.Get("Weft-Signature")
		ts = r.Header.Get("Weft-Timestamp")
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, dir, file, state, err string
	}{
		{name: "Signed", dir: dir, file: "hook.key", state: string(weft.DeliverySent)},
		{name: "FIFO", dir: dir, file: "fifo.key", state: string(weft.DeliveryFailed), err: "not a regular file"},
		{name: "Escape", dir: dir, file: "out-abs.key", state: string(weft.DeliveryFailed), err: "not a file inside"},
		{name: "NoDirectory", file: "hook.key", state: string(weft.DeliveryFailed), err: "--notify-secrets-dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: t0}
			s := openStore(t, c)
			n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now,
				Client: srv.Client(), SecretsDir: tc.dir}
			ctx := context.Background()
			if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "signed", Enabled: true,
				Condition: "true", URL: srv.URL + "/" + tc.name, Format: weft.NotifyGeneric, SecretFile: tc.file}, "admin"); err != nil {
				t.Fatal(err)
			}
			ingestVia(t, n, ctx)
			if _, err := n.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			ds, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
			if len(ds) != 1 || string(ds[0].State) != tc.state || !strings.Contains(ds[0].LastError, tc.err) {
				t.Fatalf("deliveries = %+v; want one %s with %q", ds, tc.state, tc.err)
			}
			if strings.Contains(ds[0].LastError, "/") {
				t.Errorf("delivery error %q names a path", ds[0].LastError)
			}
			mu.Lock()
			defer mu.Unlock()
			sig, sent := sigs["/"+tc.name]
			if tc.state != string(weft.DeliverySent) {
				if sent {
					t.Errorf("a delivery whose secret cannot be read was sent")
				}
				return
			}
			mac := hmac.New(sha256.New, []byte("k3y"))
			mac.Write([]byte(ts + "."))
			mac.Write(body)
			if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); sig != want {
				t.Errorf("signature %q; want %q", sig, want)
			}
		})
	}
}

// TestEvaluatorChecksSecretFile: the API refuses, when a rule is saved, a
// secretFile the notifier could not use.
func TestEvaluatorChecksSecretFile(t *testing.T) {
	dir, outside := secretsDir(t)
	for _, tc := range []struct {
		name, dir, file, err string
	}{
		{name: "OK", dir: dir, file: "hook.key"},
		{name: "NoSecret", file: ""},
		{name: "NoDirectory", file: "hook.key", err: "--notify-secrets-dir"},
		{name: "Path", dir: dir, file: outside, err: "plain name"},
		{name: "Missing", dir: dir, file: "nope.key", err: "is not in the notification secrets directory"},
		{name: "FIFO", dir: dir, file: "fifo.key", err: "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &automation.Evaluator{Engine: newEngine(t), SecretsDir: tc.dir}
			err := v.CheckNotificationRule(&weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "n", Condition: "true",
				URL: "https://hooks.example/x", SecretFile: tc.file})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(err.Error(), "secretFile") || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v; want EINVALID secretFile %q", err, tc.err)
			}
		})
	}
}
