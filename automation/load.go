package automation

import (
	"context"

	"github.com/weftxdr/weft"
)

// maxGroupLookups bounds the device-group lookups of one incident: the
// devices past it have no device group in conditions.
const maxGroupLookups = 50

// Loader builds subjects from a store: the incident with its earliest alerts
// (weft.MaxInvestigateAlerts) and its entities with the criticality the
// investigation views give them. Entities, when set, supplies the device
// group of the incident's devices.
type Loader struct {
	Investigations weft.InvestigationStore
	Entities       weft.EntityStore
}

// Load returns the subject of an incident. It returns the store's errors
// (ENOTFOUND for an unknown incident).
func (l *Loader) Load(ctx context.Context, tenantID string, id int64) (*Subject, error) {
	inv, err := l.Investigations.Investigate(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s := SubjectOf(inv)
	if l.Entities == nil {
		return s, nil
	}
	looked := 0
	for i := range s.Entities {
		e := &s.Entities[i]
		if e.Type != string(weft.EntityDevice) || looked == maxGroupLookups {
			continue
		}
		looked++
		v, err := l.Entities.FindEntity(ctx, tenantID, weft.EntityDevice, e.Key, weft.EntityAlertQuery{Top: 1})
		switch {
		case err == nil:
			e.DeviceGroup = v.DeviceGroup
			e.Criticality = max(e.Criticality, v.Criticality)
		case weft.ErrorCode(err) == weft.ENOTFOUND || weft.ErrorCode(err) == weft.EINVALID:
			// An entity the page cannot resolve (an ambiguous short name)
			// has no device group.
		default:
			return nil, err
		}
	}
	return s, nil
}

// SubjectOf builds the subject of an investigation without further lookups:
// entities are the nodes of the incident graph, with their criticality.
func SubjectOf(inv *weft.Investigation) *Subject {
	views := weft.BuildInvestigation(inv)
	s := &Subject{Incident: inv.Incident}
	for _, n := range views.Story.Graph.Nodes {
		s.Entities = append(s.Entities, Entity{Type: string(n.Type), Key: n.Key, Name: n.Name, Criticality: n.Criticality})
	}
	return s
}
