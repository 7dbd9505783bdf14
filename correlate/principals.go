package correlate

// principalSet is the principals one identity was seen with and when (event
// time), for the hub guard. Most identities have a few, kept in a slice;
// a hub's grow into a map.
type principalSet struct {
	small []principalSpan
	big   map[IdentityID]span // once there are more than maxSmallPrincipals
}

type principalSpan struct {
	id   IdentityID
	seen span
}

const maxSmallPrincipals = 32

func (ps *principalSet) len() int {
	if ps.big != nil {
		return len(ps.big)
	}
	return len(ps.small)
}

// add records that principal p was seen with s, as the union with what was
// recorded before.
func (ps *principalSet) add(p IdentityID, s span) {
	if ps.big != nil {
		ps.big[p] = s.union(ps.big[p])
		return
	}
	for i := range ps.small {
		if ps.small[i].id == p {
			ps.small[i].seen = s.union(ps.small[i].seen)
			return
		}
	}
	if len(ps.small) < maxSmallPrincipals {
		ps.small = append(ps.small, principalSpan{p, s.union(span{})})
		return
	}
	ps.big = make(map[IdentityID]span, 2*maxSmallPrincipals)
	for _, x := range ps.small {
		ps.big[x.id] = x.seen
	}
	ps.small = nil
	ps.big[p] = s.union(ps.big[p])
}

// countOver reports whether more than limit principals were seen within
// [lo, hi].
func (ps *principalSet) countOver(lo, hi int64, limit int) bool {
	n := 0
	if ps.big != nil {
		for _, seen := range ps.big {
			if seen.overlaps(lo, hi) {
				if n++; n > limit {
					return true
				}
			}
		}
		return false
	}
	for i := range ps.small {
		if ps.small[i].seen.overlaps(lo, hi) {
			if n++; n > limit {
				return true
			}
		}
	}
	return false
}

// prune forgets the principals last seen before cutoff.
func (ps *principalSet) prune(cutoff int64) {
	if ps.big != nil {
		for p, seen := range ps.big {
			if seen.last < cutoff {
				delete(ps.big, p)
			}
		}
		return
	}
	out := ps.small[:0]
	for _, x := range ps.small {
		if x.seen.last >= cutoff {
			out = append(out, x)
		}
	}
	clear(ps.small[len(out):])
	ps.small = out
}

// merge adds the principals of o.
func (ps *principalSet) merge(o *principalSet) {
	if o.big != nil {
		for p, seen := range o.big {
			ps.add(p, seen)
		}
		return
	}
	for _, x := range o.small {
		ps.add(x.id, x.seen)
	}
}
