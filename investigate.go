package weft

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Limits on the investigation views of one incident (design §6). An incident
// holds at most the engine's size cap of alerts (maxIncidentAlerts, 500 by
// default), but a policy may raise the cap and an imported incident is not
// capped, so the views bound what they read: the earliest
// MaxInvestigateAlerts alerts in event-time order, and of those the first
// MaxInvestigateEvidence evidence records. A view that was cut says so
// (Truncated) and gives the incident's whole alert count.
const (
	MaxInvestigateAlerts   = 1000
	MaxInvestigateEvidence = 20000
	MaxRelatedIncidents    = 500
)

// CriticalityFunc returns the criticality (0–MaxCriticality) of the entity
// that an evidence record with identifiers ids names, from the tenant's asset
// inventory; 0 when no asset names it.
type CriticalityFunc func(ids []Identifier) int

// Investigation is what the investigation views of one incident are built
// from: the incident, its alerts in event-time order (first activity, then
// id; at most MaxInvestigateAlerts, in Incident.Alerts), the criticality of
// their entities and the incidents related to it.
type Investigation struct {
	Incident    *Incident
	Criticality CriticalityFunc
	Related     []RelatedIncident
}

// InvestigationStore reads what the investigation views need. Implementations
// are safe for concurrent use.
type InvestigationStore interface {
	// Investigate returns an incident of a tenant with its earliest
	// alerts, a criticality lookup and its related incidents, read
	// consistently. It returns an ENOTFOUND error when the tenant has no
	// incident with that id. A redirected incident is returned as it is
	// (without alerts; RedirectIncidentID says where they went).
	Investigate(ctx context.Context, tenantID string, id int64) (*Investigation, error)
}

// Relations between incidents, as RelatedIncident.Relation gives them.
const (
	// RelationRelated: an alert of one of the two shares an entity with
	// the other, which was resolved or kept apart by a blocker.
	RelationRelated = "related"
	// RelationContinues: this incident was created for an alert that
	// belonged in the other, which had reached the size cap;
	// RelationContinuedBy is the other side.
	RelationContinues   = "continues"
	RelationContinuedBy = "continuedBy"
	// RelationMerged: the other incident was merged into this one (it is
	// redirected here).
	RelationMerged = "merged"
)

// RelatedIncident is one incident related to another, and how.
type RelatedIncident struct {
	ID          int64          `json:"id,string"`
	DisplayName string         `json:"displayName"`
	Status      IncidentStatus `json:"status"`
	Severity    Severity       `json:"severity"`
	Relation    string         `json:"relation"`
}

// StoryAlert is one alert of the attack story.
type StoryAlert struct {
	ID                    string    `json:"id"`
	Title                 string    `json:"title"`
	Severity              Severity  `json:"severity"`
	Category              string    `json:"category"`
	DetectionSource       string    `json:"detectionSource"`
	ServiceSource         string    `json:"serviceSource"`
	FirstActivityDateTime time.Time `json:"firstActivityDateTime"`
	LastActivityDateTime  time.Time `json:"lastActivityDateTime"`
	CreatedDateTime       time.Time `json:"createdDateTime"`
	CorrelationReasons    []string  `json:"correlationReasons"`
	Correlation           string    `json:"correlation"`
	// EntityKeys are the graph nodes the alert names, in evidence order.
	EntityKeys []string `json:"entityKeys"`
}

// GraphNode is one entity of the incident graph: the evidence records of its
// alerts that name one entity, merged (see BuildInvestigation).
type GraphNode struct {
	Key  string     `json:"key"`
	Type EntityType `json:"entityType"`
	Name string     `json:"name"`
	// Aliases are the other keys the entity's evidence records had,
	// sorted; empty when all had Key.
	Aliases     []string       `json:"aliases"`
	Criticality int            `json:"criticality"`
	FirstSeen   time.Time      `json:"firstSeenDateTime"`
	LastSeen    time.Time      `json:"lastSeenDateTime"`
	AlertIDs    []string       `json:"alertIds"`
	Roles       []EvidenceRole `json:"roles"`
	// Containment is what the last succeeded response action on the
	// entity (under its key or an alias) left it in; nil when none
	// contains it. The API fills it from ActionService.Containment;
	// BuildInvestigation leaves it nil.
	Containment *Containment `json:"containment,omitempty"`
}

