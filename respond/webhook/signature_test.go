package webhook_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft/respond/webhook"
)

// TestSignKnownVector pins the scheme to what docs/connectors.md tells
// receivers to compute:
//
//	printf '%s.%s' 1772366400 '{"a":1}' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
func TestSignKnownVector(t *testing.T) {
	const want = "v1=d6f102980dc74a35254b9d465a225d98d889d9eee2db5b09eba162bf9a82a00f"
	if got := webhook.Sign([]byte(testSecret), fixedNow.Unix(), []byte(`{"a":1}`)); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"actionId":"42"}`)
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	good := webhook.Sign([]byte(testSecret), fixedNow.Unix(), body)
	other := webhook.Sign([]byte("another secret, as long as it must"), fixedNow.Unix(), body)
	for name, c := range map[string]struct {
		secret, ts, sig string
		body            []byte
		now             time.Time
		want            error
	}{
		"OK":                {testSecret, ts, good, body, fixedNow, nil},
		"OKSpaces":          {testSecret, ts, " " + good + " ", body, fixedNow, nil},
		"OKRotation":        {testSecret, ts, other + "," + good, body, fixedNow, nil},
		"OKOtherScheme":     {testSecret, ts, "v0=deadbeef, " + good, body, fixedNow, nil},
		"OKAtTolerance":     {testSecret, ts, good, body, fixedNow.Add(webhook.Tolerance), nil},
		"OKAtNegTolerance":  {testSecret, ts, good, body, fixedNow.Add(-webhook.Tolerance), nil},
		"OKUpperHex":        {testSecret, ts, "v1=" + strings.ToUpper(good[3:]), body, fixedNow, nil},
		"ErrStale":          {testSecret, ts, good, body, fixedNow.Add(webhook.Tolerance + time.Second), webhook.ErrStaleTimestamp},
		"ErrFuture":         {testSecret, ts, good, body, fixedNow.Add(-webhook.Tolerance - time.Second), webhook.ErrStaleTimestamp},
		"ErrBodyChanged":    {testSecret, ts, good, []byte(`{"actionId":"43"}`), fixedNow, webhook.ErrSignatureMismatch},
		"ErrTimeChanged":    {testSecret, strconv.FormatInt(fixedNow.Unix()+1, 10), good, body, fixedNow, webhook.ErrSignatureMismatch},
		"ErrOtherSecret":    {testSecret, ts, other, body, fixedNow, webhook.ErrSignatureMismatch},
		"ErrNoSecret":       {"", ts, good, body, fixedNow, webhook.ErrNoSecret},
		"ErrNoTimestamp":    {testSecret, "", good, body, fixedNow, webhook.ErrNoTimestamp},
		"ErrSignedTime":     {testSecret, "+" + ts, good, body, fixedNow, webhook.ErrMalformedTime},
		"ErrSpacedTime":     {testSecret, " " + ts, good, body, fixedNow, webhook.ErrMalformedTime},
		"ErrLongTime":       {testSecret, "1000000" + ts, good, body, fixedNow, webhook.ErrMalformedTime},
		"ErrLeadingZero":    {testSecret, "0" + ts, good, body, fixedNow, webhook.ErrMalformedTime},
		"ErrMillis":         {testSecret, ts + "000", good, body, fixedNow, webhook.ErrMalformedTime},
		"ErrNoSignature":    {testSecret, ts, "", body, fixedNow, webhook.ErrNoSignature},
		"ErrOnlyOther":      {testSecret, ts, "v0=abcd", body, fixedNow, webhook.ErrNoSignature},
		"ErrBareHex":        {testSecret, ts, good[3:], body, fixedNow, webhook.ErrMalformedSig},
		"ErrShortHex":       {testSecret, ts, good[:len(good)-2], body, fixedNow, webhook.ErrMalformedSig},
		"ErrNotHex":         {testSecret, ts, "v1=" + strings.Repeat("zz", 32), body, fixedNow, webhook.ErrMalformedSig},
		"ErrEmptyItem":      {testSecret, ts, good + ",", body, fixedNow, webhook.ErrMalformedSig},
		"ErrTooManyItems":   {testSecret, ts, strings.Repeat(good+",", 8) + good, body, fixedNow, webhook.ErrMalformedSig},
		"ErrSchemeOnly":     {testSecret, ts, "v1=", body, fixedNow, webhook.ErrMalformedSig},
		"ErrOKAfterBadItem": {testSecret, ts, "v1=00," + good, body, fixedNow, webhook.ErrMalformedSig},
	} {
		t.Run(name, func(t *testing.T) {
			err := webhook.Verify([]byte(c.secret), c.ts, c.sig, c.body, c.now)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Errorf("got %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), good[3:]) {
				t.Errorf("error %q shows the expected signature", err)
			}
		})
	}
}

// FuzzVerify feeds Verify arbitrary header values: it must never panic,
// must accept only a signature Sign would make for a timestamp within the
// tolerance, and must accept what Sign makes.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"actionId":"42"}`)
	ts := strconv.FormatInt(fixedNow.Unix(), 10)
	good := webhook.Sign([]byte(testSecret), fixedNow.Unix(), body)
	for _, seed := range [][2]string{
		{ts, good}, {ts, "v0=1," + good}, {ts, good + ", " + good}, {"", good}, {ts, ""},
		{"-1", good}, {"9999999999999", good}, {ts, "v1=" + strings.Repeat("0", 64)}, {ts, ",,,"},
		{ts, "=" + good}, {"1e9", good}, {ts, "v1==" + good[3:]}, {"0x10", good},
	} {
		f.Add(seed[0], seed[1], body)
	}
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := webhook.Verify([]byte(testSecret), ts, sig, body, fixedNow)
		if err == nil {
			n, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || strconv.FormatInt(n, 10) != ts {
				t.Fatalf("accepted timestamp %q that is not a number in its one spelling", ts)
			}
			if d := fixedNow.Sub(time.Unix(n, 0)); d > webhook.Tolerance || d < -webhook.Tolerance {
				t.Fatalf("accepted timestamp %q, %s from now", ts, d)
			}
			want := webhook.Sign([]byte(testSecret), n, body)
			if !strings.Contains(strings.ToLower(sig), want[3:]) {
				t.Fatalf("accepted signature %q, want one containing %s", sig, want)
			}
		}
		// What Sign makes for this body always verifies.
		if err := webhook.Verify([]byte(testSecret), strconv.FormatInt(fixedNow.Unix(), 10), webhook.Sign([]byte(testSecret), fixedNow.Unix(), body), body, fixedNow); err != nil {
			t.Fatalf("Sign's signature refused: %v", err)
		}
	})
}
