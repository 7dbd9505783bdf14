package correlate

import (
	"cmp"
	"slices"

	"github.com/weftxdr/weft"
)

// ReplayResult is what a replay decided: each alert's incident (by
// weft.Alert.ID) and counts that describe the partition.
type ReplayResult struct {
	Incident              map[string]int64
	Alerts, Incidents     int
	Largest               int
	Merges, Continuations int
	MultiAlertIncidents   int
	RelatedLinks          int
}

// Replay runs a fresh engine with policy cfg over alerts in event-time order
// (first activity, then input order) and returns where each alert ended up,
// following merges. It touches nothing but its own engine: it is how a policy
// is tried on past alerts (weft replay) before it is used.
func Replay(cfg Config, alerts []*weft.Alert) (ReplayResult, error) {
	return ReplayPolicies(Policies{Default: cfg}, alerts)
}

// ReplayPolicies is Replay with tenants' own policies beside the default.
func ReplayPolicies(ps Policies, alerts []*weft.Alert) (ReplayResult, error) {
	e, err := New(ps.Default)
	if err != nil {
		return ReplayResult{}, err
	}
	for id, cfg := range ps.Tenants {
		if err := e.SetPolicy(id, &cfg); err != nil {
			return ReplayResult{}, weft.Errorf(weft.EINVALID, "tenant %s: %s", id, weft.ErrorMessage(err))
		}
	}
	ordered := slices.Clone(alerts)
	slices.SortStableFunc(ordered, func(a, b *weft.Alert) int {
		return cmp.Compare(a.FirstActivityDateTime.UnixNano(), b.FirstActivityDateTime.UnixNano())
	})
	var next int64
	alloc := func() int64 { next++; return next }
	res := ReplayResult{Incident: make(map[string]int64, len(alerts))}
	members := map[int64][]string{}
	e.Ahead(ordered)
	for _, a := range ordered {
		p := e.Place(a, alloc)
		into := p.MergedInto
		if into == 0 {
			into = p.IncidentID
		}
		for _, m := range p.Merged {
			for _, id := range members[m] {
				res.Incident[id] = into
			}
			members[into] = append(members[into], members[m]...)
			delete(members, m)
			res.Merges++
		}
		if p.Continues != 0 {
			res.Continuations++
		}
		res.RelatedLinks += len(p.Related)
		res.Incident[a.ID] = p.IncidentID
		members[p.IncidentID] = append(members[p.IncidentID], a.ID)
	}
	res.Alerts, res.Incidents = len(alerts), len(members)
	for _, ids := range members {
		if len(ids) > 1 {
			res.MultiAlertIncidents++
		}
		res.Largest = max(res.Largest, len(ids))
	}
	return res, nil
}
