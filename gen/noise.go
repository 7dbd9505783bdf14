package gen

import (
	"math/rand/v2"
	"time"
)

// noiseKind is one kind of benign alert: which detector fires, how often, on
// what, and how often it repeats in a burst (the same detector on the same
// device or user within the hour).
type noiseKind struct {
	det      detID
	weight   int
	burstPct int // chance in percent that the alert comes in a burst
	maxBurst int // largest burst, first alert included
	sevs     []severity
	target   func(g *generator, r *rand.Rand, o *org, e *event)
}

// onWorkstation puts the alert on a random workstation and its user.
func onWorkstation(_ *generator, r *rand.Rand, o *org, e *event) {
	e.dev = pick(r, o.workstations)
	e.user = o.devices[e.dev].user
}

// onUser puts the alert on a random person.
func onUser(_ *generator, r *rand.Rand, o *org, e *event) {
	e.user = pick(r, o.persons)
}

var noiseKinds = []noiseKind{
	{dPUA, 20, 25, 4, []severity{sevInformational, sevLow}, func(g *generator, r *rand.Rand, o *org, e *event) {
		onWorkstation(g, r, o, e)
		e.arg = int16(min(r.IntN(len(pua)), r.IntN(len(pua)))) // a few installers are everywhere
	}},
	{dEicar, 2, 0, 1, []severity{sevInformational}, onWorkstation},
	{dPowerShell, 6, 30, 5, []severity{sevLow, sevLow, sevMedium}, func(_ *generator, r *rand.Rand, o *org, e *event) {
		// An admin runs scripts on the few servers they look after, or on a
		// user's workstation for a help-desk call.
		i := r.IntN(len(o.admins))
		e.user = o.admins[i]
		if r.IntN(10) < 7 {
			e.dev = o.servers[(i*adminServers+r.IntN(adminServers))%len(o.servers)]
		} else {
			e.dev = pick(r, o.workstations)
		}
		e.arg = int16(r.IntN(len(adminScripts)))
	}},
	{dServiceInstall, 5, 20, 3, []severity{sevLow}, func(_ *generator, r *rand.Rand, o *org, e *event) {
		e.dev, e.user = pick(r, o.servers), o.svcBackup // the backup agent: a hub account
	}},
	{dRunKey, 5, 0, 1, []severity{sevInformational, sevLow}, onWorkstation},
	{dOfficeChild, 3, 0, 1, []severity{sevLow}, onWorkstation},
	{dC2, 4, 20, 3, []severity{sevLow, sevInformational}, func(g *generator, r *rand.Rand, o *org, e *event) {
		onWorkstation(g, r, o, e)
		e.arg = int16(r.IntN(len(adwareHosts)))
	}},
	{dAtypicalTravel, 8, 0, 1, []severity{sevLow, sevLow, sevMedium}, onUser},
	{dUnfamiliar, 9, 0, 1, []severity{sevLow, sevLow, sevMedium}, onUser},
	{dBruteForce, 9, 30, 6, []severity{sevLow}, func(_ *generator, r *rand.Rand, o *org, e *event) {
		e.user = pick(r, o.persons)
		e.dev = o.users[e.user].device
	}},
	{dRecon, 3, 0, 1, []severity{sevLow}, func(_ *generator, _ *rand.Rand, o *org, e *event) {
		e.dev, e.user = o.scanner, o.svcScan // the vulnerability scanner: a hub device
	}},
	{dUserReported, 7, 0, 1, []severity{sevInformational}, onUser},
	{dMailURLZap, 5, 0, 1, []severity{sevLow, sevLow, sevMedium}, onUser},
	{dInfrequentCountry, 5, 0, 1, []severity{sevLow}, onUser},
	{dMultiFail, 4, 30, 4, []severity{sevLow}, onUser},
	{dImpossibleTravel, 5, 0, 1, []severity{sevLow, sevMedium}, onUser},
}

// adminServers is how many servers each admin looks after.
const adminServers = 3

var noiseWeightSum = func() int {
	s := 0
	for _, k := range noiseKinds {
		s += k.weight
	}
	return s
}()

