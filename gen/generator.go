package gen

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/weftxdr/weft"
)

// Seeds of the independent random streams: changing the noise volume does not
// change the organization or the attacks.
const (
	streamOrg    = 0x6f7267
	streamAttack = 0xa77ac4
	streamNoise  = 0x4e015e
	streamRender = 0x7e4de2
)

// generator produces the alerts of one scenario in event-time order. Attack
// events are planned up front (they are few); noise is made an hour at a time
// and merged with them through a heap.
type generator struct {
	opts       Options
	start, end time.Time
	orgs       []*org
	attacks    []*attack
	atkEvents  []event // sorted by (at, seq)
	ai         int
	noiseR     *rand.Rand
	heap       eventHeap
	seq        uint64
	horizon    int64 // events before it can be emitted
	chunk      int
	nChunks    int
	chunkLen   int64
	weights    []int64 // cumulative noise weight per chunk
	noiseDone  int
	rend       *renderer
	renderSeed uint64
	emitted    uint32
	groups     map[groupKey]*noiseGroup
	nGroups    int
	largestN   int
	largestKey string
	st         Stats
}

func (g *generator) nextSeq() uint64 { g.seq++; return g.seq }

func newGenerator(opts Options) (*generator, error) {
	def := DefaultOptions()
	if opts.Start.IsZero() {
		opts.Start = def.Start
	}
	if opts.Duration == 0 {
		opts.Duration = def.Duration
	}
	if opts.Users == 0 {
		opts.Users = def.Users
	}
	if opts.Devices == 0 {
		opts.Devices = opts.Users + opts.Users/25
	}
	switch {
	case opts.Duration < time.Minute:
		return nil, weft.Errorf(weft.EINVALID, "duration %s is too short; at least 1m", opts.Duration)
	case opts.Attacks < 0 || opts.NoiseAlerts < 0:
		return nil, weft.Errorf(weft.EINVALID, "attacks (%d) and noise alerts (%d) must not be negative", opts.Attacks, opts.NoiseAlerts)
	case opts.Users < 10 || opts.Devices < 10:
		return nil, weft.Errorf(weft.EINVALID, "an organization needs at least 10 users and 10 devices (got %d and %d)", opts.Users, opts.Devices)
	case opts.Users > 1_000_000 || opts.Devices > 1_000_000:
		return nil, weft.Errorf(weft.EINVALID, "at most 1,000,000 users and devices per tenant")
	case len(opts.Tenants) > 10000:
		return nil, weft.Errorf(weft.EINVALID, "at most 10,000 tenants")
	}
	tenants := opts.Tenants
	if len(tenants) == 0 {
		tenants = []string{""}
	}
	for i, t := range tenants {
		if slices.Contains(tenants[:i], t) {
			return nil, weft.Errorf(weft.EINVALID, "tenant %q is listed twice", t)
		}
	}
	var eligible []*template
	for i := range templates {
		t := &templates[i]
		if (len(opts.Templates) == 0 || slices.Contains(opts.Templates, t.name)) && t.minDur <= opts.Duration {
			eligible = append(eligible, t)
		}
	}
	for _, n := range opts.Templates {
		if !slices.Contains(TemplateNames(), n) {
			return nil, weft.Errorf(weft.EINVALID, "unknown attack template %q; known: %v", n, TemplateNames())
		}
	}
	if opts.Attacks > 0 && len(eligible) == 0 && !(opts.Attacks == 1 && opts.Showcase && opts.Duration >= templates[0].minDur) {
		return nil, weft.Errorf(weft.EINVALID, "no attack template fits in %s", opts.Duration)
	}

	g := &generator{
		opts:       opts,
		end:        opts.Start.UTC(),
		start:      opts.Start.UTC().Add(-opts.Duration),
		noiseR:     rand.New(rand.NewPCG(uint64(opts.Seed), streamNoise)),
		rend:       newRenderer(),
		renderSeed: uint64(opts.Seed) ^ streamRender,
		groups:     map[groupKey]*noiseGroup{},
		st:         Stats{AlertsPerTemplate: map[string]int{}, AttacksPerTemplate: map[string]int{}},
	}
	for i, t := range tenants {
		r := rand.New(rand.NewPCG(uint64(opts.Seed), streamOrg+uint64(i)<<32))
		g.orgs = append(g.orgs, newOrg(r, i, t, opts.Users, opts.Devices, g.start))
	}
	g.planAttacks(eligible)

	g.chunkLen = int64(min(time.Hour, opts.Duration))
	g.nChunks = int((int64(opts.Duration) + g.chunkLen - 1) / g.chunkLen)
	g.weights = make([]int64, g.nChunks)
	var sum int64
	for i := range g.nChunks {
		sum += hourWeight(g.start.Add(time.Duration(int64(i) * g.chunkLen)))
		g.weights[i] = sum
	}
	return g, nil
}

