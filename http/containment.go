package http

import (
	"context"
	"slices"

	"github.com/weftxdr/weft"
)

// Containment shown where entities are (issue 7): the incident graph and
// the origin's entry entities (GraphNode), the impacted assets
// (ImpactedAsset) and the entity page (EntityView). The store that builds
// those views knows nothing of response actions; the API asks the action
// service about every key and alias it is about to show, in one call per
// answer, and fills the views in. An entity known under several keys
// (an MDE device id in one alert, an FQDN in another) is contained when an
// action contained it under any of them: the most recent containment wins.

// containments answers the containment of those of keys that have one; an
// empty map when the server has no action service.
func (s *Server) containments(ctx context.Context, tenantID string, keys []string) (map[string]weft.Containment, error) {
	if s.opts.Actions == nil || len(keys) == 0 {
		return nil, nil
	}
	slices.Sort(keys)
	return s.opts.Actions.Containment(ctx, tenantID, slices.Compact(keys))
}

// containmentFor returns the most recent containment found for key or any
// of aliases, nil when none of them is contained. A state of
// ContainmentNone (an undone action, as a store may answer it) is no
// containment.
func containmentFor(found map[string]weft.Containment, key string, aliases []string) *weft.Containment {
	var best *weft.Containment
	for _, k := range append([]string{key}, aliases...) {
		c, ok := found[k]
		if !ok || c.State == "" || c.State == weft.ContainmentNone {
			continue
		}
		if best == nil || c.Since.After(best.Since) || c.Since.Equal(best.Since) && c.ActionID > best.ActionID {
			best = &c
		}
	}
	return best
}

// fillInvestigationContainment sets the containment of every graph node,
// entry entity and impacted asset of v.
func (s *Server) fillInvestigationContainment(ctx context.Context, tenantID string, v *weft.InvestigationViews) error {
	if s.opts.Actions == nil {
		return nil
	}
	var keys []string
	add := func(key string, aliases []string) { keys = append(append(keys, key), aliases...) }
	for _, n := range v.Story.Graph.Nodes {
		add(n.Key, n.Aliases)
	}
	for _, n := range v.Origin.EntryEntities {
		add(n.Key, n.Aliases)
	}
	for _, g := range v.Assets.Groups {
		for _, a := range g.Assets {
			add(a.Key, a.Aliases)
		}
	}
	found, err := s.containments(ctx, tenantID, keys)
	if err != nil || len(found) == 0 {
		return err
	}
	for i := range v.Story.Graph.Nodes {
		n := &v.Story.Graph.Nodes[i]
		n.Containment = containmentFor(found, n.Key, n.Aliases)
	}
	for i := range v.Origin.EntryEntities {
		n := &v.Origin.EntryEntities[i]
		n.Containment = containmentFor(found, n.Key, n.Aliases)
	}
	for i := range v.Assets.Groups {
		for j := range v.Assets.Groups[i].Assets {
			a := &v.Assets.Groups[i].Assets[j]
			a.Containment = containmentFor(found, a.Key, a.Aliases)
		}
	}
	return nil
}

// fillEntityContainment sets an entity page's containment state from its
// key and aliases.
func (s *Server) fillEntityContainment(ctx context.Context, tenantID string, v *weft.EntityView) error {
	if v.ContainmentState == "" {
		v.ContainmentState = weft.ContainmentNone
	}
	found, err := s.containments(ctx, tenantID, append([]string{v.Key}, v.Aliases...))
	if err != nil {
		return err
	}
	if c := containmentFor(found, v.Key, v.Aliases); c != nil {
		v.ContainmentState, v.Containment = c.State, c
	}
	return nil
}
