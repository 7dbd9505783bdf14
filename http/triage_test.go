package http_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/sqlite"
)

// TestTriageFlow walks Defender's triage flow through the API, end to end,
// as an analyst (or a SOAR playbook) would: the queue filtered to high
// severity in priority order → open the top incident → read its story and
// origin → assign it and take it in progress → comment → move a stray
// alert out to a new incident → merge a related incident into it →
// classify and resolve. Every step's activity entry is checked, on every
// incident involved, and so is what the correlation engine does with the
// next alerts.
func TestTriageFlow(t *testing.T) {
	s := newTriageServer(t)
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	at := func(min int) string { return base.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
	alert := func(id, title, severity, category, service string, min int, evidence string) string {
		return fmt.Sprintf(`{"source":"%s","providerAlertId":%q,"title":%q,"severity":%q,"category":%q,"serviceSource":%q,`+
			`"detectionSource":"automatedInvestigation","firstActivityDateTime":%q,"evidence":[%s]}`,
			service, id, title, severity, category, service, at(min), evidence)
	}
	const (
		alice    = `{"entityType":"user","userAccount":{"userPrincipalName":"alice@contoso.com"},"roles":["compromised"]}`
		mailbox  = `{"entityType":"mailbox","primaryAddress":"alice@contoso.com"}`
		ws100    = `{"entityType":"device","deviceDnsName":"ws-100.contoso.com"}`
		backup   = `{"entityType":"file","fileDetails":{"fileName":"bkagent.exe","sha256":"9f2a3c0d8e1b4a5f6071829304a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d"}}`
		srv200   = `{"entityType":"device","deviceDnsName":"srv-200.contoso.com"}`
		svc      = `{"entityType":"user","userAccount":{"accountName":"svc-sql","domainName":"CONTOSO"}}`
		ws300    = `{"entityType":"device","deviceDnsName":"ws-300.contoso.com"}`
		analyst  = "analyst@contoso.com"
		incPath  = "/api/v1/incidents/"
		moveNote = "Backup agent on ws-100, scheduled job; not part of the attack."
	)
	var ans ingestAnswer
	body := strings.Join([]string{
		alert("p1", "Phishing email delivered to alice", "medium", "InitialAccess", "microsoftDefenderForOffice365", 0, mailbox+","+alice),
		alert("p2", "Suspicious sign-in by alice", "high", "CredentialAccess", "microsoftEntraIdProtection", 12, alice),
		alert("p3", "Suspicious PowerShell by alice on ws-100", "high", "Execution", "microsoftDefenderForEndpoint", 25, alice+","+ws100),
		alert("stray", "Unsigned backup agent on ws-100", "medium", "Persistence", "microsoftDefenderForEndpoint", 30, ws100+","+backup),
		alert("r1", "Suspicious service created on srv-200", "high", "LateralMovement", "microsoftDefenderForEndpoint", 40, srv200+","+svc),
		alert("n1", "Adware on ws-300", "low", "Malware", "microsoftDefenderForEndpoint", 5, ws300),
	}, "\n")
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(body), &ans)
	if ans.Stored != 6 {
		t.Fatalf("ingest: %+v", ans)
	}
	incidentOf := map[string]string{}
	for i, id := range []string{"p1", "p2", "p3", "stray", "r1", "n1"} {
		incidentOf[id] = ans.Results[i].IncidentID
	}
	attack, related, noise := incidentOf["p1"], incidentOf["r1"], incidentOf["n1"]
	for _, id := range []string{"p2", "p3", "stray"} {
		if incidentOf[id] != attack {
			t.Fatalf("alert %s went to incident %s, not the attack's %s: %v", id, incidentOf[id], attack, incidentOf)
		}
	}
	if related == attack || noise == attack || related == noise {
		t.Fatalf("incidents: %v; want the attack, the related one and the noise apart", incidentOf)
	}
	alertIDs := map[string]string{}
	for i, id := range []string{"p1", "p2", "p3", "stray", "r1", "n1"} {
		alertIDs[id] = ans.Results[i].ID
	}

	// 1. The queue, high severity, in priority order: the multi-stage
	// attack on top, the related incident listed, the noise not.
	var queue struct {
		Count int64           `json:"@odata.count"`
		Value []weft.Incident `json:"value"`
	}
	q := url.Values{"$filter": {"severity eq 'high' and status in ('active', 'inProgress')"}, "$orderby": {"priorityScore desc"}, "$count": {"true"}}
	if resp := s.send(t, "GET", "/api/v1/incidents?"+q.Encode(), "", &queue); resp.StatusCode != 200 {
		t.Fatalf("queue: status %d", resp.StatusCode)
	}
	if queue.Count != 2 || len(queue.Value) != 2 || incidentIDOf(queue.Value[0]) != attack || incidentIDOf(queue.Value[1]) != related {
		t.Fatalf("queue: count %d, %v; want the attack %s then %s", queue.Count, incidentIDs(queue.Value), attack, related)
	}
	top := queue.Value[0]
	if top.PriorityScore == nil || queue.Value[1].PriorityScore == nil || *top.PriorityScore < *queue.Value[1].PriorityScore || len(top.PriorityFactors) == 0 {
		t.Fatalf("top incident's priority: %v %+v", top.PriorityScore, top.PriorityFactors)
	}

	// 2. Open it, with its alerts.
	var inc weft.Incident
	resp := s.send(t, "GET", incPath+attack+"?$expand=alerts", "", &inc)
	if resp.StatusCode != 200 || len(inc.Alerts) != 4 || inc.AlertCount != 4 {
		t.Fatalf("open: status %d, %d alerts", resp.StatusCode, len(inc.Alerts))
	}
	etag := resp.Header.Get("ETag")

	// 3. Story: alerts in event-time order, each but the first with why it
	// joined; the graph holds alice and ws-100. Origin: the phishing email.
	var story weft.StoryView
	s.send(t, "GET", incPath+attack+"/story", "", &story)
	var order []string
	for _, a := range story.Alerts {
		order = append(order, a.ID)
		if a.ID != alertIDs["p1"] && (a.Correlation == "" || len(a.CorrelationReasons) == 0) {
			t.Errorf("story: alert %s has no correlation reason", a.ID)
		}
	}
	if want := []string{alertIDs["p1"], alertIDs["p2"], alertIDs["p3"], alertIDs["stray"]}; !slices.Equal(order, want) {
		t.Fatalf("story order %v, want %v", order, want)
	}
	names := map[string]bool{}
	for _, n := range story.Graph.Nodes {
		names[strings.ToLower(n.Name)] = true
	}
	if !names["alice@contoso.com"] || !names["ws-100.contoso.com"] || len(story.Graph.Edges) == 0 {
		t.Fatalf("graph nodes %v, %d edges", names, len(story.Graph.Edges))
	}
	var origin weft.OriginView
	s.send(t, "GET", incPath+attack+"/origin", "", &origin)
	if origin.EntryAlert == nil || origin.EntryAlert.ID != alertIDs["p1"] || len(origin.EntryEntities) == 0 || len(origin.Path) == 0 {
		t.Fatalf("origin: %+v", origin)
	}

	// 4. Assign and take in progress, guarded by the ETag read above.
	var after weft.Incident
	resp = s.send(t, "PATCH", incPath+attack, `{"assignedTo":"analyst@contoso.com","status":"inProgress"}`, &after,
		"If-Match", etag, wefthttp.ActorHeader, analyst)
	if resp.StatusCode != 200 || after.AssignedTo != analyst || after.Status != weft.IncidentStatusInProgress {
		t.Fatalf("assign: status %d, %+v", resp.StatusCode, after)
	}
	// A second client still holding the old ETag is refused.
	if resp := s.send(t, "PATCH", incPath+attack, `{"assignedTo":"someone@contoso.com"}`, nil, "If-Match", etag); resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale assign: status %d, want 412", resp.StatusCode)
	}

	// 5. Comment.
	if resp := s.send(t, "POST", incPath+attack+"/comments", `{"comment":"Phish → sign-in → PowerShell. Isolating ws-100."}`, nil,
		wefthttp.ActorHeader, analyst); resp.StatusCode != http.StatusCreated {
		t.Fatalf("comment: status %d", resp.StatusCode)
	}

	// 6. Move the stray alert out, to a new incident.
	var moved struct {
		Target string `json:"targetIncidentId"`
	}
	resp = s.send(t, "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q],"incidentId":null,"alertComment":%q,"newCorrelationReasons":["sameAsset"]}`,
		alertIDs["stray"], moveNote), &moved, wefthttp.ActorHeader, analyst)
	if resp.StatusCode != 200 || moved.Target == "" || moved.Target == attack {
		t.Fatalf("move: status %d, %+v", resp.StatusCode, moved)
	}
	strayInc := moved.Target
	var stray weft.Alert
	s.send(t, "GET", "/api/v1/alerts/"+alertIDs["stray"], "", &stray)
	if fmt.Sprint(stray.IncidentID) != strayInc || !strings.Contains(stray.Correlation, moveNote) || !strings.Contains(stray.Correlation, analyst) {
		t.Fatalf("moved alert: incident %d, correlation %q", stray.IncidentID, stray.Correlation)
	}
	// The engine respects it: a new alert sharing only the backup agent
	// with the stray alert joins the stray's new incident, not the attack.
	s.do(t, "POST", "/api/v1/alerts", "application/json",
		[]byte(alert("stray2", "Unsigned backup agent on ws-101", "medium", "Persistence", "microsoftDefenderForEndpoint", 50,
			`{"entityType":"device","deviceDnsName":"ws-101.contoso.com"},`+backup)), &ans)
	if ans.Stored != 1 || ans.Results[0].IncidentID != strayInc {
		t.Fatalf("a later alert of the backup agent went to incident %s, want %s (where the analyst moved its kin)", ans.Results[0].IncidentID, strayInc)
	}

	// 7. Merge the related incident into the attack.
	var merged struct {
		Target string `json:"targetIncidentId"`
	}
	resp = s.send(t, "POST", "/api/v1/incidents/mergeIncidents", fmt.Sprintf(`{"incidentIds":[%s,%s],"targetIncidentId":%s,"incidentComment":"Same actor moved on to srv-200.","mergeReasons":["sameActor"]}`,
		attack, related, attack), &merged, wefthttp.ActorHeader, analyst)
	if resp.StatusCode != 200 || merged.Target != attack {
		t.Fatalf("merge: status %d, %+v", resp.StatusCode, merged)
	}
	var gone weft.Incident
	s.send(t, "GET", incPath+related, "", &gone)
	if gone.Status != weft.IncidentStatusRedirected || fmt.Sprint(gone.RedirectIncidentID) != attack {
		t.Fatalf("merged incident: status %s, redirect %d", gone.Status, gone.RedirectIncidentID)
	}

	// 8. Classify and resolve: its alerts are resolved with it.
	resp = s.send(t, "PATCH", incPath+attack, `{"classification":"truePositive","determination":"multiStagedAttack","status":"resolved","resolvingComment":"Contained; credentials reset."}`,
		&after, wefthttp.ActorHeader, analyst)
	if resp.StatusCode != 200 || after.Status != weft.IncidentStatusResolved || after.AlertCount != 4 {
		t.Fatalf("resolve: status %d, %+v", resp.StatusCode, after)
	}
	s.send(t, "GET", incPath+attack+"?$expand=alerts", "", &inc)
	var in []string
	for _, a := range inc.Alerts {
		in = append(in, a.ID)
		if a.Status != weft.AlertStatusResolved {
			t.Errorf("alert %s is %s after resolving its incident", a.ID, a.Status)
		}
	}
	slices.Sort(in)
	want := []string{alertIDs["p1"], alertIDs["p2"], alertIDs["p3"], alertIDs["r1"]}
	slices.Sort(want)
	if !slices.Equal(in, want) {
		t.Fatalf("the resolved incident holds %v, want %v", in, want)
	}

	// Every step is on the activity logs, in order, by whom.
	type entry struct{ typ, actor, text string }
	check := func(id string, want []entry) {
		t.Helper()
		var acts struct {
			Value []weft.Activity `json:"value"`
		}
		s.send(t, "GET", incPath+id+"/activity", "", &acts)
		if len(acts.Value) != len(want) {
			var got []string
			for _, a := range acts.Value {
				got = append(got, a.Type+" by "+a.Actor+": "+a.Message)
			}
			t.Fatalf("incident %s: %d activities, want %d:\n%s", id, len(acts.Value), len(want), strings.Join(got, "\n"))
		}
		for i, w := range want {
			a := acts.Value[i]
			if a.Type != w.typ || a.Actor != w.actor || !strings.Contains(a.Message+" "+a.After, w.text) {
				t.Errorf("incident %s, activity %d: %s by %s: %q %s; want %s by %s containing %q", id, i, a.Type, a.Actor, a.Message, a.After, w.typ, w.actor, w.text)
			}
		}
	}
	corr := weft.ActorCorrelation
	check(attack, []entry{
		{weft.ActivityIncidentCreated, corr, alertIDs["p1"]},
		{weft.ActivityAlertAdded, corr, ""},
		{weft.ActivityAlertAdded, corr, ""},
		{weft.ActivityAlertAdded, corr, ""},
		{weft.ActivityIncidentUpdated, analyst, `"status":"inProgress"`},
		{weft.ActivityIncidentUpdated, analyst, `"assignedTo":"analyst@contoso.com"`},
		{weft.ActivityCommentAdded, analyst, "Isolating ws-100"},
		{weft.ActivityAlertsMoved, analyst, alertIDs["stray"]},
		{weft.ActivityIncidentMerged, analyst, related},
		{weft.ActivityIncidentUpdated, analyst, `"status":"resolved"`},
		{weft.ActivityIncidentUpdated, analyst, `"classification":"truePositive"`},
		{weft.ActivityIncidentUpdated, analyst, `"determination":"multiStagedAttack"`},
		{weft.ActivityIncidentUpdated, analyst, `"resolvingComment":"Contained; credentials reset."`},
		{weft.ActivityAlertsResolved, analyst, "4 alerts resolved"},
	})
	check(related, []entry{
		{weft.ActivityIncidentCreated, corr, alertIDs["r1"]},
		{weft.ActivityIncidentRedirected, analyst, attack},
	})
	check(strayInc, []entry{
		{weft.ActivityIncidentCreated, analyst, alertIDs["stray"]},
		{weft.ActivityAlertAdded, corr, ""},
	})
	check(noise, []entry{{weft.ActivityIncidentCreated, corr, alertIDs["n1"]}})

	// The default queue no longer shows the resolved attack.
	s.send(t, "GET", "/api/v1/incidents", "", &queue)
	for _, i := range queue.Value {
		if incidentIDOf(i) == attack || incidentIDOf(i) == related {
			t.Errorf("the default queue lists incident %s (%s)", incidentIDOf(i), i.Status)
		}
	}
}

// newTriageServer is a server configured as weft serve configures one: the
// correlation engine, and incidents named and scored by the priority
// package.
func newTriageServer(t *testing.T) *testServer {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return newServerWith(t, sqlite.Options{Correlator: e,
		Describe: func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			score, factors := priority.Score(priority.Input{Alerts: in.Alerts, Now: in.Now, Criticality: in.Criticality,
				DetectorPrevalence: in.Prevalence})
			return priority.Name(in.Alerts), &score, factors
		}}, wefthttp.Options{})
}

func incidentIDOf(i weft.Incident) string { return fmt.Sprint(i.ID) }

func incidentIDs(l []weft.Incident) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = incidentIDOf(x)
	}
	return out
}