// planAttacks plans every attack and sorts their events by time.
func (g *generator) planAttacks(eligible []*template) {
	r := rand.New(rand.NewPCG(uint64(g.opts.Seed), streamAttack))
	uses := make([]usage, len(g.orgs))
	for i := range uses {
		uses[i] = usage{users: map[int32]int{}, devices: map[int32]int{}}
	}
	// Templates are dealt from a deck with each template's weight in cards,
	// one of each on top, so that even a few attacks are a mix of them.
	var deck []*template
	window := g.end.Sub(g.start)
	var prevStart int64
	for i := range g.opts.Attacks {
		var t *template
		full := false
		if i == 0 && g.opts.Showcase && window >= templates[0].minDur {
			t, full = &templates[0], true
		} else if len(eligible) > 0 {
			if len(deck) == 0 { // one of each first, then the rest by weight
				var rest []*template
				for _, e := range eligible {
					deck = append(deck, e)
					for range e.weight/5 - 1 {
						rest = append(rest, e)
					}
				}
				r.Shuffle(len(deck), func(i, j int) { deck[i], deck[j] = deck[j], deck[i] })
				r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
				deck = append(deck, rest...)
			}
			t, deck = deck[0], deck[1:]
		} else {
			break
		}
		tenant := i % len(g.orgs)
		o := g.orgs[tenant]
		a := newAttack(r, attackKey(i), t.name, tenant)
		p := &planner{r: r, o: o, a: a, atk: int32(i), tenant: uint16(tenant), full: full, window: window, uses: &uses[tenant]}
		t.plan(p)

		var span int64
		for _, e := range p.evs {
			span = max(span, e.at+int64(e.span)*int64(time.Second))
		}
		if limit := int64(window) * 95 / 100; span > limit { // squeeze an attack that does not fit
			for j := range p.evs {
				p.evs[j].at = int64(float64(p.evs[j].at) * float64(limit) / float64(span))
				p.evs[j].span = int32(int64(p.evs[j].span) * limit / span)
			}
			span = limit
		}
		room := max(int64(window)-span-int64(time.Minute), 1)
		start := g.start.UnixNano() + r.Int64N(room)
		if i%5 == 4 { // overlap with the previous attack
			start = min(max(prevStart+r.Int64N(int64(3*time.Hour))-int64(90*time.Minute), g.start.UnixNano()), g.start.UnixNano()+room-1)
		}
		start -= start % int64(time.Millisecond)
		prevStart = start
		for _, e := range p.evs {
			e.at += start + r.Int64N(int64(time.Millisecond)) // to the 100 ns, like the noise
			e.at -= e.at % 100
			e.delay = lateDelay(r, detectors[e.det].src)
			e.seq = g.nextSeq()
			g.atkEvents = append(g.atkEvents, e)
		}
		g.attacks = append(g.attacks, a)
		g.st.AttacksPerTemplate[t.name]++
	}
	slices.SortFunc(g.atkEvents, func(a, b event) int {
		if a.at != b.at {
			return cmpInt64(a.at, b.at)
		}
		return cmpInt64(int64(a.seq), int64(b.seq))
	})
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// next returns the next alert in event-time order.
func (g *generator) next() (Record, bool) {
	for {
		if g.heap.len() > 0 && g.heap.min().at < g.horizon {
			e := g.heap.pop()
			return g.emit(&e), true
		}
		if g.chunk < g.nChunks {
			g.fill()
			continue
		}
		if g.heap.len() == 0 {
			return Record{}, false
		}
		g.horizon = math.MaxInt64
	}
}

// fill makes the noise of the next chunk and moves the attack events before
// its end onto the heap. Everything made later is at or after that end, so
// the heap may then be emitted up to it.
func (g *generator) fill() {
	i := g.chunk
	g.chunk++
	lo := g.start.UnixNano() + int64(i)*g.chunkLen
	hi := min(lo+g.chunkLen, g.end.UnixNano())
	total := g.weights[g.nChunks-1]
	want := int(int64(g.opts.NoiseAlerts) * g.weights[i] / total)
	if i == g.nChunks-1 {
		want = g.opts.NoiseAlerts
	}
	g.noiseChunk(lo, hi, want-g.noiseDone)
	g.noiseDone = want
	for g.ai < len(g.atkEvents) && g.atkEvents[g.ai].at < hi {
		g.heap.push(g.atkEvents[g.ai])
		g.ai++
	}
	g.horizon = hi
	if i == g.nChunks-1 {
		g.horizon = math.MaxInt64
	}
}

// emit renders e and accounts for it.
func (g *generator) emit(e *event) Record {
	o := g.orgs[e.tenant]
	var a *attack
	if e.atk >= 0 {
		a = g.attacks[e.atk]
	}
	id := g.rend.render(e, o, a, g.emitted, g.renderSeed, g.end)
	g.emitted++
	rec := Record{JSON: g.rend.w.b, ID: id, TenantID: o.tenant, Time: time.Unix(0, e.at).UTC()}
	var n int
	if a != nil {
		a.alerts++
		n = a.alerts
		rec.IncidentKey, rec.Template = a.key, a.tmpl
		g.st.AttackAlerts++
	} else {
		var gid int
		gid, n = g.noiseKey(e)
		rec.IncidentKey, rec.Template = "noise-"+strconv.Itoa(gid), "noise"
		g.st.NoiseAlerts++
	}
	if n > g.largestN || (n == g.largestN && rec.IncidentKey < g.largestKey) {
		g.largestN, g.largestKey = n, rec.IncidentKey
	}
	g.st.Alerts++
	g.st.AlertsPerTemplate[rec.Template]++
	g.st.Bytes += int64(len(rec.JSON)) + 1
	if g.st.Alerts == 1 {
		g.st.First = rec.Time
	}
	g.st.Last = rec.Time
	return rec
}

func (g *generator) stats() Stats {
	st := g.st
	st.Attacks = len(g.attacks)
	st.NoiseIncidents = g.nGroups
	for _, a := range g.attacks {
		if a.alerts > 0 {
			st.Incidents++
		}
	}
	st.Incidents += g.nGroups
	st.LargestIncident, st.LargestIncidentAlerts = g.largestKey, g.largestN
	return st
}

// eventHeap is a min-heap of events by (at, seq), typed to avoid boxing.
type eventHeap struct{ s []event }

func (h *eventHeap) len() int    { return len(h.s) }
func (h *eventHeap) min() *event { return &h.s[0] }

func (h *eventHeap) less(i, j int) bool {
	a, b := &h.s[i], &h.s[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (h *eventHeap) push(e event) {
	h.s = append(h.s, e)
	for i := len(h.s) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.s[i], h.s[p] = h.s[p], h.s[i]
		i = p
	}
}

func (h *eventHeap) pop() event {
	top := h.s[0]
	n := len(h.s) - 1
	h.s[0] = h.s[n]
	h.s = h.s[:n]
	for i := 0; ; {
		l, c := 2*i+1, i
		if l < n && h.less(l, c) {
			c = l
		}
		if l+1 < n && h.less(l+1, c) {
			c = l + 1
		}
		if c == i {
			break
		}
		h.s[i], h.s[c] = h.s[c], h.s[i]
		i = c
	}
	return top
}
