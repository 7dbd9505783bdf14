package correlate

// Read-ahead across alerts.
//
// Placing an alert follows chains of dependent loads: from the alert to its
// evidence records, to their identifiers and hashes, to the hashes' slots in
// the identity index, to the identifiers' nodes, to their roots, to the
// roots' index entries, to the entries' sightings and principals. The
// engine's state is tens of megabytes, so most links of a chain miss the
// processor's caches, and one alert's chain cannot overlap with itself: each
// load needs the one before. touch overlaps the loads of one link across an
// alert's identifiers, and still waits once per link.
//
// Ahead names the alerts Place will be given next. Each Place then moves
// each of the next aheadDepth alerts one link down its chain (aheadStage):
// it reads the link an earlier Place prefetched, now in the cache, and
// notes the addresses of the next, which Place prefetches, in four parts
// as it goes (issue), with instructions that do not wait for memory
// (prefetch). An alert that went through every stage is ready: its state
// is in the cache, and Place resolves it without touch's pass. The last
// stages also read ahead the spare entries (forget) that the next alerts'
// new identities will take, which prune left there long before.
// docs/benchmarks.md has what it saves.
//
// Invariant: read-ahead decides nothing. It reads the engine's state and
// prefetches; the nodes and entries it finds are only used to compute what
// to prefetch next, and resolve looks everything up again. A hint
// that is stale (state changed since), wrong (an alert Place is never
// given) or dropped changes no placement, only the time it takes
// (TestAheadChangesNothing).

import (
	"slices"
	"unsafe"

	"github.com/weftxdr/weft"
)

// aheadDepth is how many alerts are read ahead, one per link of the chain
// the stages of aheadStage follow.
const aheadDepth = 8

// aheadSkip is how far down the queue Place looks for the alert it is
// given: the alerts before it, never placed (a batch's duplicates), are
// skipped.
const aheadSkip = 64

// aheadIDs is how many identifiers of one alert are read ahead; an alert
// with more has the rest looked up as without read-ahead.
const aheadIDs = 32

// aheadMinNodes is the size of a tenant's identity forest below which
// nothing is read ahead while its alerts are placed: with fewer identifiers
// than this, a tenant's state is a few megabytes, which the caches keep, and
// reading it ahead costs more than it saves (BenchmarkPlaceCacheResident).
// A variable, so that tests can read ahead on small scenarios.
var aheadMinNodes = 1 << 14

// aheadSpares is how many of a tenant's spare entries are read ahead: the
// next alerts' new identities take them.
const aheadSpares = 3

// aheadAddrs bounds what one Place prefetches; a power of two.
const aheadAddrs = 256

// evidenceHead is the part of a weft.Evidence the engine reads: its type,
// identifiers, hashes and name (weft.Evidence.Name), which lead the record.
const evidenceHead = 96

// Stage 7 notes an entry with two addSpans, the first of 128 bytes: an
// entry must be longer than that, and at most twice as long.
const (
	_ = 256 - unsafe.Sizeof(entry{})
	_ = unsafe.Sizeof(entry{}) - 129
)

// ahead is the read-ahead's state (Engine.Ahead).
type ahead struct {
	queue  []*weft.Alert
	pos    int // queue[pos] is the alert Place is expected to be given next
	slots  [aheadDepth]aheadSlot
	addrs  [aheadAddrs]uintptr // what one Place prefetches
	n      uint                // addresses noted in addrs (add)
	issued uint                // of them, those prefetched (issue)
}

// aheadSlot is what the read-ahead learnt of one alert in the queue. Its
// only pointer is the tenant: the addresses it keeps are only prefetched,
// never dereferenced, and the entries it found are looked up again.
type aheadSlot struct {
	q     int          // the alert's index in the queue
	stage int          // the last stage run for it
	t     *tenantState // its tenant, nil when the engine has none yet
	n     int          // identifiers in hs and nodes
	hs    [aheadIDs]uint64
	// nodes holds the node of each identifier (stage 5), then its root
	// (6), noNode when there is none, it repeats the identifier before's,
	// or it has no index entry (7).
	nodes [aheadIDs]uint32
	// pbits has bit k set when identifier k is a principal's (a device,
	// user or mailbox record's); princ holds the first np principal
	// roots (stage 6), for the hub index slots stage 8 reads ahead.
	pbits uint32
	princ [aheadPrincipals]uint32
	np    int
}