// GraphEdge links an alert to an entity it names, at the alert's first
// activity, with the roles its evidence gives the entity.
type GraphEdge struct {
	AlertID   string         `json:"alertId"`
	EntityKey string         `json:"entityKey"`
	Time      time.Time      `json:"time"`
	Roles     []EvidenceRole `json:"roles"`
}

// IncidentGraph is the incident graph: nodes ordered by first seen, then key;
// edges in story order, each alert's in evidence order.
type IncidentGraph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// viewHead is what every view starts with.
type viewHead struct {
	IncidentID int64 `json:"incidentId,string"`
	// AlertCount is the incident's number of alerts; Truncated says the
	// view holds only the first MaxInvestigateAlerts of them, or only the
	// first MaxInvestigateEvidence evidence records.
	AlertCount int  `json:"alertCount"`
	Truncated  bool `json:"truncated"`
}

// StoryView is GET /incidents/{id}/story: the alerts in event-time order and
// the incident graph.
type StoryView struct {
	viewHead
	Alerts []StoryAlert  `json:"alerts"`
	Graph  IncidentGraph `json:"graph"`
}

// PathStep is one entity on the path the attack took: the alert that first
// named it and an entity named before that alert that the alert also names
// (empty for the entry point's entities, and when the alert shares none).
type PathStep struct {
	EntityKey  string     `json:"entityKey"`
	EntityType EntityType `json:"entityType"`
	Name       string     `json:"name"`
	FirstSeen  time.Time  `json:"firstSeenDateTime"`
	AlertID    string     `json:"alertId"`
	From       string     `json:"fromEntityKey,omitempty"`
}

// OriginView is GET /incidents/{id}/origin: the entry point (the earliest
// alert and its entities) and the order in which the entities were first seen.
type OriginView struct {
	viewHead
	EntryAlert    *StoryAlert `json:"entryAlert"`
	EntryEntities []GraphNode `json:"entryEntities"`
	Path          []PathStep  `json:"path"`
}

// ImpactedAsset is one impacted device, user, mailbox or app.
type ImpactedAsset struct {
	Key         string         `json:"key"`
	Name        string         `json:"name"`
	Aliases     []string       `json:"aliases"`
	Criticality int            `json:"criticality"`
	AlertCount  int            `json:"alertCount"`
	FirstSeen   time.Time      `json:"firstSeenDateTime"`
	LastSeen    time.Time      `json:"lastSeenDateTime"`
	Roles       []EvidenceRole `json:"roles"`
	// Containment is as GraphNode.Containment.
	Containment *Containment `json:"containment,omitempty"`
}

// AssetGroup is the impacted assets of one entity type, most critical first.
type AssetGroup struct {
	EntityType EntityType      `json:"entityType"`
	Count      int             `json:"count"`
	Assets     []ImpactedAsset `json:"assets"`
}

// AssetsView is GET /incidents/{id}/assets: the incident's scope, one group
// per type of AssetTypes, in that order, empty ones included.
type AssetsView struct {
	viewHead
	Groups []AssetGroup `json:"groups"`
}

// AssetTypes are the entity types the assets view reports.
var AssetTypes = []EntityType{EntityDevice, EntityUser, EntityMailbox, EntityCloudApplication, EntityOAuthApplication}

// EvidenceItem is one evidence record of one alert.
type EvidenceItem struct {
	AlertID    string     `json:"alertId"`
	EntityType EntityType `json:"entityType"`
	Name       string     `json:"name"`
	// Key is the record's own key (Evidence.Key); EntityKey the graph node
	// it was merged into. Both are empty for a record without identifiers.
	Key                      string            `json:"key"`
	EntityKey                string            `json:"entityKey"`
	Verdict                  Verdict           `json:"verdict"`
	RemediationStatus        RemediationStatus `json:"remediationStatus"`
	RemediationStatusDetails string            `json:"remediationStatusDetails,omitempty"`
	Roles                    []EvidenceRole    `json:"roles"`
	DetailedRoles            []string          `json:"detailedRoles"`
}

