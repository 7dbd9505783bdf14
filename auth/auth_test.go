package auth_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/auth"
)

// referenceHash is the argon2id test vector of the reference
// implementation (github.com/P-H-C/phc-winner-argon2, test.c): password
// "password", salt "somesalt", t=2, m=64 MiB, p=1, version 0x13.
const referenceHash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

func TestVerifyPasswordReferenceVector(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		want     bool
	}{
		{"OK", "password", true},
		{"WrongPassword", "passwore", false},
		{"Empty", "", false},
		{"Prefix", "passwor", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := auth.VerifyPassword(referenceHash, tc.pw)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v, nil", got, err, tc.want)
			}
		})
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("got hash %q, want the PHC form with m=19456,t=2,p=1", h)
	}
	if strings.Contains(h, pw) {
		t.Fatalf("the hash %q holds the password", h)
	}
	p, salt, key, err := auth.ParseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if p != auth.DefaultParams || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("got %+v, salt %d bytes, key %d bytes; want %+v, 16, 32", p, len(salt), len(key), auth.DefaultParams)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{pw, true}, {pw + " ", false}, {strings.ToUpper(pw), false}, {"", false}} {
		if got, err := auth.VerifyPassword(h, tc.pw); err != nil || got != tc.want {
			t.Errorf("VerifyPassword(%q): got %v, %v; want %v, nil", tc.pw, got, err, tc.want)
		}
	}
	// Two hashes of one password differ by their salt.
	h2, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Fatalf("two hashes of one password are equal: %q", h)
	}
	if auth.NeedsRehash(h) {
		t.Fatalf("NeedsRehash(%q) = true for a hash with the default parameters", h)
	}
}

func TestVerifyPasswordOwnParameters(t *testing.T) {
	// A hash made with other parameters than the defaults (weaker here, as
	// an older weft might have written) verifies with its own, and wants
	// a rehash; a stronger one does not.
	for _, tc := range []struct {
		name   string
		p      auth.Params
		rehash bool
	}{
		{"Weaker", auth.Params{Memory: 4096, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}, true},
		{"Stronger", auth.Params{Memory: 24 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := auth.HashPasswordWith("own parameters", tc.p)
			if err != nil {
				t.Fatal(err)
			}
			p, _, _, err := auth.ParseHash(h)
			if err != nil || p != tc.p {
				t.Fatalf("ParseHash: got %+v, %v; want %+v", p, err, tc.p)
			}
			for pw, want := range map[string]bool{"own parameters": true, "own parameter": false} {
				if ok, err := auth.VerifyPassword(h, pw); ok != want || err != nil {
					t.Errorf("VerifyPassword(%q): got %v, %v; want %v, nil", pw, ok, err, want)
				}
			}
			if got := auth.NeedsRehash(h); got != tc.rehash {
				t.Errorf("NeedsRehash: got %v, want %v", got, tc.rehash)
			}
		})
	}
	t.Run("ErrOutOfBounds", func(t *testing.T) {
		if _, err := auth.HashPasswordWith("own parameters", auth.Params{Memory: 4096, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}); err == nil {
			t.Fatal("got nil, want an error for t=0")
		}
	})
	if !auth.NeedsRehash("not a hash") {
		t.Fatalf("NeedsRehash(garbage) = false, want true")
	}
}

