package http_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/respond"
	"github.com/weftxdr/weft/respond/simulator"
	"github.com/weftxdr/weft/respond/webhook"
	"github.com/weftxdr/weft/sqlite"
)

func init() { openAPIExtensions = append(openAPIExtensions, actionsOpenAPI) }

// callbackSecret is the webhook secret of the OpenAPI test's connector.
const callbackSecret = "0123456789abcdef0123456789abcdef-test-only"

// actionsOpenAPI gives TestOpenAPIResponses's server response actions (the
// simulator, and a webhook connector for the callback route) and returns
// the subtest that calls every action route for its success and its main
// errors. The worker runs only during that subtest.
func actionsOpenAPI(t *testing.T, store *sqlite.Store, opts *wefthttp.Options) func(*testing.T, *openAPIChecker) {
	sim, err := simulator.New(simulator.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(secretFile, []byte(callbackSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	// The webhook's receiver takes every action and answers later (202:
	// pending), through the callback.
	receiver := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(receiver.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: receiver.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	wh, err := webhook.New(webhook.Config{URL: receiver.URL + "/weft", SecretFile: secretFile, CAFile: caFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := respond.New(store, respond.Options{Connectors: map[string]weft.Connector{sim.Name(): sim, wh.Name(): wh},
		ConnectorFor: map[string]string{"collectInvestigationPackage": wh.Name()}})
	opts.Actions, opts.ActionCallback = svc, wh.CallbackHandler(svc)
	return func(t *testing.T, c *openAPIChecker) {
		ctx, stop := context.WithCancel(context.Background())
		worker := make(chan error, 1)
		go func() { worker <- svc.Run(ctx) }()
		defer func() { stop(); <-worker }()
		checkActionRoutes(t, c)
	}
}

func checkActionRoutes(t *testing.T, c *openAPIChecker) {
	const (
		actor   = wefthttp.ActorHeader
		missing = "999999"
	)
	// An incident with a device to act on.
	_, raw, _ := c.call(t, "GET /api/v1/incidents", withQuery("/api/v1/incidents", "$top", "50", "$filter", "status in ('active', 'inProgress', 'resolved')"), "")
	var incs struct {
		Value []weft.Incident `json:"value"`
	}
	if err := json.Unmarshal(raw, &incs, json.RejectUnknownMembers(false)); err != nil || len(incs.Value) == 0 {
		t.Fatalf("no incident to act on: %v %.200s", err, raw)
	}
	var incident string
	var node weft.GraphNode
	for _, inc := range incs.Value {
		var story weft.StoryView
		_, raw, _ := c.call(t, "GET /api/v1/incidents/{id}/story", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10)+"/story", "")
		if err := json.Unmarshal(raw, &story, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		for _, n := range story.Graph.Nodes {
			if et, err := weft.ActionTargetType(n.Key); err == nil && et == weft.EntityDevice && n.Type == weft.EntityDevice {
				incident, node = strconv.FormatInt(inc.ID, 10), n
				break
			}
		}
		if incident != "" {
			break
		}
	}
	if incident == "" {
		t.Fatal("no incident has a device to act on")
	}
	device := node.Key

	const catalogue, policy = "GET /api/v1/actions/catalogue", "/api/v1/response/policy"
	c.call(t, catalogue, "/api/v1/actions/catalogue", "")
	c.call(t, catalogue, withQuery("/api/v1/actions/catalogue", "entityType", "device"), "")
	c.call(t, catalogue, withQuery("/api/v1/actions/catalogue", "entityType", "spaceship"), "")
	c.call(t, "GET "+policy, policy, "")
	c.call(t, "PUT "+policy, policy, `{"requireApproval":["isolate","disable"],"automationRequiresApproval":true}`)
	c.call(t, "PUT "+policy, policy, `{"requireApproval":["isolate"]}`)
	c.call(t, "PUT "+policy, policy, `{"requireApproval":["selfDestruct"],"automationRequiresApproval":true}`)
	c.call(t, "PUT "+policy, policy, `{}`, "Content-Type", "text/plain")

	// Requests: new, deduplicated, refused.
	const request = "POST /api/v1/actions"
	post := func(body string, headers ...string) (int, weft.Action) {
		status, raw, _ := c.call(t, request, "/api/v1/actions", body, headers...)
		var a weft.Action
		if status < 300 {
			if err := json.Unmarshal(raw, &a, json.RejectUnknownMembers(false)); err != nil {
				t.Fatal(err)
			}
		}
		return status, a
	}
	isolateBody := `{"type":"isolate","target":"` + device + `","parameters":{"isolationType":"selective"},"incidentId":"` + incident + `","comment":"contain"}`
	status, isolate := post(isolateBody)
	if status != http.StatusCreated || isolate.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("isolate: %d %+v", status, isolate)
	}
	if status, again := post(isolateBody); status != http.StatusOK || again.ID != isolate.ID {
		t.Fatalf("repeated isolate: %d %+v", status, again)
	}
	post(`{"type":"isolate","target":"file.sha256:` + strings.Repeat("a", 64) + `"}`)
	post(`{"type":"isolate"}`)
	post(`{"type":"isolate","target":"` + device + `","owner":"me"}`)
	status, scan := post(`{"type":"runAntivirusScan","target":"` + device + `","incidentId":` + incident + `}`)
	if status != http.StatusCreated || scan.ActionStatus != weft.ActionApproved {
		t.Fatalf("scan: %d %+v", status, scan)
	}
	_, disable := post(`{"type":"disable","target":"user.upn:alice@contoso.com"}`)
	_, other := post(`{"type":"isolate","target":"device.fqdn:ws-other.contoso.com"}`)
	id := func(a weft.Action) string { return strconv.FormatInt(a.ID, 10) }

	// Decisions.
	path := func(a weft.Action, verb string) string { return "/api/v1/actions/" + id(a) + "/" + verb }
	const approve, reject, cancel, undo = "POST /api/v1/actions/{id}/approve", "POST /api/v1/actions/{id}/reject", "POST /api/v1/actions/{id}/cancel", "POST /api/v1/actions/{id}/undo"
	c.call(t, approve, path(isolate, "approve"), `{"comment":"mine"}`) // the requester: 403
	c.call(t, approve, path(isolate, "approve"), `{"comment":"ok"}`, actor, "olivia")
	c.call(t, approve, path(isolate, "approve"), "", actor, "olivia") // not pending: 409
	c.call(t, approve, "/api/v1/actions/"+missing+"/approve", "", actor, "olivia")
	c.call(t, approve, path(isolate, "approve"), `{"comment":1}`, actor, "olivia")
	c.call(t, reject, path(disable, "reject"), `{"comment":"not her"}`, actor, "olivia")
	c.call(t, reject, path(disable, "reject"), "", actor, "olivia")
	c.call(t, cancel, path(other, "cancel"), `{"comment":"wrong host"}`)
	c.call(t, cancel, path(other, "cancel"), "")
	waitFor(t, c, id(isolate), weft.ActionSucceeded)
	waitFor(t, c, id(scan), weft.ActionSucceeded)
	c.call(t, undo, path(scan, "undo"), "") // no inverse: 400
	// The views that show entities show the isolation, and validate.
	_, raw, _ = c.call(t, "GET /api/v1/incidents/{id}/story", "/api/v1/incidents/"+incident+"/story", "")
	if !strings.Contains(string(raw), `"containment":{"state":"isolated"`) {
		t.Errorf("the story shows no containment: %.300s", raw)
	}
	c.call(t, "GET /api/v1/incidents/{id}/origin", "/api/v1/incidents/"+incident+"/origin", "")
	_, raw, _ = c.call(t, "GET /api/v1/incidents/{id}/assets", "/api/v1/incidents/"+incident+"/assets", "")
	if !strings.Contains(string(raw), `"containment":{"state":"isolated"`) {
		t.Errorf("the assets show no containment: %.300s", raw)
	}
	_, raw, _ = c.call(t, "GET /api/v1/entities/{type}/{id}", "/api/v1/entities/device/"+url.PathEscape(device), "")
	if !strings.Contains(string(raw), `"containmentState":"isolated"`) {
		t.Errorf("the entity page shows no containment: %.300s", raw)
	}
	if status, raw, _ := c.call(t, undo, path(isolate, "undo"), `{"comment":"clean"}`); status != http.StatusCreated {
		t.Fatalf("undo: %d %s", status, raw)
	}

	// Reads.
	const list, one, log, export, byIncident = "GET /api/v1/actions", "GET /api/v1/actions/{id}", "GET /api/v1/actions/{id}/log", "GET /api/v1/actions/export.csv", "GET /api/v1/incidents/{id}/actions"
	c.call(t, list, "/api/v1/actions", "")
	c.call(t, list, withQuery("/api/v1/actions", "status", "succeeded,undone", "type", "isolate", "entityType", "device", "target", device,
		"incidentId", incident, "requestedBy", "test-admin", "since", "2020-01-01T00:00:00Z", "until", "2100-01-01T00:00:00Z", "$count", "true", "$top", "1"), "")
	c.call(t, list, withQuery("/api/v1/actions", "status", "done"), "")
	c.call(t, list, withQuery("/api/v1/actions", "owner", "me"), "")
	c.call(t, one, "/api/v1/actions/"+id(isolate), "")
	c.call(t, one, "/api/v1/actions/"+missing, "")
	c.call(t, one, "/api/v1/actions/x", "")
	c.call(t, log, "/api/v1/actions/"+id(isolate)+"/log", "")
	c.call(t, log, "/api/v1/actions/"+missing+"/log", "")
	c.call(t, export, withQuery("/api/v1/actions/export.csv", "status", "succeeded"), "")
	c.call(t, export, withQuery("/api/v1/actions/export.csv", "$top", "5"), "")
	c.call(t, byIncident, "/api/v1/incidents/"+incident+"/actions?$count=true", "")
	c.call(t, byIncident, "/api/v1/incidents/"+missing+"/actions", "")
	c.call(t, byIncident, withQuery("/api/v1/incidents/"+incident+"/actions", "incidentId", "1"), "")

	// The callback: a signed completion of the action the webhook's
	// receiver answered pending for; unsigned; malformed.
	const callback = "POST /api/v1/actions/callback"
	_, collect := post(`{"type":"collectInvestigationPackage","target":"` + device + `"}`)
	waitFor(t, c, id(collect), weft.ActionDispatched)
	body := `{"tenantId":"default","actionId":"` + id(collect) + `","attempt":1,"status":"succeeded","externalId":"pkg-1"}`
	ts := time.Now().Unix()
	signed := []string{webhook.HeaderTimestamp, strconv.FormatInt(ts, 10), webhook.HeaderSignature, webhook.Sign([]byte(callbackSecret), ts, []byte(body))}
	if status, raw, _ := c.call(t, callback, "/api/v1/actions/callback", body, signed...); status != http.StatusNoContent {
		t.Fatalf("callback: %d %s", status, raw)
	}
	waitFor(t, c, id(collect), weft.ActionSucceeded)
	c.call(t, callback, "/api/v1/actions/callback", body, webhook.HeaderTimestamp, strconv.FormatInt(ts, 10), webhook.HeaderSignature, "v1=00")
	bad := `{"tenantId":"default"}`
	c.call(t, callback, "/api/v1/actions/callback", bad, webhook.HeaderTimestamp, strconv.FormatInt(ts, 10), webhook.HeaderSignature, webhook.Sign([]byte(callbackSecret), ts, []byte(bad)))
}

// waitFor polls an action (outside the checker) until the worker has
// brought it to want.
func waitFor(t *testing.T, c *openAPIChecker, id string, want weft.ActionStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.srv.Client().Get(c.srv.URL + "/api/v1/actions/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var a weft.Action
		err = json.UnmarshalRead(resp.Body, &a, json.RejectUnknownMembers(false))
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if a.ActionStatus == want {
			return
		}
		if a.ActionStatus.Final() || time.Now().After(deadline) {
			t.Fatalf("action %s is %s (%s), want %s", id, a.ActionStatus, a.Message, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestActionRoutesWithoutService: a server without response actions says
// so, and its callback route does not exist.
func TestActionRoutesWithoutService(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/actions", "", http.StatusBadRequest},
		{"POST", "/api/v1/actions", `{"type":"isolate","target":"device.fqdn:a.example"}`, http.StatusBadRequest},
		{"GET", "/api/v1/response/policy", "", http.StatusBadRequest},
		{"POST", "/api/v1/actions/callback", `{}`, http.StatusNotFound},
		// The catalogue needs no service.
		{"GET", "/api/v1/actions/catalogue", "", http.StatusOK},
	} {
		var e errorAnswer
		resp := s.send(t, c.method, c.path, c.body, &e)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d %+v, want %d", c.method, c.path, resp.StatusCode, e, c.want)
		}
	}
}

// TestActionFilters: each filter of the action center selects what it
// says, and a malformed one is refused with a message naming it.
func TestActionFilters(t *testing.T) {
	s := newRespondServer(t)
	var inc incidentRefAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(nativeAlert("f1")), &inc)
	incident := inc.Results[0].IncidentID
	for _, body := range []string{
		`{"type":"runAntivirusScan","target":"device.fqdn:ws-042.contoso.com","incidentId":"` + incident + `"}`,
		`{"type":"revokeSessions","target":"user.upn:bob@contoso.com"}`,
		`{"type":"addIndicator","target":"domain:evil.example","parameters":{"indicatorAction":"block"}}`,
	} {
		if resp := s.send(t, "POST", "/api/v1/actions", body, nil, wefthttp.ActorHeader, "carol"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("request %s: status %d", body, resp.StatusCode)
		}
	}
	count := func(query string) int {
		t.Helper()
		var page struct {
			Count int64         `json:"@odata.count"`
			Value []weft.Action `json:"value"`
		}
		if resp := s.send(t, "GET", "/api/v1/actions?$count=true&"+query, "", &page); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", query, resp.StatusCode)
		}
		if int(page.Count) != len(page.Value) {
			t.Fatalf("%s: count %d, %d listed", query, page.Count, len(page.Value))
		}
		return len(page.Value)
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"", 3},
		{"type=runAntivirusScan,revokeSessions", 2},
		{"type=addIndicator&type=revokeSessions", 2},
		{"entityType=user", 1},
		{"entityType=domain", 1},
		{"target=domain:evil.example", 1},
		{"incidentId=" + incident, 1},
		{"requestedBy=carol", 3},
		{"requestedBy=dave", 0},
		{"since=2000-01-01T00:00:00Z", 3},
		{"until=2000-01-01T00:00:00Z", 0},
		{"status=cancelled", 0},
	} {
		if got := count(c.query); got != c.want {
			t.Errorf("%q: %d actions, want %d", c.query, got, c.want)
		}
	}
	for _, c := range []struct{ query, want string }{
		{"status=done", "status:"},
		{"type=selfDestruct", "type:"},
		{"entityType=spaceship", "entityType"},
		{"target=", "target:"},
		{"incidentId=x", "incidentId:"},
		{"requestedBy=", "requestedBy:"},
		{"since=yesterday", "since:"},
		{"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "since: must be before until"},
		{"target=a&target=b", "target is given 2 times"},
		{"owner=me", `query parameter "owner" is not supported`},
		{"$filter=status eq 'x'", "$filter"},
	} {
		var e errorAnswer
		resp := s.send(t, "GET", "/api/v1/actions?"+strings.ReplaceAll(c.query, " ", "%20"), "", &e)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("%q: status %d %q, want 400 naming %q", c.query, resp.StatusCode, e.Error.Message, c.want)
		}
	}
}

// incidentRefAnswer is the part of an ingest answer the filters test reads.
type incidentRefAnswer struct {
	Results []struct {
		IncidentID string `json:"incidentId"`
	} `json:"results"`
}

// TestActionRequestRefused: bodies the API refuses before the service
// sees them, and what the service refuses, each with its field named.
func TestActionRequestRefused(t *testing.T) {
	s := newRespondServer(t)
	for _, c := range []struct {
		body, want string
		status     int
	}{
		{`{"target":"device.fqdn:a.example"}`, "type: is required", 400},
		{`{"type":"isolate"}`, "target: is required", 400},
		{`{"type":"isolate","target":"device.fqdn:a.example","incidentId":"-3"}`, "incidentId", 400},
		{`{"type":"isolate","target":"device.fqdn:a.example","incidentId":true}`, "incidentId", 400},
		{`{"type":"isolate","target":"device.fqdn:a.example","owner":"me"}`, "owner", 400},
		{`{"type":"isolate","target":"device.fqdn:a.example","parameters":{"isolationType":"partial"}}`, "parameters.isolationType", 400},
		{`{"type":"isolate","target":"user.upn:a@example.com"}`, "does not apply to a user", 400},
		{`{"type":"selfDestruct","target":"device.fqdn:a.example"}`, "type:", 400},
		{`[1]`, "JSON object", 400},
		{`{"type":"isolate","target":"device.fqdn:a.example","incidentId":"999"}`, "incidentId: incident 999 not found", 404},
	} {
		var e errorAnswer
		resp := s.send(t, "POST", "/api/v1/actions", c.body, &e)
		if resp.StatusCode != c.status || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("%s: status %d %q, want %d naming %q", c.body, resp.StatusCode, e.Error.Message, c.status, c.want)
		}
	}
}

// TestResponsePolicyPut: a PUT must give both members (leaving one out
// would loosen the policy unasked) and only action types of the catalogue.
func TestResponsePolicyPut(t *testing.T) {
	s := newRespondServer(t)
	var p weft.ResponsePolicy
	if resp := s.send(t, "GET", "/api/v1/response/policy", "", &p); resp.StatusCode != http.StatusOK || p.RequireApproval == nil {
		t.Fatalf("default policy: status %d %+v", resp.StatusCode, p)
	}
	for _, c := range []struct{ body, want string }{
		{`{"requireApproval":["isolate"]}`, "automationRequiresApproval: is required"},
		{`{"automationRequiresApproval":false}`, "requireApproval: is required"},
		{`{"requireApproval":["isolate","nuke"],"automationRequiresApproval":true}`, `requireApproval[1]: "nuke"`},
	} {
		var e errorAnswer
		if resp := s.send(t, "PUT", "/api/v1/response/policy", c.body, &e); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("%s: status %d %q, want 400 naming %q", c.body, resp.StatusCode, e.Error.Message, c.want)
		}
	}
	if resp := s.send(t, "PUT", "/api/v1/response/policy", `{"requireApproval":["*"],"automationRequiresApproval":false}`, &p); resp.StatusCode != http.StatusOK ||
		fmt.Sprint(p.RequireApproval) != "[*]" || p.AutomationRequiresApproval {
		t.Fatalf("put: status %d %+v", resp.StatusCode, p)
	}
	// With "*", even a scan needs a second person.
	var a weft.Action
	s.send(t, "POST", "/api/v1/actions", `{"type":"runAntivirusScan","target":"device.fqdn:a.example"}`, &a)
	if a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("a scan under \"*\": %s", a.ActionStatus)
	}
}

// TestActionsDeviceGroups: a responder limited to device groups reads the
// actions of an incident of their groups and is refused the rest: an
// action's target need not be in any incident they may see.
func TestActionsDeviceGroups(t *testing.T) {
	s := newRespondServer(t)
	var ans incidentRefAnswer
	body := strings.ReplaceAll(nativeAlert("g1"), "ws-042", "ws-fin") + "\n" + strings.ReplaceAll(nativeAlert("g2"), "ws-042", "srv-01")
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(body), &ans)
	if len(ans.Results) != 2 || ans.Results[0].IncidentID == ans.Results[1].IncidentID {
		t.Fatalf("ingest: %+v", ans)
	}
	fin, srv := ans.Results[0].IncidentID, ans.Results[1].IncidentID
	if resp := s.send(t, "PUT", "/api/v1/assets", `[{"id":"ws-fin","kind":"device","deviceGroup":"Finance","deviceDnsName":"ws-fin.contoso.com"},`+
		`{"id":"srv-01","kind":"device","deviceGroup":"Servers","deviceDnsName":"srv-01.contoso.com"}]`, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("assets: status %d", resp.StatusCode)
	}
	if resp := s.send(t, "POST", "/api/v1/actions", `{"type":"runAntivirusScan","target":"device.fqdn:ws-fin.contoso.com","incidentId":"`+fin+`"}`, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("request: status %d", resp.StatusCode)
	}
	_, secret, err := s.store.CreateToken(context.Background(), &weft.Token{Name: "finance",
		Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleResponder, DeviceGroups: []string{"Finance"}}}, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/incidents/" + fin + "/actions", "", http.StatusOK},
		{"GET", "/api/v1/incidents/" + srv + "/actions", "", http.StatusNotFound},
		{"GET", "/api/v1/actions", "", http.StatusForbidden},
		{"GET", "/api/v1/actions/1", "", http.StatusForbidden},
		{"GET", "/api/v1/actions/export.csv", "", http.StatusForbidden},
		{"POST", "/api/v1/actions", `{"type":"isolate","target":"device.fqdn:srv-01.contoso.com"}`, http.StatusForbidden},
		{"POST", "/api/v1/actions/1/cancel", `{}`, http.StatusForbidden},
	} {
		var page struct {
			Value []weft.Action `json:"value"`
		}
		resp := s.send(t, c.method, c.path, c.body, &page, "Authorization", "Bearer "+secret)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if c.want == http.StatusOK && len(page.Value) != 1 {
			t.Errorf("%s %s: %d actions, want the scan", c.method, c.path, len(page.Value))
		}
	}
}
