package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetSecretsDir: --notify-secrets-dir must name an existing directory;
// it reaches both the notifier and the API's rule checks, as an absolute
// path; empty leaves none.
func TestSetSecretsDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, err string
	}{
		{name: "None"},
		{name: "Dir", dir: base},
		{name: "Missing", dir: filepath.Join(base, "gone"), err: "--notify-secrets-dir"},
		{name: "File", dir: file, err: "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := newAutomationWorkers(nil, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			err = a.setSecretsDir(tc.dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || a.notifier.SecretsDir != tc.dir || a.evaluator.SecretsDir != tc.dir {
				t.Fatalf("err %v, notifier %q, evaluator %q; want %q", err, a.notifier.SecretsDir, a.evaluator.SecretsDir, tc.dir)
			}
		})
	}
}
