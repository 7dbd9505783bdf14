package correlate

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendGapIsDurationString holds appendGap, which writes the gap of an
// explanation, to time.Duration.String for every duration roundGap can
// leave and for others, which it hands to String.
func TestAppendGapIsDurationString(t *testing.T) {
	ds := []time.Duration{0, 1, 999 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 999 * time.Millisecond,
		time.Second, 1001 * time.Millisecond, 1010 * time.Millisecond, 1100 * time.Millisecond, 59999 * time.Millisecond,
		time.Minute, time.Minute + time.Second, time.Hour, time.Hour + 500*time.Millisecond, 49*time.Hour + 7*time.Minute,
		1500 * time.Microsecond, -time.Second, 1<<63 - 1}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		d := time.Duration(rng.Int64N(int64(72 * time.Hour)))
		ds = append(ds, d, roundGap(d), roundGap(d%time.Minute), roundGap(d%time.Hour))
	}
	for _, d := range ds {
		if got, want := string(appendGap([]byte("x"), d)), "x"+d.String(); got != want {
			t.Fatalf("appendGap(%d) = %q, want %q", int64(d), got, want)
		}
	}
}
