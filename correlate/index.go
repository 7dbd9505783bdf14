package correlate

// The identity index: what the engine remembers of each identity, the
// strength rules and guards that decide whether it links, and pruning.

import (
	"math/bits"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/weftxdr/weft"
)

// span is the earliest and latest event time (unix ns) of something; the
// zero span is empty.
type span struct{ first, last int64 }

func (s span) union(o span) span {
	if o == (span{}) {
		return s
	}
	if s == (span{}) {
		return o
	}
	return span{min(s.first, o.first), max(s.last, o.last)}
}

// overlaps reports whether s meets [lo, hi].
func (s span) overlaps(lo, hi int64) bool { return s.last >= lo && s.first <= hi }

// seen records that the principals of an alert were seen with each of its
// identities at time at (prevalence for the hub guard), and returns the index
// entry of each ref, in x.ens.
func (t *tenantState) seen(refs []ref, principals []IdentityID, at int64, x *scratch) []*entry {
	ens := x.ens[:0]
	for _, r := range refs {
		en := t.entry(r)
		ens = append(ens, en)
		for _, p := range principals {
			if p != r.id {
				en.principals.add(p, span{at, at})
			}
		}
	}
	x.ens = ens
	return ens
}

// record adds the alert (whose severity's rank is sev and detector det) to
// incident inc and to the index of each of its identities (ens, as seen
// returned them), and prunes the tenant's state now and then.
func (e *Engine) record(t *tenantState, a *weft.Alert, sev int, refs []ref, ens []*entry, device IdentityID, det detectorID, inc *incidentState, group int64, routine uint64) {
	first, last := a.FirstActivityDateTime.UnixNano(), a.LastActivityDateTime.UnixNano()
	inc.size++
	s := sighting{first: first, last: last, alert: t.alerts.add(a.ID), incident: inc.id, device: device,
		severity: int8(sev), detector: det, group: group}
	for i := range refs {
		en := ens[i]
		if n := len(en.sightings) - maxSightings + 1; n > 0 {
			// Drop the oldest by reslicing rather than moving the rest
			// down: growSightings moves them once when the array is full.
			// Only an array of the largest class is kept whole: with
			// room for maxSightings past the sightings, a move back comes
			// once every maxSightings alerts. A smaller one (an identity
			// reaching the bound in an array of maxSightings) grows into
			// the largest first; kept whole, it had its sightings moved
			// back at every alert (docs/benchmarks.md, session 14).
			if cap(en.sightings) == 2*maxSightings {
				en.hub = true
			}
			clear(en.sightings[:n])
			en.sightings = en.sightings[n:]
		}
		s.routine = routine&(1<<i) != 0
		if len(en.sightings) == cap(en.sightings) {
			en.sightings = t.growSightings(en)
		}
		en.sightings = append(en.sightings, s)
		// The principals seen added at first; a validated alert does not
		// end before it starts, but newest must bound both regardless.
		en.newest = max(en.newest, first, last)
	}
	clear(ens) // the entries may be pruned now
	t.watermark = max(t.watermark, last)
	// Prune after pruneEvery placements or half the tenant's identities,
	// whichever is more: a prune scans them all, so a large window (a
	// restore of a busy day) would otherwise cost a full scan every few
	// thousand alerts, and its total would grow with the square of the
	// alerts in the window.
	if t.placed++; t.placed >= max(pruneEvery, t.index.len()/2) {
		t.prune(t.watermark - t.pol.cfg.maxWindow().Nanoseconds())
		t.placed = 0
	}
}