func TestParseHash(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	t.Run("OK", func(t *testing.T) {
		p, s, k, err := auth.ParseHash(referenceHash)
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Params{Memory: 65536, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32}
		if p != want || string(s) != "somesalt" || len(k) != 32 {
			t.Fatalf("got %+v, %q, %d-byte key; want %+v, \"somesalt\", 32", p, s, len(k), want)
		}
	})
	for _, tc := range []struct {
		name, hash, want string
	}{
		{"ErrEmpty", "", "not in the form"},
		{"ErrNoLeadingDollar", "argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key + "$", "not in the form"},
		{"ErrTooFewParts", "$argon2id$v=19$m=65536,t=2,p=1$" + salt, "not in the form"},
		{"ErrArgon2i", "$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + key, `algorithm "argon2i"`},
		{"ErrBcrypt", "$2b$10$abcdefghijklmnopqrstuu5l6Yh3nJgWlYfQkG7Y1x4Rlo0oQZ4qK", "not in the form"},
		{"ErrVersion16", "$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + key, `version "v=16"`},
		{"ErrParamOrder", "$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + key, "parameter 1 must be m="},
		{"ErrParamMissing", "$argon2id$v=19$m=65536,t=2$" + salt + "$" + key, "must be m=…,t=…,p=…"},
		{"ErrParamNotNumber", "$argon2id$v=19$m=lots,t=2,p=1$" + salt + "$" + key, `m="lots" is not a number`},
		{"ErrParamNegative", "$argon2id$v=19$m=65536,t=-2,p=1$" + salt + "$" + key, "is not a number"},
		{"ErrParamLeadingZero", "$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + key, "is not a number"},
		{"ErrParamOverflow", "$argon2id$v=19$m=99999999999,t=2,p=1$" + salt + "$" + key, "is not a number"},
		{"ErrMemoryTooLarge", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, "m=4194304 is outside"},
		{"ErrTimeZero", "$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + key, "t=0 is outside"},
		{"ErrTimeTooLarge", "$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + key, "t=1000 is outside"},
		{"ErrThreadsZero", "$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + key, "p=0 is outside"},
		{"ErrMemoryPerLane", "$argon2id$v=19$m=8,t=2,p=4$" + salt + "$" + key, "below 8 KiB per lane"},
		{"ErrSaltNotBase64", "$argon2id$v=19$m=65536,t=2,p=1$c29tZX*hbHQ$" + key, "the salt must be"},
		{"ErrSaltPadded", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$" + key, "the salt must be"},
		{"ErrSaltShort", "$argon2id$v=19$m=65536,t=2,p=1$c29tZQ$" + key, "the salt must be"},
		{"ErrKeyTruncated", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + key[:20], "the key must be"},
		{"ErrKeyEmpty", "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$", "the key must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := auth.ParseHash(tc.hash)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			// VerifyPassword refuses it too, without computing.
			if ok, err := auth.VerifyPassword(tc.hash, "password"); ok || err == nil {
				t.Fatalf("VerifyPassword: got %v, %v; want false and an error", ok, err)
			}
		})
	}
}

func TestVerifyPasswordTampered(t *testing.T) {
	// Every change of one character of a valid hash's salt or key that
	// keeps it well formed makes the right password fail.
	h, err := auth.HashPassword("tamper-proof password")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(h, '$')
	for _, pos := range []int{i - 3, i + 1, i + 10, len(h) - 2} {
		b := []byte(h)
		if b[pos] == 'A' {
			b[pos] = 'B'
		} else {
			b[pos] = 'A'
		}
		ok, err := auth.VerifyPassword(string(b), "tamper-proof password")
		if ok || err != nil {
			t.Errorf("hash changed at %d: got %v, %v; want false, nil", pos, ok, err)
		}
	}
	// Raised parameters change the key too.
	raised := strings.Replace(h, "t=2", "t=3", 1)
	if ok, err := auth.VerifyPassword(raised, "tamper-proof password"); ok || err != nil {
		t.Errorf("t raised: got %v, %v; want false, nil", ok, err)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw, want string
	}{
		{"OK", "twelve chars", ""},
		{"OKUnicode", "пароль-пароль", ""}, // 13 characters, 25 bytes
		{"OKLongest", strings.Repeat("x", auth.MaxPasswordBytes), ""},
		{"ErrShort", "eleven char", "at least 12 characters"},
		{"ErrShortInCharacters", "пароль", "at least 12 characters"}, // 12 bytes, 6 characters
		{"ErrEmpty", "", "at least 12 characters"},
		{"ErrLong", strings.Repeat("x", auth.MaxPasswordBytes+1), "at most 1024"},
		{"ErrInvalidUTF8", "twelve chars\xff", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.CheckPassword(tc.pw)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tc.want) ||
				!strings.HasPrefix(weft.ErrorMessage(err), "password: ") {
				t.Fatalf("got %v, want EINVALID \"password: …%s…\"", err, tc.want)
			}
			if _, err := auth.HashPassword(tc.pw); weft.ErrorCode(err) != weft.EINVALID {
				t.Fatalf("HashPassword: got %v, want EINVALID", err)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	id, secret, full := auth.NewToken()
	if len(full) != 61 || full != "weft_"+id+"_"+secret {
		t.Fatalf("got %q (%d chars), want weft_<id>_<secret> of 61", full, len(full))
	}
	if !auth.ValidID(id) {
		t.Fatalf("got id %q, not a valid id", id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != 32 {
		t.Fatalf("got secret %q: %d bytes, %v; want 32 bytes of base64url", secret, len(raw), err)
	}
	gotID, gotSecret, ok := auth.ParseToken(full)
	if !ok || gotID != id || gotSecret != secret {
		t.Fatalf("ParseToken: got %q, %q, %v; want %q, %q, true", gotID, gotSecret, ok, id, secret)
	}
	seen := map[string]bool{}
	for range 1000 {
		id, secret, _ := auth.NewToken()
		if seen[id] || seen[secret] {
			t.Fatalf("a repeated id or secret after %d tokens", len(seen)/2)
		}
		seen[id], seen[secret] = true, true
	}
}

func TestParseTokenMalformed(t *testing.T) {
	_, secret, full := auth.NewToken()
	id := full[5:17]
	for _, tc := range []struct{ name, token string }{
		{"Empty", ""},
		{"PrefixOnly", "weft_"},
		{"WrongPrefix", "wefx_" + id + "_" + secret},
		{"UpperPrefix", "WEFT_" + id + "_" + secret},
		{"OtherVendor", "ghp_" + id + "_" + secret},
		{"NoPrefix", id + "_" + secret},
		{"TruncatedSecret", full[:len(full)-1]},
		{"TruncatedHalf", full[:30]},
		{"Extended", full + "A"},
		{"TrailingNewline", full + "\n"},
		{"LeadingSpace", " " + full[1:]},
		{"NoSeparator", "weft_" + id + "x" + secret},
		{"IDUpperCase", "weft_" + strings.ToUpper(id) + "_" + secret},
		{"IDBadChar", "weft_" + id[:11] + "1_" + secret},
		{"SecretBadChar", "weft_" + id + "_" + secret[:42] + "+"},
		{"SecretNonCanonical", "weft_" + id + "_" + secret[:42] + nonCanonicalLast(secret[42])},
		{"BearerIncluded", "Bearer " + full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if gotID, gotSecret, ok := auth.ParseToken(tc.token); ok || gotID != "" || gotSecret != "" {
				t.Fatalf("ParseToken(%q): got %q, %q, %v; want \"\", \"\", false", tc.token, gotID, gotSecret, ok)
			}
		})
	}
}

// nonCanonicalLast returns the last character of a 43-character base64
// text with bits set that decoding drops, so that a strict decoder refuses
// it.
func nonCanonicalLast(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|1])
}

func TestSecrets(t *testing.T) {
	s := auth.NewSecret()
	if !auth.ValidSessionSecret(s) || auth.ValidSessionSecret(s[1:]) || auth.ValidSessionSecret(s+"A") {
		t.Fatalf("ValidSessionSecret disagrees with NewSecret on %q", s)
	}
	h := auth.HashSecret(s)
	// Another secret, one character away (never s itself: a random last
	// character may already be the one put in).
	other := s[:42] + "A"
	if other == s {
		other = s[:42] + "B"
	}
	if len(h) != 32 || !auth.SecretsEqual(h, auth.HashSecret(s)) || auth.SecretsEqual(h, auth.HashSecret(other)) {
		t.Fatalf("HashSecret/SecretsEqual: not a stable SHA-256 of the secret")
	}
	if auth.SecretsEqual(h, h[:31]) {
		t.Fatalf("SecretsEqual: a prefix equals the whole")
	}
}

func TestVerifyDummy(t *testing.T) {
	// VerifyDummy never succeeds, and is safe to call concurrently (the
	// dummy hash is made once).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { auth.VerifyDummy("password") })
	}
	wg.Wait()
}

// FuzzParseToken checks that ParseToken accepts only the canonical form:
// whatever it accepts is weft_<id>_<secret> again, with a valid id and a
// secret of 32 bytes.
func FuzzParseToken(f *testing.F) {
	_, _, full := auth.NewToken()
	for _, seed := range []string{full, full[:60], full + "=", "weft_", "weft__", "weft_aaaaaaaaaaaa_" + strings.Repeat("A", 43)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := auth.ParseToken(s)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("refused %q but returned %q, %q", s, id, secret)
			}
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(secret)
		if s != "weft_"+id+"_"+secret || !auth.ValidID(id) || err != nil || len(raw) != 32 {
			t.Fatalf("accepted %q as id %q, secret %q", s, id, secret)
		}
	})
}

// FuzzParseHash checks that ParseHash never panics and accepts only the
// canonical encoding: a hash it reads encodes back to the same string.
func FuzzParseHash(f *testing.F) {
	for _, seed := range []string{referenceHash, "$argon2id$v=19$m=0,t=0,p=0$$", "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := auth.ParseHash(s)
		if err != nil {
			return
		}
		again := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
			base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
		if again != s || int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("read %q as %+v, which encodes as %q", s, p, again)
		}
	})
}

// BenchmarkHashPassword measures one hash with DefaultParams: the cost of
// a sign-in and of CreateUser. On the 2-core benchmark machine:
//
//	go test -run '^$' -bench 'Password|Dummy' -benchmem ./auth/
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, err := auth.HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := auth.VerifyPassword(h, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	auth.VerifyDummy("") // make the dummy hash outside the loop
	for b.Loop() {
		auth.VerifyDummy("correct horse battery staple")
	}
}

func BenchmarkParseTokenHash(b *testing.B) {
	_, _, full := auth.NewToken()
	for b.Loop() {
		_, secret, ok := auth.ParseToken(full)
		if !ok {
			b.Fatal("not ok")
		}
		auth.HashSecret(secret)
	}
}
