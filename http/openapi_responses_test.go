package http_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

// openAPIExtensions let a part of the API that needs more than the store
// (response actions, automation) join TestOpenAPIResponses from its own
// test file (in an init function): each is called with the store before
// the server is made, may set the server's options, and returns the subtest
// that calls its routes through the checker.
var openAPIExtensions []func(t *testing.T, store *sqlite.Store, opts *wefthttp.Options) func(t *testing.T, c *openAPIChecker)

// openAPIChecker sends requests to a server and checks each answer against
// the document.
type openAPIChecker struct {
	doc    map[string]any
	v      *schemaValidator
	ops    map[string]map[string]any
	srv    *httptest.Server
	called map[string]bool // routes called
	ok     map[string]bool // routes that answered a 2xx
	// sent is a request of each route that answered a 2xx, to send again
	// for other tenants.
	sent map[string]sentRequest
	// seen are the statuses each route answered, for the log.
	seen map[string][]int
}

type sentRequest struct {
	path, body string
	headers    []string
}

// call sends method path (the route's template filled in, with a query)
// with body and headers (name, value pairs; Content-Type is
// application/json for a body unless given), without following redirects.
// It checks that the answer's status is one the document lists for route
// ("GET /api/v1/incidents/{id}"), that its media type is one the document
// gives, that a JSON body validates against that media type's schema, and
// that the documented headers are there; for a success it also checks that
// the request's query options, headers and JSON body are what the document
// describes. It returns the status, the body and the headers.
func (c *openAPIChecker) call(t *testing.T, route, path, body string, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	method, tmpl, _ := strings.Cut(route, " ")
	op := c.ops[route]
	if op == nil {
		t.Fatalf("%s is not in the document", route)
	}
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	if !matchesTemplate(tmpl, u.EscapedPath()) {
		t.Fatalf("%s does not match the route %s", u.EscapedPath(), route)
	}
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := *c.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body) // before the trailers are read
	if err != nil {
		t.Fatal(err)
	}
	c.called[route] = true
	if !slices.Contains(c.seen[route], resp.StatusCode) {
		c.seen[route] = append(c.seen[route], resp.StatusCode)
	}
	at := fmt.Sprintf("%s (%s %s) answered %d", route, method, path, resp.StatusCode)
	// A redirect is the success of the OIDC sign-in routes.
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusFound {
		c.ok[route] = true
		c.sent[route] = sentRequest{path, body, headers}
		c.checkRequest(t, route, op, u.Query(), req.Header, body, raw)
	}

	responses, _ := op["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(resp.StatusCode)]
	if !ok {
		t.Errorf("%s, a status the document does not list: %.300s", at, raw)
		return resp.StatusCode, raw, resp.Header
	}
	rm, err := deref(c.doc, r)
	if err != nil {
		t.Fatalf("%s: %v", at, err)
	}
	hs, _ := rm["headers"].(map[string]any)
	for name := range hs {
		if resp.Header.Get(name) == "" && resp.Trailer.Get(name) == "" {
			t.Errorf("%s without the header %s that the document gives", at, name)
		}
	}
	content, _ := rm["content"].(map[string]any)
	if len(content) == 0 {
		if len(raw) > 0 {
			t.Errorf("%s with a body, which the document does not give: %.300s", at, raw)
		}
		return resp.StatusCode, raw, resp.Header
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s with Content-Type %q: %v", at, resp.Header.Get("Content-Type"), err)
		return resp.StatusCode, raw, resp.Header
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s with media type %s, which the document does not give", at, mt)
		return resp.StatusCode, raw, resp.Header
	}
	if mt == "application/json" {
		c.validateJSON(t, at, media["schema"], raw)
	}
	return resp.StatusCode, raw, resp.Header
}

// stream opens an event stream (route, with path its template filled in)
// and checks it as call checks an answer: its status and media type are
// ones the document gives, and the data of every event validates against
// the media type's eventDataKey schema. It reads until an event for which
// until is true, and returns how many events it read; it fails when none
// comes within ten seconds.
func (c *openAPIChecker) stream(t *testing.T, route, path string, until func(map[string]any) bool, headers ...string) int {
	t.Helper()
	method, _, _ := strings.Cut(route, " ")
	op := c.ops[route]
	if op == nil {
		t.Fatalf("%s is not in the document", route)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	c.called[route] = true
	if !slices.Contains(c.seen[route], resp.StatusCode) {
		c.seen[route] = append(c.seen[route], resp.StatusCode)
	}
	at := fmt.Sprintf("%s (%s %s) answered %d", route, method, path, resp.StatusCode)
	responses, _ := op["responses"].(map[string]any)
	rm, err := deref(c.doc, responses[strconv.Itoa(resp.StatusCode)])
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: want 200 with a stream (%v)", at, err)
	}
	c.ok[route] = true
	u, _ := url.Parse(path)
	c.checkRequest(t, route, op, u.Query(), req.Header, "", nil)
	content, _ := rm["content"].(map[string]any)
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok || media[eventDataKey] == nil {
		t.Fatalf("%s with media type %s, which the document does not give with %s", at, mt, eventDataKey)
	}
	n := 0
	// An event is "id: N", "event: <type>" and "data: <JSON>" lines; the id
	// and the event name are the data's id and type.
	var id, name string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		field, value, _ := strings.Cut(sc.Text(), ": ")
		switch field {
		case "id":
			id = value
			continue
		case "event":
			name = value
			continue
		case "data":
		default:
			continue
		}
		n++
		where := at + ": event " + strconv.Itoa(n)
		c.validateJSON(t, where, media[eventDataKey], []byte(value))
		ev, _ := decodeJSONValue([]byte(value))
		m, _ := ev.(map[string]any)
		if m["id"] != id || m["type"] != name {
			t.Errorf("%s: id %q and event %q, want the data's id and type: %s", where, id, name, value)
		}
		if until(m) {
			return n
		}
	}
	t.Fatalf("%s: the stream ended (%v) after %d events without the one awaited", at, sc.Err(), n)
	return n
}

