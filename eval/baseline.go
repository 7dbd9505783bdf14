package eval

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// The windows of the design's baselines (docs/design.md §14).
const (
	DetectorWindow = time.Hour      // SameDetectorSameDevice
	UnionWindow    = 24 * time.Hour // SharedIdentifierUnion
)

// NamedPartition is a predictor's name and its partition.
type NamedPartition struct {
	Name      string
	Partition Partition
}

// Baselines returns the design's three baselines for alerts, in the order
// they should be printed: "singletons", "same-detector-device-1h" and
// "shared-identifier-24h".
func Baselines(alerts []*weft.Alert) []NamedPartition {
	return []NamedPartition{
		{"singletons", Singletons(alerts)},
		{"same-detector-device-1h", SameDetectorSameDevice(alerts, DetectorWindow)},
		{"shared-identifier-24h", SharedIdentifierUnion(alerts, UnionWindow)},
	}
}

// AlertKey is the item id the baselines give an alert: its ProviderAlertID,
// which for a Graph alert is the Graph id that the generator's truth uses, or
// its weft ID when it has no provider id.
//
// The baselines key their partitions by AlertKey and label each cluster with
// the key of its earliest alert (by FirstActivityDateTime, ties broken by
// key), so the same alerts give the same partition in any order. Alerts with
// the same key are taken as versions of one alert: one item, whose evidence is
// that of all of them. (A provider id is unique only within its tenant and
// source; alerts of several sources or tenants whose ids collide are merged
// too. The generator's ids never collide.) A nil alert is skipped. None of
// the baselines modifies the alerts, and each is safe for concurrent use.
func AlertKey(a *weft.Alert) string {
	if a.ProviderAlertID != "" {
		return a.ProviderAlertID
	}
	return a.ID
}

// Singletons predicts one incident per alert: the baseline of doing nothing.
func Singletons(alerts []*weft.Alert) Partition {
	p := make(Partition, len(alerts))
	for _, a := range alerts {
		if a != nil {
			k := AlertKey(a)
			p[k] = k
		}
	}
	return p
}

// SameDetectorSameDevice predicts the grouping of a simple alert-suppression
// rule: an alert joins the previous alert of the same tenant, the same
// detector (DetectorID, or the Title when the alert has none) and the same
// host when it started at most window after that alert. Alerts without a
// host stay alone.
//
// An alert's host is its first device evidence — the primary device of an
// endpoint alert, the source computer of an identity alert, as Graph lists
// them — or, when it has none, the device in the mdeDeviceId of its first
// file, process or registry evidence that has one. "The same host" means a
// device identifier in common (weft.Evidence.Identifiers), so one name in
// common is enough, but aliases are not resolved across alerts: a device named
// only by its host name in one alert and only by its MDE id in another is two
// devices. Other devices of an alert do not count: a domain controller, listed
// second in every identity alert, would otherwise chain each identity
// detector's alerts into one incident of thousands.
//
// A chain joins alerts that are each within window of the previous one, so a
// burst that lasts longer than window stays one incident as long as it has no
// gap longer than window. It runs in O(n log n) time.
func SameDetectorSameDevice(alerts []*weft.Alert, window time.Duration) Partition {
	l := newLinker(alerts, window)
	var key []byte
	for i, a := range l.alerts {
		detKind, det := "id", a.DetectorID
		if det == "" {
			detKind, det = "title", a.Title
		}
		for _, id := range hostIdentifiers(a) {
			key = appendKey(key[:0], a.TenantID, detKind, det, string(id.Kind), id.Value)
			l.link(key, i)
		}
	}
	return l.partition()
}

// hostIdentifiers returns the identifiers of the device an alert is about (see
// SameDetectorSameDevice), or none.
func hostIdentifiers(a *weft.Alert) []weft.Identifier {
	for i := range a.Evidence {
		if e := &a.Evidence[i]; e.EntityType == weft.EntityDevice {
			if ids := e.Identifiers(); len(ids) > 0 {
				return ids
			}
		}
	}
	for i := range a.Evidence {
		if m := strings.ToLower(strings.TrimSpace(a.Evidence[i].MdeDeviceID)); m != "" {
			return []weft.Identifier{{Kind: weft.IDDeviceMde, Value: m}}
		}
	}
	return nil
}

