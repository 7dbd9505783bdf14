package http

import (
	"strings"

	"github.com/weftxdr/weft"
)

// DefaultQueueFilter is the incident queue's view when a request gives no
// $filter, as in Defender's queue: incidents that are open (active or in
// progress) and not informational. Any $filter replaces it; redirected
// (merged-away) incidents are never listed.
const DefaultQueueFilter = "status in ('active', 'inProgress') and severity ne 'informational'"

// defaultQueueFilter is DefaultQueueFilter parsed, once.
var defaultQueueFilter = func() *weft.IncidentFilter {
	f, err := weft.ParseIncidentFilter(DefaultQueueFilter)
	if err != nil {
		panic(err) // a build defect, caught by every test of this package
	}
	return f
}()

// maxSearchLength bounds $search.
const maxSearchLength = 256

// parseQueueParams parses the queue options of GET /api/v1/incidents: $filter
// (weft.ParseIncidentFilter; DefaultQueueFilter when absent), $orderby
// (weft.ParseIncidentOrderBy; weft.DefaultIncidentOrder when absent) and
// $search (a name fragment, an incident id, or the exact name or identifier
// of an impacted asset, i.e. an entity an alert names). The export
// (GET /api/v1/incidents/export.csv) takes the same options. It returns the parse errors,
// which name the offending part and its position.
func parseQueueParams(p listParams) (weft.IncidentQuery, error) {
	q := weft.IncidentQuery{Filter: defaultQueueFilter, OrderBy: weft.DefaultIncidentOrder}
	if p.HasFilter {
		f, err := weft.ParseIncidentFilter(p.Filter)
		if err != nil {
			return q, err
		}
		q.Filter = f
	}
	if p.OrderBy != "" {
		o, err := weft.ParseIncidentOrderBy(p.OrderBy)
		if err != nil {
			return q, err
		}
		q.OrderBy = o
	}
	if s := strings.TrimSpace(p.Search); s != "" {
		if len(s) > maxSearchLength {
			return q, weft.Errorf(weft.EINVALID, "$search is %d characters long; the limit is %d", len(s), maxSearchLength)
		}
		q.Search = s
	}
	return q, nil
}
