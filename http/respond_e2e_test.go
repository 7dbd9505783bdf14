package http_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/gen"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/respond"
	"github.com/weftxdr/weft/respond/simulator"
	"github.com/weftxdr/weft/sqlite"
)

// respondServer is a server wired as weft serve wires one, with response
// actions: the correlation engine and priority scoring, the action service
// on the same store with the simulator as its connector, and the service's
// worker running until the test ends.
type respondServer struct {
	*testServer
	actions *respond.Service
	sim     *simulator.Simulator
}

func newRespondServer(t *testing.T) *respondServer {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", Correlator: e,
		Describe: func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			score, factors := priority.Score(priority.Input{Alerts: in.Alerts, Now: in.Now, Criticality: in.Criticality,
				DetectorPrevalence: in.Prevalence})
			return priority.Name(in.Alerts), &score, factors
		}})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := respond.New(store, respond.Options{Connectors: map[string]weft.Connector{sim.Name(): sim}})
	b := ingest.NewBatcher(store, ingest.BatcherOptions{})
	creds := wefthttp.NewTestCredentials(t, store)
	api := wefthttp.NewServer(store, b, creds.Options(wefthttp.Options{Actions: svc}))
	api.SetReady(true)
	srv := httptest.NewServer(api.Handler())
	srv.Client().Transport = creds.Transport(srv.Client().Transport)
	ctx, stop := context.WithCancel(context.Background())
	worker := make(chan error, 1)
	go func() { worker <- svc.Run(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		stop()
		if err := <-worker; err != nil {
			t.Errorf("the worker: %v", err)
		}
		b.Close()
		store.Close()
	})
	return &respondServer{&testServer{srv, store}, svc, sim}
}

// responder signs a user in with the responder role in the default tenant
// only, and returns the headers that make a request theirs.
func (s *respondServer) responder(t *testing.T, name string) []string {
	t.Helper()
	ctx := context.Background()
	u, err := s.store.CreateUser(ctx, &weft.User{Name: name, Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleResponder}}}, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	secret, sess, err := s.store.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return []string{"Cookie", wefthttp.SessionCookie + "=" + secret, wefthttp.CSRFHeader, sess.CSRF}
}

