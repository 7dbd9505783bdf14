package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// An API token is one string,
//
//	weft_<id>_<secret>
//
// 61 characters: the prefix "weft_" (so that secret scanners and people
// recognize it), a 12-character id (IDLen characters of idAlphabet, 60
// random bits) that names the token in lists and the audit log and finds
// its row, and a 43-character secret (256 random bits, unpadded base64url)
// that proves it. The store keeps the id and SHA-256(secret), and compares
// the hash of a presented secret with the stored one in constant time
// (SecretsEqual). Only the id ever appears in logs.
const (
	TokenPrefix = "weft_"
	// IDLen is the length of the ids NewID makes (tokens, users,
	// sessions).
	IDLen     = 12
	secretLen = 43 // base64url of 32 bytes, unpadded
	tokenLen  = len(TokenPrefix) + IDLen + 1 + secretLen
)

// idAlphabet is lower-case RFC 4648 base32: no character a reader confuses
// (no 0/O, 1/l), none that needs quoting in a URL or a shell, and 32 of
// them, so that a random byte maps to one without bias (byte & 31).
const idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewID returns a random id of IDLen characters of [a-z2-7] (60 bits from
// crypto/rand): unguessable enough that an id says nothing about how many
// others exist, short enough to type.
func NewID() string {
	var b [IDLen]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	for i := range b {
		b[i] = idAlphabet[b[i]&31]
	}
	return string(b[:])
}

// ValidID reports whether id has the form NewID makes.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(idAlphabet, id[i]) < 0 {
			return false
		}
	}
	return true
}

// NewSecret returns 256 random bits from crypto/rand as 43 characters of
// unpadded base64url: a session's cookie value, a CSRF token, or the
// secret part of an API token.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validSecret reports whether s has the form NewSecret makes.
func validSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// NewToken returns a new API token: its id, its secret, and the whole
// token (weft_<id>_<secret>) that its holder sends as
// "Authorization: Bearer <full>". The caller stores id and
// HashSecret(secret), shows full once, and forgets secret and full.
func NewToken() (id, secret, full string) {
	id, secret = NewID(), NewSecret()
	return id, secret, TokenPrefix + id + "_" + secret
}

// ParseToken splits a token made by NewToken into its id and secret. It
// returns ok false for anything else: another prefix, another length, an
// id or secret with a character outside its alphabet. It does not tell a
// token from a forged one of the right form; the store does, by the hash.
func ParseToken(full string) (id, secret string, ok bool) {
	if len(full) != tokenLen || !strings.HasPrefix(full, TokenPrefix) || full[len(TokenPrefix)+IDLen] != '_' {
		return "", "", false
	}
	id = full[len(TokenPrefix) : len(TokenPrefix)+IDLen]
	secret = full[len(TokenPrefix)+IDLen+1:]
	if !ValidID(id) || !validSecret(secret) {
		return "", "", false
	}
	return id, secret, true
}

// ValidSessionSecret reports whether s has the form of a session secret
// (NewSecret), so that a store need not look up a cookie that cannot be
// one.
func ValidSessionSecret(s string) bool { return validSecret(s) }

// HashSecret returns SHA-256 of a secret: what the store keeps of a token
// or session secret. A fast hash suffices for 256 random bits (see the
// package documentation), and it keeps a stolen database from holding a
// single usable credential.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretsEqual compares two secret hashes in constant time, so that the
// time of a refusal does not tell how much of a guess was right.
func SecretsEqual(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}