// SharedIdentifierUnion predicts the grouping of naive entity-based
// correlation: two alerts of one tenant are in one incident when they share
// any identifier (weft.Evidence.Identifiers of evidence of any type: an IP
// address, a hash, a host name, an account) and started at most window apart,
// and the relation is closed transitively (single linkage). It has no hub
// guard and no notion of weak or rare entities, so an address or a domain
// controller seen in many unrelated alerts joins them all into a giant
// component: this is the failure weft's correlation must avoid (design §4.3).
//
// It runs in near-linear time. Alerts are taken in time order, and for each
// identifier only the most recent alert that carried it is kept; a new alert
// is joined to that one alone when it is within window. This links every pair
// "within window" that the all-pairs rule would, up to transitivity: if two
// alerts sharing an identifier are at most window apart, so is every
// consecutive pair of the alerts carrying it between them, and the chain of
// those pairs connects the two. The components — the partition — are
// therefore exactly those of the all-pairs rule. As with any single linkage,
// a chain may span far more than window end to end.
func SharedIdentifierUnion(alerts []*weft.Alert, window time.Duration) Partition {
	l := newLinker(alerts, window)
	var key []byte
	for i, a := range l.alerts {
		for j := range a.Evidence {
			for _, id := range a.Evidence[j].Identifiers() {
				key = appendKey(key[:0], a.TenantID, string(id.Kind), id.Value)
				l.link(key, i)
			}
		}
	}
	return l.partition()
}

// appendKey joins parts with NUL bytes. Tenant ids and identifier kinds never
// hold one; a title or a value that does could make two keys collide, which
// costs a baseline one wrong join and nothing else.
func appendKey(b []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// linker is a union-find over alerts in time order, with the most recent alert
// seen under each link key.
type linker struct {
	alerts []*weft.Alert // sorted by time, then key
	keys   []string      // AlertKey of each alert
	parent []int32
	size   []int32
	last   map[string]int32 // link key → index in seen
	seen   []lastSeen
	window time.Duration
}

type lastSeen struct {
	t time.Time
	i int32
}

func newLinker(alerts []*weft.Alert, window time.Duration) *linker {
	l := &linker{window: window, last: make(map[string]int32)}
	l.alerts = make([]*weft.Alert, 0, len(alerts))
	for _, a := range alerts {
		if a != nil {
			l.alerts = append(l.alerts, a)
		}
	}
	// Alerts equal in time and key are versions of one alert and end up in one
	// component whatever their order, so an unstable sort is enough.
	slices.SortFunc(l.alerts, func(a, b *weft.Alert) int {
		return cmp.Or(a.FirstActivityDateTime.Compare(b.FirstActivityDateTime),
			strings.Compare(AlertKey(a), AlertKey(b)))
	})
	n := len(l.alerts)
	l.keys = make([]string, n)
	l.parent = make([]int32, n)
	l.size = make([]int32, n)
	first := make(map[string]int32, n)
	for i, a := range l.alerts {
		l.keys[i] = AlertKey(a)
		l.parent[i] = int32(i)
		l.size[i] = 1
		if f, dup := first[l.keys[i]]; dup { // another version of the same alert
			l.union(f, int32(i))
		} else {
			first[l.keys[i]] = int32(i)
		}
	}
	return l
}

// link joins alert i to the last alert seen under key if that one started at
// most window earlier, and makes i the last alert seen under key. Alerts must
// be linked in time order.
func (l *linker) link(key []byte, i int) {
	t := l.alerts[i].FirstActivityDateTime
	if s, ok := l.last[string(key)]; ok { // a lookup by string(key) does not allocate
		prev := &l.seen[s]
		if t.Sub(prev.t) <= l.window {
			l.union(prev.i, int32(i))
		}
		*prev = lastSeen{t, int32(i)}
		return
	}
	l.last[string(key)] = int32(len(l.seen))
	l.seen = append(l.seen, lastSeen{t, int32(i)})
}

func (l *linker) find(x int32) int32 {
	for l.parent[x] != x {
		l.parent[x] = l.parent[l.parent[x]] // path halving
		x = l.parent[x]
	}
	return x
}

func (l *linker) union(a, b int32) {
	ra, rb := l.find(a), l.find(b)
	if ra == rb {
		return
	}
	if l.size[ra] < l.size[rb] {
		ra, rb = rb, ra
	}
	l.parent[rb] = ra
	l.size[ra] += l.size[rb]
}

// partition labels every alert with the key of the earliest alert of its
// component.
func (l *linker) partition() Partition {
	p := make(Partition, len(l.alerts))
	label := make(map[int32]string)
	for i := range l.alerts {
		r := l.find(int32(i))
		lb, ok := label[r]
		if !ok { // i is the component's earliest alert: alerts are in time order
			lb = l.keys[i]
			label[r] = lb
		}
		p[l.keys[i]] = lb
	}
	return p
}
