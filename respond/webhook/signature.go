package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed request (a dispatch, or a callback to weft).
const (
	// HeaderTimestamp is the time of signing, in decimal unix seconds.
	HeaderTimestamp = "Weft-Timestamp"
	// HeaderSignature is "v1=" and the hex HMAC-SHA256, keyed by the
	// shared secret, of the timestamp, ".", and the body. Verify also
	// accepts several comma-separated signatures (for a secret rotation)
	// and ignores schemes other than v1.
	HeaderSignature = "Weft-Signature"
	// HeaderIdempotencyKey repeats the payload's idempotencyKey.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Tolerance is how far a signed timestamp may be from the receiver's clock,
// either way: a replayed request older than this is refused, and within it
// the idempotency key makes a replay harmless.
const Tolerance = 5 * time.Minute

// Errors of Verify. Each says why a request is refused without repeating
// the secret or the expected signature.
var (
	ErrNoSecret          = errors.New("no secret to verify with")
	ErrNoTimestamp       = errors.New("no " + HeaderTimestamp + " header")
	ErrMalformedTime     = errors.New(HeaderTimestamp + " is not decimal unix seconds")
	ErrStaleTimestamp    = errors.New(HeaderTimestamp + " is more than 5 minutes from now")
	ErrNoSignature       = errors.New("no v1 signature in the " + HeaderSignature + " header")
	ErrMalformedSig      = errors.New(HeaderSignature + " is not v1=<64 hex digits>, comma-separated")
	ErrSignatureMismatch = errors.New("signature does not match the body and timestamp")
)

// maxSignatures bounds the signatures one header may carry.
const maxSignatures = 8

// Sign returns the HeaderSignature value of body signed at timestamp (unix
// seconds) with secret.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

// mac is HMAC-SHA256(secret, timestamp "." body).
func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a signed request: timestamp and signature are the values of
// its HeaderTimestamp and HeaderSignature headers, body its exact bytes, now
// the receiver's clock. It returns nil when one of the header's v1
// signatures is the HMAC of timestamp "." body under secret (compared in
// constant time) and the timestamp is within Tolerance of now; otherwise
// one of the Err… variables of this package, possibly wrapped. Receivers
// must verify the bytes they received, before decoding them.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	ts, err := parseTimestamp(timestamp)
	if err != nil {
		return err
	}
	sigs, err := parseSignatures(signature)
	if err != nil {
		return err
	}
	want := mac(secret, timestamp, body)
	ok := false
	for _, s := range sigs {
		// Every candidate is compared, so the time taken does not say
		// which one matched.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	// The age is checked only once the signature holds, so that an
	// attacker without the secret learns nothing about the clock.
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%w (off by %s)", ErrStaleTimestamp, d.Round(time.Second))
	}
	return nil
}

// parseTimestamp parses 1 to 12 decimal digits, nothing else (no sign, no
// space, no leading zero), so that one time has one spelling and so one
// signature.
func parseTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, ErrNoTimestamp
	}
	if len(s) > 12 || (s[0] == '0' && len(s) > 1) {
		return 0, ErrMalformedTime
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformedTime
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, ErrMalformedTime
	}
	return ts, nil
}

// parseSignatures returns the v1 signatures of a HeaderSignature value:
// comma-separated "scheme=value" items, spaces around items allowed; items
// of other schemes are skipped (a later scheme can be added beside v1).
func parseSignatures(header string) ([][]byte, error) {
	if strings.TrimSpace(header) == "" {
		return nil, ErrNoSignature
	}
	items := strings.Split(header, ",")
	if len(items) > maxSignatures {
		return nil, fmt.Errorf("%w (more than %d items)", ErrMalformedSig, maxSignatures)
	}
	var sigs [][]byte
	for _, item := range items {
		scheme, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || scheme == "" || value == "" {
			return nil, ErrMalformedSig
		}
		if scheme != "v1" {
			continue
		}
		if len(value) != 2*sha256.Size {
			return nil, ErrMalformedSig
		}
		b, err := hex.DecodeString(value)
		if err != nil {
			return nil, ErrMalformedSig
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return nil, ErrNoSignature
	}
	return sigs, nil
}