// EvidenceView is GET /incidents/{id}/evidence: every evidence record of
// every alert, in story order, each alert's in evidence order.
type EvidenceView struct {
	viewHead
	Evidence []EvidenceItem `json:"evidence"`
}

// RelatedView is GET /incidents/{id}/related: incidents related to this one
// and those merged into it, ordered by relation, then id.
type RelatedView struct {
	IncidentID int64             `json:"incidentId,string"`
	Related    []RelatedIncident `json:"related"`
}

// InvestigationViews holds every view of one incident.
type InvestigationViews struct {
	Story    StoryView
	Origin   OriginView
	Assets   AssetsView
	Evidence EvidenceView
	Related  RelatedView
}

// BuildInvestigation builds the investigation views of inv. It does not
// modify inv; it sorts a copy of the alerts by first activity, then id, and
// uses at most MaxInvestigateAlerts of them and MaxInvestigateEvidence
// evidence records. A nil Criticality counts every entity as 0.
//
// Evidence records are merged into one graph node when they are of one
// entity type and have the same key, or share an identifier that names one
// entity for certain (not a short host name or a bare account name, which
// different machines and users share): a device named by its MDE id and
// FQDN in one alert and by its FQDN alone in another is one node. A node's
// key and name are those of the record that named it first.
func BuildInvestigation(inv *Investigation) *InvestigationViews {
	inc := inv.Incident
	crit := inv.Criticality
	if crit == nil {
		crit = func([]Identifier) int { return 0 }
	}
	alerts := slices.Clone(inc.Alerts)
	slices.SortStableFunc(alerts, func(a, b *Alert) int {
		return cmp.Or(a.FirstActivityDateTime.Compare(b.FirstActivityDateTime), cmp.Compare(a.ID, b.ID))
	})
	head := viewHead{IncidentID: inc.ID, AlertCount: max(inc.AlertCount, len(inc.Alerts))}
	if len(alerts) > MaxInvestigateAlerts {
		alerts, head.Truncated = alerts[:MaxInvestigateAlerts], true
	}
	if head.AlertCount > len(alerts) {
		head.Truncated = true
	}

	b := graphBuilder{crit: crit, byKey: map[typedKey]int{}, byID: map[typedID]int{}, keys: map[string]bool{}}
	story := make([]StoryAlert, 0, len(alerts))
	var evidence []EvidenceItem
	var path []PathStep
	var entry []int // the nodes the earliest alert names
	budget := MaxInvestigateEvidence
	for ai, a := range alerts {
		sa := storyAlert(a)
		seenBefore := len(b.nodes) // nodes first named by an earlier alert
		var edges []GraphEdge
		var newNodes []int
		var fromKey string
		for i := range a.Evidence {
			if budget == 0 {
				head.Truncated = true
				break
			}
			budget--
			ev := &a.Evidence[i]
			n := b.add(ev, a)
			item := EvidenceItem{AlertID: a.ID, EntityType: ev.EntityType, Name: ev.Name(), Key: ev.Key(),
				Verdict: ev.Verdict, RemediationStatus: ev.RemediationStatus, RemediationStatusDetails: ev.RemediationStatusDetails,
				Roles: nonNil(ev.Roles), DetailedRoles: nonNil(ev.DetailedRoles)}
			if n < 0 {
				evidence = append(evidence, item)
				continue
			}
			node := &b.nodes[n]
			item.EntityKey = node.Key
			evidence = append(evidence, item)
			if j := slices.IndexFunc(edges, func(e GraphEdge) bool { return e.EntityKey == node.Key }); j >= 0 {
				edges[j].Roles = addRoles(edges[j].Roles, ev.Roles)
				continue
			}
			edges = append(edges, GraphEdge{AlertID: a.ID, EntityKey: node.Key, Time: a.FirstActivityDateTime, Roles: addRoles(nil, ev.Roles)})
			sa.EntityKeys = append(sa.EntityKeys, node.Key)
			if ai == 0 {
				entry = append(entry, n)
			}
			if n >= seenBefore {
				newNodes = append(newNodes, n)
			} else if fromKey == "" {
				fromKey = node.Key
			}
		}
		for _, n := range newNodes {
			node := &b.nodes[n]
			step := PathStep{EntityKey: node.Key, EntityType: node.Type, Name: node.Name, FirstSeen: a.FirstActivityDateTime, AlertID: a.ID}
			if ai > 0 {
				step.From = fromKey
			}
			path = append(path, step)
		}
		b.edges = append(b.edges, edges...)
		story = append(story, sa)
	}
	for i := range b.nodes {
		n := &b.nodes[i]
		slices.Sort(n.Aliases)
		n.Aliases = slices.Compact(n.Aliases)
	}
	nodes := nonNil(slices.Clone(b.nodes))
	slices.SortStableFunc(nodes, func(x, y GraphNode) int {
		return cmp.Or(x.FirstSeen.Compare(y.FirstSeen), cmp.Compare(x.Key, y.Key))
	})

	v := &InvestigationViews{
		Story:    StoryView{viewHead: head, Alerts: story, Graph: IncidentGraph{Nodes: nodes, Edges: nonNil(b.edges)}},
		Origin:   OriginView{viewHead: head, EntryEntities: []GraphNode{}, Path: nonNil(path)},
		Assets:   AssetsView{viewHead: head, Groups: make([]AssetGroup, 0, len(AssetTypes))},
		Evidence: EvidenceView{viewHead: head, Evidence: nonNil(evidence)},
		Related:  RelatedView{IncidentID: inc.ID, Related: relatedOrder(inv.Related)},
	}
	if len(story) > 0 {
		v.Origin.EntryAlert = &story[0]
		for _, n := range entry {
			v.Origin.EntryEntities = append(v.Origin.EntryEntities, b.nodes[n])
		}
	}
	for _, t := range AssetTypes {
		g := AssetGroup{EntityType: t, Assets: []ImpactedAsset{}}
		for _, n := range b.nodes {
			if n.Type != t {
				continue
			}
			g.Assets = append(g.Assets, ImpactedAsset{Key: n.Key, Name: n.Name, Aliases: n.Aliases, Criticality: n.Criticality,
				AlertCount: len(n.AlertIDs), FirstSeen: n.FirstSeen, LastSeen: n.LastSeen, Roles: n.Roles})
		}
		slices.SortStableFunc(g.Assets, func(x, y ImpactedAsset) int {
			return cmp.Or(cmp.Compare(y.Criticality, x.Criticality), cmp.Compare(y.AlertCount, x.AlertCount),
				cmp.Compare(x.Name, y.Name), cmp.Compare(x.Key, y.Key))
		})
		g.Count = len(g.Assets)
		v.Assets.Groups = append(v.Assets.Groups, g)
	}
	return v
}