// nextSpares returns the spare entries (forget) that the tenant's next new
// identities will take (entry takes the last first): up to aheadSpares.
func (t *tenantState) nextSpares() []*entry {
	return t.spare[len(t.spare)-min(aheadSpares, len(t.spare)):]
}

// aheadPrincipals is how many of an alert's principals are read ahead.
const aheadPrincipals = 4

// add notes address p for prefetching. Past aheadAddrs addresses it
// overwrites the first ones, which then go unprefetched.
func (x *ahead) add(p unsafe.Pointer) {
	x.addrs[x.n%aheadAddrs] = uintptr(p)
	x.n++
}

// addSpan notes each cache line of the n bytes at p once (n at most 128,
// so at most three lines). It writes three addresses, one in each line the
// span may reach, and counts as many as it reaches, without a branch:
// where a span starts in its line is different each time.
func (x *ahead) addSpan(p unsafe.Pointer, n int) {
	a, k := uintptr(p), x.n
	end := a + uintptr(n) - 1
	x.addrs[k%aheadAddrs] = a
	x.addrs[(k+1)%aheadAddrs] = a + 64
	x.addrs[(k+2)%aheadAddrs] = end
	x.n = k + 1 + uint(end>>6-a>>6)
}

// addString notes the bytes of v for prefetching.
func (x *ahead) addString(v string) {
	if len(v) > 0 {
		x.addSpan(unsafe.Pointer(unsafe.StringData(v)), min(len(v), 128))
	}
}

// addRange notes each cache line of the n bytes at p, up to maxRange.
func (x *ahead) addRange(p unsafe.Pointer, n int) {
	a := uintptr(p)
	for l := a &^ 63; l < a+uintptr(min(n, maxRange)); l += 64 {
		x.addrs[x.n%aheadAddrs] = l
		x.n++
	}
}

// maxRange bounds addRange: the identifiers of a record with aheadIDs of
// them.
const maxRange = aheadIDs * int(unsafe.Sizeof(weft.Identifier{}))

// Ahead tells the engine which alerts it will be asked to place next, in
// order, so that each Place can prefetch, without waiting for it, the state
// the following ones will need. It is a hint: alerts of the list that are never placed
// are skipped, and Place forgets the list when it is given an alert that
// is not among the next aheadSkip of it. The engine keeps the slice until
// then or until the next call; the alerts must not change meanwhile, as they
// must not while they are placed. Ahead(nil) forgets the list.
func (e *Engine) Ahead(next []*weft.Alert) {
	x := &e.ahead
	x.queue, x.pos, x.n, x.issued = next, 0, 0, 0
	for i := range x.slots {
		x.slots[i].q, x.slots[i].stage, x.slots[i].t = -1, 0, nil
	}
}

// advance is called by Place for alert a: it finds a among the next alerts
// of the queue and moves each alert after it one stage on. It reports
// whether a went through every stage, and so is ready: its state is in the
// cache.
func (e *Engine) advance(a *weft.Alert) (ready bool) {
	x := &e.ahead
	q := x.pos
	for q < len(x.queue) && q < x.pos+aheadSkip && x.queue[q] != a {
		q++
	}
	if q == len(x.queue) || q == x.pos+aheadSkip { // not a hinted alert: the hint is wrong
		e.Ahead(nil)
		return false
	}
	s := &x.slots[q%aheadDepth]
	ready = s.q == q && s.stage == aheadDepth
	x.pos = q + 1
	x.n, x.issued = 0, 0
	if t := e.last; t != nil && t.id == a.TenantID && len(t.ids.nodes) < aheadMinNodes {
		return false // the tenant's state stays in the caches: nothing to read ahead
	}
	// The queue and position in locals: aheadStage writes to e.ahead,
	// which would have them loaded again after each call.
	queue, pos := x.queue, x.pos
	for k := range min(aheadDepth, len(queue)-pos) {
		q := pos + k
		s := &x.slots[uint(q)%aheadDepth]
		if s.q != q {
			s.q, s.stage, s.t = q, 0, nil
		}
		// The alert placed next gets the last stage; each one further on
		// one stage less. An alert that missed stages (the queue skipped
		// ahead) runs them now, waiting for memory as touch would.
		for want := aheadDepth - k; s.stage < want; {
			s.stage++
			e.aheadStage(queue[q], s)
		}
	}
	x.issue(1, 4)
	return ready
}

