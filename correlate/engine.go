package correlate

import (
	"cmp"
	"slices"
	"time"

	"github.com/weftxdr/weft"
)

// Engine places alerts into incidents by the rules of docs/correlation.md:
// alerts that share a linkable identity within its window are linked, and an
// incident is a connected component of those links, cut by blockers and the
// size cap.
//
// Invariants, each held by a test in engine_test.go:
//   - every placed alert is in exactly one open incident, and no incident
//     exceeds Config.MaxIncidentAlerts;
//   - tenants share nothing;
//   - a resolved incident never receives an alert: it becomes related;
//   - incidents are merged only when no blocker holds (different assignee,
//     classification or determination, an analyst's split, the cap);
//   - a hub identity (seen with more than HubThreshold principals in its
//     window) creates no link, so it cannot join unrelated attacks;
//   - without threshold effects (hubs, cap, blockers), the partition does not
//     depend on the order in which alerts arrive.
//
// The engine does no I/O and reads no clock: time is the alerts' event time.
// It is not safe for concurrent use; the ingest writer owns it.
type Engine struct {
	def      *policy            // the policy of tenants without one of their own
	policies map[string]*policy // tenants' own policies (SetPolicy)
	ids      *Identities
	tenants  map[string]*tenantState
	last     *tenantState // the tenant asked for last (tenant)
	scratch  scratch
	ahead    ahead // the alerts to read ahead (Ahead)
	// sightings keeps the arrays of sightings the tenants' entries let
	// go, for any tenant's to use again (sightingPool).
	sightings sightingPool
}

// policy is a validated Config with its exclusions compiled.
type policy struct {
	cfg Config
	xs  exclusions
}

func newPolicy(cfg Config) (*policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	xs, err := compileExclusions(cfg.Exclusions)
	if err != nil {
		return nil, err
	}
	return &policy{cfg: cfg, xs: xs}, nil
}

