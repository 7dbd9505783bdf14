package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

type targetAnswer struct {
	TargetIncidentID string `json:"targetIncidentId"`
}

// ingestOne ingests one alert and returns its id and its incident's id.
func ingestOne(t *testing.T, s *testServer, id string) (alert, incident string) {
	t.Helper()
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(nativeAlert(id)), &ans)
	if ans.Stored != 1 {
		t.Fatalf("ingest: got %+v", ans)
	}
	return ans.Results[0].ID, ans.Results[0].IncidentID
}

func getIncident(t *testing.T, s *testServer, id string) weft.Incident {
	t.Helper()
	var inc weft.Incident
	if resp := s.send(t, "GET", "/api/v1/incidents/"+id, "", &inc); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET incident %s: status %d", id, resp.StatusCode)
	}
	return inc
}

func lastActivity(t *testing.T, s *testServer, id string) weft.Activity {
	t.Helper()
	var acts struct {
		Value []weft.Activity `json:"value"`
	}
	s.send(t, "GET", "/api/v1/incidents/"+id+"/activity", "", &acts)
	if len(acts.Value) == 0 {
		t.Fatalf("incident %s has no activity", id)
	}
	return acts.Value[len(acts.Value)-1]
}

func TestRestructure(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	a1, i1 := ingestOne(t, s, "r1")
	a2, i2 := ingestOne(t, s, "r2")
	a3, i3 := ingestOne(t, s, "r3")
	a4, i4 := ingestOne(t, s, "r4")
	actor := []string{wefthttp.ActorHeader, "bob@contoso.com"}

	t.Run("OK_MoveAlerts", func(t *testing.T) {
		var ans targetAnswer
		body := fmt.Sprintf(`{"alertIds":[%q],"incidentId":%s,"alertComment":"same host","newCorrelationReasons":["sameAsset"]}`, a2, i1)
		resp := s.send(t, "POST", "/api/v1/alerts/moveAlerts", body, &ans, actor...)
		if resp.StatusCode != http.StatusOK || ans.TargetIncidentID != i1 {
			t.Fatalf("got status %d, %+v; want 200 and incident %s", resp.StatusCode, ans, i1)
		}
		if inc := getIncident(t, s, i1); inc.AlertCount != 2 || inc.LastModifiedBy != "bob@contoso.com" {
			t.Errorf("target: got %d alerts, modified by %q", inc.AlertCount, inc.LastModifiedBy)
		}
		if inc := getIncident(t, s, i2); inc.Status != weft.IncidentStatusRedirected || fmt.Sprint(inc.RedirectIncidentID) != i1 {
			t.Errorf("emptied source: got status %s → %d", inc.Status, inc.RedirectIncidentID)
		}
		if act := lastActivity(t, s, i1); act.Type != weft.ActivityAlertsMoved || act.Actor != "bob@contoso.com" ||
			!strings.Contains(act.Message, a2) || !strings.HasSuffix(act.Message, ": same host") {
			t.Errorf("target's activity: got %+v", act)
		}
	})
	var split string
	t.Run("OK_MoveAlertsToNewIncident", func(t *testing.T) {
		var ans targetAnswer
		body := fmt.Sprintf(`{"alertIds":[%q],"incidentId":null,"alertComment":"separate"}`, a3)
		if resp := s.send(t, "POST", "/api/v1/alerts/moveAlerts", body, &ans, actor...); resp.StatusCode != http.StatusOK ||
			ans.TargetIncidentID == "" || ans.TargetIncidentID == i3 {
			t.Fatalf("got status %d, %+v; want 200 and a new incident", resp.StatusCode, ans)
		}
		if act := lastActivity(t, s, ans.TargetIncidentID); act.Type != weft.ActivityIncidentCreated || act.Actor != "bob@contoso.com" {
			t.Errorf("new incident's activity: got %+v", act)
		}
		split = ans.TargetIncidentID
	})
	t.Run("OK_MergeIncidents", func(t *testing.T) {
		var ans targetAnswer
		body := fmt.Sprintf(`{"incidentIds":[%s,"%s"],"targetIncidentId":"%s","incidentComment":"one attack","mergeReasons":["sameCampaign"]}`, i4, split, i4)
		if resp := s.send(t, "POST", "/api/v1/incidents/mergeIncidents", body, &ans, actor...); resp.StatusCode != http.StatusOK || ans.TargetIncidentID != i4 {
			t.Fatalf("got status %d, %+v; want 200 and incident %s", resp.StatusCode, ans, i4)
		}
		if inc := getIncident(t, s, i4); inc.AlertCount != 2 {
			t.Errorf("target has %d alerts, want 2", inc.AlertCount)
		}
		if act := lastActivity(t, s, split); act.Type != weft.ActivityIncidentRedirected {
			t.Errorf("source's activity: got %+v", act)
		}
	})
	t.Run("OK_Split", func(t *testing.T) {
		var ans targetAnswer
		body := fmt.Sprintf(`{"alertIds":[%q],"comment":"second wave"}`, a4)
		if resp := s.send(t, "POST", "/api/v1/incidents/"+i4+"/split", body, &ans, actor...); resp.StatusCode != http.StatusOK ||
			ans.TargetIncidentID == "" || ans.TargetIncidentID == i4 {
			t.Fatalf("got status %d, %+v; want 200 and a new incident", resp.StatusCode, ans)
		}
		if act := lastActivity(t, s, i4); act.Type != weft.ActivityIncidentSplit {
			t.Errorf("source's activity: got %+v", act)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for id, who := range map[string]string{i1: "alice", i4: "carol"} {
			if resp := s.send(t, "PATCH", "/api/v1/incidents/"+id, `{"assignedTo":"`+who+`"}`, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("assign incident %s: status %d", id, resp.StatusCode)
			}
		}
		for _, c := range []struct {
			name, method, path, body string
			headers                  []string
			status                   int
			msg                      string
		}{
			{"UnknownMember", "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q],"alertComment":"c","force":true}`, a1), nil,
				http.StatusBadRequest, "force: is not a member"},
			{"NoComment", "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q]}`, a1), nil,
				http.StatusBadRequest, "alertComment: must not be empty"},
			{"BadIncidentID", "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q],"incidentId":"x1","alertComment":"c"}`, a1), nil,
				http.StatusBadRequest, "incidentId: x1 is not an incident id"},
			{"IncidentIDWrongType", "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q],"incidentId":[1],"alertComment":"c"}`, a1), nil,
				http.StatusBadRequest, "incidentId: has the wrong type"},
			{"UnknownAlert", "POST", "/api/v1/alerts/moveAlerts", `{"alertIds":["nope"],"alertComment":"c"}`, nil,
				http.StatusNotFound, `alertIds[0]: alert "nope" not found`},
			{"OtherTenant", "POST", "/api/v1/alerts/moveAlerts", fmt.Sprintf(`{"alertIds":[%q],"alertComment":"c"}`, a1),
				[]string{wefthttp.TenantHeader, "other"}, http.StatusNotFound, "alertIds[0]: alert"},
			{"MergeBlocked", "POST", "/api/v1/incidents/mergeIncidents", fmt.Sprintf(`{"incidentIds":[%s,%s],"incidentComment":"c"}`, i1, i4), nil,
				http.StatusConflict, "incidents " + i1 + " and " + i4 + " are assigned to different people"},
			{"MergeNullID", "POST", "/api/v1/incidents/mergeIncidents", fmt.Sprintf(`{"incidentIds":[%s,null],"incidentComment":"c"}`, i1), nil,
				http.StatusBadRequest, "incidentIds[1]: must be an incident id, not null"},
			{"SplitBadPath", "POST", "/api/v1/incidents/abc/split", fmt.Sprintf(`{"alertIds":[%q],"comment":"c"}`, a1), nil,
				http.StatusNotFound, `incident "abc" not found`},
			{"SplitAll", "POST", "/api/v1/incidents/" + i1 + "/split", fmt.Sprintf(`{"alertIds":[%q,%q],"comment":"c"}`, a1, a2), nil,
				http.StatusBadRequest, "alertIds: names all 2 alerts of incident " + i1},
		} {
			t.Run(c.name, func(t *testing.T) {
				var ans errorAnswer
				resp := s.send(t, c.method, c.path, c.body, &ans, c.headers...)
				if resp.StatusCode != c.status || !strings.HasPrefix(ans.Error.Message, c.msg) {
					t.Errorf("got status %d, %+v; want %d and a message starting %q", resp.StatusCode, ans.Error, c.status, c.msg)
				}
			})
		}
	})
}
