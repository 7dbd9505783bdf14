package correlate

// incidentTable holds a tenant's incident states by incident id. It is an
// open-addressing hash table with linear probing, rather than a Go map, for
// where it puts ids: ids are handed out in increasing order, and the table
// keeps each run of four consecutive ids in consecutive slots of one cache
// line, so that most new incidents are written to the line the one before
// was, and prune's sweep reads the slots in order. (A Go map put each new
// incident in a line of its own, one cache miss an alert.) It is at most
// half full; delete shifts back the slots after it, so there are no
// tombstones.
type incidentTable struct {
	slots []incidentSlot
	n     int
	// marks has a bit for each slot, which prune sets for the incidents
	// it keeps (mark).
	marks []uint64
}

// incidentSlot is one slot; a nil inc marks it empty.
type incidentSlot struct {
	id  int64
	inc *incidentState
}

// minIncidentSlots is an incidentTable's smallest size; a power of two, and
// at least 4.
const minIncidentSlots = 64

// home returns the slot where id's probe starts: ids that differ only in
// their lowest two bits go to consecutive slots of one block of four, and
// blocks are spread over the table by a multiplicative hash.
func (x *incidentTable) home(id int64) int {
	b := uint64(id) >> 2 * 0x9e3779b97f4a7c15
	return int(b>>32<<2|uint64(id)&3) & (len(x.slots) - 1)
}

// get returns the state of incident id, or nil.
func (x *incidentTable) get(id int64) *incidentState {
	if i := x.find(id); i >= 0 {
		return x.slots[i].inc
	}
	return nil
}

// find returns the slot of incident id, or -1.
func (x *incidentTable) find(id int64) int {
	if len(x.slots) == 0 {
		return -1
	}
	mask := len(x.slots) - 1
	for i := x.home(id); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.inc == nil {
			return -1
		}
		if s.id == id {
			return i
		}
	}
}

// clearMarks clears the marks of every incident.
func (x *incidentTable) clearMarks() {
	n := (len(x.slots) + 63) / 64
	if cap(x.marks) < n {
		x.marks = make([]uint64, n)
	}
	x.marks = x.marks[:n]
	clear(x.marks)
}

// mark marks incident id, and reports whether it was not marked yet and
// whether the table holds it. The marks hold until the table changes.
func (x *incidentTable) mark(id int64) (newly, held bool) {
	i := x.find(id)
	if i < 0 {
		return false, false
	}
	newly = !x.markedAt(i)
	x.marks[i/64] |= 1 << (i % 64)
	return newly, true
}

// marked reports whether incident id is held and marked.
func (x *incidentTable) marked(id int64) bool {
	i := x.find(id)
	return i >= 0 && x.markedAt(i)
}

// markedAt reports whether slot i is marked.
func (x *incidentTable) markedAt(i int) bool {
	return i/64 < len(x.marks) && x.marks[i/64]&(1<<(i%64)) != 0
}

// put makes inc the state of incident id.
func (x *incidentTable) put(id int64, inc *incidentState) {
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(minIncidentSlots, 2*len(x.slots)))
	}
	x.insert(id, inc)
}

// insert puts inc at id, with room for it.
func (x *incidentTable) insert(id int64, inc *incidentState) {
	mask := len(x.slots) - 1
	for i := x.home(id); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.inc == nil {
			s.id, s.inc = id, inc
			x.n++
			return
		}
		if s.id == id {
			s.inc = inc
			return
		}
	}
}

// delete removes incident id, if held, and moves back the slots of its
// probe run that may then be reached sooner (Knuth's algorithm R for
// linear probing), so that no lookup stops at the gap too early.
func (x *incidentTable) delete(id int64) {
	i := x.find(id)
	if i < 0 {
		return
	}
	mask := len(x.slots) - 1
	x.slots[i] = incidentSlot{}
	x.n--
	for j := (i + 1) & mask; x.slots[j].inc != nil; j = (j + 1) & mask {
		// Slot j's entry may move to the gap at i unless its home lies
		// cyclically in (i, j].
		k := x.home(x.slots[j].id)
		if i <= j {
			if i < k && k <= j {
				continue
			}
		} else if i < k || k <= j {
			continue
		}
		x.slots[i], x.slots[j] = x.slots[j], incidentSlot{}
		i = j
	}
}

// resize moves the incidents into a table of size slots (a power of two,
// at least twice the incidents).
func (x *incidentTable) resize(size int) {
	old := x.slots
	x.slots, x.n = make([]incidentSlot, size), 0
	for i := range old {
		if old[i].inc != nil {
			x.insert(old[i].id, old[i].inc)
		}
	}
}

// len returns the number of incidents held.
func (x *incidentTable) len() int { return x.n }

// each calls f with each incident.
func (x *incidentTable) each(f func(id int64, inc *incidentState)) {
	for i := range x.slots {
		if s := &x.slots[i]; s.inc != nil {
			f(s.id, s.inc)
		}
	}
}

// filter keeps the incidents for which keep returns true. keep is told
// whether the incident is marked (mark); the marks do not survive filter.
// The table is rebuilt in place, and halved while at most a thirty-second
// of it would be full: a table that fills between prunes and empties at
// each keeps its size instead of being reallocated every time, and one a
// burst left large shrinks back, so that it stays bounded by the most the
// windows held.
func (x *incidentTable) filter(keep func(id int64, inc *incidentState, marked bool) bool) {
	if len(x.slots) == 0 {
		return
	}
	// A slot empty before the drops: no probe run crosses it.
	start := 0
	for x.slots[start].inc != nil {
		start++
	}
	kept := 0
	for i := range x.slots {
		if s := &x.slots[i]; s.inc != nil && keep(s.id, s.inc, x.markedAt(i)) {
			kept++
		} else {
			*s = incidentSlot{}
		}
	}
	if size := shrunk(len(x.slots), kept, minIncidentSlots); size < len(x.slots) {
		x.resize(size)
		return
	}
	// Each kept incident is put back as if inserted anew, in order from
	// start, so that it moves into the gaps the drops left in its probe
	// run: a lookup stops at the first empty slot. A run that does not
	// cross start is rebuilt from its first slot on, and moving back
	// within it never empties a slot before one already put back.
	x.n = kept
	mask := len(x.slots) - 1
	for k := 1; k <= len(x.slots); k++ {
		i := (start + k) & mask
		if s := x.slots[i]; s.inc != nil {
			x.slots[i] = incidentSlot{}
			x.n--
			x.insert(s.id, s.inc)
		}
	}
}

// shrunk returns the size a table of size slots holding kept entries is
// halved to, down to least.
func shrunk(size, kept, least int) int {
	for size > least && 32*kept < size {
		size /= 2
	}
	return size
}
