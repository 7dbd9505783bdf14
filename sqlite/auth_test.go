package sqlite_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/auth"
	"github.com/weftxdr/weft/sqlite"
)

// testClock is an Options.Now that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openAuthStore opens a store on a new file with the clock, and closes it
// when t ends; it returns the file's path too.
func openAuthStore(t *testing.T, clock *testClock) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weft.db")
	s, err := sqlite.Open(path, sqlite.Options{Now: clock.Now, Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

// wantCode fails t unless err carries code and its message contains want.
func wantCode(t *testing.T, err error, code, want string) {
	t.Helper()
	if weft.ErrorCode(err) != code || !strings.Contains(weft.ErrorMessage(err), want) {
		t.Fatalf("got %v, want %s containing %q", err, code, want)
	}
}

const alicePassword = "correct horse battery staple"

func mustCreateUser(t *testing.T, s *sqlite.Store, name string, grants ...weft.Grant) *weft.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), &weft.User{Name: name, Grants: grants}, alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var adminEverywhere = weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}

func TestCreateUser(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()

	u, err := s.CreateUser(ctx, &weft.User{Name: "Alice", DisplayName: "  Alice Liddell ", MustChangePassword: true,
		Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleAnalyst, DeviceGroups: []string{" Finance", "HR", "Finance"}}}}, alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	want := &weft.User{ID: u.ID, Name: "Alice", DisplayName: "Alice Liddell", MustChangePassword: true, Created: clock.Now(),
		Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleAnalyst, DeviceGroups: []string{"Finance", "HR"}}}}
	if !auth.ValidID(u.ID) || !equalUsers(u, want) {
		t.Fatalf("got %+v, want %+v", u, want)
	}
	for _, key := range []string{u.ID, "Alice", "alice", "ALICE"} {
		got, err := s.FindUser(ctx, key)
		if err != nil || !equalUsers(got, want) {
			t.Fatalf("FindUser(%q): got %+v, %v; want %+v", key, got, err, want)
		}
	}

	for _, tc := range []struct {
		name     string
		user     weft.User
		password string
		code     string
		want     string
	}{
		{"ErrNameTaken", weft.User{Name: "alice"}, alicePassword, weft.ECONFLICT, `a user named "alice" already exists`},
		{"ErrNameEmpty", weft.User{Name: ""}, alicePassword, weft.EINVALID, "name: must be 1 to 64"},
		{"ErrNameSpace", weft.User{Name: "bob smith"}, alicePassword, weft.EINVALID, "name: "},
		{"ErrNameNonASCII", weft.User{Name: "ålice"}, alicePassword, weft.EINVALID, "name: "},
		{"ErrNameLeadingDot", weft.User{Name: ".bob"}, alicePassword, weft.EINVALID, "starting with a letter or digit"},
		{"ErrPasswordShort", weft.User{Name: "bob"}, "short", weft.EINVALID, "password: must be at least 12"},
		{"ErrDisplayNameControl", weft.User{Name: "bob", DisplayName: "Bob\x1b[31m"}, alicePassword, weft.EINVALID, "displayName: must not contain control"},
		{"ErrRole", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "*", Role: "root"}}}, alicePassword, weft.EINVALID, `grants[0].role: "root" is not one of`},
		{"ErrTenant", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "a b", Role: weft.RoleViewer}}}, alicePassword, weft.EINVALID, "grants[0].tenantId: "},
		{"ErrTenantEmpty", weft.User{Name: "bob", Grants: []weft.Grant{{Role: weft.RoleViewer}}}, alicePassword, weft.EINVALID, "grants[0].tenantId: "},
		{"ErrAdminLimited", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleAdmin, DeviceGroups: []string{"HR"}}}}, alicePassword, weft.EINVALID, "an admin grant cannot be limited"},
		{"ErrDeviceGroupEmpty", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleViewer, DeviceGroups: []string{"HR", " "}}}}, alicePassword, weft.EINVALID, "grants[0].deviceGroups[1]: is empty"},
		{"ErrDeviceGroupLong", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleViewer, DeviceGroups: []string{strings.Repeat("g", 257)}}}}, alicePassword, weft.EINVALID, "grants[0].deviceGroups[0]: is 257 bytes"},
		{"ErrDeviceGroupsMany", weft.User{Name: "bob", Grants: []weft.Grant{{TenantID: "contoso", Role: weft.RoleViewer, DeviceGroups: make([]string, 101)}}}, alicePassword, weft.EINVALID, "grants[0].deviceGroups: 101 groups"},
		{"ErrGrantsMany", weft.User{Name: "bob", Grants: make([]weft.Grant, 101)}, alicePassword, weft.EINVALID, "grants: 101 grants"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, &tc.user, tc.password)
			wantCode(t, err, tc.code, tc.want)
		})
	}
	if _, err := s.FindUser(ctx, "bob"); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Fatalf("a refused user was stored: FindUser(bob) got %v, want ENOTFOUND", err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("ListUsers: got %d users, %v; want 1", len(users), err)
	}
}

