package correlate

// principalSet is the principals one identity was seen with and when (event
// time), for the hub guard. The principals are in one slice, in no
// particular order, so that the hub guard's count walks contiguous memory;
// a hub's set (more than maxSmallPrincipals) also keeps an index from
// principal to its place in the slice, so that add stays O(1).
type principalSet struct {
	list []principalSpan
	at   principalIndex // once there are more than maxSmallPrincipals
}

// principalIndex maps principals to their places in principalSet.list: an
// open-addressing hash table with linear probing, a slot holding the
// principal (never 0) in its upper half and the place in its lower half,
// 0 for an empty slot. It is rebuilt, never deleted from, and kept at most
// half full.
type principalIndex []uint64

// slot returns where principal p is, or the empty slot where it would go.
func (x principalIndex) slot(p IdentityID) int {
	mask := uint64(len(x) - 1)
	for k := (uint64(p) * 0x9e3779b97f4a7c15 >> 32) & mask; ; k = (k + 1) & mask {
		if x[k] == 0 || IdentityID(x[k]>>32) == p {
			return int(k)
		}
	}
}

type principalSpan struct {
	id   IdentityID
	seen span
}

const maxSmallPrincipals = 32

func (ps *principalSet) len() int { return len(ps.list) }

// add records that principal p was seen with s, as the union with what was
// recorded before.
func (ps *principalSet) add(p IdentityID, s span) {
	if ps.at != nil {
		k := ps.at.slot(p)
		if v := ps.at[k]; v != 0 {
			i := uint32(v)
			ps.list[i].seen = s.union(ps.list[i].seen)
			return
		}
		ps.list = append(ps.list, principalSpan{p, s.union(span{})})
		if 2*len(ps.list) > len(ps.at) {
			ps.index()
		} else {
			ps.at[k] = uint64(p)<<32 | uint64(len(ps.list)-1)
		}
		return
	}
	for i := range ps.list {
		if ps.list[i].id == p {
			ps.list[i].seen = s.union(ps.list[i].seen)
			return
		}
	}
	if ps.list == nil {
		ps.list = make([]principalSpan, 0, 2) // most identities meet a device and a user
	}
	ps.list = append(ps.list, principalSpan{p, s.union(span{})})
	if len(ps.list) > maxSmallPrincipals {
		ps.index()
	}
}

// index builds the index of a large set, with room to grow to twice its
// size. After a prune it keeps the table it has unless that is more than
// four times too large, so that a hub whose principals come and go does
// not allocate a table each time.
func (ps *principalSet) index() {
	n := 16
	for n < 4*len(ps.list) {
		n *= 2
	}
	if len(ps.at) >= n && len(ps.at) <= 4*n {
		clear(ps.at)
	} else {
		ps.at = make(principalIndex, n)
	}
	for i, x := range ps.list {
		ps.at[ps.at.slot(x.id)] = uint64(x.id)<<32 | uint64(i)
	}
}

// countOver reports whether more than limit principals were seen within
// [lo, hi].
func (ps *principalSet) countOver(lo, hi int64, limit int) bool {
	n := 0
	for i := range ps.list {
		if ps.list[i].seen.overlaps(lo, hi) {
			if n++; n > limit {
				return true
			}
		}
	}
	return false
}

// prune forgets the principals last seen before cutoff.
func (ps *principalSet) prune(cutoff int64) {
	out := ps.list[:0]
	for _, x := range ps.list {
		if x.seen.last >= cutoff {
			out = append(out, x)
		}
	}
	if len(out) == len(ps.list) {
		return
	}
	clear(ps.list[len(out):])
	ps.list = out
	switch {
	case len(out) == 0:
		ps.list, ps.at = nil, nil
	case len(out) <= maxSmallPrincipals:
		ps.at = nil
	case ps.at != nil:
		ps.index()
	}
}

// merge adds the principals of o.
func (ps *principalSet) merge(o *principalSet) {
	for _, x := range o.list {
		ps.add(x.id, x.seen)
	}
}
