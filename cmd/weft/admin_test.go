package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/auth"
	"github.com/weftxdr/weft/sqlite"
)

// runAdminCmd runs weft admin with args and stdin, and returns its
// standard output and error.
func runAdminCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := admin(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustAdmin runs weft admin and fails t if it fails.
func mustAdmin(t *testing.T, stdin string, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := runAdminCmd(t, stdin, args...)
	if err != nil {
		t.Fatalf("weft admin %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// openAdminStore opens the store of a data directory for a test to look
// at, and closes it when t ends.
func openAdminStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAdminCreateUser(t *testing.T) {
	t.Setenv("USER", "root-tester")
	dir := filepath.Join(t.TempDir(), "data") // made by create-user
	ctx := context.Background()

	// Without a password option: a one-time password, alone on stdout.
	out, errOut := mustAdmin(t, "", "create-user", "--data", dir, "--name", "alice", "--role", "admin", "--tenant", "*", "--display-name", "Alice")
	pw := strings.TrimSuffix(out, "\n")
	if len(pw) != 24 || strings.Contains(pw, "\n") || !strings.Contains(errOut, "one-time password") || !strings.Contains(errOut, "admin in every tenant") {
		t.Fatalf("got stdout %q, stderr %q; want a 24-character password alone and a note", out, errOut)
	}

	// From standard input, and from a file; only the first line counts.
	mustAdmin(t, "a password from stdin\nsecond line\n", "create-user", "--data", dir, "--name", "bob", "--role", "viewer", "--password-stdin")
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("a password from a file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = mustAdmin(t, "", "create-user", "--data", dir, "--name", "carol", "--role", "analyst", "--tenant", "contoso", "--password-file", pwFile)
	if !strings.Contains(out, "Created user carol") || !strings.Contains(out, "analyst in contoso") || strings.Contains(out, "password from") {
		t.Fatalf("got %q", out)
	}

	s := openAdminStore(t, dir)
	for _, tc := range []struct {
		name, password string
		mustChange     bool
		grant          weft.Grant
	}{
		{"alice", pw, true, weft.Grant{TenantID: "*", Role: weft.RoleAdmin}},
		{"bob", "a password from stdin", false, weft.Grant{TenantID: "default", Role: weft.RoleViewer}},
		{"carol", "a password from a file", false, weft.Grant{TenantID: "contoso", Role: weft.RoleAnalyst}},
	} {
		u, err := s.Authenticate(ctx, tc.name, tc.password)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if u.MustChangePassword != tc.mustChange || len(u.Grants) != 1 || u.Grants[0].TenantID != tc.grant.TenantID || u.Grants[0].Role != tc.grant.Role {
			t.Fatalf("%s: got %+v, want mustChange %v and grant %+v", tc.name, u, tc.mustChange, tc.grant)
		}
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"ErrPasswordFlag", "", []string{"--name", "dave", "--role", "viewer", "--password", "hunter2hunter2"}, "flag provided but not defined: -password"},
		{"ErrBothPasswordOptions", "x", []string{"--name", "dave", "--role", "viewer", "--password-stdin", "--password-file", pwFile}, "not both"},
		{"ErrShortPassword", "short\n", []string{"--name", "dave", "--role", "viewer", "--password-stdin"}, "password: must be at least 12"},
		{"ErrEmptyStdin", "", []string{"--name", "dave", "--role", "viewer", "--password-stdin"}, "no password"},
		{"ErrNoName", "", []string{"--role", "viewer"}, "--name is required"},
		{"ErrBadName", "", []string{"--name", "dave smith", "--role", "viewer"}, "--name: "},
		{"ErrNoRole", "", []string{"--name", "dave"}, "--role is required"},
		{"ErrBadRole", "", []string{"--name", "dave", "--role", "root"}, `--role: "root" is not one of`},
		{"ErrBadTenant", "", []string{"--name", "dave", "--role", "viewer", "--tenant", "a/b"}, "--tenant: "},
		{"ErrTaken", "", []string{"--name", "ALICE", "--role", "viewer"}, `a user named "ALICE" already exists`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runAdminCmd(t, tc.stdin, append([]string{"create-user", "--data", dir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if out != "" {
				t.Fatalf("a refused create-user printed %q", out)
			}
		})
	}
	if _, err := s.FindUser(ctx, "dave"); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Fatalf("a refused user exists: %v", err)
	}

	// Each command is audited as cli:$USER, a refusal as a failure.
	entries, _, err := s.ListAudit(ctx, weft.AuditQuery{Action: "user.create"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Target+" "+e.Outcome+" "+e.Detail)
	}
	want := []string{"cli:root-tester ALICE failure conflict", "cli:root-tester carol success ",
		"cli:root-tester bob success ", "cli:root-tester alice success "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got audit %q, want %q", got, want)
	}
}

func TestAdminTokens(t *testing.T) {
	t.Setenv("USER", "ops")
	dir := t.TempDir()
	ctx := context.Background()

	out, errOut := mustAdmin(t, "", "create-token", "--data", dir, "--name", "soar", "--role", "analyst", "--tenant", "contoso", "--expires", "720h")
	token := strings.TrimSuffix(out, "\n")
	id, _, ok := auth.ParseToken(token)
	if !ok || !strings.Contains(errOut, "shown only now") || !strings.Contains(errOut, "expires at") {
		t.Fatalf("got stdout %q, stderr %q; want the token alone", out, errOut)
	}
	out, _ = mustAdmin(t, "", "create-token", "--data", dir, "--name", "siem", "--role", "viewer")
	siem := strings.TrimSuffix(out, "\n")

	s := openAdminStore(t, dir)
	p, err := s.TokenPrincipal(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != id || p.Name != "token:soar" || len(p.Grants) != 1 || p.Grants[0].TenantID != "contoso" || p.Grants[0].Role != weft.RoleAnalyst {
		t.Fatalf("got %+v", p)
	}
	tokens, err := s.ListTokens(ctx)
	if err != nil || len(tokens) != 2 || tokens[1].Expires == nil || tokens[0].Expires != nil || tokens[1].CreatedBy != "cli:ops" {
		t.Fatalf("got %+v, %v; want soar expiring, siem not, made by cli:ops", tokens, err)
	}

	// list-tokens shows no secret, in either format.
	for _, format := range []string{"table", "json"} {
		out, _ = mustAdmin(t, "", "list-tokens", "--data", dir, "-o", format)
		if !strings.Contains(out, id) || !strings.Contains(out, "soar") || strings.Contains(out, token[18:]) || strings.Contains(out, siem[18:]) {
			t.Fatalf("-o %s: got %q; want the tokens without their secrets", format, out)
		}
	}
	out, _ = mustAdmin(t, "", "list-tokens", "--data", dir, "-o", "json")
	var listed []weft.Token
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("-o json: got %q, %v", out, err)
	}

	// Revoke by id; by name; by the whole token.
	mustAdmin(t, "", "revoke-token", "--data", dir, id)
	if _, err := s.TokenPrincipal(ctx, token); weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
		t.Fatalf("after revoke-token: got %v, want EUNAUTHENTICATED", err)
	}
	mustAdmin(t, "", "revoke-token", "--data", dir, id) // again: no error
	mustAdmin(t, "", "revoke-token", "--data", dir, "siem")
	if _, err := s.TokenPrincipal(ctx, siem); weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
		t.Fatalf("after revoke-token by name: got %v, want EUNAUTHENTICATED", err)
	}
	out, _ = mustAdmin(t, "", "list-tokens", "--data", dir)
	if strings.Count(out, "revoked") != 2 {
		t.Fatalf("got %q, want two revoked tokens", out)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrUnknownToken", []string{"revoke-token", "--data", dir, "nosuchtoken0"}, "no token has the id"},
		{"ErrRevokedName", []string{"revoke-token", "--data", dir, "siem"}, "no token has the id"},
		{"ErrNoArgument", []string{"revoke-token", "--data", dir}, "exactly one token id"},
		{"ErrNoRole", []string{"create-token", "--data", dir, "--name", "x"}, "--role is required"},
		{"ErrNoName", []string{"create-token", "--data", dir, "--role", "viewer"}, "--name is required"},
		{"ErrExpiresNegative", []string{"create-token", "--data", dir, "--name", "x", "--role", "viewer", "--expires", "-1h"}, "--expires must be positive"},
		{"ErrEmptyTenant", []string{"create-token", "--data", dir, "--name", "x", "--role", "admin", "--tenant", ""}, "--tenant: "},
		{"ErrDisplayNameControl", []string{"create-user", "--data", dir, "--name", "eve", "--role", "viewer", "--display-name", "Eve\x1b[2J"}, "displayName: must not contain control characters"},
		{"ErrOutputFormat", []string{"list-tokens", "--data", dir, "-o", "yaml"}, `-o: "yaml" is not table or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := runAdminCmd(t, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAdminListUsersAndAudit(t *testing.T) {
	t.Setenv("USER", "ops")
	dir := t.TempDir()
	mustAdmin(t, "", "create-user", "--data", dir, "--name", "alice", "--role", "admin", "--tenant", "*", "--display-name", "Alice Liddell")
	if _, _, err := runAdminCmd(t, "", "create-user", "--data", dir, "--name", "alice", "--role", "admin"); err == nil {
		t.Fatal("a second alice: got nil, want an error")
	}

	out, _ := mustAdmin(t, "", "list-users", "--data", dir)
	if !strings.Contains(out, "alice") || !strings.Contains(out, "must change password") || !strings.Contains(out, "admin in every tenant") {
		t.Fatalf("got %q", out)
	}
	out, _ = mustAdmin(t, "", "list-users", "--data", dir, "-o", "json")
	var users []weft.User
	if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 1 || users[0].Name != "alice" || !users[0].MustChangePassword {
		t.Fatalf("-o json: got %q, %v", out, err)
	}
	if strings.Contains(out, "argon2") || strings.Contains(out, "password_hash") {
		t.Fatalf("-o json shows the password hash: %q", out)
	}

	out, _ = mustAdmin(t, "", "audit", "--data", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Header, then newest first: this reading, list-users twice, the
	// refused and the accepted create-user.
	if len(lines) != 6 || !strings.Contains(lines[1], "audit.read") || !strings.Contains(lines[4], "failure: conflict") ||
		!strings.Contains(lines[5], "cli:ops") || !strings.Contains(lines[5], "user.create") {
		t.Fatalf("got %q", out)
	}
	out, _ = mustAdmin(t, "", "audit", "--data", dir, "--action", "user.create", "--top", "1", "-o", "json")
	var entries []weft.AuditEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 1 || entries[0].Outcome != weft.AuditFailure {
		t.Fatalf("got %q, %v; want the newest user.create, the failure", out, err)
	}
	out, _ = mustAdmin(t, "", "audit", "--data", dir, "--actor", "cli:nobody")
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("an actor without entries: got %q, want the header only", out)
	}

	// Reading commands do not create a data directory that is not there.
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, cmd := range []string{"list-users", "list-tokens", "audit", "revoke-token"} {
		args := []string{cmd, "--data", missing}
		if cmd == "revoke-token" {
			args = append(args, "x")
		}
		if _, _, err := runAdminCmd(t, "", args...); err == nil || !strings.Contains(err.Error(), "no weft data in") {
			t.Fatalf("%s on a missing directory: got %v", cmd, err)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("a reading command made %s", missing)
	}

	if _, _, err := runAdminCmd(t, ""); err == nil || !strings.Contains(err.Error(), "needs a subcommand") {
		t.Fatalf("no subcommand: got %v", err)
	}
	if _, _, err := runAdminCmd(t, "", "delete-everything"); err == nil || !strings.Contains(err.Error(), "unknown subcommand") {
		t.Fatalf("unknown subcommand: got %v", err)
	}
}