func equalUsers(a, b *weft.User) bool {
	return a.ID == b.ID && a.Name == b.Name && a.DisplayName == b.DisplayName && a.Disabled == b.Disabled &&
		a.MustChangePassword == b.MustChangePassword && a.Created.Equal(b.Created) &&
		(a.LastLogin == nil) == (b.LastLogin == nil) && (a.LastLogin == nil || a.LastLogin.Equal(*b.LastLogin)) &&
		slices.EqualFunc(a.Grants, b.Grants, func(x, y weft.Grant) bool {
			return x.TenantID == y.TenantID && x.Role == y.Role && slices.Equal(x.DeviceGroups, y.DeviceGroups)
		})
}

func TestListUsersByName(t *testing.T) {
	s, _ := openAuthStore(t, newTestClock())
	for _, name := range []string{"carol", "Bob", "alice"} {
		mustCreateUser(t, s, name)
	}
	users, err := s.ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		got = append(got, u.Name)
	}
	if want := []string{"alice", "Bob", "carol"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v (by name without case)", got, want)
	}
}

func TestPasswordNotStored(t *testing.T) {
	s, path := openAuthStore(t, newTestClock())
	u := mustCreateUser(t, s, "alice")
	const second = "a second password, changed"
	if err := s.SetPassword(t.Context(), u.ID, second, false); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(hash, second) {
		t.Fatalf("got password_hash %q, want an argon2id hash without the password", hash)
	}
	if ok, err := auth.VerifyPassword(hash, second); !ok || err != nil {
		t.Fatalf("the stored hash does not verify the password: %v, %v", ok, err)
	}
	for _, pw := range []string{alicePassword, second} {
		if name := fileContaining(t, path, pw); name != "" {
			t.Fatalf("%s holds the password %q in clear", name, pw)
		}
	}
}

// fileContaining returns the name of the database file or its WAL that
// holds s, or "".
func fileContaining(t *testing.T, path, s string) string {
	t.Helper()
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return filepath.Base(p)
		}
	}
	return ""
}

func TestAuthenticate(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice", adminEverywhere)
	mustCreateUser(t, s, "mallory")
	if _, err := s.UpdateUser(ctx, "mallory", nil, nil, new(true)); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Fatalf("UpdateUser by name: got %v, want ENOTFOUND (it takes an id)", err)
	}
	m, err := s.FindUser(ctx, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, m.ID, nil, nil, new(true)); err != nil {
		t.Fatal(err)
	}

	clock.Add(time.Hour)
	got, err := s.Authenticate(ctx, "ALICE", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || got.LastLogin == nil || !got.LastLogin.Equal(clock.Now()) {
		t.Fatalf("got %+v, want alice with the login time %v", got, clock.Now())
	}
	if found, _ := s.FindUser(ctx, u.ID); found.LastLogin == nil || !found.LastLogin.Equal(clock.Now()) {
		t.Fatalf("the login time was not stored: %+v", found)
	}

	// Every refusal is the same error: the answer does not tell which
	// names exist or are disabled.
	var refusals []string
	for _, tc := range []struct{ name, user, password string }{
		{"WrongPassword", "alice", "correct horse battery stapler"},
		{"UnknownUser", "bob", alicePassword},
		{"DisabledUser", "mallory", alicePassword},
		{"EmptyPassword", "alice", ""},
		{"OverlongPassword", "alice", strings.Repeat("x", 5000)},
		{"EmptyName", "", alicePassword},
		{"InvalidName", "alice' OR '1'='1", alicePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Authenticate(ctx, tc.user, tc.password)
			if got != nil || weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
				t.Fatalf("got %v, %v; want nil and EUNAUTHENTICATED", got, err)
			}
			refusals = append(refusals, err.Error())
		})
	}
	if distinct := slices.Compact(slices.Clone(refusals)); len(distinct) != 1 {
		t.Fatalf("the refusals differ: %q", refusals)
	}
}