// New returns an engine with the policy cfg.
func New(cfg Config) (*Engine, error) {
	def, err := newPolicy(cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{def: def, policies: map[string]*policy{}}
	e.Reset()
	return e, nil
}

// SetPolicy gives a tenant a policy of its own, or with nil the default
// policy again. It applies from the tenant's next alert; links already made
// stay. A policy with longer windows than the tenant had sees only what the
// engine still remembers: rebuild the engine (Reset, then Restore from the
// store over the new Window) to apply it to the past.
func (e *Engine) SetPolicy(tenantID string, cfg *Config) error {
	if cfg == nil {
		delete(e.policies, tenantID)
		if t := e.tenants[tenantID]; t != nil {
			t.pol = e.def
		}
		return nil
	}
	p, err := newPolicy(*cfg)
	if err != nil {
		return err
	}
	e.policies[tenantID] = p
	if t := e.tenants[tenantID]; t != nil {
		t.pol = p
	}
	return nil
}

// Policy returns the policy the engine applies to a tenant.
func (e *Engine) Policy(tenantID string) Config {
	if p := e.policies[tenantID]; p != nil {
		return p.cfg
	}
	return e.def.cfg
}

// Reset forgets everything it learnt from alerts, before a rebuild from the
// store; policies stay.
func (e *Engine) Reset() {
	e.ids = NewIdentities()
	e.ids.OnMerge = e.identityMerged
	e.tenants = map[string]*tenantState{}
	e.last = nil
	e.sightings = sightingPool{}
	e.Ahead(nil)
}

// Window is how far back in event time, from the newest alert, stored alerts
// must be restored (Restore) for the engine to decide as an uninterrupted
// run would: the longest link window.
func (e *Engine) Window() time.Duration {
	w := e.def.cfg.maxWindow()
	for _, p := range e.policies {
		w = max(w, p.cfg.maxWindow())
	}
	return w
}

// identityMerged moves what the engine remembers of identity from to the
// identity it became part of, so that alerts seen under either name meet.
func (e *Engine) identityMerged(tenantID string, from, to IdentityID) {
	t := e.tenant(tenantID)
	src := t.index.get(from)
	if src == nil {
		return
	}
	t.index.remove(from)
	dst := t.index.get(to)
	if dst == nil {
		t.index.put(to, src)
		return
	}
	// src's sightings are copied into dst's array, or into a new one:
	// neither entry's sightings are the tail of a whole array after
	// (entry.hub). src's goes to the pool once they are copied.
	if src.hub {
		src.hub = false
		defer t.sightings.put(hubArray(src.sightings))
	}
	dst.hub = false
	dst.strength = max(dst.strength, src.strength)
	dst.private = dst.private && src.private
	dst.sightings = append(dst.sightings, src.sightings...)
	if len(dst.sightings) > maxSightings {
		slices.SortFunc(dst.sightings, func(x, y sighting) int { return cmp.Compare(x.last, y.last) })
		dst.sightings = slices.Delete(dst.sightings, 0, len(dst.sightings)-maxSightings)
	}
	dst.principals.merge(&src.principals)
	dst.newest = max(dst.newest, src.newest)
}

// Placement is where the engine put one alert, and why (weft.Placement).
type Placement = weft.Placement

// IncidentState is what the engine's blockers depend on (weft.IncidentState).
type IncidentState = weft.IncidentState

var (
	_ weft.Correlator = (*Engine)(nil)
	_ weft.ReadAhead  = (*Engine)(nil)
)

// tenantState is one tenant's share of the engine.
type tenantState struct {
	id        string
	pol       *policy
	ids       *tenantIdentities // the tenant's identities in Engine.ids
	index     entryIndex
	incidents incidentTable
	// slab and free hold incidentStates for create: most incidents of a
	// stream have one alert, so one allocation per incident would be most
	// of the engine's; prune puts the incidents it forgets in free.
	slab      []incidentState
	free      []*incidentState
	spare     []*entry        // entries prune removed, for entry to use again (forget)
	sightings *sightingPool   // the engine's (Engine.sightings)
	redirect  map[int64]int64 // merged incident → the one it went into
	next      map[int64]int64 // full incident → its continuation
	repeats   repeatTable
	alerts    alertTable            // the alerts sightings refer to
	detectors map[string]detectorID // detectors by name (detectorOf); prune forgets those no state refers to
	lastDet   detectorID            // the newest detector number
	nextGroup int64                 // the id of the newest repeat group
	// pruned is set by the first prune; liveAfterPrune is the number of
	// identities the index held after the last one (NeedsRebuild).
	pruned         bool
	liveAfterPrune int
	watermark      int64 // the latest event time placed (unix ns)
	placed         int   // alerts placed since the last prune
}

// entry is what the engine remembers of one identity: the alerts that
// carried it recently, and the principals it was seen with.
type entry struct {
	strength   Strength
	sightings  []sighting
	principals principalSet // principal → when seen together (event time)
	private    bool         // a private, loopback or link-local address
	// hub says that the sightings are the tail of an array of
	// 2·maxSightings that record cuts them from the front of (hubArray),
	// so that when the cut reaches its end they move back to its start
	// instead of to a new array (growSightings).
	hub bool
	pos int32 // its place in entryIndex.live
	// newest bounds from above the last activity of its sightings and the
	// last time its principals were seen (unix ns): when it is before
	// prune's cutoff, prune forgets the entry without reading them. It
	// is 0 for an entry that has had neither. record sets it, for the
	// principals seen added too (they come with a sighting), and
	// identityMerged carries it over.
	newest int64
}

// sighting is one alert that carried an identity. It holds no pointers,
// so that the collector need not scan the sightings of every identity in
// the windows, and is kept small (56 bytes): an identity keeps up to
// maxSightings of them.
type sighting struct {
	first, last int64 // the alert's activity, unix ns
	incident    int64
	group       int64      // the alert's repeat group, 0 if none
	alert       alertSeq   // the alert, in tenantState.alerts
	detector    detectorID // the alert's detector, in tenantState.detectors
	device      IdentityID // the alert's first device, for lateral movement
	severity    int8       // weft.Severity.Rank
	routine     bool       // the alert's detector is routine for this principal: it links through it no more
}

// detectorID numbers a tenant's detectors (tenantState.detector).
type detectorID uint32

// detector returns the number of the detector named name, numbering it
// if it is new. A name no sighting or repeat group refers to any more is
// forgotten by prune (a source without detector ids is named by its
// titles, which may be many); its number is never given again.
func (t *tenantState) detector(name string) detectorID {
	d, ok := t.detectors[name]
	if !ok {
		t.lastDet++
		d = t.lastDet
		t.detectors[name] = d
	}
	return d
}

// alertSeq numbers the alerts of a tenant in the order the engine indexed
// them.
type alertSeq uint64

// alertTable holds the ids of the alerts that sightings refer to, by
// their alertSeq; prune forgets those no sighting refers to any more. The
// ids are held in chunks of alertChunk, and a chunk whose ids are all
// forgotten is kept to be filled again: in a steady stream the table
// allocates nothing, where one slice grown by append and copied at each
// prune was a sixth of the engine's allocations (docs/benchmarks.md,
// session 13).
type alertTable struct {
	base   alertSeq   // the seq of chunks[0][0]
	lo     alertSeq   // the oldest seq not forgotten
	chunks [][]string // full chunks, then the one being filled
	spare  [][]string // emptied chunks, for add
}

// alertChunk is the number of ids in a chunk of an alertTable (64 KB of
// string headers), and maxSpareAlertChunks the emptied chunks it keeps.
const (
	alertChunk          = 4096
	maxSpareAlertChunks = 8
)

// add numbers alert id.
func (at *alertTable) add(id string) alertSeq {
	n := len(at.chunks)
	if n == 0 || len(at.chunks[n-1]) == alertChunk {
		var c []string
		if k := len(at.spare); k > 0 {
			c, at.spare = at.spare[k-1], at.spare[:k-1]
		} else {
			c = make([]string, 0, alertChunk)
		}
		at.chunks = append(at.chunks, c)
		n++
	}
	last := &at.chunks[n-1]
	*last = append(*last, id)
	return at.base + alertSeq((n-1)*alertChunk+len(*last)-1)
}

// id returns the id of alert seq, which must not have been forgotten.
func (at *alertTable) id(seq alertSeq) string {
	i := int(seq - at.base)
	return at.chunks[i/alertChunk][i%alertChunk]
}

// next returns the seq the next alert will get.
func (at *alertTable) next() alertSeq {
	n := len(at.chunks)
	if n == 0 {
		return at.base
	}
	return at.base + alertSeq((n-1)*alertChunk+len(at.chunks[n-1]))
}

// held returns the number of ids not forgotten.
func (at *alertTable) held() int { return int(at.next() - at.lo) }

// forgetBefore forgets the alerts numbered below seq, which must not be
// after next. The strings of forgotten ids are let go at once; a chunk is
// emptied when all of its ids are forgotten.
func (at *alertTable) forgetBefore(seq alertSeq) {
	for at.lo < seq {
		c := at.chunks[0]
		i := int(at.lo - at.base)
		end := min(len(c), i+int(seq-at.lo))
		clear(c[i:end])
		at.lo = at.base + alertSeq(end)
		if end < alertChunk {
			return // the chunk being filled
		}
		if len(at.spare) < maxSpareAlertChunks {
			at.spare = append(at.spare, c[:0])
		}
		at.chunks[0] = nil
		at.chunks = at.chunks[1:]
		at.base += alertChunk
	}
}

// incidentState is what blockers need to know of an incident.
type incidentState struct {
	id             int64
	size           int
	status         weft.IncidentStatus
	assignedTo     string
	classification weft.Classification
	determination  weft.Determination
	apart          map[int64]bool // incidents an analyst split from this one
}

// SetIncident records the current state of an incident (after an analyst's
// change, or at start-up). Unknown incidents are added with no alerts.
func (e *Engine) SetIncident(tenantID string, s IncidentState) {
	t := e.tenant(tenantID)
	inc := t.incidents.get(t.resolve(s.ID))
	if inc == nil {
		inc = t.create(s.ID)
	}
	inc.status, inc.assignedTo, inc.classification, inc.determination = s.Status, s.AssignedTo, s.Classification, s.Determination
	if s.AlertCount > 0 {
		inc.size = s.AlertCount
	}
	for _, other := range s.Apart {
		t.keepApart(inc.id, other)
	}
}

func (e *Engine) tenant(id string) *tenantState {
	if e.last != nil && e.last.id == id { // most streams are one tenant's, or runs of one
		return e.last
	}
	t := e.tenants[id]
	if t == nil {
		pol := e.policies[id]
		if pol == nil {
			pol = e.def
		}
		t = &tenantState{
			id:        id,
			pol:       pol,
			ids:       e.ids.tenant(id),
			sightings: &e.sightings,
			redirect:  map[int64]int64{},
			next:      map[int64]int64{},
			detectors: map[string]detectorID{},
		}
		e.tenants[id] = t
	}
	e.last = t
	return t
}

// ref is one linkable identity of the alert being placed. It holds no
// pointers, so that the scratch that holds refs, links and hits costs the
// collector nothing: writing them needs no write barrier.
type ref struct {
	id        IdentityID
	ev        int32 // the evidence it came from, as an index into the alert's Evidence plus one (0: none)
	strength  Strength
	private   bool
	account   bool // a user or mailbox
	principal bool // a device, user or mailbox
}

// evidence returns the evidence record r came from, or nil.
func (r ref) evidence(a *weft.Alert) *weft.Evidence {
	if r.ev == 0 {
		return nil
	}
	return &a.Evidence[r.ev-1]
}

// typ returns the entity type of r's evidence ("" for none).
func (r ref) typ(a *weft.Alert) weft.EntityType {
	if ev := r.evidence(a); ev != nil {
		return ev.EntityType
	}
	return ""
}

// name returns the readable name of r's evidence, for explanations.
func (r ref) name(a *weft.Alert) string {
	if ev := r.evidence(a); ev != nil {
		return ev.Name()
	}
	return ""
}

// link is the best reason found to put the alert in one candidate incident.
type link struct {
	incident int64
	ref      ref
	other    alertSeq // the other alert; unused for a repeat, whose other alert its group names
	gap      time.Duration
	before   bool // the other alert came first in event time
	lateral  bool // the same user on another device
	shared   int  // identities shared with the incident's alerts
	repeat   bool // the same detector on the same host, within the repeat window
	lastRef  int  // the index of the last ref counted in shared
}

// hit is one recent alert, the sighting ens[ref].sightings[s], that shares
// ref refs[ref] with the alert being placed, gap apart.
type hit struct {
	ref, s int32
	gap    int64
}

// scratch is what one placement needs for a moment; the engine keeps it
// to reuse, so that a placement allocates little.
type scratch struct {
	refs       []ref
	ens        []*entry // the index entry of each ref
	principals []IdentityID
	nodes      []uint32      // the identity nodes of one evidence record's identifiers
	evs        []evidenceIDs // the identifiers of the alert's evidence (touch, for an alert not ready)
	known      []uint32      // the nodes of those identifiers, plus one, that touch found (0: look it up)
	hits       []hit
	shared     []alertSeq // the other alerts of hits, sorted, built when needed
	links      []link
	linkIndex  map[int64]int // incident → its link, once there are many
	open       []int32       // indexes of links
	sink       uint64        // what the passes that read ahead read (touch), unused
}

// release drops the scratch's pointers into the alert just placed, so that
// it is not kept alive by it (record drops those into the index).
func (x *scratch) release() {
	clear(x.evs)
}

// linkOf returns the index of the link to incident inc in x.links, or -1.
func (x *scratch) linkOf(inc int64) int {
	if x.linkIndex != nil {
		if k, ok := x.linkIndex[inc]; ok {
			return k
		}
		return -1
	}
	for k := range x.links {
		if x.links[k].incident == inc {
			return k
		}
	}
	return -1
}

// addLink adds a link to an incident that has none yet.
func (x *scratch) addLink(l link) {
	x.links = append(x.links, l)
	if x.linkIndex == nil && len(x.links) > 16 {
		x.linkIndex = make(map[int64]int, 2*len(x.links))
		for k := range x.links {
			x.linkIndex[x.links[k].incident] = k
		}
	} else if x.linkIndex != nil {
		x.linkIndex[l.incident] = len(x.links) - 1
	}
}

// sharedWith reports how many hits are sightings of alert id.
func (x *scratch) sharedWith(id alertSeq) int {
	if len(x.shared) == 0 {
		for _, h := range x.hits {
			x.shared = append(x.shared, x.ens[h.ref].sightings[h.s].alert)
		}
		slices.Sort(x.shared)
	}
	i, found := slices.BinarySearch(x.shared, id)
	if !found {
		return 0
	}
	n := 0
	for ; i < len(x.shared) && x.shared[i] == id; i++ {
		n++
	}
	return n
}

// Place puts a normalized alert into an incident and returns where and why;
// alloc hands out the id of an incident it creates (the store's allocator).
func (e *Engine) Place(a *weft.Alert, alloc func() int64) Placement {
	ready := e.ahead.queue != nil && e.advance(a)
	t := e.tenant(a.TenantID)
	x := &e.scratch
	first, last := a.FirstActivityDateTime.UnixNano(), a.LastActivityDateTime.UnixNano()
	if !ready {
		t.touch(a, x)
	}
	e.ahead.issue(2, 4)
	refs, principals, device, account := e.resolve(t, a, !ready)
	rk := repeatKey{t.detector(detectorOf(a)), cmp.Or(device, account)}
	t.repeats.prefetch(rk) // looked up after seen, by when the slot is in the cache
	e.ahead.issue(3, 4)

	// Prevalence first, so that the decision sees this alert too.
	ens := t.seen(refs, principals, first, x)
	e.ahead.issue(4, 4)

	sev := a.Severity.Rank()
	group := t.nextGroup + 1 // the repeat group a new one would get
	rs := t.repeatOf(rk, first, t.pol.cfg.RepeatWindow)
	g := rs.group()
	if g != nil {
		group = g.id
	}
	routine := e.routine(t, refs, ens, sev, rk.detector, group, first)
	// First pass: which recent alerts share which linkable identities with
	// this one. The hits come in the order of refs. One scan of an
	// identity's sightings both finds its hits and counts its alerts for
	// the noisy guard (linkable's other half); a noisy identity's hits are
	// dropped.
	hits := x.hits[:0]
	noisy := t.pol.cfg.NoisyThreshold
refs:
	for i, r := range refs {
		en := ens[i]
		if routine&(1<<i) != 0 || !t.linkable(en, r, first) {
			continue
		}
		w := t.pol.cfg.window(r.strength).Nanoseconds()
		mark, alerts := len(hits), 0
		for j := range en.sightings {
			s := &en.sightings[j]
			if s.last >= first-w && s.first <= first {
				if alerts++; alerts > noisy {
					hits = hits[:mark]
					continue refs
				}
			}
			gap := max(0, max(first, s.first)-min(last, s.last))
			if gap > w || s.routine {
				continue
			}
			hits = append(hits, hit{int32(i), int32(j), gap})
		}
	}
	x.hits, x.shared = hits, x.shared[:0]
	x.links, x.linkIndex = x.links[:0], nil
	for _, h := range hits {
		r, s, gap := refs[h.ref], &ens[h.ref].sightings[h.s], h.gap
		// Benign alerts (informational, low) never link by co-location
		// alone (one detector's repeats on one host are a repeat group,
		// below); a benign alert and a more severe one link when they
		// share at least two identities (the same user on the same device,
		// say) within BenignWindow. Otherwise benign noise on a busy server or account would
		// chain one incident for days.
		switch {
		case benign(sev) && benign(int(s.severity)):
			continue
		case (benign(sev) || benign(int(s.severity))) && (gap > t.pol.cfg.BenignWindow.Nanoseconds() || x.sharedWith(s.alert) < 2):
			continue
		case min(sev, int(s.severity)) == rankMedium && gap > t.pol.cfg.MediumSeverityWindow.Nanoseconds():
			continue
		}
		sdev := s.device
		if sdev != 0 {
			sdev = t.ids.canonicalID(sdev) // identities may have merged since
		}
		inc := t.resolve(s.incident)
		l := link{incident: inc, ref: r, other: s.alert, gap: time.Duration(gap), before: s.first <= first,
			lateral: r.account && device != 0 && sdev != 0 && sdev != device,
			shared:  1, lastRef: int(h.ref)}
		k := x.linkOf(inc)
		if k < 0 {
			x.addLink(l)
			continue
		}
		// The distinct identities shared with the incident: hits come in
		// the order of refs, so a ref not counted last is new.
		old := &x.links[k]
		if old.lastRef != int(h.ref) {
			old.shared++
			old.lastRef = int(h.ref)
		}
		if betterLink(&l, old) {
			l.shared, l.lastRef = old.shared, old.lastRef
			*old = l
		}
	}
	// A repeat of one detector on one host joins its group's incident
	// whatever the guards say (repeat.go).
	if g != nil {
		inc := t.resolve(g.incident)
		gap := first - g.last
		l := link{incident: inc, gap: time.Duration(max(gap, -gap)), before: g.last <= first, repeat: true, shared: 1}
		if i := slices.IndexFunc(refs, func(r ref) bool { return r.id == rk.anchor }); i >= 0 {
			l.ref = refs[i]
		}
		if k := x.linkOf(inc); k >= 0 {
			l.shared = max(x.links[k].shared, 1)
			x.links[k] = l
		} else {
			x.addLink(l)
		}
	}

	p := Placement{AlertID: a.ID}
	open := x.open[:0]
	links := x.links
	for k := range links {
		l := &links[k]
		if inc := t.incidents.get(l.incident); inc != nil && inc.status == weft.IncidentStatusResolved {
			p.Related = append(p.Related, l.incident)
			continue
		}
		open = append(open, int32(k))
	}
	x.open = open
	slices.SortFunc(open, func(i, j int32) int {
		x, y := &links[i], &links[j]
		if better(x, y) {
			return -1
		} else if better(y, x) {
			return 1
		}
		return cmp.Compare(x.incident, y.incident)
	})

	var best *link
	var inc *incidentState // the alert's incident
	if len(open) > 0 {
		best = &links[open[0]]
		target := best.incident
		others := open[1:]
		slices.SortFunc(others, func(i, j int32) int { return cmp.Compare(links[i].incident, links[j].incident) })
		for _, k := range others {
			l := &links[k]
			if t.blocked(target, l.incident, t.pol.cfg.MaxIncidentAlerts) {
				p.Related = append(p.Related, l.incident)
				continue
			}
			kept, gone := t.merge(target, l.incident)
			p.Merged = append(p.Merged, gone)
			target = kept
		}
		p.IncidentID = target
		if len(p.Merged) > 0 {
			p.MergedInto = target
		}
		// A full incident does not drop the alert: it goes to the newest
		// continuation, or to a new one.
		for inc = t.incidents.get(p.IncidentID); inc.size >= t.pol.cfg.MaxIncidentAlerts; {
			if n, ok := t.next[p.IncidentID]; ok {
				p.IncidentID = t.resolve(n)
				inc = t.incidents.get(p.IncidentID)
				continue
			}
			full := p.IncidentID
			inc = t.create(alloc())
			p.IncidentID = inc.id
			p.New, p.Continues = true, full
			t.next[full] = p.IncidentID
		}
	} else {
		inc = t.create(alloc())
		p.IncidentID = inc.id
		p.New = true
	}
	slices.Sort(p.Related)
	p.Related = slices.Compact(p.Related)
	var other string // the best link's other alert
	switch {
	case best == nil:
	case best.repeat:
		other = g.alert
	default:
		other = t.alerts.id(best.other)
	}
	p.Reasons, p.Explanation, p.LinkedEntity = reasons(best, a, other)
	p.LinkedAlert = other
	group = t.recordRepeat(rk, &rs, a.ID, first, p.IncidentID, t.pol.cfg.RepeatWindow)
	e.record(t, a, sev, refs, ens, device, rk.detector, inc, group, routine)
	x.release()
	return p
}

// Restore indexes an alert that is already stored in incident incidentID,
// without deciding anything: at start-up the engine is rebuilt from the
// alerts within its windows, in event-time order, so that it then decides as
// an uninterrupted run would. Incident states (status, assignee …) are
// restored with SetIncident.
func (e *Engine) Restore(a *weft.Alert, incidentID int64) {
	t := e.tenant(a.TenantID)
	t.touch(a, &e.scratch)
	refs, principals, device, account := e.resolve(t, a, true)
	first := a.FirstActivityDateTime.UnixNano()
	ens := t.seen(refs, principals, first, &e.scratch)
	id := t.resolve(incidentID)
	inc := t.incidents.get(id)
	if inc == nil {
		inc = t.create(id)
	}
	rk := repeatKey{t.detector(detectorOf(a)), cmp.Or(device, account)}
	group := t.nextGroup + 1
	rs := t.repeatOf(rk, first, t.pol.cfg.RepeatWindow)
	if rs.in {
		group = rs.cur.id
	}
	sev := a.Severity.Rank()
	routine := e.routine(t, refs, ens, sev, rk.detector, group, first)
	group = t.recordRepeat(rk, &rs, a.ID, first, id, t.pol.cfg.RepeatWindow)
	e.record(t, a, sev, refs, ens, device, rk.detector, inc, group, routine)
	e.scratch.release()
}

// benign reports whether a severity rank is informational or low. Unknown
// severity (a source that does not say) is not taken as benign.
func benign(rank int) bool {
	return rank == rankInformational || rank == rankLow
}

// The ranks of the severities the engine's rules name (weft.Severity.Rank,
// which searches the list of severities).
var (
	rankInformational = weft.SeverityInformational.Rank()
	rankLow           = weft.SeverityLow.Rank()
	rankMedium        = weft.SeverityMedium.Rank()
	rankHigh          = weft.SeverityHigh.Rank()
)

func detectorOf(a *weft.Alert) string {
	if a.DetectorID != "" {
		return a.DetectorID
	}
	return a.Title
}

// betterLink reports whether x is a better reason than y to join one
// incident: a stronger class, then a smaller gap.
func betterLink(x, y *link) bool {
	if x.ref.strength != y.ref.strength {
		return x.ref.strength > y.ref.strength
	}
	return x.gap < y.gap
}

// better reports whether link x is a stronger reason than y: a stronger
// class, then more shared identities, then a smaller gap.
func better(x, y *link) bool {
	if x.ref.strength != y.ref.strength {
		return x.ref.strength > y.ref.strength
	}
	if x.shared != y.shared {
		return x.shared > y.shared
	}
	return x.gap < y.gap
}