// validateJSON validates raw against schema, failing with where.
func (c *openAPIChecker) validateJSON(t *testing.T, where string, schema any, raw []byte) {
	t.Helper()
	value, err := decodeJSONValue(raw)
	if err != nil {
		t.Errorf("%s with a body that is not JSON: %v: %.300s", where, err, raw)
		return
	}
	if err := c.v.validate(schema, value); err != nil {
		t.Errorf("%s with a body that does not match the document at %v\nbody: %.2000s", where, err, raw)
	}
}

// checkRequest checks that a request that succeeded used only the query
// options and weft headers the document lists for its operation, and that a
// JSON body matches the document's request body. A body whose answer says
// that records of it were rejected ("errors": true, as ingest answers) is
// not checked: such a body is not one the document need describe.
func (c *openAPIChecker) checkRequest(t *testing.T, route string, op map[string]any, query url.Values, h http.Header, body string, answer []byte) {
	t.Helper()
	listed := c.paramNames(t, route)
	for k := range query {
		if !slices.Contains(listed, "query "+k) {
			t.Errorf("%s took the query option %s, which the document does not list", route, k)
		}
	}
	for _, k := range []string{wefthttp.TenantHeader, wefthttp.ActorHeader, "If-Match", wefthttp.LastEventIDHeader} {
		if h.Get(k) != "" && !slices.Contains(listed, "header "+k) {
			t.Errorf("%s took the header %s, which the document does not list", route, k)
		}
	}
	rb, ok := op["requestBody"].(map[string]any)
	if body == "" {
		if ok && rb["required"] == true {
			t.Errorf("%s succeeded without the body the document requires", route)
		}
		return
	}
	if !ok {
		t.Errorf("%s took a body, which the document does not describe", route)
		return
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	content, _ := rb["content"].(map[string]any)
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s took a body of media type %s, which the document does not give", route, mt)
		return
	}
	var ans struct {
		Errors bool `json:"errors"`
	}
	if json.Unmarshal(answer, &ans, json.RejectUnknownMembers(false)) == nil && ans.Errors {
		return
	}
	if mt == "application/json" {
		c.validateJSON(t, route+"'s request body (which succeeded)", media["schema"], []byte(body))
	}
}

// paramNames lists the parameters of route's operation as "in name".
func (c *openAPIChecker) paramNames(t *testing.T, route string) []string {
	t.Helper()
	var names []string
	params, _ := c.ops[route]["parameters"].([]any)
	for _, p := range params {
		pm, err := deref(c.doc, p)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprint(pm["in"])+" "+fmt.Sprint(pm["name"]))
	}
	return names
}

// matchesTemplate says whether path is an instance of an OpenAPI path
// template: the same segments, a {name} standing for any non-empty one.
func matchesTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
		} else if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// withQuery returns path with the query options (name, value pairs).
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}

// idOf reads a member of a JSON object answer.
func idOf(t *testing.T, raw []byte, member string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decoding %.300s: %v", raw, err)
	}
	s, ok := m[member].(string)
	if !ok {
		t.Fatalf("%q is not a string member of %.300s", member, raw)
	}
	return s
}