// issue prefetches the first part/parts of the addresses noted, those of
// them not issued yet. Place issues them in parts as it goes, so that they
// do not all wait at once for the processor's few outstanding misses.
func (x *ahead) issue(part, parts uint) {
	n := min(x.n, uint(aheadAddrs))
	to := n * part / parts
	if to > x.issued {
		prefetch(x.addrs[x.issued:to])
		x.issued = to
	}
}

// aheadStage runs stage s.stage for alert a: it reads what the stage
// before prefetched and notes the addresses of the next link in e.ahead.
func (e *Engine) aheadStage(a *weft.Alert, s *aheadSlot) {
	x := &e.ahead
	switch s.stage {
	case 1: // the alert's fields that Place reads
		x.addSpan(unsafe.Pointer(&a.ID), 32) // and TenantID
		x.addSpan(unsafe.Pointer(&a.Title), 16)
		x.addSpan(unsafe.Pointer(&a.Severity), 16)
		x.addSpan(unsafe.Pointer(&a.DetectorID), 16)
		x.addSpan(unsafe.Pointer(&a.FirstActivityDateTime), 48) // and LastActivityDateTime
		x.addSpan(unsafe.Pointer(&a.Evidence), 24)
		return
	case 2: // its evidence records: the type, identifiers, hashes and name lead a record (weft.Evidence)
		for i := range a.Evidence {
			x.addSpan(unsafe.Pointer(&a.Evidence[i]), evidenceHead)
		}
		x.addString(detectorOf(a))
		x.addString(a.TenantID)
		return
	case 3: // the identifiers and their hashes, which Identify keeps in one array each
		// The tenant, now that its id's bytes are in the cache.
		if s.t = e.last; s.t == nil || s.t.id != a.TenantID {
			s.t = e.tenants[a.TenantID]
		}
		for i := range a.Evidence {
			ev := &a.Evidence[i]
			ids, hs := ev.Identifiers(), ev.IdentifierHashes()
			if len(hs) == 0 {
				continue
			}
			x.addSpan(unsafe.Pointer(&hs[0]), min(len(hs)*8, 128))
			x.addRange(unsafe.Pointer(&ids[0]), len(ids)*int(unsafe.Sizeof(ids[0])))
		}
		return
	case 4: // their hashes' slots in the identity index, and their values' bytes
		var slots []uint64
		if s.t != nil {
			slots = s.t.ids.index.slots
		}
		mask := uint64(len(slots) - 1)
		s.n, s.pbits = 0, 0
		for i := range a.Evidence {
			ev := &a.Evidence[i]
			ids, hs := ev.Identifiers(), ev.IdentifierHashes()
			var pbit uint32
			switch ev.EntityType {
			case weft.EntityDevice, weft.EntityUser, weft.EntityMailbox:
				pbit = 1
			}
			for k := 0; k < len(hs) && s.n < aheadIDs; k++ {
				h := hs[k]
				s.hs[s.n] = h
				s.pbits |= pbit << s.n
				s.n++
				x.addString(ids[k].Value)
				if len(slots) > 0 {
					x.add(unsafe.Pointer(&slots[h&mask]))
				}
			}
		}
		return
	}
	t := s.t
	if t == nil || len(t.ids.index.slots) == 0 {
		return
	}
	slots, nodes := t.ids.index.slots, t.ids.nodes
	mask := uint64(len(slots) - 1)
	switch s.stage {
	case 5: // the nodes the slots name
		for k := range s.n {
			h := s.hs[k]
			n := uint32(noNode)
			if v := slots[h&mask]; v != 0 && v>>32 == h>>32 && int(uint32(v)-1) < len(nodes) {
				n = uint32(v) - 1
				x.add(unsafe.Pointer(&nodes[n]))
			}
			s.nodes[k] = n
		}
	case 6: // the nodes' roots (a weak name's candidate), their values' bytes, and the roots' places in the entry index
		s.np = 0
		for k := range s.n {
			n := s.nodes[k]
			if n == noNode {
				continue
			}
			nd := &nodes[n]
			x.addString(nd.id.Value)
			p := nd.parent
			if nd.weak && nd.ncand == 1 && !nd.many {
				p = nd.cand[0]
			}
			if s.pbits&(1<<k) != 0 && s.np < aheadPrincipals && !slices.Contains(s.princ[:s.np], p) {
				s.princ[s.np] = p
				s.np++
			}
			if k > 0 && s.nodes[k-1] == p { // a record's identifiers most often share their root
				s.nodes[k] = noNode
				continue
			}
			s.nodes[k] = p
			x.add(unsafe.Pointer(&nodes[p]))
			if id := int(p) + 1; id < len(t.index.byID) {
				x.add(unsafe.Pointer(&t.index.byID[id]))
			}
		}
	case 7: // the roots' entries
		for k := range s.n {
			if p := s.nodes[k]; p != noNode {
				if en := t.index.get(IdentityID(p + 1)); en != nil {
					x.addSpan(unsafe.Pointer(en), 128)
					x.addSpan(unsafe.Add(unsafe.Pointer(en), 128), int(unsafe.Sizeof(*en))-128)
				} else {
					s.nodes[k] = noNode
				}
			}
		}
		// The spare entries the alert's new identities will take
		// (tenantState.entry), which prune put there thousands of alerts
		// ago: about one an alert, each cold.
		for _, en := range t.nextSpares() {
			x.addRange(unsafe.Pointer(en), int(unsafe.Sizeof(*en)))
		}
	case 8: // the entries' sightings (and where the alert's will go) and principals
		for k := range s.n {
			p := s.nodes[k]
			if p == noNode {
				continue
			}
			en := t.index.get(IdentityID(p + 1))
			if en == nil { // pruned since
				continue
			}
			if n := len(en.sightings); n > 0 {
				x.add(unsafe.Pointer(&en.sightings[0]))
				x.add(unsafe.Pointer(&en.sightings[n-1]))
				if n < cap(en.sightings) {
					x.addSpan(unsafe.Pointer(&en.sightings[:n+1][n]), int(unsafe.Sizeof(sighting{})))
				}
			}
			if n := len(en.principals.list); n > 0 {
				x.add(unsafe.Pointer(&en.principals.list[min(en.principals.old, n-1)]))
				x.add(unsafe.Pointer(&en.principals.list[n-1]))
			}
			// A hub's index: where seen will look each of the alert's
			// principals up (principalSet.add), at random in a table of
			// up to thousands of slots.
			if at := en.principals.at; len(at) > 0 {
				for _, p := range s.princ[:s.np] {
					x.add(unsafe.Pointer(&at[at.home(IdentityID(p+1))]))
				}
			}
		}
		// The incident state the alert's incident may be made in.
		if n := len(t.free); n > 0 {
			x.add(unsafe.Pointer(t.free[n-1]))
		}
		// Where the spare entries stage 7 read ahead will take their
		// first sighting and principal.
		for _, en := range t.nextSpares() {
			if cap(en.sightings) > 0 {
				x.add(unsafe.Pointer(&en.sightings[:1][0]))
			}
			if cap(en.principals.list) > 0 {
				x.add(unsafe.Pointer(&en.principals.list[:1][0]))
			}
		}
	}
}
