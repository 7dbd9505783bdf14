package correlate

// The identity index: what the engine remembers of each identity, the
// strength rules and guards that decide whether it links, and pruning.

import (
	"net/netip"
	"slices"

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

// record adds the alert (whose detector is det) to incident id and to the
// index of each of its identities (ens, as seen returned them), and prunes
// the tenant's state now and then.
func (e *Engine) record(t *tenantState, a *weft.Alert, refs []ref, ens []*entry, device IdentityID, det detectorID, id, group int64, routine uint64) {
	first, last := a.FirstActivityDateTime.UnixNano(), a.LastActivityDateTime.UnixNano()
	t.incidents[id].size++
	s := sighting{first: first, last: last, alert: t.alerts.add(a.ID), incident: id, device: device,
		severity: int8(a.Severity.Rank()), detector: det, group: group}
	for i := range refs {
		en := ens[i]
		if n := len(en.sightings) - maxSightings + 1; n > 0 {
			// Drop the oldest by reslicing rather than moving the rest
			// down: append copies them once when the array is full.
			clear(en.sightings[:n])
			en.sightings = en.sightings[n:]
		}
		s.routine = routine&(1<<i) != 0
		en.sightings = append(en.sightings, s)
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

// resolve returns the alert's linkable identities (one per identity, the
// strongest evidence for it first), its principals (devices, users,
// mailboxes), its first device and its first account (user or mailbox). The
// slices are the engine's scratch, valid until the next placement.
func (e *Engine) resolve(t *tenantState, a *weft.Alert) (refs []ref, principals []IdentityID, device, account IdentityID) {
	x := &e.scratch
	refs, principals = x.refs[:0], x.principals[:0]
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		s := StrengthOf(ev.EntityType)
		if s == 0 {
			continue
		}
		ids := ev.Identifiers()
		if len(ids) == 0 {
			continue
		}
		id := t.ids.observe(ids, ev.IdentifierHashes(), &e.ids.n) // canonical when returned
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
		if t.pol.xs.excluded(ev, ids) {
			continue
		}
		r := ref{id: id, strength: s, typ: ev.EntityType, ev: ev}
		if ev.EntityType == weft.EntityIP {
			r.private = privateIP(ids[0].Value) // ids[0] is the address, normalized
		}
		refs = append(refs, r)
	}
	slices.Sort(principals)
	principals = slices.Compact(principals)
	x.refs, x.principals = refs, principals
	return refs, principals, device, account
}

// linkable applies the strength rules and the hub guard to one identity of
// the alert being placed.
//
// Prevalence is counted over the window that ends at the alert's own first
// activity, [first−window, first]: what a run in event-time order has seen
// when the alert comes. A late alert is judged as it would have been on
// time, so arrival order matters only at the edges (design §4.9).
func (t *tenantState) linkable(en *entry, r ref, first, last int64) bool {
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
	if en.principals.countOver(first-w, first, limit) {
		return false
	}
	alerts := 0
	for i := len(en.sightings) - 1; i >= 0; i-- {
		if s := en.sightings[i]; s.last >= first-w && s.first <= first {
			if alerts++; alerts > t.pol.cfg.NoisyThreshold {
				return false
			}
		}
	}
	return true
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
	if sev >= weft.SeverityHigh.Rank() || t.pol.cfg.RepeatWindow <= 0 {
		return 0 // without repeat groups there are no other bursts to tell routine by
	}
	var bits uint64
	for i, r := range refs {
		if i >= 64 || !r.principal() {
			continue
		}
		en := ens[i]
		lo := first - t.pol.cfg.window(r.strength).Nanoseconds()
		for _, s := range en.sightings {
			if s.group != group && s.detector == detector && s.first >= lo && s.first <= first {
				bits |= 1 << i
				break
			}
		}
	}
	return bits
}

// principal reports whether r is a device, user or mailbox.
func (r ref) principal() bool {
	return r.typ == weft.EntityDevice || r.typ == weft.EntityUser || r.typ == weft.EntityMailbox
}

func (t *tenantState) entry(r ref) *entry {
	en := t.index.get(r.id)
	if en == nil {
		en = &entry{strength: r.strength, private: r.private}
		t.index.put(r.id, en)
	}
	return en
}

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
	live := map[int64]bool{}
	dets := map[detectorID]bool{}
	oldest := t.alerts.next() // the oldest alert a sighting still refers to
	// Backwards, since remove moves the last identity into the gap.
	for k := len(t.index.live) - 1; k >= 0; k-- {
		id := t.index.live[k]
		en := t.index.byID[id]
		en.sightings = slices.DeleteFunc(en.sightings, func(s sighting) bool { return s.last < cutoff })
		en.principals.prune(cutoff)
		if len(en.sightings) == 0 && en.principals.len() == 0 {
			t.index.remove(id)
			continue
		}
		for _, s := range en.sightings {
			live[s.incident] = true
			dets[s.detector] = true
			oldest = min(oldest, s.alert)
		}
	}
	for k, g := range t.repeats {
		if g.last < cutoff {
			delete(t.repeats, k)
			continue
		}
		live[g.incident] = true
		dets[k.detector] = true
	}
	for name, d := range t.detectors {
		if !dets[d] {
			delete(t.detectors, name)
		}
	}
	roots := map[int64]bool{}
	for id := range live {
		roots[t.resolve(id)] = true // also compresses every live path to its root
	}
	for id := range t.redirect {
		if !live[id] {
			delete(t.redirect, id)
		}
	}
	for id := range t.incidents {
		if !roots[id] {
			delete(t.incidents, id)
		}
	}
	for id := range t.next {
		if !roots[id] {
			delete(t.next, id)
		}
	}
	t.alerts.forgetBefore(oldest)
	t.pruned, t.liveAfterPrune = true, t.index.len()
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

// pruneEvery is how many placements pass between prunes of a tenant's
// state.
const pruneEvery = 4096