// typedKey is an evidence key within one entity type.
type typedKey struct {
	t   EntityType
	key string
}

// typedID is an identifier within one entity type.
type typedID struct {
	t  EntityType
	id Identifier
}

// graphBuilder merges evidence records into nodes.
type graphBuilder struct {
	crit  CriticalityFunc
	nodes []GraphNode
	byKey map[typedKey]int // every key a node has (Key and Aliases) → node
	byID  map[typedID]int  // every certain identifier of a node → node
	keys  map[string]bool  // the nodes' keys
	edges []GraphEdge
}

// add merges one evidence record of alert a into its node and returns the
// node's index, or -1 for a record without identifiers. A record that names
// two nodes (two earlier records that it alone ties together) joins the
// first; the nodes are not merged afterwards, so that a node's key never
// changes once an edge names it.
func (b *graphBuilder) add(ev *Evidence, a *Alert) int {
	ids := ev.Identifiers()
	if len(ids) == 0 {
		return -1
	}
	key := ev.Key()
	n, ok := b.byKey[typedKey{ev.EntityType, key}]
	if !ok {
		for _, id := range ids {
			if weakIdentifier(id.Kind) {
				continue
			}
			if m, found := b.byID[typedID{ev.EntityType, id}]; found {
				n, ok = m, true
				break
			}
		}
	}
	if !ok {
		n = len(b.nodes)
		nodeKey := key
		if b.keys[nodeKey] {
			// Another type's node has the key (a user and a mailbox
			// named by one address): node keys must be unique.
			nodeKey = string(ev.EntityType) + "/" + key
		}
		b.keys[nodeKey] = true
		b.nodes = append(b.nodes, GraphNode{Key: nodeKey, Type: ev.EntityType, Name: ev.Name(), Aliases: []string{},
			FirstSeen: a.FirstActivityDateTime, LastSeen: lastSeen(a), AlertIDs: []string{}, Roles: []EvidenceRole{}})
	}
	if _, taken := b.byKey[typedKey{ev.EntityType, key}]; !taken {
		b.byKey[typedKey{ev.EntityType, key}] = n
	}
	for _, id := range ids {
		if !weakIdentifier(id.Kind) {
			if _, taken := b.byID[typedID{ev.EntityType, id}]; !taken {
				b.byID[typedID{ev.EntityType, id}] = n
			}
		}
	}
	node := &b.nodes[n]
	if key != node.Key && string(node.Type)+"/"+key != node.Key {
		node.Aliases = append(node.Aliases, key)
	}
	node.Criticality = max(node.Criticality, b.crit(ids))
	if a.FirstActivityDateTime.Before(node.FirstSeen) {
		node.FirstSeen = a.FirstActivityDateTime
	}
	if l := lastSeen(a); l.After(node.LastSeen) {
		node.LastSeen = l
	}
	if len(node.AlertIDs) == 0 || node.AlertIDs[len(node.AlertIDs)-1] != a.ID {
		node.AlertIDs = append(node.AlertIDs, a.ID)
	}
	node.Roles = addRoles(node.Roles, ev.Roles)
	return n
}

