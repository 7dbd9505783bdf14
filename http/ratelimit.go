package http

import (
	"math"
	"sync"
	"time"
)

// Abuse limits (docs/security.md): a token bucket of requests per session
// or token, and a back-off on failed sign-ins per account and per remote
// address. Both are in memory and bounded: when full, they forget the
// entries that no longer limit anyone, then any entry, which can only make
// them more lenient, never refuse a request they should not.

// Rate limit defaults (Options.RateLimit, Options.RateBurst).
const (
	DefaultRateLimit = 50  // requests per second per session or token
	DefaultRateBurst = 100 // requests at once
)

// maxLimitEntries bounds the buckets and the sign-in failures kept.
const maxLimitEntries = 10_000

// rateLimiter is a token bucket per key. It is safe for concurrent use.
type rateLimiter struct {
	rate    float64 // tokens per second
	burst   float64
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// take takes one token from key's bucket. It returns 0 when there was one,
// and otherwise how long until there is.
func (l *rateLimiter) take(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimitEntries {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// evict forgets the buckets that have refilled (they limit no one), and
// when none has, one bucket.
func (l *rateLimiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxLimitEntries {
			break
		}
		delete(l.buckets, k)
	}
}

// Sign-in throttling: after loginFreeFailures failures in a row, an account
// or an address must wait loginBaseDelay, doubling with each further
// failure up to loginMaxDelay, before its next attempt is even checked. A
// success clears the account's count (not the address's, so that an
// attacker holding one account cannot reset the count of the addresses it
// guesses others' passwords from).
const (
	loginFreeFailures = 5
	loginBaseDelay    = time.Second
	loginMaxDelay     = 15 * time.Minute
)

// loginThrottle counts failed sign-ins per account and per address. It is
// safe for concurrent use.
type loginThrottle struct {
	now      func() time.Time
	mu       sync.Mutex
	failures map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, failures: map[string]*failures{}}
}

// delay is how long after the last failure the next attempt waits.
func (f *failures) delay() time.Duration {
	if f.n < loginFreeFailures {
		return 0
	}
	d := loginBaseDelay << min(f.n-loginFreeFailures, 20)
	return min(d, loginMaxDelay)
}

// wait returns how long the account and the address must still wait before
// an attempt; 0 when they need not.
func (t *loginThrottle) wait(account, addr string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range []string{"account:" + account, "addr:" + addr} {
		if f := t.failures[k]; f != nil {
			wait = max(wait, f.last.Add(f.delay()).Sub(now))
		}
	}
	return wait
}

// fail counts a failed attempt for the account and the address.
func (t *loginThrottle) fail(account, addr string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []string{"account:" + account, "addr:" + addr} {
		f := t.failures[k]
		if f == nil {
			if len(t.failures) >= maxLimitEntries {
				t.evict(now)
			}
			f = &failures{}
			t.failures[k] = f
		}
		f.n++
		f.last = now
	}
}

// succeed clears the account's failures.
func (t *loginThrottle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "account:"+account)
}

// evict forgets the failures older than loginMaxDelay, and when there are
// none, one entry.
func (t *loginThrottle) evict(now time.Time) {
	for k, f := range t.failures {
		if now.Sub(f.last) > loginMaxDelay {
			delete(t.failures, k)
		}
	}
	for k := range t.failures {
		if len(t.failures) < maxLimitEntries {
			break
		}
		delete(t.failures, k)
	}
}
