package weft_test

import (
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// handBuiltIncident is a phishing-to-device story of four alerts, given out
// of order: a mail to alice (the entry point), alice signing in on ws-1 (named
// by MDE id and FQDN), a process on ws-1 (named by its FQDN only, written
// differently) talking to an IP, and an alert on a second device reached from
// that IP.
func handBuiltIncident(t *testing.T) *weft.Incident {
	t.Helper()
	alice := weft.Evidence{EntityType: weft.EntityUser, Roles: []weft.EvidenceRole{"compromised"},
		UserAccount: &weft.UserAccount{UserPrincipalName: "Alice@Contoso.com"}}
	mailbox := weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: "alice@contoso.com", Roles: []weft.EvidenceRole{"destination"}}
	ws1 := weft.Evidence{EntityType: weft.EntityDevice, MdeDeviceID: "6f1c2a", DeviceDNSName: "ws-1.contoso.com", Roles: []weft.EvidenceRole{"compromised"}}
	ws1ByName := weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: "WS-1.Contoso.com.", Roles: []weft.EvidenceRole{"source"},
		Verdict: "malicious", RemediationStatus: "prevented"}
	ip := weft.Evidence{EntityType: weft.EntityIP, IPAddress: "203.0.113.9", Roles: []weft.EvidenceRole{"destination"}}
	srv := weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: "srv-9.contoso.com", Roles: []weft.EvidenceRole{"attacked"}}
	ipAgain := weft.Evidence{EntityType: weft.EntityIP, IPAddress: "203.0.113.9", Roles: []weft.EvidenceRole{"attacker"}}
	noID := weft.Evidence{EntityType: weft.EntityGeneric}

	mk := func(id string, at time.Time, ev ...weft.Evidence) *weft.Alert {
		a := &weft.Alert{Source: "edr", ProviderAlertID: id, Title: "alert " + id, Severity: weft.SeverityHigh,
			Category: "Execution", DetectionSource: "edr", FirstActivityDateTime: at, LastActivityDateTime: at.Add(time.Minute),
			CorrelationReasons: []string{"sameAsset"}, Correlation: "shares an entity", Evidence: ev}
		if _, err := a.Normalize(at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		a.ID = id // readable ids for the test
		return a
	}
	return &weft.Incident{ID: 7, AlertCount: 4, Alerts: []*weft.Alert{
		mk("c-process", t0.Add(20*time.Minute), ws1ByName, ip, noID),
		mk("d-lateral", t0.Add(30*time.Minute), ipAgain, srv),
		mk("b-signin", t0.Add(10*time.Minute), alice, ws1),
		mk("a-mail", t0, mailbox, alice),
	}}
}

// criticalWS1 is an inventory in which ws-1 (by its MDE id) is critical.
func criticalWS1(ids []weft.Identifier) int {
	for _, id := range ids {
		if id.Kind == weft.IDDeviceMde && id.Value == "6f1c2a" {
			return 3
		}
	}
	return 0
}

