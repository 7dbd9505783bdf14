package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

// deviceAlert is an alert on its own device, so that alerts of different
// devices land in different incidents.
func deviceAlert(id, device string) string {
	return fmt.Sprintf(`{"source":"edr","providerAlertId":%q,"title":"Suspicious PowerShell on %s","severity":"high","firstActivityDateTime":%q,"evidence":[{"entityType":"device","deviceDnsName":%q}]}`,
		id, device, recent, device+".contoso.com")
}

// threeIncidents ingests alerts on three devices and returns their
// incidents' ids.
func threeIncidents(t *testing.T, s *testServer) []string {
	t.Helper()
	var ans ingestAnswer
	body := deviceAlert("b1", "ws-1") + "\n" + deviceAlert("b2", "ws-2") + "\n" + deviceAlert("b3", "ws-3")
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(body), &ans)
	if ans.Stored != 3 {
		t.Fatalf("ingest: got %+v", ans)
	}
	ids := []string{ans.Results[0].IncidentID, ans.Results[1].IncidentID, ans.Results[2].IncidentID}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("incidents %v: want three", ids)
	}
	return ids
}

type bulkAnswer struct {
	Value []struct {
		ID             string `json:"id"`
		Status         int    `json:"status"`
		Version        int64  `json:"version"`
		CurrentVersion int64  `json:"currentVersion"`
		Error          *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"value"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

func TestBulkUpdate(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	ids := threeIncidents(t, s)

	t.Run("OK_PerItemResults", func(t *testing.T) {
		// Incident ids[1] is at version 1; ifMatch 9 is stale. 999 does
		// not exist. The others change and get the comment.
		body := fmt.Sprintf(`{"incidentIds":[%q, %s, "999", %q],"changes":{"status":"inProgress","assignedTo":"bob@contoso.com"},
			"comment":"Taking these.","ifMatch":{%q: 9}}`, ids[0], ids[1], ids[2], ids[1])
		var ans bulkAnswer
		resp := s.send(t, "PATCH", "/api/v1/incidents", body, &ans, wefthttp.ActorHeader, "bob@contoso.com")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ans.Succeeded != 2 || ans.Failed != 2 || len(ans.Value) != 4 {
			t.Fatalf("got %+v", ans)
		}
		want := []struct {
			id     string
			status int
		}{{ids[0], 200}, {ids[1], 412}, {"999", 404}, {ids[2], 200}}
		for i, w := range want {
			got := ans.Value[i]
			if got.ID != w.id || got.Status != w.status {
				t.Errorf("result %d: got %+v, want id %s status %d", i, got, w.id, w.status)
			}
		}
		if v := ans.Value[0]; v.Version != 3 || v.Error != nil {
			t.Errorf("changed incident: got %+v, want version 3 (change, then comment)", v)
		}
		if v := ans.Value[1]; v.CurrentVersion != 1 || v.Error == nil || v.Error.Code != weft.EPRECONDITION {
			t.Errorf("stale incident: got %+v", v)
		}
		if v := ans.Value[2]; v.Error == nil || v.Error.Code != weft.ENOTFOUND {
			t.Errorf("missing incident: got %+v", v)
		}
		// What the results say is what the incidents are.
		for i, id := range ids {
			var inc weft.Incident
			s.send(t, "GET", "/api/v1/incidents/"+id, "", &inc)
			changed := i != 1
			if (inc.Status == weft.IncidentStatusInProgress) != changed || (len(inc.Comments) == 1) != changed ||
				(inc.AssignedTo == "bob@contoso.com") != changed {
				t.Errorf("incident %s: status %s, assignee %q, %d comments; changed %v", id, inc.Status, inc.AssignedTo, len(inc.Comments), changed)
			}
			var acts struct {
				Value []weft.Activity `json:"value"`
			}
			s.send(t, "GET", "/api/v1/incidents/"+id+"/activity?actor=BOB@contoso.com", "", &acts)
			if changed && len(acts.Value) != 3 || !changed && len(acts.Value) != 0 {
				t.Errorf("incident %s: %d activities by bob: %+v", id, len(acts.Value), acts.Value)
			}
		}
	})

	t.Run("OK_OneRefusesTheChange", func(t *testing.T) {
		// A determination that fits no classification of the incident:
		// ids[0] and ids[2] have none set; set one on ids[0] first.
		s.send(t, "PATCH", "/api/v1/incidents/"+ids[0], `{"classification":"FalsePositive"}`, nil)
		var ans bulkAnswer
		s.send(t, "PATCH", "/api/v1/incidents", fmt.Sprintf(`{"incidentIds":[%q,%q],"changes":{"determination":"malware"}}`, ids[0], ids[2]), &ans)
		if ans.Succeeded != 0 || ans.Failed != 2 || ans.Value[0].Status != 400 || !strings.Contains(ans.Value[0].Error.Message, "does not fit classification falsePositive") ||
			!strings.Contains(ans.Value[1].Error.Message, "needs a classification") {
			t.Fatalf("got %+v", ans)
		}
	})

	for _, tc := range []struct{ name, body, want string }{
		{"ErrNoIDs", `{"incidentIds":[],"changes":{"status":"active"}}`, "incidentIds: give one or more incident ids"},
		{"ErrRepeat", fmt.Sprintf(`{"incidentIds":[%q,%s],"changes":{"status":"active"}}`, ids[0], ids[0]), "incidentIds[1]: incident " + ids[0] + " is listed twice"},
		{"ErrBadID", `{"incidentIds":["x"],"changes":{"status":"active"}}`, `incidentIds/0: "x" is not an incident id`},
		{"ErrNothing", fmt.Sprintf(`{"incidentIds":[%q]}`, ids[0]), "give changes, a comment, or both"},
		{"ErrEmptyChanges", fmt.Sprintf(`{"incidentIds":[%q],"changes":{}}`, ids[0]), "the body changes nothing"},
		{"ErrBadStatus", fmt.Sprintf(`{"incidentIds":[%q],"changes":{"status":"closed"}}`, ids[0]), "status"},
		{"ErrRedirect", fmt.Sprintf(`{"incidentIds":[%q],"changes":{"status":"redirected"}}`, ids[0]), "changes.status: redirected is set by merging"},
		{"ErrUnknownMember", fmt.Sprintf(`{"incidentIds":[%q],"changes":{"owner":"x"}}`, ids[0]), "changes/owner: is not a member"},
		{"ErrIfMatchStranger", fmt.Sprintf(`{"incidentIds":[%q],"changes":{"status":"active"},"ifMatch":{"77":1}}`, ids[0]), `ifMatch: "77" is not one of incidentIds`},
		{"ErrEmptyComment", fmt.Sprintf(`{"incidentIds":[%q],"comment":"  "}`, ids[0]), "comment: must not be empty"},
		{"ErrTooMany", `{"incidentIds":[` + strings.TrimSuffix(strings.Repeat(`"1",`, 101), ",") + `],"changes":{"status":"active"}}`, "101 incidents; at most 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			before := versions(t, s, ids)
			resp := s.send(t, "PATCH", "/api/v1/incidents", tc.body, &e)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, tc.want) {
				t.Fatalf("status %d, error %+v; want 400 with %q", resp.StatusCode, e.Error, tc.want)
			}
			if after := versions(t, s, ids); after != before {
				t.Fatalf("versions changed from %v to %v", before, after)
			}
		})
	}
}

