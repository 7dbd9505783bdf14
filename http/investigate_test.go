package http_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/sqlite"
)

// newCorrelatingServer is a weft API on a fresh SQLite store with the
// correlation engine, so that alerts join and merge incidents.
func newCorrelatingServer(t *testing.T) *testServer {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return newServerWith(t, sqlite.Options{Correlator: e}, wefthttp.Options{})
}

// get sends a GET as tenant (default when empty) without following
// redirects, and decodes the answer into v.
func (s *testServer) get(t *testing.T, path, tenant string, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set(wefthttp.TenantHeader, tenant)
	}
	client := *s.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v, json.RejectUnknownMembers(false), json.MatchCaseInsensitiveNames(true)); err != nil {
			t.Fatalf("GET %s: decoding %q: %v", path, raw, err)
		}
	}
	return resp
}

// storyAlert is a native alert with the given evidence, at minutes after
// base.
func storyAlert(id string, base time.Time, minutes int, evidence string) string {
	at := base.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339)
	return fmt.Sprintf(`{"source":"edr","providerAlertId":%q,"title":"Alert %s","severity":"high","category":"Execution",`+
		`"detectionSource":"antivirus","firstActivityDateTime":%q,"evidence":[%s]}`, id, id, at, evidence)
}

func TestInvestigationAPI(t *testing.T) {
	s := newCorrelatingServer(t)
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	if code := s.call(t, "PUT", "/api/v1/assets", "", "application/json",
		`{"id":"ws-1","kind":"device","criticality":3,"mdeDeviceId":"6f1c2a","deviceDnsName":"ws-1.contoso.com"}`, nil); code != 200 {
		t.Fatalf("PUT assets: got %d", code)
	}
	body := strings.Join([]string{
		// Given out of order: s2 happened after s1.
		storyAlert("s2", base, 10, `{"entityType":"device","deviceDnsName":"WS-1.contoso.com","roles":["source"],"verdict":"malicious","remediationStatus":"prevented"},{"entityType":"ip","ipAddress":"203.0.113.9"}`),
		storyAlert("s1", base, 0, `{"entityType":"user","userAccount":{"userPrincipalName":"alice@contoso.com"},"roles":["compromised"]},{"entityType":"device","mdeDeviceId":"6f1c2a","deviceDnsName":"ws-1.contoso.com"}`),
	}, "\n")
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(body), &ans)
	if ans.Stored != 2 || ans.Results[0].IncidentID != ans.Results[1].IncidentID {
		t.Fatalf("got %+v, want two alerts stored in one incident", ans)
	}
	inc := ans.Results[0].IncidentID
	first, second := ans.Results[1].ID, ans.Results[0].ID
	views := "/api/v1/incidents/" + inc + "/"

	t.Run("Story", func(t *testing.T) {
		var v struct {
			IncidentID string `json:"incidentId"`
			AlertCount int    `json:"alertCount"`
			Alerts     []struct {
				ID, Title, DetectionSource string
				EntityKeys                 []string `json:"entityKeys"`
			} `json:"alerts"`
			Graph struct {
				Nodes []struct {
					Key         string   `json:"key"`
					Criticality int      `json:"criticality"`
					AlertIDs    []string `json:"alertIds"`
				} `json:"nodes"`
				Edges []struct{ AlertID, EntityKey string } `json:"edges"`
			} `json:"graph"`
		}
		if resp := s.get(t, views+"story", "", &v); resp.StatusCode != 200 {
			t.Fatalf("got %d", resp.StatusCode)
		}
		if v.IncidentID != inc || v.AlertCount != 2 || len(v.Alerts) != 2 || v.Alerts[0].ID != first || v.Alerts[1].ID != second {
			t.Fatalf("got %+v, want alerts %s then %s", v, first, second)
		}
		if len(v.Graph.Nodes) != 3 || len(v.Graph.Edges) != 4 {
			t.Fatalf("got %d nodes and %d edges, want 3 and 4: %+v", len(v.Graph.Nodes), len(v.Graph.Edges), v.Graph)
		}
		dev := v.Graph.Nodes[0] // first seen with alice, and sorted by key
		if dev.Key != "device.mdeId:6f1c2a" || dev.Criticality != 3 || len(dev.AlertIDs) != 2 {
			t.Errorf("got device node %+v, want ws-1 merged across both alerts with criticality 3", dev)
		}
	})
	t.Run("Origin", func(t *testing.T) {
		var v struct {
			EntryAlert struct {
				ID string `json:"id"`
			} `json:"entryAlert"`
			EntryEntities []struct{ Key string } `json:"entryEntities"`
			Path          []struct {
				EntityKey, AlertID, FromEntityKey string
			} `json:"path"`
		}
		s.get(t, views+"origin", "", &v)
		if v.EntryAlert.ID != first || len(v.EntryEntities) != 2 || len(v.Path) != 3 {
			t.Fatalf("got %+v", v)
		}
		if p := v.Path[2]; p.EntityKey != "ip:203.0.113.9" || p.AlertID != second || p.FromEntityKey != "device.mdeId:6f1c2a" {
			t.Errorf("got last step %+v", p)
		}
	})
	t.Run("Assets", func(t *testing.T) {
		var v struct {
			Groups []struct {
				EntityType string `json:"entityType"`
				Count      int    `json:"count"`
				Assets     []struct {
					Key         string
					Criticality int
					AlertCount  int `json:"alertCount"`
				} `json:"assets"`
			} `json:"groups"`
		}
		s.get(t, views+"assets", "", &v)
		if len(v.Groups) != 5 || v.Groups[0].EntityType != "device" || v.Groups[0].Count != 1 || v.Groups[1].Count != 1 {
			t.Fatalf("got %+v", v)
		}
		if a := v.Groups[0].Assets[0]; a.AlertCount != 2 || a.Criticality != 3 {
			t.Errorf("got device %+v, want 2 alerts, criticality 3", a)
		}
	})
	t.Run("Evidence", func(t *testing.T) {
		var v struct {
			Evidence []struct {
				AlertID, Key, EntityKey, Verdict, RemediationStatus string
			} `json:"evidence"`
		}
		s.get(t, views+"evidence", "", &v)
		if len(v.Evidence) != 4 {
			t.Fatalf("got %d items, want 4", len(v.Evidence))
		}
		if e := v.Evidence[2]; e.AlertID != second || e.Key != "device.fqdn:ws-1.contoso.com" || e.EntityKey != "device.mdeId:6f1c2a" ||
			e.Verdict != "malicious" || e.RemediationStatus != "prevented" {
			t.Errorf("got %+v", e)
		}
	})

	// Merge: m3 names the devices of m1's and m2's incidents.
	var merged ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(strings.Join([]string{
		storyAlert("m1", base, 60, `{"entityType":"device","mdeDeviceId":"aa11"}`),
		storyAlert("m2", base, 65, `{"entityType":"device","deviceDnsName":"ws-2.contoso.com"}`),
	}, "\n")), &merged)
	var m3 ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(storyAlert("m3", base, 70,
		`{"entityType":"device","mdeDeviceId":"aa11","deviceDnsName":"ws-2.contoso.com"}`)), &m3)
	target := m3.Results[0].IncidentID
	gone := merged.Results[0].IncidentID
	if gone == target {
		gone = merged.Results[1].IncidentID
	}

	t.Run("Related", func(t *testing.T) {
		var v struct {
			IncidentID string `json:"incidentId"`
			Related    []struct {
				ID, Status, Relation, DisplayName string
			} `json:"related"`
		}
		s.get(t, "/api/v1/incidents/"+target+"/related", "", &v)
		if len(v.Related) != 1 || v.Related[0].ID != gone || v.Related[0].Relation != "merged" || v.Related[0].Status != "redirected" {
			t.Errorf("got %+v, want incident %s merged", v, gone)
		}
	})
	t.Run("Redirected", func(t *testing.T) {
		for _, view := range []string{"story", "origin", "assets", "evidence", "related"} {
			var v struct {
				Error              struct{ Code string } `json:"error"`
				RedirectIncidentID string                `json:"redirectIncidentId"`
			}
			resp := s.get(t, "/api/v1/incidents/"+gone+"/"+view, "", &v)
			want := "/api/v1/incidents/" + target + "/" + view
			if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want ||
				v.RedirectIncidentID != target || v.Error.Code != "redirected" {
				t.Errorf("%s: got %d, Location %q, %+v; want 308 to %s", view, resp.StatusCode, resp.Header.Get("Location"), v, want)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, c := range []struct{ name, path, tenant string }{
			{"Unknown", "/api/v1/incidents/99999/story", ""},
			{"NotAnID", "/api/v1/incidents/abc/assets", ""},
			{"OtherTenant", views + "story", "other"},
			{"OtherTenantRelated", "/api/v1/incidents/" + target + "/related", "other"},
			{"OtherTenantRedirected", "/api/v1/incidents/" + gone + "/origin", "other"},
		} {
			var e errorAnswer
			if resp := s.get(t, c.path, c.tenant, &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
				t.Errorf("%s: got %d %+v, want 404 not_found", c.name, resp.StatusCode, e)
			}
		}
	})
	t.Run("ErrUnknownOption", func(t *testing.T) {
		if resp := s.get(t, views+"story?$foo=1", "", nil); resp.StatusCode != 400 {
			t.Errorf("got %d, want 400", resp.StatusCode)
		}
	})
}
