package http_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

// send makes a request with headers (name, value pairs) and decodes a JSON
// answer into v (when v is not nil).
func (s *testServer) send(t *testing.T, method, path, body string, v any, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v, json.RejectUnknownMembers(false)); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp
}

// managedIncident ingests one alert and returns its incident's id, the
// alert's id and the incident's ETag.
func managedIncident(t *testing.T, s *testServer) (incident, alert, etag string) {
	t.Helper()
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(nativeAlert("m1")), &ans)
	if ans.Stored != 1 {
		t.Fatalf("ingest: got %+v", ans)
	}
	resp := s.send(t, "GET", "/api/v1/incidents/"+ans.Results[0].IncidentID, "", nil)
	return ans.Results[0].IncidentID, ans.Results[0].ID, resp.Header.Get("ETag")
}

func TestPatchIncident(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	id, _, etag := managedIncident(t, s)
	path := "/api/v1/incidents/" + id
	if etag != `"1"` {
		t.Fatalf("ETag: got %s, want \"1\"", etag)
	}

	t.Run("OK", func(t *testing.T) {
		var inc weft.Incident
		resp := s.send(t, "PATCH", path, `{"status":"resolved","classification":"FalsePositive","determination":"clean",
			"resolvingComment":"Test device.","customTags":["lab"," Lab "],"displayName":"Lab noise","severity":"low",
			"assignedTo":"alice@contoso.com"}`, &inc, "If-Match", etag, wefthttp.ActorHeader, "alice@contoso.com")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		if inc.Status != weft.IncidentStatusResolved || inc.Determination != weft.DeterminationNotMalicious ||
			inc.Classification != weft.ClassificationFalsePositive || len(inc.CustomTags) != 1 || inc.Severity != weft.SeverityLow {
			t.Errorf("got %+v", inc)
		}
		if got := resp.Header.Get("ETag"); got != `"2"` || inc.Version != 2 {
			t.Errorf("ETag %s version %d, want \"2\" and 2", got, inc.Version)
		}
		var acts struct {
			Value []weft.Activity `json:"value"`
		}
		s.send(t, "GET", path+"/activity", "", &acts)
		n := 0
		for _, a := range acts.Value {
			if a.Type == weft.ActivityIncidentUpdated && a.Actor == "alice@contoso.com" {
				n++
			}
		}
		if n != 8 {
			t.Errorf("got %d incidentUpdated activities by alice, want 8 (one per property)", n)
		}
	})

	t.Run("ErrStaleVersion", func(t *testing.T) {
		var ans struct {
			Error    errorDetailAnswer `json:"error"`
			Incident weft.Incident     `json:"incident"`
		}
		resp := s.send(t, "PATCH", path, `{"assignedTo":"bob"}`, &ans, "If-Match", etag)
		if resp.StatusCode != http.StatusPreconditionFailed {
			t.Fatalf("status %d, want 412", resp.StatusCode)
		}
		if ans.Error.Code != weft.EPRECONDITION || ans.Incident.Version != 2 || ans.Incident.AssignedTo != "alice@contoso.com" {
			t.Errorf("got %+v", ans)
		}
		if got := resp.Header.Get("ETag"); got != `"2"` {
			t.Errorf("ETag %s, want \"2\"", got)
		}
	})

	t.Run("OK_WithoutIfMatch", func(t *testing.T) {
		var inc weft.Incident
		if resp := s.send(t, "PATCH", path, `{"status":"active"}`, &inc); resp.StatusCode != http.StatusOK || inc.Version != 3 {
			t.Fatalf("status %d version %d, want 200 and 3", resp.StatusCode, inc.Version)
		}
		var acts struct {
			Value []weft.Activity `json:"value"`
		}
		s.send(t, "GET", path+"/activity", "", &acts)
		// Without Weft-Actor the actor is who signed in: here the test
		// client's token.
		var me struct {
			Principal weft.Principal `json:"principal"`
		}
		s.send(t, "GET", "/api/v1/auth/me", "", &me)
		if last := acts.Value[len(acts.Value)-1]; last.Actor != me.Principal.Name || last.Actor == "" {
			t.Errorf("actor without a header: got %q, want the principal %q", last.Actor, me.Principal.Name)
		}
	})

	for _, tt := range []struct {
		name, body, want string
		headers          []string
		status           int
	}{
		{"ErrUnknownMember", `{"owner":"x"}`, "owner: is not a member that can be changed here", nil, 400},
		{"ErrWrongType", `{"customTags":"x"}`, "customTags: has the wrong type", nil, 400},
		{"ErrBadEnum", `{"status":"closed"}`, `status: "closed" is not a valid value`, nil, 400},
		{"ErrEmptyEnum", `{"classification":""}`, "classification: must not be empty", nil, 400},
		{"ErrDoesNotFit", `{"classification":"truePositive","determination":"notMalicious"}`, "determination: notMalicious does not fit classification truePositive; allowed:", nil, 400},
		{"ErrEmpty", `{}`, "the body changes nothing", nil, 400},
		{"ErrBadIfMatch", `{"status":"active"}`, "If-Match:", []string{"If-Match", "abc"}, 400},
		{"ErrNotFound", `{"status":"active"}`, "not found", nil, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := path
			if tt.status == 404 {
				p = "/api/v1/incidents/999999"
			}
			var ans errorAnswer
			resp := s.send(t, "PATCH", p, tt.body, &ans, tt.headers...)
			if resp.StatusCode != tt.status || !strings.Contains(ans.Error.Message, tt.want) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, ans.Error.Message, tt.status, tt.want)
			}
		})
	}
}