// weakIdentifier reports whether identifiers of kind k are short names that
// different devices or users share across domains, and so merge nothing.
func weakIdentifier(k IdentifierKind) bool { return k == IDDeviceHost || k == IDUserSam }

// lastSeen is an alert's last activity, or its first when it has none.
func lastSeen(a *Alert) time.Time {
	if a.LastActivityDateTime.After(a.FirstActivityDateTime) {
		return a.LastActivityDateTime
	}
	return a.FirstActivityDateTime
}

// addRoles adds the roles of add not yet in roles, keeping roles sorted.
func addRoles(roles, add []EvidenceRole) []EvidenceRole {
	if roles == nil {
		roles = []EvidenceRole{}
	}
	for _, r := range add {
		if i, found := slices.BinarySearch(roles, r); !found {
			roles = slices.Insert(roles, i, r)
		}
	}
	return roles
}

func storyAlert(a *Alert) StoryAlert {
	return StoryAlert{ID: a.ID, Title: a.Title, Severity: a.Severity, Category: a.Category,
		DetectionSource: a.DetectionSource, ServiceSource: a.ServiceSource,
		FirstActivityDateTime: a.FirstActivityDateTime, LastActivityDateTime: a.LastActivityDateTime,
		CreatedDateTime: a.CreatedDateTime, CorrelationReasons: nonNil(a.CorrelationReasons),
		Correlation: a.Correlation, EntityKeys: []string{}}
}

// relatedOrder returns related without repeats, ordered by relation, then
// id, at most MaxRelatedIncidents.
func relatedOrder(related []RelatedIncident) []RelatedIncident {
	order := map[string]int{RelationMerged: 0, RelationContinues: 1, RelationContinuedBy: 2, RelationRelated: 3}
	out := slices.Clone(related)
	slices.SortFunc(out, func(x, y RelatedIncident) int {
		return cmp.Or(cmp.Compare(order[x.Relation], order[y.Relation]), cmp.Compare(x.Relation, y.Relation), cmp.Compare(x.ID, y.ID))
	})
	out = slices.CompactFunc(out, func(x, y RelatedIncident) bool { return x.ID == y.ID && x.Relation == y.Relation })
	if len(out) > MaxRelatedIncidents {
		out = out[:MaxRelatedIncidents]
	}
	return nonNil(out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