// TestOpenAPIResponses calls every route of the document on a real server
// holding realistic alerts (every field of an alert and of evidence set,
// merged incidents, assets, a policy), for its success and its main errors,
// and validates each answer against the document. It fails naming the route,
// the status and the JSON pointer of the first mismatch; when a route
// answers a status the document does not list; and when a route of the
// document was not called or never answered a success.
func TestOpenAPIResponses(t *testing.T) {
	doc, rawDoc := loadOpenAPI(t)
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	// Wired as cmd/weft wires it, so that incidents are named and scored.
	describe := func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
		score, factors := priority.Score(priority.Input{Alerts: in.Alerts, Now: in.Now, Criticality: in.Criticality, DetectorPrevalence: in.Prevalence})
		return priority.Name(in.Alerts), &score, factors
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", Correlator: e, Describe: describe})
	if err != nil {
		t.Fatal(err)
	}
	b := ingest.NewBatcher(store, ingest.BatcherOptions{})
	const maxBody = 1 << 20
	creds := wefthttp.NewTestCredentials(t, store)
	opts := wefthttp.Options{MaxBodyBytes: maxBody}
	var extensions []func(*testing.T, *openAPIChecker)
	for _, ext := range openAPIExtensions {
		extensions = append(extensions, ext(t, store, &opts))
	}
	api := wefthttp.NewServer(store, b, creds.Options(opts))
	api.SetReady(true)
	srv := httptest.NewServer(api.Handler())
	srv.Client().Transport = creds.Transport(srv.Client().Transport)
	t.Cleanup(func() { srv.Close(); b.Close(); store.Close() })
	c := &openAPIChecker{doc: doc, v: newSchemaValidator(doc), ops: operations(doc), srv: srv, called: map[string]bool{}, ok: map[string]bool{}, sent: map[string]sentRequest{}, seen: map[string][]int{}}

	// Alerts with every field set, stored directly so that nothing a
	// decoder drops is missing from the answers.
	rich := storetest.NewRichAlert()
	alerts := []*weft.Alert{rich}
	for i := range 9 {
		alerts = append(alerts, storetest.NewAlert(i))
	}
	if _, err := store.StoreAlerts(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	large := strings.Repeat("x", maxBody+1)
	const (
		tenant  = wefthttp.TenantHeader
		actor   = wefthttp.ActorHeader
		textCT  = "text/plain"
		ndjson  = "application/x-ndjson"
		missing = "999999"
	)
	ct := func(v string) []string { return []string{"Content-Type", v} }

	t.Run("Service", func(t *testing.T) {
		c.call(t, "GET /healthz", "/healthz", "")
		c.call(t, "GET /readyz", "/readyz", "")
		api.SetReady(false)
		c.call(t, "GET /readyz", "/readyz", "")
		api.SetReady(true)
		c.call(t, "GET /metrics", "/metrics", "")
		_, got, h := c.call(t, "GET /api/v1/openapi.json", "/api/v1/openapi.json", "")
		if !bytes.Equal(got, rawDoc) {
			t.Errorf("GET /api/v1/openapi.json: the answer is not %s", openAPIFile)
		}
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/json" {
			t.Errorf("GET /api/v1/openapi.json: Content-Type %q, want application/json", h.Get("Content-Type"))
		}
	})

	// Ingest: a good and a bad record, NDJSON, a foreign format, another
	// tenant, and bodies refused as a whole.
	var hIncident, hAlert string
	t.Run("Ingest", func(t *testing.T) {
		const route = "POST /api/v1/alerts"
		status, raw, _ := c.call(t, route, "/api/v1/alerts", "["+nativeAlert("h1")+`,{"title":"no source"}]`)
		if status != 200 {
			t.Fatalf("ingest: got %d %s", status, raw)
		}
		var ans ingestAnswer
		if err := json.Unmarshal(raw, &ans); err != nil || ans.Stored != 1 || ans.Rejected != 1 {
			t.Fatalf("ingest: got %+v (%v), want one stored and one rejected", ans, err)
		}
		hIncident, hAlert = ans.Results[0].IncidentID, ans.Results[0].ID
		c.call(t, route, "/api/v1/alerts", nativeAlert("h2")+"\n"+nativeAlert("h3")+"\n", ct(ndjson)...)
		c.call(t, route, "/api/v1/alerts", nativeAlert("o1"), tenant, "other")
		c.call(t, route, withQuery("/api/v1/alerts", "format", "weft"), nativeAlert("h1"))
		c.call(t, route, withQuery("/api/v1/alerts", "format", "nope"), nativeAlert("x"))
		c.call(t, route, "/api/v1/alerts", nativeAlert("x"), ct(textCT)...)
		c.call(t, route, "/api/v1/alerts", large)
		c.call(t, route, "/api/v1/alerts", "{")

		const fmtRoute = "POST /api/v1/ingest/{format}"
		c.call(t, fmtRoute, "/api/v1/ingest/suricata", suricataLine(1)+"\n"+suricataLine(2)+"\n", ct(ndjson)...)
		c.call(t, fmtRoute, "/api/v1/ingest/weft", nativeAlert("h4"))
		c.call(t, fmtRoute, "/api/v1/ingest/nope", nativeAlert("x"))
		c.call(t, fmtRoute, withQuery("/api/v1/ingest/weft", "format", "graph"), nativeAlert("x"))
		c.call(t, fmtRoute, "/api/v1/ingest/weft", nativeAlert("x"), ct(textCT)...)
		c.call(t, fmtRoute, "/api/v1/ingest/weft", large)
	})
	if hIncident == "" {
		t.Fatal("ingest failed; nothing to read")
	}

	// A merge: m3 names the devices of m1's and m2's incidents, so one of
	// them is redirected into the other.
	var target, gone, m2Alert, m3Alert string
	t.Run("Merge", func(t *testing.T) {
		base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		_, raw, _ := c.call(t, "POST /api/v1/alerts", "/api/v1/alerts", strings.Join([]string{
			storyAlert("m1", base, 60, `{"entityType":"device","mdeDeviceId":"aa11","roles":["source"],"verdict":"malicious","remediationStatus":"prevented"}`),
			storyAlert("m2", base, 65, `{"entityType":"device","deviceDnsName":"ws-2.contoso.com"},{"entityType":"ip","ipAddress":"203.0.113.9"}`),
		}, "\n"), ct(ndjson)...)
		var two ingestAnswer
		if err := json.Unmarshal(raw, &two); err != nil || len(two.Results) != 2 {
			t.Fatalf("got %s (%v)", raw, err)
		}
		_, raw, _ = c.call(t, "POST /api/v1/alerts", "/api/v1/alerts", storyAlert("m3", base, 70,
			`{"entityType":"device","mdeDeviceId":"aa11","deviceDnsName":"ws-2.contoso.com"},{"entityType":"user","userAccount":{"userPrincipalName":"alice@contoso.com"}}`))
		var m3 ingestAnswer
		if err := json.Unmarshal(raw, &m3); err != nil || len(m3.Results) != 1 {
			t.Fatalf("got %s (%v)", raw, err)
		}
		target, gone = m3.Results[0].IncidentID, two.Results[0].IncidentID
		m2Alert, m3Alert = two.Results[1].ID, m3.Results[0].ID
		if gone == target {
			gone = two.Results[1].IncidentID
		}
		if gone == target {
			t.Fatalf("m1 and m2 were in one incident already: %s", raw)
		}
	})

	var richIncident string
	t.Run("Alerts", func(t *testing.T) {
		c.call(t, "GET /api/v1/alerts", withQuery("/api/v1/alerts", "$count", "true", "$top", "2"), "")
		c.call(t, "GET /api/v1/alerts", withQuery("/api/v1/alerts", "$skip", "3"), "", tenant, weft.DefaultTenantID)
		c.call(t, "GET /api/v1/alerts", withQuery("/api/v1/alerts", "$top", "0"), "")
		c.call(t, "GET /api/v1/alerts", withQuery("/api/v1/alerts", "$filter", "severity eq 'high'"), "")
		status, raw, _ := c.call(t, "GET /api/v1/alerts/{id}", "/api/v1/alerts/"+rich.ID, "")
		if status != 200 {
			t.Fatalf("GET the rich alert: got %d %s", status, raw)
		}
		richIncident = idOf(t, raw, "incidentId")
		c.call(t, "GET /api/v1/alerts/{id}", "/api/v1/alerts/"+alerts[1].ID, "")
		c.call(t, "GET /api/v1/alerts/{id}", "/api/v1/alerts/nope", "")
		c.call(t, "GET /api/v1/alerts/{id}", "/api/v1/alerts/"+rich.ID+"?$filter=x", "")
	})

	t.Run("Queue", func(t *testing.T) {
		const route = "GET /api/v1/incidents"
		all := "status in ('active', 'inProgress', 'resolved', 'awaitingAction')"
		c.call(t, route, "/api/v1/incidents", "")
		c.call(t, route, withQuery("/api/v1/incidents", "$filter", all, "$count", "true", "$top", "1", "$skip", "1",
			"$orderby", "severity desc, lastUpdateDateTime desc"), "")
		c.call(t, route, withQuery("/api/v1/incidents", "$filter", all, "$expand", "alerts", "$top", "50"), "")
		c.call(t, route, withQuery("/api/v1/incidents", "$search", "ws-042.contoso.com"), "")
		c.call(t, route, withQuery("/api/v1/incidents", "$filter", "status eq 'closed'"), "")
		c.call(t, route, withQuery("/api/v1/incidents", "$expand", "alerts", "$top", "51"), "")
		c.call(t, route, withQuery("/api/v1/incidents", "$apply", "x"), "")

		const export = "GET /api/v1/incidents/export.csv"
		c.call(t, export, "/api/v1/incidents/export.csv", "")
		c.call(t, export, withQuery("/api/v1/incidents/export.csv", "$filter", all, "$orderby", "createdDateTime desc", "$search", "ws"), "")
		c.call(t, export, withQuery("/api/v1/incidents/export.csv", "$top", "1"), "")
		c.call(t, export, withQuery("/api/v1/incidents/export.csv", "$filter", "title eq 'x'"), "")
	})

	t.Run("Incident", func(t *testing.T) {
		const route = "GET /api/v1/incidents/{id}"
		for _, id := range []string{richIncident, hIncident, target, gone} {
			c.call(t, route, "/api/v1/incidents/"+id, "")
		}
		c.call(t, route, withQuery("/api/v1/incidents/"+richIncident, "$expand", "alerts"), "")
		c.call(t, route, "/api/v1/incidents/"+missing, "")
		c.call(t, route, "/api/v1/incidents/abc", "")
		c.call(t, route, withQuery("/api/v1/incidents/"+richIncident, "$filter", "x"), "")
	})

	t.Run("Investigation", func(t *testing.T) {
		for _, view := range []string{"story", "origin", "assets", "evidence", "related"} {
			route := "GET /api/v1/incidents/{id}/" + view
			for _, id := range []string{richIncident, target, hIncident} {
				c.call(t, route, "/api/v1/incidents/"+id+"/"+view, "")
			}
			if status, raw, h := c.call(t, route, "/api/v1/incidents/"+gone+"/"+view, ""); status != http.StatusPermanentRedirect ||
				h.Get("Location") != "/api/v1/incidents/"+target+"/"+view {
				t.Errorf("%s of the merged incident: got %d, Location %q: %s", route, status, h.Get("Location"), raw)
			}
			c.call(t, route, "/api/v1/incidents/"+missing+"/"+view, "")
			c.call(t, route, withQuery("/api/v1/incidents/"+richIncident+"/"+view, "$filter", "x"), "")
		}
	})

	t.Run("Manage", func(t *testing.T) {
		const patch = "PATCH /api/v1/incidents/{id}"
		path := "/api/v1/incidents/" + hIncident
		_, _, h := c.call(t, "GET /api/v1/incidents/{id}", path, "")
		etag := h.Get("ETag")
		change := `{"status":"resolved","classification":"truePositive","determination":"malware","customTags":["VIP","Finance"],` +
			`"assignedTo":"alice@contoso.com","resolvingComment":"Contained.","severity":"medium","displayName":"Renamed"}`
		if status, raw, _ := c.call(t, patch, path, change, "If-Match", etag, actor, "alice@contoso.com", tenant, weft.DefaultTenantID); status != 200 {
			t.Fatalf("PATCH: got %d %s", status, raw)
		}
		c.call(t, patch, path, `{"status":"inProgress","customTags":null}`)
		c.call(t, patch, path, `{"assignedTo":"bob"}`, "If-Match", etag)
		c.call(t, patch, path, `{"owner":"bob"}`)
		c.call(t, patch, path, `{}`)
		c.call(t, patch, path, `{"status":"closed"}`)
		c.call(t, patch, path, `{"assignedTo":"bob"}`, "If-Match", "seven")
		c.call(t, patch, path, `{"assignedTo":"bob"}`, ct(textCT)...)
		c.call(t, patch, path, `{"resolvingComment":"`+strings.Repeat("x", 300<<10)+`"}`)
		c.call(t, patch, "/api/v1/incidents/"+missing, `{"assignedTo":"bob"}`)
		c.call(t, patch, "/api/v1/incidents/"+gone, `{"assignedTo":"bob"}`)

		const comment = "POST /api/v1/incidents/{id}/comments"
		_, _, h = c.call(t, "GET /api/v1/incidents/{id}", path, "")
		c.call(t, comment, path+"/comments", `{"comment":"Looked at it."}`, "If-Match", h.Get("ETag"), actor, "alice@contoso.com")
		c.call(t, comment, path+"/comments", `{"comment":"Again."}`)
		c.call(t, comment, path+"/comments", `{"comment":"stale"}`, "If-Match", etag)
		c.call(t, comment, path+"/comments", `{"comment":"  "}`)
		c.call(t, comment, path+"/comments", `{}`)
		c.call(t, comment, path+"/comments", `{"comment":"x"}`, ct(textCT)...)
		c.call(t, comment, path+"/comments", `{"comment":"`+strings.Repeat("x", 300<<10)+`"}`)
		c.call(t, comment, "/api/v1/incidents/"+missing+"/comments", `{"comment":"x"}`)
		c.call(t, comment, "/api/v1/incidents/"+gone+"/comments", `{"comment":"x"}`)

		const alertRoute = "PATCH /api/v1/alerts/{id}"
		c.call(t, alertRoute, "/api/v1/alerts/"+hAlert, `{"status":"resolved","classification":"falsePositive","determination":"notMalicious","assignedTo":"bob"}`, actor, "bob")
		c.call(t, alertRoute, "/api/v1/alerts/"+rich.ID, `{"status":"new"}`)
		c.call(t, alertRoute, "/api/v1/alerts/"+hAlert, `{"status":"bogus"}`)
		c.call(t, alertRoute, "/api/v1/alerts/"+hAlert, `{"severity":"high"}`)
		c.call(t, alertRoute, "/api/v1/alerts/"+hAlert, `{"status":"new"}`, ct(textCT)...)
		c.call(t, alertRoute, "/api/v1/alerts/"+hAlert, `{"assignedTo":"`+strings.Repeat("x", 300<<10)+`"}`)
		c.call(t, alertRoute, "/api/v1/alerts/nope", `{"status":"new"}`)

		const activity = "GET /api/v1/incidents/{id}/activity"
		for _, id := range []string{hIncident, richIncident, target, gone} {
			c.call(t, activity, "/api/v1/incidents/"+id+"/activity", "")
		}
		c.call(t, activity, withQuery("/api/v1/incidents/"+hIncident+"/activity", "type", "commentAdded,incidentUpdated", "actor", "alice@contoso.com"), "")
		c.call(t, activity, withQuery("/api/v1/incidents/"+hIncident+"/activity", "type", "bogus"), "")
		c.call(t, activity, "/api/v1/incidents/"+missing+"/activity", "")
	})

	t.Run("Entities", func(t *testing.T) {
		const page, search = "GET /api/v1/entities/{type}/{id}", "GET /api/v1/entities"
		if status, raw, _ := c.call(t, page, withQuery("/api/v1/entities/device/ws-042.contoso.com", "$top", "1"), ""); status != 200 ||
			!strings.Contains(string(raw), "@odata.nextLink") {
			t.Errorf("%s: got %d, want the first of several alerts with a next link: %.300s", page, status, raw)
		}
		for _, path := range []string{
			"/api/v1/entities/device/dc-01.contoso.com",
			"/api/v1/entities/user/jdoe@contoso.com",
			"/api/v1/entities/mailbox/jdoe@contoso.com",
			"/api/v1/entities/url/" + url.PathEscape("https://evil.example.net/x"),
			"/api/v1/entities/ip/203.0.113.9",
			"/api/v1/entities/file/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			withQuery("/api/v1/entities/device/ws-042.contoso.com", "$top", "1", "$skip", "1"),
		} {
			if st, raw, _ := c.call(t, page, path, ""); st != 200 {
				t.Errorf("%s: got %d, want 200: %.300s", path, st, raw)
			}
		}
		// By other names of the rich alert's user (a legacy type name, a
		// SID, DOMAIN\sam): the statuses must be documented, whichever.
		c.call(t, page, "/api/v1/entities/account/S-1-5-21-1004336348-1177238915-682003330-1104", "")
		c.call(t, page, "/api/v1/entities/user/"+url.PathEscape(`CONTOSO\jdoe`), "")
		c.call(t, page, "/api/v1/entities/device/nope.contoso.com", "")
		c.call(t, page, "/api/v1/entities/car/x", "")
		c.call(t, page, withQuery("/api/v1/entities/device/ws-042.contoso.com", "$filter", "x"), "")

		c.call(t, search, withQuery("/api/v1/entities", "search", "ws"), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", "jdoe", "type", "user", "$top", "5"), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", "nothing-like-it"), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", ""), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", "ws", "$skip", "1"), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", "ws", "type", "car"), "")
		c.call(t, search, withQuery("/api/v1/entities", "search", "ws", "$top", "101"), "")
	})

	t.Run("BulkUpdate", func(t *testing.T) {
		const route = "PATCH /api/v1/incidents"
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":["`+hIncident+`",`+target+`],"changes":{"assignedTo":"carol","customTags":["bulk"]},"comment":"Taken."}`, actor, "carol")
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":["`+hIncident+`","`+missing+`","`+gone+`","`+richIncident+`"],"changes":{"status":"inProgress"},"ifMatch":{"`+richIncident+`":1}}`)
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":[],"comment":"x"}`)
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":["`+hIncident+`"]}`)
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":["`+hIncident+`"],"comment":"x"}`, ct(textCT)...)
		c.call(t, route, "/api/v1/incidents", `{"incidentIds":["`+hIncident+`"],"comment":"`+strings.Repeat("x", 300<<10)+`"}`)
	})

	t.Run("Restructure", func(t *testing.T) {
		const split, move, merge = "POST /api/v1/incidents/{id}/split", "POST /api/v1/alerts/moveAlerts", "POST /api/v1/incidents/mergeIncidents"
		status, raw, _ := c.call(t, split, "/api/v1/incidents/"+target+"/split", `{"alertIds":["`+m2Alert+`"],"comment":"Not the same attack."}`, actor, "alice@contoso.com")
		if status != 200 {
			t.Fatalf("split: got %d %s", status, raw)
		}
		splitOff := idOf(t, raw, "targetIncidentId")
		c.call(t, split, "/api/v1/incidents/"+target+"/split", `{"alertIds":["`+m2Alert+`"],"comment":"again"}`)
		c.call(t, split, "/api/v1/incidents/"+target+"/split", `{"alertIds":["`+m2Alert+`"]}`)
		c.call(t, split, "/api/v1/incidents/"+missing+"/split", `{"alertIds":["`+m2Alert+`"],"comment":"x"}`)
		c.call(t, split, "/api/v1/incidents/"+gone+"/split", `{"alertIds":["`+m2Alert+`"],"comment":"x"}`)
		c.call(t, split, "/api/v1/incidents/"+target+"/split", `{"alertIds":["x"],"comment":"x"}`, ct(textCT)...)
		c.call(t, split, "/api/v1/incidents/"+target+"/split", `{"alertIds":["x"],"comment":"`+strings.Repeat("x", 300<<10)+`"}`)

		c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["`+m2Alert+`"],"incidentId":`+target+`,"alertComment":"Back.","newCorrelationReasons":["sameAsset"]}`, actor, "alice@contoso.com")
		status, raw, _ = c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["`+m3Alert+`"],"incidentId":null,"alertComment":"On its own."}`)
		if status != 200 {
			t.Fatalf("move to a new incident: got %d %s", status, raw)
		}
		alone := idOf(t, raw, "targetIncidentId")
		c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["`+m2Alert+`"]}`)
		c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["nope"],"alertComment":"x"}`)
		c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["`+m2Alert+`"],"incidentId":"`+gone+`","alertComment":"x"}`)
		c.call(t, move, "/api/v1/alerts/moveAlerts", `{"alertIds":["`+m2Alert+`"],"alertComment":"x"}`, ct(textCT)...)

		c.call(t, merge, "/api/v1/incidents/mergeIncidents", `{"incidentIds":["`+alone+`",`+target+`],"targetIncidentId":"`+target+`","incidentComment":"One attack.","mergeReasons":["sameAsset"]}`, actor, "alice@contoso.com")
		c.call(t, merge, "/api/v1/incidents/mergeIncidents", `{"incidentIds":["`+target+`"],"incidentComment":"x"}`)
		c.call(t, merge, "/api/v1/incidents/mergeIncidents", `{"incidentIds":["`+target+`","`+missing+`"],"incidentComment":"x"}`)
		c.call(t, merge, "/api/v1/incidents/mergeIncidents", `{"incidentIds":["`+target+`","`+splitOff+`"],"incidentComment":"x"}`)
		c.call(t, merge, "/api/v1/incidents/mergeIncidents", `{"incidentIds":["`+target+`","`+gone+`"],"incidentComment":"x"}`, ct(textCT)...)
	})

	t.Run("Events", func(t *testing.T) {
		const route = "GET /api/v1/events"
		// The last change: every event up to it is in the log, and the
		// streams below end when they reach it.
		const last = "The last event."
		c.call(t, "POST /api/v1/incidents/{id}/comments", "/api/v1/incidents/"+hIncident+"/comments", `{"comment":"`+last+`"}`)
		isLast := func(ev map[string]any) bool { return ev["activityType"] == "commentAdded" && ev["message"] == last }
		if n := c.stream(t, route, withQuery("/api/v1/events", "lastEventId", "0"), isLast); n < 20 {
			t.Errorf("the stream from the start sent %d events; want every change of the test", n)
		}
		c.stream(t, route, withQuery("/api/v1/events", "incidentId", hIncident, "types", "incidentUpdated,alertAdded"), isLast, wefthttp.LastEventIDHeader, "0", tenant, weft.DefaultTenantID)
		c.call(t, route, withQuery("/api/v1/events", "types", "bogus"), "")
		c.call(t, route, withQuery("/api/v1/events", "since", "0"), "")
		c.call(t, route, "/api/v1/events", "", wefthttp.LastEventIDHeader, "x")
	})

	t.Run("Tenants", func(t *testing.T) {
		c.call(t, "GET /api/v1/tenants", "/api/v1/tenants", "")
	})

	t.Run("Policy", func(t *testing.T) {
		const path = "/api/v1/correlation/policy"
		c.call(t, "GET "+path, path, "")
		c.call(t, "PUT "+path, path, `{"hubThreshold":12,"strongWindow":"12h","addExclusions":["user:svc-*"]}`, tenant, "other")
		c.call(t, "GET "+path, path, "", tenant, "other")
		c.call(t, "PUT "+path, path, `{"exclusions":[]}`)
		c.call(t, "PUT "+path, path, `{"bogus":1}`)
		c.call(t, "PUT "+path, path, `{"strongWindow":"soon"}`)
		c.call(t, "PUT "+path, path, `{}`, ct(textCT)...)
		c.call(t, "PUT "+path, path, large)
		c.call(t, "GET "+path, path, "", tenant, "bad tenant!")
		c.call(t, "DELETE "+path, path, "", tenant, "other")
		c.call(t, "DELETE "+path, path, "")
	})

	t.Run("Assets", func(t *testing.T) {
		const put, list, one, del = "PUT /api/v1/assets", "GET /api/v1/assets", "GET /api/v1/assets/{id}", "DELETE /api/v1/assets/{id}"
		c.call(t, put, "/api/v1/assets", `[{"id":"dc-01","kind":"device","criticality":3,"tags":["Domain controller"],"deviceGroup":"Servers",`+
			`"deviceDnsName":"dc-01.contoso.com","hostName":"DC-01","mdeDeviceId":"0a1b2c3d4e5f60718293a4b5c6d7e8f901234567","azureAdDeviceId":"11111111-2222-3333-4444-555555555555"},`+
			`{"id":"jdoe","kind":"user","displayName":"John Doe","criticality":2,"userPrincipalName":"jdoe@contoso.com","userSid":"S-1-5-21-1004336348-1177238915-682003330-1104",`+
			`"azureAdUserId":"99999999-8888-7777-6666-555555555555","accounts":["CONTOSO\\jdoe"],"mailAddresses":["jdoe@contoso.com"]},`+
			`{"id":"car-1","kind":"car"}]`)
		c.call(t, put, "/api/v1/assets", `{"id":"dc-01","kind":"device","criticality":3,"deviceDnsName":"dc-01.contoso.com"}`+"\n", ct(ndjson)...)
		c.call(t, put, "/api/v1/assets", `not json`)
		c.call(t, put, "/api/v1/assets", `{}`, ct(textCT)...)
		c.call(t, put, "/api/v1/assets", large)
		c.call(t, list, withQuery("/api/v1/assets", "$count", "true", "$top", "1"), "")
		c.call(t, list, withQuery("/api/v1/assets", "$skip", "1"), "")
		c.call(t, list, withQuery("/api/v1/assets", "$top", "x"), "")
		c.call(t, one, "/api/v1/assets/dc-01", "")
		c.call(t, one, "/api/v1/assets/jdoe", "")
		c.call(t, one, "/api/v1/assets/nope", "")
		c.call(t, one, "/api/v1/assets/dc-01?$expand=x", "")
		// The views of the rich incident now see the inventory.
		c.call(t, "GET /api/v1/incidents/{id}/assets", "/api/v1/incidents/"+richIncident+"/assets", "")
		c.call(t, del, "/api/v1/assets/jdoe", "")
		c.call(t, del, "/api/v1/assets/jdoe", "")
	})

	// Accounts, tokens, sessions and the audit log, and the answers of
	// guard: 401 without credentials, 403 for a role too weak.
	t.Run("Auth", func(t *testing.T) {
		const users, user, password = "POST /api/v1/users", "PATCH /api/v1/users/{id}", "POST /api/v1/users/{id}/password"
		anonymous := []string{wefthttp.AnonymousHeader, "1"}
		status, raw, _ := c.call(t, users, "/api/v1/users", `{"name":"dora","displayName":"Carol","password":"correct horse battery","grants":[{"tenantId":"default","role":"viewer","deviceGroups":["Servers"]}]}`)
		var u weft.User
		if err := json.Unmarshal(raw, &u, json.RejectUnknownMembers(false)); status != http.StatusCreated || err != nil {
			t.Fatalf("creating a user: got %d %s", status, raw)
		}
		c.call(t, users, "/api/v1/users", `{"name":"dora","password":"correct horse battery"}`)
		c.call(t, users, "/api/v1/users", `{"name":"dave","password":"short"}`)
		c.call(t, users, "/api/v1/users", `{}`, ct(textCT)...)
		c.call(t, "GET /api/v1/users", "/api/v1/users", "")
		c.call(t, user, "/api/v1/users/"+u.ID, `{"displayName":"Carol K."}`)
		c.call(t, user, "/api/v1/users/"+u.ID, `{}`)
		c.call(t, user, "/api/v1/users/nobody", `{"disabled":true}`)
		c.call(t, password, "/api/v1/users/"+u.ID+"/password", `{"password":"another long password"}`)
		c.call(t, password, "/api/v1/users/nobody/password", `{"password":"another long password"}`)

		const login = "POST /api/v1/auth/login"
		c.call(t, login, "/api/v1/auth/login", `{"name":"dora","password":"wrong password!"}`, anonymous...)
		c.call(t, login, "/api/v1/auth/login", `{"name":"dora"}`, anonymous...)
		status, raw, h := c.call(t, login, "/api/v1/auth/login", `{"name":"dora","password":"another long password"}`, anonymous...)
		var me struct {
			CSRFToken string `json:"csrfToken"`
		}
		if err := json.Unmarshal(raw, &me, json.RejectUnknownMembers(false)); status != http.StatusOK || err != nil || me.CSRFToken == "" {
			t.Fatalf("signing in: got %d %s", status, raw)
		}
		cookie := (&http.Response{Header: h}).Cookies()
		if len(cookie) != 1 {
			t.Fatalf("signing in set cookies %v, want one", cookie)
		}
		session := []string{"Cookie", cookie[0].Name + "=" + cookie[0].Value}
		c.call(t, "GET /api/v1/auth/me", "/api/v1/auth/me", "", session...)
		c.call(t, "GET /api/v1/auth/me", "/api/v1/auth/me", "")
		c.call(t, "GET /api/v1/auth/me", "/api/v1/auth/me", "", anonymous...)
		// A viewer limited to device groups: 403 for a change and for a
		// route that cannot be limited yet.
		c.call(t, "PATCH /api/v1/incidents", "/api/v1/incidents", `{"ids":["1"],"status":"resolved"}`, append(slices.Clone(session), "X-CSRF-Token", me.CSRFToken)...)
		c.call(t, "GET /api/v1/alerts", "/api/v1/alerts", "", session...)
		c.call(t, "POST /api/v1/auth/logout", "/api/v1/auth/logout", "", session...) // no CSRF token
		c.call(t, "POST /api/v1/auth/logout", "/api/v1/auth/logout", "", append(slices.Clone(session), "X-CSRF-Token", me.CSRFToken)...)
		c.call(t, "POST /api/v1/auth/logout", "/api/v1/auth/logout", "")
		c.call(t, "GET /api/v1/auth/me", "/api/v1/auth/me", "", session...) // signed out

		const change = "POST /api/v1/auth/password"
		status, raw, h = c.call(t, login, "/api/v1/auth/login", `{"name":"dora","password":"another long password"}`, anonymous...)
		if err := json.Unmarshal(raw, &me, json.RejectUnknownMembers(false)); status != http.StatusOK || err != nil {
			t.Fatalf("signing in again: got %d %s", status, raw)
		}
		cookie = (&http.Response{Header: h}).Cookies()
		if len(cookie) != 1 {
			t.Fatalf("signing in again set cookies %v, want one", cookie)
		}
		session = []string{"Cookie", cookie[0].Name + "=" + cookie[0].Value, "X-CSRF-Token", me.CSRFToken}
		c.call(t, change, "/api/v1/auth/password", `{"currentPassword":"wrong password!","newPassword":"a third long password"}`, session...)
		c.call(t, change, "/api/v1/auth/password", `{"currentPassword":"another long password","newPassword":"short"}`, session...)
		c.call(t, change, "/api/v1/auth/password", `{"currentPassword":"another long password","newPassword":"a third long password"}`, session...)
		c.call(t, change, "/api/v1/auth/password", `{"currentPassword":"x","newPassword":"a third long password"}`)

		const tokens, revoke = "POST /api/v1/tokens", "DELETE /api/v1/tokens/{id}"
		status, raw, _ = c.call(t, tokens, "/api/v1/tokens", `{"name":"soar","grants":[{"tenantId":"default","role":"responder"}],"expiresDateTime":"2999-01-01T00:00:00Z"}`)
		var created struct {
			Token  weft.Token `json:"token"`
			Secret string     `json:"secret"`
		}
		if err := json.Unmarshal(raw, &created, json.RejectUnknownMembers(false)); status != http.StatusCreated || err != nil {
			t.Fatalf("creating a token: got %d %s", status, raw)
		}
		c.call(t, tokens, "/api/v1/tokens", `{"name":"soar","grants":[]}`)
		c.call(t, tokens, "/api/v1/tokens", `{"name":"soar","grants":[{"tenantId":"default","role":"root"}]}`)
		c.call(t, "GET /api/v1/tokens", "/api/v1/tokens", "")
		c.call(t, "GET /api/v1/tokens", "/api/v1/tokens", "", "Authorization", "Bearer "+created.Secret)
		c.call(t, revoke, "/api/v1/tokens/"+created.Token.ID, "")
		c.call(t, revoke, "/api/v1/tokens/nobody", "")
		c.call(t, "GET /api/v1/incidents", "/api/v1/incidents", "", "Authorization", "Bearer "+created.Secret)

		const audit = "GET /api/v1/audit"
		c.call(t, audit, withQuery("/api/v1/audit", "$top", "5"), "")
		c.call(t, audit, withQuery("/api/v1/audit", "action", "login", "format", "csv"), "")
		c.call(t, audit, withQuery("/api/v1/audit", "since", "yesterday"), "")
	})

	// Tenants as an admin of every tenant manages them, a disabled
	// tenant, and the merged queue (Weft-Tenant: *).
	t.Run("Tenants", func(t *testing.T) {
		const create, one, patch = "POST /api/v1/tenants", "GET /api/v1/tenants/{id}", "PATCH /api/v1/tenants/{id}"
		c.call(t, create, "/api/v1/tenants", `{"id":"acme","displayName":"Acme Corp"}`)
		c.call(t, create, "/api/v1/tenants", `{"id":"acme"}`)
		c.call(t, create, "/api/v1/tenants", `{"id":"bad id!"}`)
		c.call(t, create, "/api/v1/tenants", `{}`, ct(textCT)...)
		c.call(t, one, "/api/v1/tenants/acme", "")
		c.call(t, one, "/api/v1/tenants/nobody", "")
		c.call(t, patch, "/api/v1/tenants/acme", `{"displayName":"Acme","disabled":true}`)
		c.call(t, patch, "/api/v1/tenants/default", `{"disabled":true}`)
		c.call(t, patch, "/api/v1/tenants/nobody", `{"disabled":false}`)
		c.call(t, "POST /api/v1/alerts", "/api/v1/alerts", `{}`, tenant, "acme")
		c.call(t, patch, "/api/v1/tenants/acme", `{"disabled":false}`)
		c.call(t, "GET /api/v1/incidents", withQuery("/api/v1/incidents", "$count", "true", "$top", "2"), "", tenant, "*")
		c.call(t, "GET /api/v1/incidents/export.csv", "/api/v1/incidents/export.csv", "", tenant, "*")
	})

	// OIDC sign-in: off on c's server (404), and on a second server of the
	// same store that signs in through a fake provider.
	t.Run("OIDC", func(t *testing.T) {
		const login, callback = "GET /api/v1/auth/oidc/login", "GET /api/v1/auth/oidc/callback"
		c.call(t, login, "/api/v1/auth/oidc/login", "")
		c.call(t, callback, "/api/v1/auth/oidc/callback?code=x&state=y", "")

		cfg := &wefthttp.OIDCConfig{}
		oapi := wefthttp.NewServer(store, b, creds.Options(wefthttp.Options{OIDC: cfg}))
		osrv := httptest.NewServer(oapi.Handler())
		t.Cleanup(osrv.Close)
		idp := wefthttp.NewTestIdentityProvider(t, time.Now)
		pc := idp.Config(osrv.URL)
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = pc.Issuer, pc.ClientID, pc.ClientSecret, pc.RedirectURL
		if _, err := store.CreateUser(context.Background(), &weft.User{Name: "olga@example.com",
			Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer}}}, "a long enough password"); err != nil {
			t.Fatal(err)
		}
		oc := *c
		oc.srv = osrv
		oc.call(t, login, "/api/v1/auth/oidc/login?return=//evil.example", "")
		start := func() (string, []string) {
			_, _, h := oc.call(t, login, "/api/v1/auth/oidc/login?return=%2Fincidents", "")
			for _, ck := range (&http.Response{Header: h}).Cookies() {
				if ck.Name == "weft_oidc" {
					return h.Get("Location"), []string{"Cookie", ck.Name + "=" + ck.Value}
				}
			}
			t.Fatalf("no weft_oidc cookie: %v", h)
			return "", nil
		}
		loc, flow := start()
		status, raw, _ := oc.call(t, callback, idp.Authorize(t, loc, "sub-olga", "olga@example.com", true, nil), "", flow...)
		if status != http.StatusFound {
			t.Fatalf("signing in through OIDC: got %d %s", status, raw)
		}
		c.call(t, "GET /api/v1/users", "/api/v1/users", "") // olga, linked
		oc.call(t, callback, "/api/v1/auth/oidc/callback?error=access_denied", "", flow...)
		loc, flow = start()
		oc.call(t, callback, idp.Authorize(t, loc, "sub-nobody", "nobody@example.com", true, nil), "", flow...)
	})

	// The routes of the parts that add themselves (openAPIExtensions).
	for i, check := range extensions {
		t.Run(fmt.Sprintf("Extension%d", i), func(t *testing.T) { check(t, c) })
	}

	// Each request that succeeded, again for a tenant that has nothing
	// and for a tenant id that is not valid: the answers (404 for what
	// the other tenant does not have, 400 for the bad id…) are documented
	// too.
	t.Run("OtherTenants", func(t *testing.T) {
		routes := slices.Sorted(maps.Keys(c.sent))
		for _, other := range []string{"nobody", "bad tenant!"} {
			for _, route := range routes {
				if !slices.Contains(c.paramNames(t, route), "header "+wefthttp.TenantHeader) {
					continue
				}
				req := c.sent[route]
				c.call(t, route, req.path, req.body, append(slices.Clone(req.headers), tenant, other)...)
			}
		}
	})

	for _, route := range slices.Sorted(maps.Keys(c.seen)) {
		slices.Sort(c.seen[route])
		t.Logf("%s answered %v", route, c.seen[route])
	}
	for route := range c.ops {
		switch {
		case !c.called[route]:
			t.Errorf("%s is in the document but the test never calls it; add it to TestOpenAPIResponses", route)
		case !c.ok[route]:
			t.Errorf("%s never answered a success in the test; its success schema is unchecked", route)
		}
	}
}
