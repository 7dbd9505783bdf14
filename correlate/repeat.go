package correlate

// Repeat groups: one detector firing again and again on one host.
//
// A detector that fires on the same host (or, for alerts without a host, the
// same account) within RepeatWindow of the first alert of its current group
// raises a repeat of one finding, and the repeat joins that group's incident
// whatever the guards say: a scanner that trips one detector every five
// minutes is one finding an hour, even though the scanner itself is a hub.
// The window is anchored at the group's first alert, not the latest one, so
// repeats never chain into one incident for days; the next repeat after the
// window starts a new group.

import (
	"time"
	"unsafe"
)

// repeatKey names a repeat group: a detector on a principal.
type repeatKey struct {
	detector detectorID
	anchor   IdentityID
}

// repeatGroup is the current group of one repeatKey.
type repeatGroup struct {
	id       int64
	start    int64 // first activity of the group's first alert, unix ns
	incident int64
	alert    string // the group's latest alert, for the explanation
	last     int64  // its first activity
}

// repeatState is what repeatOf found for one alert: the current group of
// its key, if it has one, and whether the alert belongs to it.
type repeatState struct {
	cur repeatGroup // a copy of the current group, when has
	has bool
	in  bool // the alert belongs to cur
}

// group returns the group the alert belongs to, or nil.
func (rs *repeatState) group() *repeatGroup {
	if rs.in {
		return &rs.cur
	}
	return nil
}

// repeatOf looks up the current group of k (none when repeat groups are
// off) and whether an alert starting at first belongs to it. Pass what it
// returns to recordRepeat.
func (t *tenantState) repeatOf(k repeatKey, first int64, window time.Duration) (rs repeatState) {
	if k.anchor == 0 || window <= 0 {
		return rs
	}
	rs.cur, rs.has = t.repeats.get(k)
	if !rs.has {
		return rs
	}
	d := first - rs.cur.start
	rs.in = d < window.Nanoseconds() && d > -window.Nanoseconds()
	return rs
}

// recordRepeat notes that the alert a (first activity first) is now in
// incident id, starting a new group of k when it did not join the current
// one, and returns the alert's group id (0 for none). rs is what repeatOf
// returned for the alert, with no change to the groups since.
func (t *tenantState) recordRepeat(k repeatKey, rs *repeatState, alertID string, first, id int64, window time.Duration) int64 {
	if k.anchor == 0 || window <= 0 {
		return 0
	}
	if rs.in {
		if first >= rs.cur.last {
			rs.cur.alert, rs.cur.last = alertID, first
			t.repeats.put(k, rs.cur)
		}
		return rs.cur.id
	}
	t.nextGroup++
	if rs.has && first < rs.cur.start {
		return t.nextGroup // a late alert before the current group: a group of its own, already closed
	}
	t.repeats.put(k, repeatGroup{id: t.nextGroup, start: first, incident: id, alert: alertID, last: first})
	return t.nextGroup
}

// repeatTable holds a tenant's current repeat groups by key. It is an
// open-addressing hash table with linear probing rather than a Go map so
// that Place can prefetch the slot of an alert's key as soon as it knows
// the key (after resolve) and look the group up later (after seen), when
// the slot has come into the cache: on BenchmarkPlace a Go map lookup of a
// new key missed the caches, about 130 ns an alert. A slot is one cache
// line. The table is at most half full, and has no tombstones: filter
// rebuilds it without the groups it drops.
type repeatTable struct {
	slots []repeatSlot
	n     int
}

// repeatSlot is one slot of a repeatTable; a zero key marks it empty (a
// stored key's anchor is never 0: repeatOf and recordRepeat ignore such
// keys).
type repeatSlot struct {
	key repeatKey
	g   repeatGroup
	_   [64 - unsafe.Sizeof(repeatKey{}) - unsafe.Sizeof(repeatGroup{})]byte
}