// touch collects the identifiers of the alert's linkable evidence (x.evs,
// for resolve), finds the identity nodes of those already known (x.known),
// and reads, without using them, what placing the alert will read next:
// the nodes' parents (most often their roots), the index entries of those,
// and their newest sightings and principals. The loads of one pass do not
// depend on each other, so the processor overlaps their cache misses,
// where resolve, which follows each identifier from its slot to its node to
// its parent to its entry in turn, would wait for one after the other: the
// engine's state is tens of megabytes, and reading it is much of the
// engine's time. The nodes found spare resolve their lookup; the sum of
// what was read only keeps the compiler from dropping the loads. An alert
// the read-ahead across alerts (ahead.go) made ready has its state in the
// cache already: Place does not touch it.
func (t *tenantState) touch(a *weft.Alert, x *scratch) {
	// The alert's own fields that Place reads, and the bytes of its
	// detector's name, which it hashes.
	sum := uint64(len(a.ID) + len(a.Severity) + len(a.Title))
	if d := detectorOf(a); len(d) > 0 {
		sum += uint64(d[0])
	}
	x.evs = slices.Grow(x.evs[:0], len(a.Evidence))[:len(a.Evidence)]
	n := 0
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		s := StrengthOf(ev.EntityType)
		if s == 0 {
			x.evs[i] = evidenceIDs{}
			continue
		}
		ids := ev.Identifiers()
		x.evs[i] = evidenceIDs{ids, ev.IdentifierHashes(), s, int32(n)}
		n += len(ids)
	}
	known := slices.Grow(x.known[:0], n)[:n]
	clear(known)
	x.known = known
	idx := &t.ids.index
	if len(idx.slots) == 0 {
		x.sink += sum
		return
	}
	mask := uint64(len(idx.slots) - 1)
	for _, ev := range x.evs {
		for _, h := range ev.hs {
			sum += idx.slots[h&mask]
		}
	}
	// An identifier is known when the first slot it probes holds it, as it
	// most often does (the index is at most three quarters full); resolve
	// looks up the others.
	parents := x.nodes[:0]
	for _, ev := range x.evs {
		for k, h := range ev.hs {
			if s := idx.slots[h&mask]; s != 0 && s>>32 == h>>32 {
				nd := &t.ids.nodes[uint32(s)-1]
				if sameIdentifier(&nd.id, &ev.ids[k]) {
					known[int(ev.off)+k] = uint32(s)
				}
				parents = append(parents, nd.parent)
			}
		}
	}
	for _, p := range parents {
		sum += uint64(t.ids.nodes[p].size)
		if en := t.index.get(IdentityID(p + 1)); en != nil {
			sum += uint64(len(en.sightings))
		}
	}
	for _, p := range parents {
		if en := t.index.get(IdentityID(p + 1)); en != nil {
			if len(en.sightings) > 0 {
				sum += uint64(en.sightings[len(en.sightings)-1].first)
			}
			if len(en.principals.list) > 0 {
				sum += uint64(en.principals.list[0].id)
			}
		}
	}
	x.nodes = parents
	x.sink += sum
}

// evidenceIDs are the identifiers of one evidence record, their hashes and
// the record's strength class (none, and no identifiers, for evidence that
// never links), and where its identifiers' nodes start in scratch.known.
type evidenceIDs struct {
	ids      []weft.Identifier
	hs       []uint64
	strength Strength
	off      int32
}

// resolve returns the alert's linkable identities (one per identity, the
// strongest evidence for it first), its principals (devices, users,
// mailboxes), its first device and its first account (user or mailbox). The
// slices are the engine's scratch, valid until the next placement.
// With touched, x.evs must hold the alert's identifiers and x.known the
// nodes touch found; without, resolve reads the records itself and looks
// every identifier up: an alert the read-ahead made ready has its slots and
// nodes in the cache, and touch's pass would only repeat the lookups.
func (e *Engine) resolve(t *tenantState, a *weft.Alert, touched bool) (refs []ref, principals []IdentityID, device, account IdentityID) {
	x := &e.scratch
	refs, principals = x.refs[:0], x.principals[:0]
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		var s Strength
		var ids []weft.Identifier
		var hs []uint64
		var known []uint32
		if touched {
			s, ids, hs = x.evs[i].strength, x.evs[i].ids, x.evs[i].hs
			off := int(x.evs[i].off)
			known = x.known[off : off+len(ids)]
		} else if s = StrengthOf(ev.EntityType); s != 0 {
			ids, hs = ev.Identifiers(), ev.IdentifierHashes()
		}
		if s == 0 || len(ids) == 0 {
			continue
		}
		nodes := slices.Grow(x.nodes[:0], len(ids))[:len(ids)]
		x.nodes = nodes
		id := t.ids.observe(ids, hs, known, &e.ids.n, nodes) // canonical when returned
		if id == 0 || id == Ambiguous {
			continue
		}
		switch ev.EntityType {
		case weft.EntityDevice:
			if device == 0 {
				device = id
			}
			principals = append(principals, id)
		case weft.EntityUser, weft.EntityMailbox:
			if account == 0 {
				account = id
			}
			principals = append(principals, id)
		}
		if slices.IndexFunc(refs, func(r ref) bool { return r.id == id }) >= 0 {
			continue
		}
		if t.pol.xs.excluded(ev, ids, t.ids.nodes, nodes) {
			continue
		}
		r := ref{id: id, strength: s, ev: int32(i + 1)}
		switch ev.EntityType {
		case weft.EntityDevice:
			r.principal = true
		case weft.EntityUser, weft.EntityMailbox:
			r.principal, r.account = true, true
		}
		if ev.EntityType == weft.EntityIP {
			// ids[0] is the address, normalized; its node knows whether it
			// is private.
			if ids[0].Kind == weft.IDIP {
				r.private = t.ids.nodes[nodes[0]].private
			} else {
				r.private = privateIP(ids[0].Value)
			}
		}
		refs = append(refs, r)
	}
	slices.Sort(principals)
	principals = slices.Compact(principals)
	x.refs, x.principals = refs, principals
	return refs, principals, device, account
}