// hourWeight is the relative amount of benign noise in the hour starting at
// t: office hours on weekdays are busiest.
func hourWeight(t time.Time) int64 {
	wd, h := t.Weekday(), t.Hour()
	switch {
	case wd == time.Saturday || wd == time.Sunday:
		return 1
	case h >= 8 && h < 18:
		return 5
	case h >= 6 && h < 21:
		return 2
	default:
		return 1
	}
}

// noiseChunk creates quota benign alerts with first activity in [lo, hi) and
// pushes them on the heap. Burst members may fall after hi; they stay on the
// heap until their time comes.
func (g *generator) noiseChunk(lo, hi int64, quota int) {
	r := g.noiseR
	for quota > 0 {
		w := r.IntN(noiseWeightSum)
		k := &noiseKinds[0]
		for i := range noiseKinds {
			if w < noiseKinds[i].weight {
				k = &noiseKinds[i]
				break
			}
			w -= noiseKinds[i].weight
		}
		tenant := r.IntN(len(g.orgs))
		o := g.orgs[tenant]
		e := event{at: lo + r.Int64N(hi-lo), det: k.det, user: -1, user2: -1, dev: -1, dev2: -1, atk: -1, tenant: uint16(tenant)}
		e.at -= e.at % 100
		k.target(g, r, o, &e)
		n := 1
		if k.burstPct > 0 && r.IntN(100) < k.burstPct {
			n = 2 + r.IntN(k.maxBurst-1)
		}
		t, end := e.at, min(e.at+int64(59*time.Minute), g.end.UnixNano())
		for j := 0; j < n && quota > 0; j++ {
			x := e
			if j > 0 {
				step := int64(2*time.Minute) + r.Int64N(int64(13*time.Minute))
				if t+step >= end { // squeeze the rest of the burst into what is left
					step = 1 + r.Int64N(max(end-t-1, 1))
				}
				t = min(t+step, end-1)
				x.at = t - t%100
			}
			x.sev = pick(r, k.sevs)
			x.span = int32(r.IntN(300))
			x.delay = lateDelay(r, detectors[k.det].src)
			x.rs = r.Uint64()
			x.seq = g.nextSeq()
			g.heap.push(x)
			quota--
		}
	}
}

// lateDelay draws how long after its last activity an alert of src is
// created. Most arrive within minutes; some products batch; a few alerts are
// hours late.
func lateDelay(r *rand.Rand, src source) int32 {
	switch x := r.IntN(100); {
	case x < 3:
		return int32(2*3600 + r.IntN(10*3600))
	case x < 15:
		return int32(600 + r.IntN(6600))
	}
	switch src {
	case srcMDE:
		return int32(30 + r.IntN(270))
	case srcMDO:
		return int32(60 + r.IntN(840))
	case srcMDI:
		return int32(60 + r.IntN(240))
	case srcAAD:
		return int32(120 + r.IntN(1680))
	default:
		return int32(300 + r.IntN(3300))
	}
}

// noiseGroup is an open group of benign alerts: the same detector on the same
// device (endpoint and identity products) or user (cloud and mail products)
// within an hour of the group's first alert. A human would close them as one.
type noiseGroup struct {
	id    int
	start int64
	n     int
}

type groupKey struct {
	tenant uint16
	det    detID
	entity int32
}

// noiseKey assigns the benign alert e to its group and returns the group id.
// Alerts arrive here in event-time order, so a group is open exactly while
// alerts within an hour of its first one can still come.
func (g *generator) noiseKey(e *event) (int, int) {
	ent := e.user
	if s := detectors[e.det].src; s == srcMDE || s == srcMDI {
		ent = e.dev
	}
	k := groupKey{e.tenant, e.det, ent}
	if ng, ok := g.groups[k]; ok && e.at-ng.start < int64(time.Hour) {
		ng.n++
		return ng.id, ng.n
	}
	ng := &noiseGroup{id: g.nGroups, start: e.at, n: 1}
	g.nGroups++
	g.groups[k] = ng
	if len(g.groups) > 4096 && g.nGroups%4096 == 0 {
		for k, v := range g.groups {
			if e.at-v.start >= int64(time.Hour) {
				delete(g.groups, k)
			}
		}
	}
	return ng.id, 1
}