// waitAction polls an action until it reaches want, failing on any final
// status other than want. The worker runs on its own; there is no timed
// assertion, only a bound on how long the test waits for it.
func (s *respondServer) waitAction(t *testing.T, id string, want weft.ActionStatus) weft.Action {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var a weft.Action
		if resp := s.send(t, "GET", "/api/v1/actions/"+id, "", &a); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET action %s: status %d", id, resp.StatusCode)
		}
		if a.ActionStatus == want {
			return a
		}
		if a.ActionStatus.Final() || time.Now().After(deadline) {
			t.Fatalf("action %s is %s (%s), want %s", id, a.ActionStatus, a.Message, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRespondEndToEnd is issue 7's "done when": an incident from weft gen →
// responder A isolates its device and disables its user through the API,
// under a tenant policy that needs approval for both → A cannot approve
// their own actions, responder B approves them → the simulator completes
// them → the incident graph, the impacted assets and the entity page show
// the containment → undo releases the device, with approval → every step is
// in the action log and in the incident's activity log, in order, with its
// actor.
func TestRespondEndToEnd(t *testing.T) {
	s := newRespondServer(t)

	// The generator's showcase attack, amid noise, through the API.
	opts := gen.DemoOptions()
	opts.Start = time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	opts.Attacks, opts.NoiseAlerts, opts.Users, opts.Devices = 1, 60, 200, 210
	var alerts bytes.Buffer
	if _, err := gen.Generate(opts, &alerts, new(bytes.Buffer)); err != nil {
		t.Fatal(err)
	}
	var ans ingestAnswer
	if resp := s.do(t, "POST", "/api/v1/ingest/graph", "application/x-ndjson", alerts.Bytes(), &ans); resp.StatusCode != http.StatusOK || ans.Rejected != 0 || ans.Stored == 0 {
		t.Fatalf("ingest: status %d, %d stored, %d rejected", resp.StatusCode, ans.Stored, ans.Rejected)
	}

	// The top incident, and the device and user of its graph.
	var queue struct {
		Value []weft.Incident `json:"value"`
	}
	s.send(t, "GET", "/api/v1/incidents?"+url.Values{"$orderby": {"priorityScore desc"}, "$top": {"1"}}.Encode(), "", &queue)
	if len(queue.Value) != 1 {
		t.Fatal("the queue is empty")
	}
	incident := fmt.Sprint(queue.Value[0].ID)
	story := func() weft.StoryView {
		var v weft.StoryView
		if resp := s.send(t, "GET", "/api/v1/incidents/"+incident+"/story", "", &v); resp.StatusCode != http.StatusOK {
			t.Fatalf("story: status %d", resp.StatusCode)
		}
		return v
	}
	var device, user weft.GraphNode
	for _, n := range story().Graph.Nodes {
		if n.Containment != nil {
			t.Fatalf("before any action, node %s shows containment %+v", n.Key, n.Containment)
		}
		_, err := weft.ActionTargetType(n.Key)
		switch {
		case err != nil:
		case n.Type == weft.EntityDevice && device.Key == "":
			device = n
		case n.Type == weft.EntityUser && user.Key == "":
			user = n
		}
	}
	if device.Key == "" || user.Key == "" {
		t.Fatalf("incident %s has no device or no user to act on: %+v", incident, story().Graph.Nodes)
	}

	// An admin sets the tenant's policy: isolation, disabling and their
	// inverses need a second person.
	var policy weft.ResponsePolicy
	resp := s.send(t, "PUT", "/api/v1/response/policy", `{"requireApproval":["isolate","release","disable","enable"],"automationRequiresApproval":true}`, &policy)
	if resp.StatusCode != http.StatusOK || !slices.Equal(policy.RequireApproval, []string{"disable", "enable", "isolate", "release"}) {
		t.Fatalf("policy: status %d, %+v", resp.StatusCode, policy)
	}
	alice, bob := s.responder(t, "alice"), s.responder(t, "bob")

	// A requests both; a double click is the same action.
	request := func(typ string, n weft.GraphNode, wantStatus int) weft.Action {
		t.Helper()
		var a weft.Action
		body := fmt.Sprintf(`{"type":%q,"target":%q,"targetName":%q,"incidentId":%q,"comment":"contain the attack"}`, typ, n.Key, n.Name, incident)
		resp := s.send(t, "POST", "/api/v1/actions", body, &a, alice...)
		if resp.StatusCode != wantStatus || resp.Header.Get("Location") != "/api/v1/actions/"+fmt.Sprint(a.ID) {
			t.Fatalf("request %s: status %d (want %d), Location %q", typ, resp.StatusCode, wantStatus, resp.Header.Get("Location"))
		}
		return a
	}
	isolate := request("isolate", device, http.StatusCreated)
	if again := request("isolate", device, http.StatusOK); again.ID != isolate.ID {
		t.Fatalf("a repeated request made action %d besides %d", again.ID, isolate.ID)
	}
	disable := request("disable", user, http.StatusCreated)
	for _, a := range []weft.Action{isolate, disable} {
		if a.ActionStatus != weft.ActionPendingApproval || a.RequestedBy != (weft.ActionActor{Kind: weft.ActorUser, Name: "alice"}) || a.IncidentID != queue.Value[0].ID {
			t.Fatalf("requested: %+v", a)
		}
	}
	isolateID, disableID := fmt.Sprint(isolate.ID), fmt.Sprint(disable.ID)

	// A cannot approve their own; B can.
	var e errorAnswer
	if resp := s.send(t, "POST", "/api/v1/actions/"+isolateID+"/approve", `{"comment":"mine"}`, &e, alice...); resp.StatusCode != http.StatusForbidden || e.Error.Code != weft.EFORBIDDEN {
		t.Fatalf("self-approval: status %d %+v, want 403", resp.StatusCode, e)
	}
	for _, id := range []string{isolateID, disableID} {
		var a weft.Action
		if resp := s.send(t, "POST", "/api/v1/actions/"+id+"/approve", `{"comment":"confirmed"}`, &a, bob...); resp.StatusCode != http.StatusOK ||
			a.DecidedBy == nil || a.DecidedBy.Name != "bob" {
			t.Fatalf("approve %s: status %d, %+v", id, resp.StatusCode, a)
		}
	}
	// A second approval of the same action is a conflict, not a second run.
	if resp := s.send(t, "POST", "/api/v1/actions/"+isolateID+"/approve", "", nil, bob...); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second approval: status %d, want 409", resp.StatusCode)
	}

	// The simulator completes both.
	s.waitAction(t, isolateID, weft.ActionSucceeded)
	s.waitAction(t, disableID, weft.ActionSucceeded)
	if st := s.sim.State(weft.DefaultTenantID, device.Key); st.Isolation == "" {
		t.Fatalf("the simulator's device: %+v", st)
	}

	// The graph, the assets and the entity pages show containment.
	checkContainment := func(stage string, wantDevice, wantUser weft.ContainmentState) {
		t.Helper()
		state := func(c *weft.Containment) weft.ContainmentState {
			if c == nil {
				return weft.ContainmentNone
			}
			return c.State
		}
		for _, n := range story().Graph.Nodes {
			want := weft.ContainmentNone
			switch n.Key {
			case device.Key:
				want = wantDevice
			case user.Key:
				want = wantUser
			}
			if got := state(n.Containment); got != want {
				t.Errorf("%s: graph node %s: containment %s, want %s", stage, n.Key, got, want)
			}
		}
		var assets weft.AssetsView
		s.send(t, "GET", "/api/v1/incidents/"+incident+"/assets", "", &assets)
		found := 0
		for _, g := range assets.Groups {
			for _, a := range g.Assets {
				switch a.Key {
				case device.Key:
					found++
					if got := state(a.Containment); got != wantDevice {
						t.Errorf("%s: asset %s: containment %s, want %s", stage, a.Key, got, wantDevice)
					}
				case user.Key:
					found++
					if got := state(a.Containment); got != wantUser {
						t.Errorf("%s: asset %s: containment %s, want %s", stage, a.Key, got, wantUser)
					}
				}
			}
		}
		if found != 2 {
			t.Errorf("%s: the impacted assets hold %d of the device and the user", stage, found)
		}
		for _, c := range []struct {
			n    weft.GraphNode
			want weft.ContainmentState
		}{{device, wantDevice}, {user, wantUser}} {
			var page weft.EntityView
			resp := s.send(t, "GET", "/api/v1/entities/"+string(c.n.Type)+"/"+url.PathEscape(c.n.Key), "", &page)
			if resp.StatusCode != http.StatusOK || page.ContainmentState != c.want ||
				(c.want == weft.ContainmentNone) != (page.Containment == nil) {
				t.Errorf("%s: entity page %s: status %d, containment %s %+v, want %s", stage, c.n.Key, resp.StatusCode, page.ContainmentState, page.Containment, c.want)
			}
		}
	}
	checkContainment("contained", weft.ContainmentIsolated, weft.ContainmentDisabled)

	// Undo releases the device, with approval (A asks, B approves).
	var release weft.Action
	if resp := s.send(t, "POST", "/api/v1/actions/"+isolateID+"/undo", `{"comment":"device cleaned"}`, &release, alice...); resp.StatusCode != http.StatusCreated ||
		release.Type != "release" || release.UndoOf != isolate.ID || release.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("undo: status %d, %+v", resp.StatusCode, release)
	}
	releaseID := fmt.Sprint(release.ID)
	if resp := s.send(t, "POST", "/api/v1/actions/"+releaseID+"/approve", "", nil, alice...); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("self-approval of the undo: status %d, want 403", resp.StatusCode)
	}
	if resp := s.send(t, "POST", "/api/v1/actions/"+releaseID+"/approve", `{"comment":"ok"}`, nil, bob...); resp.StatusCode != http.StatusOK {
		t.Fatalf("approve the undo: status %d", resp.StatusCode)
	}
	s.waitAction(t, releaseID, weft.ActionSucceeded)
	undone := s.waitAction(t, isolateID, weft.ActionUndone)
	if undone.UndoneBy != release.ID {
		t.Fatalf("the isolation: undoneBy %d, want %d", undone.UndoneBy, release.ID)
	}
	if st := s.sim.State(weft.DefaultTenantID, device.Key); st.Isolation != "" {
		t.Fatalf("the simulator's device is still isolated: %+v", st)
	}
	checkContainment("released", weft.ContainmentNone, weft.ContainmentDisabled)

	// Every step in each action's log, in order, with its actor.
	type step struct {
		to    weft.ActionStatus
		actor string
	}
	checkLog := func(id string, want []step) {
		t.Helper()
		var log struct {
			Value []weft.ActionLogEntry `json:"value"`
		}
		if resp := s.send(t, "GET", "/api/v1/actions/"+id+"/log", "", &log); resp.StatusCode != http.StatusOK {
			t.Fatalf("log %s: status %d", id, resp.StatusCode)
		}
		var got []step
		for _, e := range log.Value {
			got = append(got, step{e.To, e.Actor.String()})
		}
		if !slices.Equal(got, want) {
			t.Errorf("action %s's log:\n got %v\nwant %v", id, got, want)
		}
	}
	life := func(connector string, end ...step) []step {
		return append([]step{{weft.ActionRequested, "alice"}, {weft.ActionPendingApproval, "weft"},
			{weft.ActionApproved, "bob"}, {weft.ActionDispatched, "weft"}, {weft.ActionSucceeded, "connector " + connector}}, end...)
	}
	checkLog(isolateID, life(s.sim.Name(), step{weft.ActionUndone, "connector " + s.sim.Name()}))
	checkLog(disableID, life(s.sim.Name()))
	checkLog(releaseID, life(s.sim.Name()))

	// The incident's activity log has the same steps, in order.
	var activity struct {
		Value []weft.Activity `json:"value"`
	}
	s.send(t, "GET", "/api/v1/incidents/"+incident+"/activity", "", &activity)
	var got []string
	for _, a := range activity.Value {
		if strings.HasPrefix(a.Type, "action") {
			got = append(got, a.Type+" "+a.Actor)
		}
	}
	for _, id := range []struct {
		id   int64
		want []string
	}{
		{isolate.ID, []string{"actionRequested alice", "actionApproved bob", "actionDispatched weft", "actionSucceeded connector simulator", "actionUndone connector simulator"}},
		{disable.ID, []string{"actionRequested alice", "actionApproved bob", "actionDispatched weft", "actionSucceeded connector simulator"}},
		{release.ID, []string{"actionRequested alice", "actionApproved bob", "actionDispatched weft", "actionSucceeded connector simulator"}},
	} {
		var mine []string
		for _, a := range activity.Value {
			if strings.HasPrefix(a.Type, "action") && strings.HasPrefix(a.Message, fmt.Sprintf("Action %d ", id.id)) {
				mine = append(mine, a.Type+" "+a.Actor)
			}
		}
		if !slices.Equal(mine, id.want) {
			t.Errorf("the incident's activity for action %d:\n got %v\nwant %v\n(all action entries: %v)", id.id, mine, id.want, got)
		}
	}

	// The action center: the incident's actions, a filter, the export.
	var list struct {
		Count int64         `json:"@odata.count"`
		Value []weft.Action `json:"value"`
	}
	s.send(t, "GET", "/api/v1/incidents/"+incident+"/actions?$count=true", "", &list)
	if list.Count != 3 || len(list.Value) != 3 || list.Value[0].ID != release.ID {
		t.Fatalf("the incident's actions: %d, %+v", list.Count, list.Value)
	}
	s.send(t, "GET", "/api/v1/actions?"+url.Values{"status": {"succeeded"}, "requestedBy": {"alice"}, "$count": {"true"}}.Encode(), "", &list)
	if list.Count != 2 {
		t.Fatalf("succeeded actions alice requested: %d, want 2 (disable, release)", list.Count)
	}
	resp = s.send(t, "GET", "/api/v1/actions/export.csv?type=isolate,release", "", nil)
	if resp.StatusCode != http.StatusOK || resp.Trailer.Get(wefthttp.ExportTruncatedTrailer) != "false" {
		t.Fatalf("export: status %d, trailer %q", resp.StatusCode, resp.Trailer.Get(wefthttp.ExportTruncatedTrailer))
	}
}