func TestAuthenticateRehashesWeakHash(t *testing.T) {
	s, path := openAuthStore(t, newTestClock())
	u := mustCreateUser(t, s, "alice")
	weak, err := auth.HashPasswordWith(alicePassword, auth.Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, weak, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(t.Context(), "alice", alicePassword); err != nil {
		t.Fatalf("a hash with older parameters: %v", err)
	}
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if auth.NeedsRehash(hash) || hash == weak {
		t.Fatalf("got %q after sign-in, want a hash with the default parameters", hash)
	}
	if _, err := s.Authenticate(t.Context(), "alice", alicePassword); err != nil {
		t.Fatalf("after the rehash: %v", err)
	}
}

func TestUpdateUser(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice", weft.Grant{TenantID: "contoso", Role: weft.RoleViewer})
	secret, _, err := s.CreateSession(ctx, u.ID, "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}

	// Grants change at once for a live session.
	grants := []weft.Grant{{TenantID: "contoso", Role: weft.RoleResponder}}
	got, err := s.UpdateUser(ctx, u.ID, new("Alice L."), &grants, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "Alice L." || len(got.Grants) != 1 || got.Grants[0].Role != weft.RoleResponder || got.Disabled {
		t.Fatalf("got %+v", got)
	}
	p, _, err := s.SessionPrincipal(ctx, secret)
	if err != nil || p.Grants[0].Role != weft.RoleResponder {
		t.Fatalf("SessionPrincipal after a change of grants: got %+v, %v; want the responder grant", p, err)
	}
	// Nil arguments change nothing.
	got, err = s.UpdateUser(ctx, u.ID, nil, nil, nil)
	if err != nil || got.DisplayName != "Alice L." || got.Grants[0].Role != weft.RoleResponder {
		t.Fatalf("an empty update: got %+v, %v", got, err)
	}

	bad := []weft.Grant{{TenantID: "contoso", Role: "superuser"}}
	_, err = s.UpdateUser(ctx, u.ID, nil, &bad, nil)
	wantCode(t, err, weft.EINVALID, "grants[0].role")
	_, err = s.UpdateUser(ctx, u.ID, new(strings.Repeat("x", 300)), nil, nil)
	wantCode(t, err, weft.EINVALID, "displayName: is 300 bytes")
	_, err = s.UpdateUser(ctx, "nosuchuserid", nil, nil, new(true))
	wantCode(t, err, weft.ENOTFOUND, `user "nosuchuserid" not found`)

	// Disabling ends the sessions, and a new one cannot begin.
	if got, err = s.UpdateUser(ctx, u.ID, nil, nil, new(true)); err != nil || !got.Disabled {
		t.Fatalf("disable: got %+v, %v", got, err)
	}
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
	_, _, err = s.CreateSession(ctx, u.ID, "", "")
	wantCode(t, err, weft.EUNAUTHENTICATED, "disabled")
	// Enabling does not bring the old session back.
	if _, err = s.UpdateUser(ctx, u.ID, nil, nil, new(false)); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
}

func TestSetPassword(t *testing.T) {
	s, _ := openAuthStore(t, newTestClock())
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice")
	secret, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	const next = "the next password, longer"
	wantCode(t, s.SetPassword(ctx, u.ID, "too short", false), weft.EINVALID, "password: ")
	wantCode(t, s.SetPassword(ctx, "nosuchuserid", next, false), weft.ENOTFOUND, "not found")
	if _, _, err := s.SessionPrincipal(ctx, secret); err != nil {
		t.Fatalf("a refused SetPassword ended the session: %v", err)
	}
	if err := s.SetPassword(ctx, u.ID, next, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice", alicePassword); weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
		t.Fatalf("the old password: got %v, want EUNAUTHENTICATED", err)
	}
	got, err := s.Authenticate(ctx, "alice", next)
	if err != nil || !got.MustChangePassword {
		t.Fatalf("the new password: got %+v, %v; want the user with mustChangePassword", got, err)
	}
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
}

func TestTokens(t *testing.T) {
	clock := newTestClock()
	s, path := openAuthStore(t, clock)
	ctx := t.Context()
	grants := []weft.Grant{{TenantID: "contoso", Role: weft.RoleAnalyst}}
	tok, full, err := s.CreateToken(ctx, &weft.Token{Name: " soar-playbook ", Grants: grants, CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	id, secret, ok := auth.ParseToken(full)
	if !ok || id != tok.ID || tok.Name != "soar-playbook" || tok.CreatedBy != "alice" || !tok.Created.Equal(clock.Now()) ||
		tok.Expires != nil || tok.Revoked != nil || tok.LastUsed != nil {
		t.Fatalf("got %+v and %q", tok, full)
	}

	p, err := s.TokenPrincipal(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != weft.PrincipalToken || p.ID != tok.ID || p.Name != "token:soar-playbook" || len(p.Grants) != 1 ||
		p.Grants[0].TenantID != "contoso" || p.Grants[0].Role != weft.RoleAnalyst || p.Grants[0].DeviceGroups != nil || p.SessionID != "" || p.Owner != "alice" {
		t.Fatalf("got %+v", p)
	}

	// A token of the right form but not this one's secret, or an unknown
	// id, or no token at all: the same answer.
	other := "weft_" + tok.ID + "_" + auth.NewSecret()
	_, _, unknown := auth.NewToken()
	for name, bad := range map[string]string{"WrongSecret": other, "UnknownID": unknown, "Malformed": full[:40],
		"Empty": "", "SecretOnly": secret, "Bearer": "Bearer " + full} {
		t.Run(name, func(t *testing.T) {
			_, err := s.TokenPrincipal(ctx, bad)
			wantCode(t, err, weft.EUNAUTHENTICATED, "the API token is not valid")
		})
	}

	// The secret is nowhere in the file: neither the whole token nor its
	// secret part, in the database or its log.
	for _, v := range []string{full, secret} {
		if name := fileContaining(t, path, v); name != "" {
			t.Fatalf("%s holds the token secret", name)
		}
	}

	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsed == nil {
		t.Fatalf("ListTokens: got %+v, %v; want the token with its last use", list, err)
	}

	// Revocation holds from the next request on; revoking again is no
	// error and keeps the first time.
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenPrincipal(ctx, full)
	wantCode(t, err, weft.EUNAUTHENTICATED, "was revoked")
	revokedAt := clock.Now()
	clock.Add(time.Minute)
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatalf("revoking again: %v", err)
	}
	list, _ = s.ListTokens(ctx)
	if list[0].Revoked == nil || !list[0].Revoked.Equal(revokedAt) {
		t.Fatalf("got revoked %v, want %v", list[0].Revoked, revokedAt)
	}
	wantCode(t, s.RevokeToken(ctx, "nosuchtoken0"), weft.ENOTFOUND, "not found")

	// A token with an expiry works until then.
	exp := clock.Now().Add(time.Hour)
	tok2, full2, err := s.CreateToken(ctx, &weft.Token{Name: "short-lived", Grants: grants, Expires: &exp})
	if err != nil || tok2.Expires == nil || !tok2.Expires.Equal(exp) {
		t.Fatalf("got %+v, %v", tok2, err)
	}
	clock.Add(59 * time.Minute)
	if _, err := s.TokenPrincipal(ctx, full2); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clock.Add(time.Minute)
	_, err = s.TokenPrincipal(ctx, full2)
	wantCode(t, err, weft.EUNAUTHENTICATED, "expired")

	list, _ = s.ListTokens(ctx)
	if len(list) != 2 || list[0].ID != tok2.ID {
		t.Fatalf("ListTokens: got %d tokens, first %+v; want 2, newest first", len(list), list[0])
	}

	for _, tc := range []struct {
		name string
		tok  weft.Token
		want string
	}{
		{"ErrNameEmpty", weft.Token{Name: "  "}, "name: is required"},
		{"ErrNameControl", weft.Token{Name: "a\nb"}, "name: must not contain control"},
		{"ErrGrant", weft.Token{Name: "x", Grants: []weft.Grant{{TenantID: "*", Role: "god"}}}, "grants[0].role"},
		{"ErrExpired", weft.Token{Name: "x", Expires: new(clock.Now())}, "expiresDateTime: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, full, err := s.CreateToken(ctx, &tc.tok)
			wantCode(t, err, weft.EINVALID, tc.want)
			if full != "" {
				t.Fatalf("a refused token came with a secret")
			}
		})
	}
}

func TestTokenLastUsedAtMostOnceAMinute(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	_, full, err := s.CreateToken(ctx, &weft.Token{Name: "soar"})
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		t.Helper()
		list, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return list[0].LastUsed
	}
	first := clock.Now()
	for _, step := range []struct {
		after time.Duration
		want  time.Time
	}{
		{0, first},                            // the first use is recorded
		{30 * time.Second, first},             // 30 s later: not written
		{29 * time.Second, first},             // 59 s after the record: not written
		{time.Second, first.Add(time.Minute)}, // a minute after: written
		{10 * time.Second, first.Add(time.Minute)},
	} {
		clock.Add(step.after)
		if _, err := s.TokenPrincipal(ctx, full); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); got == nil || !got.Equal(step.want) {
			t.Fatalf("at %v: got last used %v, want %v", clock.Now().Sub(first), got, step.want)
		}
	}
}

// TestTokenUseAudited checks that a token's use is in the audit log once
// per minute of use, with the write of its last-used time: the first
// request of the minute, from where it came, and nothing for the requests
// that write no last-used time.
func TestTokenUseAudited(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	_, full, err := s.CreateToken(ctx, &weft.Token{Name: "soar"})
	if err != nil {
		t.Fatal(err)
	}
	type use struct {
		after          time.Duration
		addr, target   string
		withoutRequest bool // TokenPrincipal, which knows no address
	}
	for _, u := range []use{
		{0, "192.0.2.1", "GET /api/v1/incidents", false},                    // audited
		{10 * time.Second, "192.0.2.2", "GET /api/v1/alerts", false},        // same minute: not
		{50 * time.Second, "192.0.2.3", "PATCH /api/v1/incidents/7", false}, // a minute after the first: audited
		{59 * time.Second, "", "", true},
		{time.Second, "", "", true}, // a minute after the last: audited, without an address
	} {
		clock.Add(u.after)
		var err error
		if u.withoutRequest {
			_, err = s.TokenPrincipal(ctx, full)
		} else {
			_, err = s.TokenPrincipalFrom(ctx, full, u.addr, u.target)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// A refused token is no use.
	if _, err := s.TokenPrincipalFrom(ctx, full+"x", "192.0.2.9", "GET /x"); weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
		t.Fatalf("a wrong secret: got %v, want EUNAUTHENTICATED", err)
	}
	entries, _, err := s.ListAudit(ctx, weft.AuditQuery{Action: "token.use"})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ actor, kind, addr, target, outcome string }
	var got []row
	for _, e := range entries {
		got = append(got, row{e.Actor, string(e.Kind), e.RemoteAddr, e.Target, e.Outcome})
	}
	want := []row{ // newest first
		{"token:soar", "token", "", "", "success"},
		{"token:soar", "token", "192.0.2.3", "PATCH /api/v1/incidents/7", "success"},
		{"token:soar", "token", "192.0.2.1", "GET /api/v1/incidents", "success"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSessions(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice", adminEverywhere)

	secret, sess, err := s.CreateSession(ctx, u.ID, "192.0.2.7:51234", "Mozilla/5.0 \xff")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.ValidSessionSecret(secret) || !auth.ValidID(sess.ID) || sess.UserID != u.ID || len(sess.CSRF) != 43 ||
		sess.CSRF == secret || !sess.Created.Equal(clock.Now()) || sess.RemoteAddr != "192.0.2.7:51234" ||
		sess.UserAgent != "Mozilla/5.0 \uFFFD" {
		t.Fatalf("got %q, %+v", secret, sess)
	}
	p, got, err := s.SessionPrincipal(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != weft.PrincipalUser || p.ID != u.ID || p.Name != "alice" || p.SessionID != sess.ID ||
		len(p.Grants) != 1 || got.CSRF != sess.CSRF || got.ID != sess.ID {
		t.Fatalf("got %+v, %+v", p, got)
	}

	// Requests every 20 minutes keep the session alive past SessionIdle…
	for range 3 {
		clock.Add(20 * time.Minute)
		if _, got, err = s.SessionPrincipal(ctx, secret); err != nil {
			t.Fatalf("at %v: %v", clock.Now().Sub(sess.Created), err)
		}
		if !got.LastSeen.Equal(clock.Now()) {
			t.Fatalf("got last seen %v, want %v", got.LastSeen, clock.Now())
		}
	}
	// …and a request within the minute does not move the last-seen time.
	clock.Add(30 * time.Second)
	if _, got, err = s.SessionPrincipal(ctx, secret); err != nil || !got.LastSeen.Equal(clock.Now().Add(-30*time.Second)) {
		t.Fatalf("got %+v, %v; want last seen 30 s ago", got, err)
	}
	// Idle for SessionIdle since the last recorded request: ended.
	clock.Add(weft.SessionIdle - 30*time.Second)
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
	if n := countRows(t, s, "sessions"); n != 0 {
		t.Fatalf("the expired session was not deleted: %d sessions", n)
	}

	// The absolute limit holds however busy the session is.
	secret, sess, err = s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for clock.Now().Sub(sess.Created) < weft.SessionMax-20*time.Minute {
		clock.Add(20 * time.Minute)
		if _, _, err := s.SessionPrincipal(ctx, secret); err != nil {
			t.Fatalf("at %v: %v", clock.Now().Sub(sess.Created), err)
		}
	}
	clock.Add(sess.Created.Add(weft.SessionMax).Sub(clock.Now()))
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")

	// Sign-out.
	secret, _, err = s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, secret); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionPrincipal(ctx, secret)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
	for _, v := range []string{secret, auth.NewSecret(), "", "garbage"} {
		if err := s.DeleteSession(ctx, v); err != nil {
			t.Fatalf("DeleteSession of no session: %v", err)
		}
		_, _, err = s.SessionPrincipal(ctx, v)
		wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
	}

	_, _, err = s.CreateSession(ctx, "nosuchuserid", "", "")
	wantCode(t, err, weft.ENOTFOUND, "not found")
}

func TestSessionSweepAndCap(t *testing.T) {
	clock := newTestClock()
	s, path := openAuthStore(t, clock)
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice")
	// Sessions that are never used again are swept at the next sign-in
	// after they expire.
	for range 4 {
		if _, _, err := s.CreateSession(ctx, u.ID, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(weft.SessionIdle)
	if _, _, err := s.CreateSession(ctx, u.ID, "", ""); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "sessions"); n != 1 {
		t.Fatalf("got %d sessions after the sweep, want 1", n)
	}
	// One user keeps at most 50 live sessions: the oldest ends.
	clock.Add(time.Second)
	first, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		clock.Add(time.Millisecond)
		if _, _, err := s.CreateSession(ctx, u.ID, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, s, "sessions"); n != 50 {
		t.Fatalf("got %d sessions, want 50", n)
	}
	_, _, err = s.SessionPrincipal(ctx, first)
	wantCode(t, err, weft.EUNAUTHENTICATED, "the session has ended")
	// No session secret is in the file either.
	if name := fileContaining(t, path, first); name != "" {
		t.Fatalf("%s holds a session secret", name)
	}
}

// countRows counts a table's rows through a connection of its own.
func countRows(t *testing.T, s *sqlite.Store, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHasAccounts(t *testing.T) {
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	check := func(want bool) {
		t.Helper()
		if got, err := s.HasAccounts(ctx); err != nil || got != want {
			t.Fatalf("got %v, %v; want %v", got, err, want)
		}
	}
	check(false)
	exp := clock.Now().Add(time.Hour)
	tok, _, err := s.CreateToken(ctx, &weft.Token{Name: "bootstrap", Grants: []weft.Grant{adminEverywhere}, Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	check(true)
	clock.Add(time.Hour)
	check(false) // expired
	clock.Add(-time.Hour)
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	check(false) // revoked
	u := mustCreateUser(t, s, "alice")
	check(true)
	if _, err := s.UpdateUser(ctx, u.ID, nil, nil, new(true)); err != nil {
		t.Fatal(err)
	}
	check(false) // disabled: no one can sign in
}

func TestAudit(t *testing.T) {
	clock := newTestClock()
	s, path := openAuthStore(t, clock)
	ctx := t.Context()
	t0 := clock.Now()
	entries := []weft.AuditEntry{
		{Time: t0, Actor: "alice", Kind: weft.PrincipalUser, Action: "login", RemoteAddr: "192.0.2.1", Outcome: weft.AuditSuccess},
		{Time: t0.Add(time.Minute), Actor: "bob", Action: "login", RemoteAddr: "192.0.2.2", Outcome: weft.AuditFailure, Detail: "wrong user name or password"},
		{Time: t0.Add(2 * time.Minute), Actor: "alice", Kind: weft.PrincipalUser, TenantID: "contoso", Action: "request", Target: "PATCH /api/incidents/7", Outcome: weft.AuditSuccess},
		{Time: t0.Add(3 * time.Minute), Actor: "token:soar", Kind: weft.PrincipalToken, TenantID: "contoso", Action: "request", Target: "POST /api/alerts", Outcome: weft.AuditSuccess},
	}
	if err := s.AppendAudit(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	clock.Add(10 * time.Minute)
	// A zero time is the store's clock; text a client sent is cut.
	if err := s.AppendAudit(ctx, weft.AuditEntry{Actor: strings.Repeat("x", 5000) + "\xff", Action: "login", Outcome: weft.AuditFailure}); err != nil {
		t.Fatal(err)
	}

	targets := func(es []weft.AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Actor[:min(len(e.Actor), 10)]+" "+e.Action)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    weft.AuditQuery
		want []string
		more bool
	}{
		{"All", weft.AuditQuery{}, []string{"xxxxxxxxxx login", "token:soar request", "alice request", "bob login", "alice login"}, false},
		{"Actor", weft.AuditQuery{Actor: "alice"}, []string{"alice request", "alice login"}, false},
		{"Action", weft.AuditQuery{Action: "login"}, []string{"xxxxxxxxxx login", "bob login", "alice login"}, false},
		{"Tenant", weft.AuditQuery{TenantID: "contoso"}, []string{"token:soar request", "alice request"}, false},
		{"ActorAndAction", weft.AuditQuery{Actor: "alice", Action: "login"}, []string{"alice login"}, false},
		{"Since", weft.AuditQuery{Since: t0.Add(2 * time.Minute)}, []string{"xxxxxxxxxx login", "token:soar request", "alice request"}, false},
		{"Until", weft.AuditQuery{Until: t0.Add(2 * time.Minute)}, []string{"bob login", "alice login"}, false},
		{"Top", weft.AuditQuery{Top: 2}, []string{"xxxxxxxxxx login", "token:soar request"}, true},
		{"TopSkip", weft.AuditQuery{Top: 2, Skip: 2}, []string{"alice request", "bob login"}, true},
		{"LastPage", weft.AuditQuery{Top: 2, Skip: 4}, []string{"alice login"}, false},
		{"None", weft.AuditQuery{Actor: "carol"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, more, err := s.ListAudit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(targets(got), tc.want) || more != tc.more {
				t.Fatalf("got %q, more %v; want %q, more %v", targets(got), more, tc.want, tc.more)
			}
		})
	}

	all, _, err := s.ListAudit(ctx, weft.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if e := all[0]; !e.Time.Equal(clock.Now()) || len(e.Actor) > 1024+len("…") || e.ID <= all[1].ID {
		t.Fatalf("got %+v (actor %d bytes), want the clock's time, an actor cut to 1024 bytes and the highest id", e.Time, len(e.Actor))
	}
	if e := all[3]; e.RemoteAddr != "192.0.2.2" || e.Outcome != weft.AuditFailure || e.Detail != "wrong user name or password" || !e.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("got %+v, want bob's failed login as appended", e)
	}

	for _, tc := range []struct {
		name    string
		entries []weft.AuditEntry
		code    string
		want    string
	}{
		{"ErrNoAction", []weft.AuditEntry{{Actor: "a", Outcome: weft.AuditSuccess}}, weft.EINVALID, "audit[0].action: is required"},
		{"ErrOutcome", []weft.AuditEntry{{Actor: "a", Action: "login", Outcome: "ok"}}, weft.EINVALID, `audit[0].outcome: must be "success" or "failure"`},
		{"ErrTooMany", make([]weft.AuditEntry, 1001), weft.ETOOLARGE, "1001 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, s.AppendAudit(ctx, tc.entries...), tc.code, tc.want)
		})
	}
	_, _, err = s.ListAudit(ctx, weft.AuditQuery{Top: 1001})
	wantCode(t, err, weft.EINVALID, "$top: must be 1 to 1000")
	_, _, err = s.ListAudit(ctx, weft.AuditQuery{Skip: -1})
	wantCode(t, err, weft.EINVALID, "$skip")

	// The schema itself keeps entries from being changed or removed.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{`UPDATE audit_log SET outcome = 'success' WHERE actor = 'bob'`, `DELETE FROM audit_log`} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: got %v, want the append-only refusal", stmt, err)
		}
	}
	if got, _, _ := s.ListAudit(ctx, weft.AuditQuery{}); len(got) != 5 {
		t.Fatalf("got %d entries, want 5", len(got))
	}
}

func TestAuditQueriesUseIndexes(t *testing.T) {
	_, path := openAuthStore(t, newTestClock())
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, where := range []string{"actor = 'a'", "action = 'a'", "tenant_id = 'a'", "time >= 1"} {
		rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE ` + where + ` ORDER BY time DESC, id DESC LIMIT 10`)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, "USING INDEX") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("WHERE %s: plan %q, want an index without a sort", where, text)
		}
	}
}

func TestAuthConcurrent(t *testing.T) {
	// Requests authenticating with tokens and sessions, sign-ins, audit
	// writes and revocations at once; run with -race.
	clock := newTestClock()
	s, _ := openAuthStore(t, clock)
	ctx := t.Context()
	u := mustCreateUser(t, s, "alice", adminEverywhere)
	_, full, err := s.CreateToken(ctx, &weft.Token{Name: "soar", Grants: []weft.Grant{adminEverywhere}})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := s.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				if j%5 == 0 {
					clock.Add(time.Minute) // so that uses are recorded
				}
				if _, err := s.TokenPrincipal(ctx, full); err != nil {
					errs <- err
				}
				if _, _, err := s.SessionPrincipal(ctx, secret); err != nil {
					errs <- err
				}
				if err := s.AppendAudit(ctx, weft.AuditEntry{Actor: "alice", Action: "request", Outcome: weft.AuditSuccess}); err != nil {
					errs <- err
				}
			}
			if i == 0 {
				if _, err := s.Authenticate(ctx, "alice", alicePassword); err != nil {
					errs <- err
				}
			}
			if _, _, err := s.CreateToken(ctx, &weft.Token{Name: "more"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, _, err := s.ListAudit(ctx, weft.AuditQuery{Action: "request", Top: 1000}); err != nil || len(got) != 100 {
		t.Fatalf("got %d audit entries, %v; want 100", len(got), err)
	}
	// One token.use per minute the clock moved at most, however many
	// requests saw an old last-used time at once.
	if got, _, err := s.ListAudit(ctx, weft.AuditQuery{Action: "token.use", Top: 1000}); err != nil || len(got) < 1 || len(got) > 20 {
		t.Fatalf("got %d token.use entries, %v; want 1 to 20 (one a minute, 20 minutes)", len(got), err)
	}
	if list, err := s.ListTokens(ctx); err != nil || len(list) != 5 {
		t.Fatalf("got %d tokens, %v; want 5", len(list), err)
	}
}

// BenchmarkTokenPrincipal measures what authenticating one API request
// with a token costs the store at steady state (its use recorded less than
// a minute ago, so no write):
//
//	go test -run '^$' -bench 'Principal' ./sqlite/
func BenchmarkTokenPrincipal(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	_, full, err := s.CreateToken(b.Context(), &weft.Token{Name: "bench", Grants: []weft.Grant{adminEverywhere}})
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.TokenPrincipal(b.Context(), full); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionPrincipal is BenchmarkTokenPrincipal for a session.
func BenchmarkSessionPrincipal(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u, err := s.CreateUser(b.Context(), &weft.User{Name: "bench", Grants: []weft.Grant{adminEverywhere}}, alicePassword)
	if err != nil {
		b.Fatal(err)
	}
	secret, _, err := s.CreateSession(b.Context(), u.ID, "", "")
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.SessionPrincipal(b.Context(), secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