// TestPatchIncidentConcurrent: of two changes made with the same If-Match at
// once, exactly one applies and the other gets 412.
func TestPatchIncidentConcurrent(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	id, _, etag := managedIncident(t, s)
	for round := range 5 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Go(func() {
				body := `{"assignedTo":"analyst-` + string(rune('a'+i)) + string(rune('0'+round)) + `"}`
				req, _ := http.NewRequest("PATCH", s.URL+"/api/v1/incidents/"+id, bytes.NewReader([]byte(body)))
				req.Header.Set("If-Match", etag)
				resp, err := s.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		ok, stale := 0, 0
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 412:
				stale++
			}
		}
		if ok != 1 || stale != 1 {
			t.Fatalf("round %d: got statuses %v, want one 200 and one 412", round, codes)
		}
		etag = s.send(t, "GET", "/api/v1/incidents/"+id, "", nil).Header.Get("ETag")
	}
}

func TestPostComment(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	id, _, etag := managedIncident(t, s)
	path := "/api/v1/incidents/" + id
	var c weft.Comment
	resp := s.send(t, "POST", path+"/comments", `{"comment":"Isolated ws-042."}`, &c, wefthttp.ActorHeader, "alice", "If-Match", etag)
	if resp.StatusCode != http.StatusCreated || c.Comment != "Isolated ws-042." || c.CreatedByDisplayName != "alice" {
		t.Fatalf("got %d %+v", resp.StatusCode, c)
	}
	if got := resp.Header.Get("ETag"); got != `"2"` {
		t.Errorf("ETag %s, want \"2\"", got)
	}
	var inc weft.Incident
	s.send(t, "GET", path, "", &inc)
	if len(inc.Comments) != 1 || inc.Comments[0].Comment != "Isolated ws-042." {
		t.Errorf("incident comments: got %+v", inc.Comments)
	}
	var acts struct {
		Value []weft.Activity `json:"value"`
	}
	s.send(t, "GET", path+"/activity", "", &acts)
	if last := acts.Value[len(acts.Value)-1]; last.Type != weft.ActivityCommentAdded || last.Message != "Isolated ws-042." {
		t.Errorf("last activity: got %+v", last)
	}
	var ans errorAnswer
	if resp := s.send(t, "POST", path+"/comments", `{"comment":""}`, &ans); resp.StatusCode != 400 || !strings.Contains(ans.Error.Message, "comment: must not be empty") {
		t.Errorf("empty comment: got %d %q", resp.StatusCode, ans.Error.Message)
	}
	if resp := s.send(t, "POST", path+"/comments", `{"comment":"late"}`, nil, "If-Match", etag); resp.StatusCode != 412 {
		t.Errorf("stale comment: got %d, want 412", resp.StatusCode)
	}
}

func TestPatchAlert(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	id, alert, _ := managedIncident(t, s)
	var a weft.Alert
	resp := s.send(t, "PATCH", "/api/v1/alerts/"+alert, `{"status":"resolved","classification":"truePositive","determination":"compromisedUser","assignedTo":"bob"}`,
		&a, wefthttp.ActorHeader, "bob")
	if resp.StatusCode != 200 || a.Status != weft.AlertStatusResolved || a.Determination != weft.DeterminationCompromisedAccount || a.AssignedTo != "bob" {
		t.Fatalf("got %d %+v", resp.StatusCode, a)
	}
	var acts struct {
		Value []weft.Activity `json:"value"`
	}
	s.send(t, "GET", "/api/v1/incidents/"+id+"/activity", "", &acts)
	n := 0
	for _, x := range acts.Value {
		if x.Type == weft.ActivityAlertUpdated && x.AlertID == alert && x.Actor == "bob" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("got %d alertUpdated activities, want 4", n)
	}
	var ans errorAnswer
	if resp := s.send(t, "PATCH", "/api/v1/alerts/"+alert, `{"determination":"phishing","classification":"falsePositive"}`, &ans); resp.StatusCode != 400 ||
		!strings.Contains(ans.Error.Message, "does not fit classification falsePositive") {
		t.Errorf("got %d %q", resp.StatusCode, ans.Error.Message)
	}
	if resp := s.send(t, "PATCH", "/api/v1/alerts/wanope", `{"status":"new"}`, &ans); resp.StatusCode != 404 {
		t.Errorf("unknown alert: got %d, want 404", resp.StatusCode)
	}
}

type errorDetailAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