// linkable applies the strength rules and the hub guard to one identity of
// the alert being placed; Place applies the noisy guard (more than
// NoisyThreshold alerts in the window) as it scans the identity's sightings.
//
// Prevalence is counted over the window that ends at the alert's own first
// activity, [first−window, first]: what a run in event-time order has seen
// when the alert comes. A late alert is judged as it would have been on
// time, so arrival order matters only at the edges (design §4.9).
func (t *tenantState) linkable(en *entry, r ref, first int64) bool {
	if r.strength == Weak && r.private {
		return false
	}
	w := t.pol.cfg.window(r.strength).Nanoseconds()
	limit := t.pol.cfg.HubThreshold
	if r.strength == Weak {
		limit = min(limit, t.pol.cfg.WeakMaxPrincipals)
	}
	// Count only as far as the limit: a hub has many principals, and
	// counting them all for every alert would cost more than the rest.
	return !en.principals.countOver(first-w, first, limit)
}

// routine returns, as a bit per ref (the first 64), the principals (device,
// user, mailbox) for which the alert's detector is routine: below high
// severity, the same detector already fired with that principal in another
// repeat group within the principal's window before the alert. An admin's
// daily scripts on the servers they look after, a user who often mistypes a
// password: the detector's firing says little about an attack there, so the
// alert neither links through that principal nor lets later alerts link to
// it through it. Indicators (files, addresses, URLs) are never routine: one
// detector firing on one indicator across principals is a campaign.
func (e *Engine) routine(t *tenantState, refs []ref, ens []*entry, sev int, detector detectorID, group, first int64) uint64 {
	if sev >= rankHigh || t.pol.cfg.RepeatWindow <= 0 {
		return 0 // without repeat groups there are no other bursts to tell routine by
	}
	var bits uint64
	for i, r := range refs {
		if i >= 64 || !r.principal {
			continue
		}
		en := ens[i]
		lo := first - t.pol.cfg.window(r.strength).Nanoseconds()
		for j := range en.sightings {
			// By index: ranging by value would copy each 56-byte sighting.
			if s := &en.sightings[j]; s.detector == detector && s.group != group && s.first >= lo && s.first <= first {
				bits |= 1 << i
				break
			}
		}
	}
	return bits
}

func (t *tenantState) entry(r ref) *entry {
	en := t.index.get(r.id)
	if en == nil {
		if n := len(t.spare); n > 0 {
			en, t.spare = t.spare[n-1], t.spare[:n-1]
			en.strength, en.private = r.strength, r.private
		} else {
			en = &entry{strength: r.strength, private: r.private}
		}
		t.index.put(r.id, en)
	}
	return en
}