func TestBuildInvestigation(t *testing.T) {
	inc := handBuiltIncident(t)
	v := weft.BuildInvestigation(&weft.Investigation{Incident: inc, Criticality: criticalWS1})

	t.Run("StoryOrder", func(t *testing.T) {
		var got []string
		for _, a := range v.Story.Alerts {
			got = append(got, a.ID)
		}
		if want := []string{"a-mail", "b-signin", "c-process", "d-lateral"}; !slices.Equal(got, want) {
			t.Errorf("got alerts %v, want %v", got, want)
		}
		if v.Story.Truncated || v.Story.AlertCount != 4 {
			t.Errorf("got truncated %v, alertCount %d; want false, 4", v.Story.Truncated, v.Story.AlertCount)
		}
		if a := v.Story.Alerts[0]; a.Correlation != "shares an entity" || !slices.Equal(a.CorrelationReasons, []string{"sameAsset"}) {
			t.Errorf("got correlation %q %v", a.Correlation, a.CorrelationReasons)
		}
	})

	t.Run("NodesMergedByIdentity", func(t *testing.T) {
		var got []string
		for _, n := range v.Story.Graph.Nodes {
			got = append(got, n.Key)
		}
		want := []string{"user.email:alice@contoso.com", "user.upn:alice@contoso.com", "device.mdeId:6f1c2a",
			"ip:203.0.113.9", "device.fqdn:srv-9.contoso.com"}
		if !slices.Equal(got, want) {
			t.Fatalf("got nodes %v, want %v", got, want)
		}
		ws1 := v.Story.Graph.Nodes[2]
		if ws1.Criticality != 3 || ws1.Name != "ws-1.contoso.com" || !slices.Equal(ws1.Aliases, []string{"device.fqdn:ws-1.contoso.com"}) {
			t.Errorf("got ws-1 node %+v, want criticality 3, its FQDN as alias", ws1)
		}
		if !slices.Equal(ws1.AlertIDs, []string{"b-signin", "c-process"}) || !ws1.FirstSeen.Equal(t0.Add(10*time.Minute)) ||
			!ws1.LastSeen.Equal(t0.Add(21*time.Minute)) {
			t.Errorf("got ws-1 alerts %v seen %v–%v", ws1.AlertIDs, ws1.FirstSeen, ws1.LastSeen)
		}
		if want := []weft.EvidenceRole{"compromised", "source"}; !slices.Equal(ws1.Roles, want) {
			t.Errorf("got ws-1 roles %v, want %v", ws1.Roles, want)
		}
		if n := len(v.Story.Graph.Edges); n != 8 {
			t.Errorf("got %d edges, want 8: %+v", n, v.Story.Graph.Edges)
		}
		e := v.Story.Graph.Edges[0]
		if e.AlertID != "a-mail" || e.EntityKey != "user.email:alice@contoso.com" || !e.Time.Equal(t0) {
			t.Errorf("got first edge %+v", e)
		}
	})

	t.Run("OriginPath", func(t *testing.T) {
		o := v.Origin
		if o.EntryAlert == nil || o.EntryAlert.ID != "a-mail" || len(o.EntryEntities) != 2 {
			t.Fatalf("got entry %+v with %d entities, want a-mail with 2", o.EntryAlert, len(o.EntryEntities))
		}
		type step struct{ key, alert, from string }
		var got []step
		for _, s := range o.Path {
			got = append(got, step{s.EntityKey, s.AlertID, s.From})
		}
		want := []step{
			{"user.email:alice@contoso.com", "a-mail", ""},
			{"user.upn:alice@contoso.com", "a-mail", ""},
			{"device.mdeId:6f1c2a", "b-signin", "user.upn:alice@contoso.com"},
			{"ip:203.0.113.9", "c-process", "device.mdeId:6f1c2a"},
			{"device.fqdn:srv-9.contoso.com", "d-lateral", "ip:203.0.113.9"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("got path %v, want %v", got, want)
		}
	})

	t.Run("Assets", func(t *testing.T) {
		counts := map[weft.EntityType]int{}
		for _, g := range v.Assets.Groups {
			counts[g.EntityType] = g.Count
		}
		if counts[weft.EntityDevice] != 2 || counts[weft.EntityUser] != 1 || counts[weft.EntityMailbox] != 1 || counts[weft.EntityCloudApplication] != 0 {
			t.Errorf("got counts %v", counts)
		}
		dev := v.Assets.Groups[0]
		if dev.Assets[0].Key != "device.mdeId:6f1c2a" || dev.Assets[0].AlertCount != 2 || dev.Assets[0].Criticality != 3 {
			t.Errorf("got first device %+v, want the critical ws-1 with 2 alerts", dev.Assets[0])
		}
	})

	t.Run("Evidence", func(t *testing.T) {
		if n := len(v.Evidence.Evidence); n != 9 {
			t.Fatalf("got %d evidence items, want 9", n)
		}
		e := v.Evidence.Evidence[4] // c-process's first record: ws-1 by name
		if e.AlertID != "c-process" || e.Key != "device.fqdn:ws-1.contoso.com" || e.EntityKey != "device.mdeId:6f1c2a" ||
			e.Verdict != "malicious" || e.RemediationStatus != "prevented" {
			t.Errorf("got %+v", e)
		}
		if g := v.Evidence.Evidence[6]; g.Key != "" || g.EntityKey != "" {
			t.Errorf("got evidence without identifiers keyed %q/%q", g.Key, g.EntityKey)
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		inc2 := handBuiltIncident(t)
		slices.Reverse(inc2.Alerts)
		v2 := weft.BuildInvestigation(&weft.Investigation{Incident: inc2, Criticality: criticalWS1})
		if !slices.EqualFunc(v.Story.Graph.Nodes, v2.Story.Graph.Nodes, func(x, y weft.GraphNode) bool {
			return x.Key == y.Key && slices.Equal(x.AlertIDs, y.AlertIDs)
		}) {
			t.Error("got another graph for the same alerts in another order")
		}
	})
}

func TestBuildInvestigationTruncated(t *testing.T) {
	inc := &weft.Incident{ID: 1, AlertCount: weft.MaxInvestigateAlerts + 5}
	for i := range weft.MaxInvestigateAlerts {
		inc.Alerts = append(inc.Alerts, &weft.Alert{ID: "a" + time.Duration(i).String(), FirstActivityDateTime: t0.Add(time.Duration(i) * time.Second)})
	}
	v := weft.BuildInvestigation(&weft.Investigation{Incident: inc})
	if !v.Story.Truncated || v.Story.AlertCount != weft.MaxInvestigateAlerts+5 || len(v.Story.Alerts) != weft.MaxInvestigateAlerts {
		t.Errorf("got truncated %v, count %d, %d alerts", v.Story.Truncated, v.Story.AlertCount, len(v.Story.Alerts))
	}
}

func TestBuildInvestigationEmpty(t *testing.T) {
	v := weft.BuildInvestigation(&weft.Investigation{Incident: &weft.Incident{ID: 3}})
	if v.Origin.EntryAlert != nil || v.Story.Alerts == nil || v.Story.Graph.Nodes == nil || v.Evidence.Evidence == nil || v.Related.Related == nil {
		t.Errorf("got %+v, want empty, non-nil lists", v)
	}
	if len(v.Assets.Groups) != len(weft.AssetTypes) {
		t.Errorf("got %d asset groups, want %d", len(v.Assets.Groups), len(weft.AssetTypes))
	}
}

func TestRelatedOrder(t *testing.T) {
	v := weft.BuildInvestigation(&weft.Investigation{Incident: &weft.Incident{ID: 3}, Related: []weft.RelatedIncident{
		{ID: 9, Relation: weft.RelationRelated}, {ID: 2, Relation: weft.RelationMerged}, {ID: 9, Relation: weft.RelationRelated},
		{ID: 4, Relation: weft.RelationContinues},
	}})
	var got []int64
	for _, r := range v.Related.Related {
		got = append(got, r.ID)
	}
	if want := []int64{2, 4, 9}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
