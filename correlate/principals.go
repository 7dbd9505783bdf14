package correlate

// principalSet is the principals one identity was seen with and when (event
// time), for the hub guard. The principals are in one slice, in no
// particular order, so that the hub guard's count walks contiguous memory;
// a hub's set (more than maxSmallPrincipals) also keeps an index from
// principal to its place in the slice, so that add stays O(1).
//
// The slice is split in two: list[:old] holds only principals last seen
// before cut, list[old:] any. The hub guard counts the principals seen
// within a window that most often starts after cut, and then skips the
// first part: without it, a busy identity's count walked every principal
// it met since the last prune (up to a day and more of them, prune running
// every few thousand alerts) to find the few in the window, a fifth of the
// engine's instructions (docs/benchmarks.md, session 8). The count sees the
// same principals either way; the split only tells which cannot be among
// them.
//
// A set of up to two principals, as most are (an identity meets a device
// and a user), keeps them in the set itself (small), which list then
// refers to: the identity's entry holds them, and reading them costs no
// cache line of their own. A set must therefore not be copied while it
// holds any.
type principalSet struct {
	list  []principalSpan
	at    principalIndex // once there are more than maxSmallPrincipals
	old   int            // list[:old] were all last seen before cut
	cut   int64
	small [2]principalSpan
}

// principalIndex maps principals to their places in principalSet.list: an
// open-addressing hash table with linear probing, a slot holding the
// principal (never 0) in its upper half and the place in its lower half,
// 0 for an empty slot. It is rebuilt, never deleted from, and kept at most
// half full.
type principalIndex []uint64

// home returns the slot where the search for principal p starts.
func (x principalIndex) home(p IdentityID) uint64 {
	return (uint64(p) * 0x9e3779b97f4a7c15 >> 32) & uint64(len(x)-1)
}

// slot returns where principal p is, or the empty slot where it would go.
func (x principalIndex) slot(p IdentityID) int {
	mask := uint64(len(x) - 1)
	for k := x.home(p); ; k = (k + 1) & mask {
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
			i := int(uint32(v))
			ps.list[i].seen = s.union(ps.list[i].seen)
			ps.recent(i)
			return
		}
		ps.list = append(ps.list, principalSpan{p, s.union(span{})})
		if 2*len(ps.list) > len(ps.at) {
			ps.index()
		} else {
			ps.at[k] = uint64(p)<<32 | uint64(len(ps.list)-1)
		}
		ps.placeNew()
		return
	}
	for i := range ps.list {
		if ps.list[i].id == p {
			ps.list[i].seen = s.union(ps.list[i].seen)
			ps.recent(i)
			return
		}
	}
	if ps.list == nil {
		ps.list = ps.small[:0]
	}
	ps.list = append(ps.list, principalSpan{p, s.union(span{})})
	if len(ps.list) > maxSmallPrincipals {
		ps.index()
	}
	ps.placeNew()
}

// recent moves principal list[i], just seen again, out of the first part
// if it no longer belongs there.
func (ps *principalSet) recent(i int) {
	if i < ps.old && ps.list[i].seen.last >= ps.cut {
		ps.old--
		ps.swap(i, ps.old)
	}
}

// placeNew moves the principal just appended into the first part if it
// belongs there (a late alert's).
func (ps *principalSet) placeNew() {
	if i := len(ps.list) - 1; ps.list[i].seen.last < ps.cut {
		ps.swap(i, ps.old)
		ps.old++
	}
}

// swap exchanges list[i] and list[j], and their places in the index.
func (ps *principalSet) swap(i, j int) {
	if i == j {
		return
	}
	ps.list[i], ps.list[j] = ps.list[j], ps.list[i]
	if ps.at != nil {
		ps.at[ps.at.slot(ps.list[i].id)] = uint64(ps.list[i].id)<<32 | uint64(i)
		ps.at[ps.at.slot(ps.list[j].id)] = uint64(ps.list[j].id)<<32 | uint64(j)
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
	after := lo >= ps.cut // the window starts after the first part's principals were last seen
	from := 0
	if after {
		from = ps.old
	}
	n, stale := 0, 0
	over := false
	for i := from; i < len(ps.list); i++ {
		if ps.list[i].seen.overlaps(lo, hi) {
			if n++; n > limit {
				over = true
				break
			}
		} else if ps.list[i].seen.last < lo {
			stale++
		}
	}
	// Many principals counted in vain: move those last seen before lo
	// into the first part, so that the next count skips them. The cost is
	// one pass like this one, and later counts save it many times over.
	if after && stale > 8 && stale > n {
		ps.split(lo)
	}
	return over
}

// split makes cut, which must not be before the current one, the new
// boundary between the two parts.
func (ps *principalSet) split(cut int64) {
	ps.cut = cut
	for i := ps.old; i < len(ps.list); i++ {
		if ps.list[i].seen.last < cut {
			ps.swap(i, ps.old)
			ps.old++
		}
	}
}

// prune forgets the principals last seen before cutoff. The kept ones keep
// their order, and so their part.
func (ps *principalSet) prune(cutoff int64) {
	out := ps.list[:0]
	old := 0
	for i, x := range ps.list {
		if x.seen.last >= cutoff {
			out = append(out, x)
			if i < ps.old {
				old++
			}
		}
	}
	if len(out) == len(ps.list) {
		return
	}
	clear(ps.list[len(out):])
	ps.list, ps.old = out, old
	switch {
	case len(out) == 0 && cap(out) <= maxSparePrincipals:
		// Keep a small array, as forget does for a spare entry: the
		// identity most often meets principals again before prune forgets
		// it. (Up to two are held in the set itself, and cost no
		// allocation either way.)
		ps.at, ps.old = nil, 0
	case len(out) == 0:
		ps.list, ps.at, ps.old = nil, nil, 0
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