// forget removes the entry of identity id, which prune found empty, and
// keeps it for entry to use again: most identities come back a window or
// two later (a user's next working day), and new entries with their two
// slices were most of the engine's allocations (2 an alert with the reuse,
// 4 without). Slices that grew large are dropped, so that spare entries
// hold little.
func (t *tenantState) forget(id IdentityID) {
	en := t.index.get(id)
	t.index.remove(id)
	if en.hub {
		t.sightings.put(hubArray(en.sightings))
		en.sightings, en.hub = nil, false
	}
	if len(t.spare) >= maxSpareEntries {
		t.sightings.put(en.sightings)
		return
	}
	ss, ps := en.sightings[:0], en.principals.list[:0]
	if cap(ss) > maxSpareSightings {
		t.sightings.put(ss)
		ss = nil
	}
	if cap(ps) > maxSparePrincipals {
		ps = nil
	}
	*en = entry{sightings: ss, principals: principalSet{list: ps}}
	t.spare = append(t.spare, en)
}

// maxSpareEntries bounds the entries a tenant keeps for reuse (forget),
// and maxSpareSightings and maxSparePrincipals the room a spare entry keeps:
// a tenant's spare entries hold at most about 65,000 × 1 KB, and never more
// than its busiest window's entries did. A prune of the benchmark's
// scenario forgets more than 16,000 entries, and with room for only that
// many, a new entry in three placements was allocated afresh
// (docs/benchmarks.md, session 13).
const (
	maxSpareEntries    = 1 << 16
	maxSpareSightings  = 8
	maxSparePrincipals = 8
)

// entryIndex maps a tenant's identities to their entries. IdentityIDs are
// dense (node numbers of the tenant's identity forest), so a slice indexed
// by them serves instead of a map; live lists the identities that have an
// entry, for pruning, each entry knowing its place in it.
type entryIndex struct {
	byID []*entry
	live []IdentityID
}

// get returns the entry of identity id, or nil.
func (x *entryIndex) get(id IdentityID) *entry {
	if int(id) < len(x.byID) {
		return x.byID[id]
	}
	return nil
}

// put makes en the entry of identity id, replacing any it had.
func (x *entryIndex) put(id IdentityID, en *entry) {
	if int(id) >= len(x.byID) {
		grown := make([]*entry, max(int(id)+1, 2*len(x.byID), 1024))
		copy(grown, x.byID)
		x.byID = grown
	}
	if old := x.byID[id]; old != nil {
		en.pos = old.pos
	} else {
		en.pos = int32(len(x.live))
		x.live = append(x.live, id)
	}
	x.byID[id] = en
}

// remove forgets the entry of identity id.
func (x *entryIndex) remove(id IdentityID) {
	en := x.get(id)
	if en == nil {
		return
	}
	last := x.live[len(x.live)-1]
	x.live[en.pos] = last
	x.byID[last].pos = en.pos
	x.live = x.live[:len(x.live)-1]
	x.byID[id] = nil
}

// len returns the number of identities with an entry.
func (x *entryIndex) len() int { return len(x.live) }

