package sqlite

// The alert cache: the decoded alerts of recently described incidents.
//
// Naming and scoring an incident (Options.Describe) needs all of its
// alerts, and a busy incident is touched by batch after batch; reading and
// decoding every one of its alerts each time was 40 % of ingest. The cache
// keeps, for the incidents described last, their alerts as the store would
// read them back, so that a batch that only adds alerts to an incident
// describes it from the cached list plus the new alerts.
//
// Invariant: an entry holds exactly the committed alerts of its incident,
// in (first activity, id) order, each as scanAlert returns it without the
// raw original. It holds because the cache changes only after a commit
// (batchWriter.cacheStage is applied by StoreAlerts once the transaction has
// committed), because an incident whose alerts changed otherwise than by
// new alerts joining (a merge moved alerts in, an alert was updated) is read
// from the database instead (batchWriter.full), because a merged-away
// incident's entry is dropped, and because the cache is cleared whenever the
// store rebuilds its Correlator (another process wrote, or a batch failed).
// Any future writer of incident membership (the manage API) must drop the
// entries it changes.

import (
	"cmp"
	"slices"

	"github.com/weftxdr/weft"
)

// defaultAlertCacheAlerts bounds the cache. A decoded alert of
// storetest.NewAlert's size (2.7 KB of JSON, 5 evidence records) takes
// about 7.3 KB of heap, so some 60 MB; an incident is at most 500 alerts
// by default, and up to 2,000 fit (a quarter of the cache).
const defaultAlertCacheAlerts = 8_000

type cacheKey struct {
	tenant string
	id     int64
}

type cacheEntry struct {
	alerts []*weft.Alert
	used   uint64
}

// alertCache is guarded by the write lock.
type alertCache struct {
	max  int // alerts held at most; 0 disables the cache
	n    int
	hits int // lookups that found their incident (tests)
	tick uint64
	m    map[cacheKey]*cacheEntry
}

func newAlertCache(max int) *alertCache {
	return &alertCache{max: max, m: map[cacheKey]*cacheEntry{}}
}

func (c *alertCache) get(k cacheKey) ([]*weft.Alert, bool) {
	e := c.m[k]
	if e == nil {
		return nil, false
	}
	c.tick++
	e.used = c.tick
	c.hits++
	return e.alerts, true
}

// put stores (or with nil alerts drops) an entry, then evicts the least
// recently used entries beyond max. An incident larger than a quarter of
// the cache is not kept: it would push out everything else.
func (c *alertCache) put(k cacheKey, alerts []*weft.Alert) {
	if old := c.m[k]; old != nil {
		c.n -= len(old.alerts)
		delete(c.m, k)
	}
	if alerts == nil || c.max <= 0 || len(alerts) > c.max/4 {
		return
	}
	c.tick++
	c.m[k] = &cacheEntry{alerts: alerts, used: c.tick}
	c.n += len(alerts)
	if c.n > c.max {
		c.evict()
	}
}

// evict drops the least recently used entries until the cache is three
// quarters full: in one sort, so that eviction costs O(log entries) per
// entry put, not a scan of the cache each time.
func (c *alertCache) evict() {
	type aged struct {
		k    cacheKey
		used uint64
	}
	all := make([]aged, 0, len(c.m))
	for k, e := range c.m {
		all = append(all, aged{k, e.used})
	}
	slices.SortFunc(all, func(x, y aged) int { return cmp.Compare(x.used, y.used) })
	for _, a := range all {
		if c.n <= c.max*3/4 {
			break
		}
		c.n -= len(c.m[a.k].alerts)
		delete(c.m, a.k)
	}
}

func (c *alertCache) clear() {
	clear(c.m)
	c.n = 0
}

// storedForm returns a new alert as scanAlert will read it back once it is
// committed in incident: without its raw original, with its incident and
// its placement's reasons.
func storedForm(a *weft.Alert, incident int64, reasons []string, explanation string) *weft.Alert {
	s := *a
	s.Raw, s.Import = nil, nil
	s.IncidentID = incident
	s.CorrelationReasons, s.Correlation = reasons, explanation
	utcTimes(&s)
	return &s
}

// withJoined returns the cached alerts of an incident with the alerts that
// joined it in this batch, in (first activity, id) order, as a new slice.
func withJoined(cached []*weft.Alert, joined []joinedAlert) []*weft.Alert {
	out := make([]*weft.Alert, 0, len(cached)+len(joined))
	out = append(out, cached...)
	for _, j := range joined {
		out = append(out, j.stored)
	}
	slices.SortStableFunc(out, func(x, y *weft.Alert) int {
		return cmp.Or(x.FirstActivityDateTime.Compare(y.FirstActivityDateTime), cmp.Compare(x.ID, y.ID))
	})
	return out
}