// minRepeatSlots is a repeatTable's smallest size; a power of two.
const minRepeatSlots = 64

// home returns the slot where k's probe starts.
func (r *repeatTable) home(k repeatKey) int {
	h := (uint64(k.detector)<<32 | uint64(k.anchor)) * 0x9e3779b97f4a7c15
	return int(h>>32) & (len(r.slots) - 1)
}

// prefetch asks for the cache line of k's home slot, where get will most
// often find k's group or its absence.
func (r *repeatTable) prefetch(k repeatKey) {
	if len(r.slots) == 0 || k.anchor == 0 {
		return
	}
	p := [1]uintptr{uintptr(unsafe.Pointer(&r.slots[r.home(k)]))}
	prefetch(p[:])
}

// get returns the group of key k.
func (r *repeatTable) get(k repeatKey) (repeatGroup, bool) {
	if len(r.slots) == 0 {
		return repeatGroup{}, false
	}
	mask := len(r.slots) - 1
	for i := r.home(k); ; i = (i + 1) & mask {
		s := &r.slots[i]
		if s.key == k {
			return s.g, true
		}
		if s.key == (repeatKey{}) {
			return repeatGroup{}, false
		}
	}
}

// put makes g the group of key k (whose anchor is not 0).
func (r *repeatTable) put(k repeatKey, g repeatGroup) {
	if 2*(r.n+1) > len(r.slots) {
		r.resize(max(minRepeatSlots, 2*len(r.slots)))
	}
	r.insert(k, g)
}

// insert puts g at k, with room for it.
func (r *repeatTable) insert(k repeatKey, g repeatGroup) {
	mask := len(r.slots) - 1
	for i := r.home(k); ; i = (i + 1) & mask {
		s := &r.slots[i]
		if s.key == k {
			s.g = g
			return
		}
		if s.key == (repeatKey{}) {
			s.key, s.g = k, g
			r.n++
			return
		}
	}
}

// resize moves the groups into a table of size slots (a power of two, at
// least twice the groups).
func (r *repeatTable) resize(size int) {
	old := r.slots
	r.slots, r.n = make([]repeatSlot, size), 0
	for i := range old {
		if old[i].key != (repeatKey{}) {
			r.insert(old[i].key, old[i].g)
		}
	}
}

// len returns the number of groups.
func (r *repeatTable) len() int { return r.n }

// each calls f with each group, which f may change in place.
func (r *repeatTable) each(f func(k repeatKey, g *repeatGroup)) {
	for i := range r.slots {
		if s := &r.slots[i]; s.key != (repeatKey{}) {
			f(s.key, &s.g)
		}
	}
}

// filter keeps the groups for which keep returns true, rebuilding the
// table in place as incidentTable.filter does, whose comments say why it
// is right. It is a copy of that one rather than a function both call
// with closures for the slots: the calls per slot made BenchmarkPlace 2 %
// slower (2,513 against 2,468 ns median, 8 + 8 alternating runs).
func (r *repeatTable) filter(keep func(k repeatKey, g *repeatGroup) bool) {
	if len(r.slots) == 0 {
		return
	}
	start := 0 // a slot empty before the drops
	for r.slots[start].key != (repeatKey{}) {
		start++
	}
	kept := 0
	for i := range r.slots {
		if s := &r.slots[i]; s.key != (repeatKey{}) && keep(s.key, &s.g) {
			kept++
		} else {
			*s = repeatSlot{}
		}
	}
	if size := shrunk(len(r.slots), kept, minRepeatSlots); size < len(r.slots) {
		r.resize(size)
		return
	}
	r.n = kept
	mask := len(r.slots) - 1
	for k := 1; k <= len(r.slots); k++ {
		i := (start + k) & mask
		if s := r.slots[i]; s.key != (repeatKey{}) {
			r.slots[i] = repeatSlot{}
			r.n--
			r.insert(s.key, s.g)
		}
	}
}