// prune forgets sightings and principals older than cutoff (unix ns),
// identities left with neither, and the incidents, redirects and
// continuations that no remaining sighting can reach: an incident no alert
// can link to any more needs no state, so the state stays bounded by what
// the windows hold.
func (t *tenantState) prune(cutoff int64) {
	t.incidents.clearMarks()
	var lm liveMarks
	dets := make(map[detectorID]bool, len(t.detectors))
	oldest := t.alerts.next() // the oldest alert a sighting still refers to
	// Backwards, since remove moves the last identity into the gap.
	var pf [3]uintptr
	for k := len(t.index.live) - 1; k >= 0; k-- {
		// Prefetch, as the read-ahead does (ahead.go): the entry
		// pruneAhead places on, and the sightings and principals of the
		// one half as far, whose entry came in pruneAhead/2 steps ago.
		// remove moves only an identity already pruned, so those stay in
		// place.
		n := 0
		if k >= pruneAhead {
			pf[n] = uintptr(unsafe.Pointer(t.index.byID[t.index.live[k-pruneAhead]]))
			n++
		}
		// An entry whose newest is before cutoff holds nothing that
		// survives: prune forgets it without reading its sightings and
		// principals, and so does not prefetch them.
		if k >= pruneAhead/2 {
			if ahead := t.index.byID[t.index.live[k-pruneAhead/2]]; ahead.newest >= cutoff {
				if len(ahead.sightings) > 0 {
					pf[n] = uintptr(unsafe.Pointer(&ahead.sightings[0]))
					n++
				}
				if len(ahead.principals.list) > 0 {
					pf[n] = uintptr(unsafe.Pointer(&ahead.principals.list[0]))
					n++
				}
			}
		}
		prefetch(pf[:n])
		id := t.index.live[k]
		en := t.index.byID[id]
		if en.newest < cutoff {
			t.forget(id)
			continue
		}
		en.sightings = pruneSightings(en.sightings, cutoff)
		en.principals.prune(cutoff)
		if len(en.sightings) == 0 && en.principals.len() == 0 {
			t.forget(id)
			continue
		}
		for j := range en.sightings {
			s := &en.sightings[j]
			// An identity's sightings often share an incident and a
			// detector (a repeat group): mark each once per run.
			if j == 0 || s.incident != en.sightings[j-1].incident {
				t.markLive(s.incident, &lm)
			}
			if j == 0 || s.detector != en.sightings[j-1].detector {
				dets[s.detector] = true
			}
			oldest = min(oldest, s.alert)
		}
	}
	t.repeats.filter(func(k repeatKey, g *repeatGroup) bool {
		if g.last < cutoff {
			return false
		}
		t.markLive(g.incident, &lm)
		dets[k.detector] = true
		return true
	})
	for name, d := range t.detectors {
		if !dets[d] {
			delete(t.detectors, name)
		}
	}
	// The continuations of the incidents kept are kept too, though no
	// sighting refers to them (the alerts that went there may link through
	// nothing, say a repeat on an excluded device): a full incident sends
	// its next alerts to its newest continuation (Place).
	for len(lm.roots) > 0 {
		r := lm.roots[len(lm.roots)-1]
		lm.roots = lm.roots[:len(lm.roots)-1]
		if n, ok := t.next[r]; ok {
			t.markLive(n, &lm) // and the redirect from it, if it was merged
		}
	}
	for id := range t.redirect {
		if !lm.redirected[id] {
			delete(t.redirect, id)
		}
	}
	for id := range t.next {
		if !t.incidents.marked(id) && !lm.other[id] {
			delete(t.next, id)
		}
	}
	t.incidents.filter(func(id int64, inc *incidentState, marked bool) bool {
		if marked || lm.other[id] {
			return true
		}
		*inc = incidentState{}
		t.free = append(t.free, inc)
		return false
	})
	t.alerts.forgetBefore(oldest)
	t.pruned, t.liveAfterPrune = true, t.index.len()
}

// liveMarks is what prune learns of the incidents that remaining state
// refers to, besides the marks it leaves in the incident table: the
// merged incidents referred to (whose redirects it keeps), the roots whose
// continuations it has still to follow, and roots the table does not hold.
type liveMarks struct {
	redirected map[int64]bool
	roots      []int64
	other      map[int64]bool
}

// markLive notes that remaining state refers to incident id: it marks the
// incident that holds id's alerts now in t.incidents, and keeps the
// redirect from id when id was merged into another.
func (t *tenantState) markLive(id int64, lm *liveMarks) {
	r := id
	if len(t.redirect) > 0 {
		if r = t.resolve(id); r != id {
			if lm.redirected == nil {
				lm.redirected = map[int64]bool{}
			}
			lm.redirected[id] = true
		}
	}
	switch newly, held := t.incidents.mark(r); {
	case !held:
		if lm.other == nil {
			lm.other = map[int64]bool{}
		}
		if lm.other[r] {
			return
		}
		lm.other[r] = true
	case !newly:
		return
	}
	if len(t.next) > 0 {
		lm.roots = append(lm.roots, r)
	}
}

// pruneSightings removes the sightings whose alert ended before cutoff,
// keeping the others in order (slices.DeleteFunc, without a call per
// sighting).
func pruneSightings(ss []sighting, cutoff int64) []sighting {
	i := 0
	for i < len(ss) && ss[i].last >= cutoff {
		i++
	}
	if i == len(ss) {
		return ss
	}
	out := ss[:i]
	for _, s := range ss[i+1:] {
		if s.last >= cutoff {
			out = append(out, s)
		}
	}
	clear(ss[len(out):])
	return out
}

// privateIP reports whether the normalized address s is private, loopback,
// link-local or unspecified.
func privateIP(s string) bool {
	ip, err := netip.ParseAddr(s)
	return err == nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}

