// Package auth holds weft's credential primitives: password hashing with
// argon2id, and the random secrets of API tokens, sessions and CSRF tokens
// with the hashes the store keeps of them (design §12, docs/security.md).
// It stores nothing itself; sqlite.Store keeps users, tokens and sessions
// through these functions.
//
// Two kinds of secret are kept two ways:
//
//   - A password is chosen by a person and may be guessable, so it is kept
//     as a slow, memory-hard argon2id hash (HashPassword): an attacker who
//     copies the database pays about the same for each guess as weft pays
//     for each login.
//   - A token, session or CSRF secret is 256 random bits made here
//     (NewToken, NewSecret). No guess list shortens a search of 2^256, so
//     a fast hash (SHA-256, HashSecret) is as good as a slow one and keeps
//     every API request cheap.
//
// Every function is safe for concurrent use.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/weftxdr/weft"
	"golang.org/x/crypto/argon2"
)

// Params are the argon2id parameters of a password hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the parameters of new hashes: one of the equivalent
// argon2id settings OWASP's Password Storage Cheat Sheet recommends
// (m=19 MiB, t=2, p=1), with a 128-bit salt and a 256-bit key. Of those
// settings it is the one with the least memory for its cost in time, which
// matters on a small server where several people may sign in at once
// (and at most one hash per core runs at a time, see hashSlots). One hash costs
// about 20–30 ms of one core of the 2-core benchmark machine
// (BenchmarkHashPassword). A hash keeps the parameters it was made with,
// so raising these later leaves old hashes valid; NeedsRehash tells the
// store when to replace one at the next sign-in.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds of the parameters VerifyPassword accepts from a stored hash. They
// keep a tampered or corrupt hash from making a sign-in take gigabytes or
// minutes; they are far above anything weft writes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxThreads   = 16
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Password rules (CheckPassword). A password is counted in characters for
// its minimum, as people count it, and in bytes for its maximum, which only
// bounds the work of hashing it.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 1024
)

// hashSlots bounds how many argon2id computations run at once, to the
// number of cores (at least two) when the process starts; more wait. Each
// takes Params.Memory (19 MiB), so a burst of sign-in attempts costs
// bounded memory, and running more than there are cores would not finish
// them sooner.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// idKey is argon2.IDKey under the concurrency bound.
func idKey(pw, salt []byte, p Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// CheckPassword returns an EINVALID error naming the field "password" when
// pw cannot be a password: fewer than MinPasswordChars characters, more
// than MaxPasswordBytes bytes, or not valid UTF-8. It asks for nothing
// else (no character classes): length is what makes a password hard to
// guess (NIST SP 800-63B).
func CheckPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return weft.Errorf(weft.EINVALID, "password: is not valid UTF-8")
	case len(pw) > MaxPasswordBytes:
		return weft.Errorf(weft.EINVALID, "password: is %d bytes long; at most %d", len(pw), MaxPasswordBytes)
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return weft.Errorf(weft.EINVALID, "password: must be at least %d characters long", MinPasswordChars)
	}
	return nil
}

// HashPassword checks pw (CheckPassword) and returns its argon2id hash with
// DefaultParams and a random salt, in the PHC string form
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// where salt and key are unpadded standard base64. It takes the time and
// memory of DefaultParams.
func HashPassword(pw string) (string, error) {
	return HashPasswordWith(pw, DefaultParams)
}

// HashPasswordWith is HashPassword with other parameters, within the
// bounds VerifyPassword accepts (an error says which is outside).
func HashPasswordWith(pw string, p Params) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB || p.Time < 1 || p.Time > maxTime ||
		p.Threads < 1 || p.Threads > maxThreads || p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen ||
		p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return "", fmt.Errorf("auth: argon2id parameters %+v outside the bounds m=8·p–%d KiB, t=1–%d, p=1–%d, salt %d–%d, key %d–%d bytes",
			p, maxMemoryKiB, maxTime, maxThreads, minSaltLen, maxSaltLen, minKeyLen, maxKeyLen)
	}
	return hashWith(pw, p), nil
}