func versions(t *testing.T, s *testServer, ids []string) string {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		resp := s.send(t, "GET", "/api/v1/incidents/"+id, "", nil)
		b.WriteString(resp.Header.Get("ETag"))
	}
	return b.String()
}

func TestActivityFilter(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	id, _, _ := managedIncident(t, s)
	path := "/api/v1/incidents/" + id
	s.send(t, "PATCH", path, `{"status":"inProgress"}`, nil, wefthttp.ActorHeader, "alice@contoso.com")
	s.send(t, "POST", path+"/comments", `{"comment":"Looking."}`, nil, wefthttp.ActorHeader, "alice@contoso.com")
	s.send(t, "POST", path+"/comments", `{"comment":"Me too."}`, nil, wefthttp.ActorHeader, "bob@contoso.com")
	list := func(query string) []weft.Activity {
		t.Helper()
		var acts struct {
			Value []weft.Activity `json:"value"`
		}
		if resp := s.send(t, "GET", path+"/activity"+query, "", &acts); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", query, resp.StatusCode)
		}
		return acts.Value
	}
	if n := len(list("")); n != 4 {
		t.Fatalf("unfiltered: %d entries, want 4 (created, updated, 2 comments)", n)
	}
	if got := list("?type=commentAdded"); len(got) != 2 || got[0].After != "" && got[0].Type != weft.ActivityCommentAdded {
		t.Fatalf("type: %+v", got)
	}
	if got := list("?type=commentAdded&actor=Alice@Contoso.com"); len(got) != 1 || got[0].Actor != "alice@contoso.com" {
		t.Fatalf("type and actor: %+v", got)
	}
	if got := list("?type=commentAdded,incidentUpdated&actor=alice@contoso.com"); len(got) != 2 {
		t.Fatalf("two types: %+v", got)
	}
	if got := list("?type=incidentCreated&type=commentAdded&actor=alice@contoso.com&actor=weft%20correlation"); len(got) != 2 {
		t.Fatalf("repeated: %+v", got)
	}
	for query, want := range map[string]string{
		"?type=nope":        `type: "nope" is not an activity type; allowed: `,
		"?actor=":           "actor: must not be empty",
		"?$top=1":           `query parameter "$top" is not supported here`,
		"?type=a,,b":        `type: "a" is not an activity type`,
		"?type=alertAdded,": `type: "" is not an activity type`,
	} {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if resp := s.send(t, "GET", path+"/activity"+query, "", &e); resp.StatusCode != 400 || !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s: status %d, %q; want 400 with %q", query, resp.StatusCode, e.Error.Message, want)
		}
	}
}