// TestRespondExportCSV checks the action export's rows and that a target
// name a spreadsheet would run as a formula is defused.
func TestRespondExportCSV(t *testing.T) {
	s := newRespondServer(t)
	const target = "device.fqdn:ws-001.contoso.com"
	var a weft.Action
	if resp := s.send(t, "POST", "/api/v1/actions", `{"type":"runAntivirusScan","target":"`+target+`","targetName":"=HYPERLINK(\"http://evil\")","parameters":{"scanType":"full"},"comment":"+1 scan"}`, &a); resp.StatusCode != http.StatusCreated {
		t.Fatalf("request: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/actions/export.csv?target="+url.QueryEscape(target), nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "Action Id" || rows[1][0] != fmt.Sprint(a.ID) {
		t.Fatalf("export rows: %q", rows)
	}
	col := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
	if col("Target name") != `'=HYPERLINK("http://evil")` || col("Comment") != "'+1 scan" || col("Action type") != "runAntivirusScan" || col("Target") != target {
		t.Fatalf("export row: %q", rows[1])
	}
	if resp.Trailer.Get(wefthttp.ExportTruncatedTrailer) != "false" {
		t.Fatalf("trailer %q", resp.Trailer.Get(wefthttp.ExportTruncatedTrailer))
	}
}