func hashWith(pw string, p Params) string {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails (crypto/rand)
	return encodeHash(p, salt, idKey([]byte(pw), salt, p))
}

func encodeHash(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// ParseHash reads the parameters, salt and key of an argon2id hash in the
// PHC string form. It refuses another algorithm or version, a malformed
// field, and parameters outside the bounds VerifyPassword accepts, with an
// error that says which (and never repeats the hash).
func ParseHash(hash string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: not in the form $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	if parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: algorithm %q, not argon2id", truncate(parts[1], 20))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: version %q, not v=%d", truncate(parts[2], 20), argon2.Version)
	}
	var m, t, threads uint64
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: parameters must be m=…,t=…,p=…")
	}
	for i, f := range []struct {
		name string
		dst  *uint64
		min  uint64
		max  uint64
	}{{"m", &m, 8, maxMemoryKiB}, {"t", &t, 1, maxTime}, {"p", &threads, 1, maxThreads}} {
		v, ok := strings.CutPrefix(fields[i], f.name+"=")
		if !ok {
			return Params{}, nil, nil, fmt.Errorf("auth: password hash: parameter %d must be %s=…", i+1, f.name)
		}
		// Decimal digits without leading zeros, as encoders write them:
		// a second spelling of one hash is a needless ambiguity.
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || v == "" || v[0] == '0' && len(v) > 1 {
			return Params{}, nil, nil, fmt.Errorf("auth: password hash: %s=%q is not a number", f.name, truncate(v, 20))
		}
		if n < f.min || n > f.max {
			return Params{}, nil, nil, fmt.Errorf("auth: password hash: %s=%d is outside %d–%d", f.name, n, f.min, f.max)
		}
		*f.dst = n
	}
	if m < 8*threads {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: m=%d is below 8 KiB per lane (p=%d)", m, threads)
	}
	salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: the salt must be %d–%d bytes of unpadded base64", minSaltLen, maxSaltLen)
	}
	key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return Params{}, nil, nil, fmt.Errorf("auth: password hash: the key must be %d–%d bytes of unpadded base64", minKeyLen, maxKeyLen)
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// VerifyPassword reports whether pw is the password of hash, computed with
// the parameters stored in the hash and compared in constant time. It
// returns an error (and false) only for a hash it cannot read (ParseHash),
// never for a wrong password. It takes the time and memory of the hash's
// parameters, whatever pw is, up to MaxPasswordBytes; a longer pw is
// hashed as well, since argon2 first reduces any input with BLAKE2b.
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, key, err := ParseHash(hash)
	if err != nil {
		return false, err
	}
	got := idKey([]byte(pw), salt, p)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters weaker than
// DefaultParams (or cannot be read), so that the store replaces it with a
// new hash the next time the password is known, at sign-in.
func NeedsRehash(hash string) bool {
	p, _, _, err := ParseHash(hash)
	return err != nil || p.Memory < DefaultParams.Memory || p.Time < DefaultParams.Time ||
		p.SaltLen < DefaultParams.SaltLen || p.KeyLen < DefaultParams.KeyLen
}

// dummy is a hash of a password no one knows, made once with
// DefaultParams, for VerifyDummy.
var dummy = sync.OnceValue(func() string {
	var pw [32]byte
	rand.Read(pw[:])
	return hashWith(base64.RawURLEncoding.EncodeToString(pw[:]), DefaultParams)
})

// VerifyDummy does the work of VerifyPassword with DefaultParams and
// always fails. A sign-in with an unknown user name calls it, so that it
// takes as long as one with a known name and a wrong password, and the
// time of an answer does not tell which names exist. (The first call also
// makes the dummy hash, once per process; a server may call it at start to
// take that cost out of the first sign-in.)
func VerifyDummy(pw string) {
	_, _ = VerifyPassword(dummy(), pw) // a password no one knows: false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