// maxSightings bounds what one identity remembers; an identity with more
// alerts in its window than this is a hub in every realistic policy.
const maxSightings = 256

// pruneAhead is how many entries ahead prune reads.
const pruneAhead = 16

// pruneEvery is how many placements pass between prunes of a tenant's
// state.
const pruneEvery = 4096

// growSightings returns en's sightings, which fill their array, with room
// for more: an entry whose sightings record has cut from the front of the
// array (entry.hub) gets them moved back to its start, any other a larger
// array (sightingPool.grow).
func (t *tenantState) growSightings(en *entry) []sighting {
	ss := en.sightings
	if en.hub {
		whole := hubArray(ss)
		return whole[:copy(whole[:len(ss)], ss)]
	}
	return t.sightings.grow(ss)
}

// hubArray returns, empty, the whole array whose tail the sightings ss of
// an entry at maxSightings are (entry.hub): the array has 2·maxSightings,
// and ss's capacity reaches its end, so it starts 2·maxSightings − cap(ss)
// sightings before ss. Such an entry's capacity is at least
// maxSightings − 1 (record cuts one at a time from sightings of
// maxSightings, and prune keeps the capacity), so ss points into the array.
// An entry marked hub whose array is not of 2·maxSightings would make the
// result point outside it: the race detector's pointer checks (checkptr)
// fail any test in which that happens.
func hubArray(ss []sighting) []sighting {
	back := (2*maxSightings - cap(ss)) * int(unsafe.Sizeof(sighting{}))
	start := unsafe.Add(unsafe.Pointer(unsafe.SliceData(ss)), -back)
	return unsafe.Slice((*sighting)(start), 2*maxSightings)[:0]
}

// sightingPool keeps the arrays of sightings that entries let go (grown
// out of, or forgotten with a spare entry that may keep only a small one),
// by capacity, for record to give entries that need room. In a steady
// stream the windows' sightings then live in memory the engine already
// holds: arrays from the heap were two fifths of the engine's allocations,
// and memory new to the process costs a page fault on its first write and
// the collector's work later (docs/benchmarks.md, session 13). The engine
// keeps one pool for all its tenants, of at most sightingClasses ×
// maxPooledBytes (18 MB).
type sightingPool [sightingClasses][][]sighting

// sightingClasses are the capacities an entry's array of sightings grows
// through, 2, 4, … 2·maxSightings (an entry at maxSightings drops its
// oldest by cutting the array's front, and so needs room past it to do
// that without a copy each time); a class keeps at most maxPooledBytes.
const (
	sightingClasses = 9
	maxPooledBytes  = 2 << 20
)

// The largest class holds 2·maxSightings.
const _ = -uint(2*maxSightings ^ 2<<(sightingClasses-1))

// sightingClass returns the class of arrays of capacity c, false when c is
// not one.
func sightingClass(c int) (int, bool) {
	if c < 2 || c > 2*maxSightings || c&(c-1) != 0 {
		return 0, false
	}
	return bits.TrailingZeros(uint(c)) - 1, true
}

// grow returns ss, which must be full and hold fewer than maxSightings,
// with room for more: its sightings in an array of twice its capacity,
// rounded up to a class (at least 2, at most 2·maxSightings), taken from
// the pool when it has one; ss's array goes to the pool.
func (p *sightingPool) grow(ss []sighting) []sighting {
	c := 2
	for c < 2*cap(ss) {
		c *= 2
	}
	k, _ := sightingClass(c)
	var ns []sighting
	if n := len(p[k]); n > 0 {
		ns, p[k][n-1], p[k] = p[k][n-1], nil, p[k][:n-1]
	} else {
		ns = make([]sighting, 0, 2<<k)
	}
	ns = append(ns, ss...)
	p.put(ss)
	return ns
}

// put keeps the array of ss for grow, unless its capacity is not a class
// (an array cut from the front, a merge's) or its class is full.
func (p *sightingPool) put(ss []sighting) {
	k, ok := sightingClass(cap(ss))
	if !ok || (len(p[k])+1)*cap(ss)*int(unsafe.Sizeof(sighting{})) > maxPooledBytes {
		return
	}
	p[k] = append(p[k], ss[:0])
}
