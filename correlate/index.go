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
// identities at time at (prevalence for the hub guard).
func (t *tenantState) seen(refs []ref, principals []IdentityID, at int64) {
	for _, r := range refs {
		en := t.entry(r)
		for _, p := range principals {
			if p != r.id {
				en.principals[p] = en.principals[p].union(span{at, at})
			}
		}
	}
}

// record adds the alert to incident id and to the index of each of its
// identities, and prunes the tenant's state now and then.
func (e *Engine) record(t *tenantState, a *weft.Alert, refs []ref, device IdentityID, id, group int64, routine uint64) {
	first, last := a.FirstActivityDateTime.UnixNano(), a.LastActivityDateTime.UnixNano()
	t.incidents[id].size++
	for i, r := range refs {
		en := t.entry(r)
		if len(en.sightings) >= maxSightings {
			en.sightings = slices.Delete(en.sightings, 0, len(en.sightings)-maxSightings+1)
		}
		en.sightings = append(en.sightings, sighting{first: first, last: last, alertID: a.ID, incident: id, device: device,
			severity: a.Severity.Rank(), detector: detectorOf(a), group: group, routine: routine&(1<<i) != 0})
	}
	t.watermark = max(t.watermark, last)
	if t.placed++; t.placed >= pruneEvery {
		t.prune(t.watermark - t.pol.cfg.maxWindow().Nanoseconds())
		t.placed = 0
	}
}

// resolve returns the alert's linkable identities (one per identity, the
// strongest evidence for it first), its principals (devices, users,
// mailboxes), its first device and its first account (user or mailbox).
func (e *Engine) resolve(t *tenantState, a *weft.Alert) (refs []ref, principals []IdentityID, device, account IdentityID) {
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		s := StrengthOf(ev.EntityType)
		if s == 0 {
			continue
		}
		id := e.ids.Observe(a.TenantID, ev) // canonical when returned
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
		if j := slices.IndexFunc(refs, func(r ref) bool { return r.id == id }); j >= 0 || t.pol.xs.excluded(ev) {
			continue
		}
		r := ref{id: id, strength: s, typ: ev.EntityType, name: ev.Name()}
		if ev.EntityType == weft.EntityIP {
			if ip, err := netip.ParseAddr(weft.NormalizeIP(ev.IPAddress)); err == nil {
				r.private = ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
			}
		}
		refs = append(refs, r)
	}
	slices.Sort(principals)
	return refs, slices.Compact(principals), device, account
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
	n := 0
	for _, seen := range en.principals {
		if seen.overlaps(first-w, first) {
			if n++; n > limit {
				return false
			}
		}
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
func (e *Engine) routine(t *tenantState, refs []ref, sev int, detector string, group, first int64) uint64 {
	if sev >= weft.SeverityHigh.Rank() || t.pol.cfg.RepeatWindow <= 0 {
		return 0 // without repeat groups there are no other bursts to tell routine by
	}
	var bits uint64
	for i, r := range refs {
		if i >= 64 || !r.principal() {
			continue
		}
		en := t.index[r.id]
		if en == nil {
			continue
		}
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
	en := t.index[r.id]
	if en == nil {
		en = &entry{strength: r.strength, principals: map[IdentityID]span{}, private: r.private}
		t.index[r.id] = en
	}
	return en
}

// prune forgets sightings and principals older than cutoff (unix ns),
// identities left with neither, and the incidents, redirects and
// continuations that no remaining sighting can reach: an incident no alert
// can link to any more needs no state, so the state stays bounded by what
// the windows hold.
func (t *tenantState) prune(cutoff int64) {
	live := map[int64]bool{}
	for id, en := range t.index {
		en.sightings = slices.DeleteFunc(en.sightings, func(s sighting) bool { return s.last < cutoff })
		for p, seen := range en.principals {
			if seen.last < cutoff {
				delete(en.principals, p)
			}
		}
		if len(en.sightings) == 0 && len(en.principals) == 0 {
			delete(t.index, id)
			continue
		}
		for _, s := range en.sightings {
			live[s.incident] = true
		}
	}
	for k, g := range t.repeats {
		if g.last < cutoff {
			delete(t.repeats, k)
			continue
		}
		live[g.incident] = true
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
}

// maxSightings bounds what one identity remembers; an identity with more
// alerts in its window than this is a hub in every realistic policy.
const maxSightings = 256

// pruneEvery is how many placements pass between prunes of a tenant's
// state.
const pruneEvery = 4096
