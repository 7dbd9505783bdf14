package http_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

// entityPage is the wire form of GET /api/v1/entities/{type}/{id}.
type entityPage struct {
	NextLink         string   `json:"@odata.nextLink"`
	EntityType       string   `json:"entityType"`
	Key              string   `json:"key"`
	Name             string   `json:"name"`
	Aliases          []string `json:"aliases"`
	AliasCount       int      `json:"aliasCount"`
	Criticality      int      `json:"criticality"`
	DeviceGroup      string   `json:"deviceGroup"`
	AssetID          string   `json:"assetId"`
	FirstSeen        string   `json:"firstSeenDateTime"`
	LastSeen         string   `json:"lastSeenDateTime"`
	AlertCount       int      `json:"alertCount"`
	IncidentCount    int      `json:"incidentCount"`
	ContainmentState string   `json:"containmentState"`
	Alerts           []struct {
		ID         string   `json:"id"`
		Title      string   `json:"title"`
		Severity   string   `json:"severity"`
		Status     string   `json:"status"`
		First      string   `json:"firstActivityDateTime"`
		IncidentID string   `json:"incidentId"`
		Roles      []string `json:"roles"`
	} `json:"alerts"`
	Incidents []struct {
		ID            string   `json:"id"`
		DisplayName   string   `json:"displayName"`
		Status        string   `json:"status"`
		Severity      string   `json:"severity"`
		PriorityScore *int     `json:"priorityScore"`
		Last          string   `json:"lastActivityDateTime"`
		AlertCount    int      `json:"alertCount"`
		AlertIDs      []string `json:"alertIds"`
	} `json:"incidents"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (p *entityPage) alertIDs() []string {
	var out []string
	for _, a := range p.Alerts {
		out = append(out, a.ID)
	}
	return out
}

// entityAlert is a native alert of a tenant, t hours before now, with the
// given evidence records (JSON objects).
func entityAlertJSON(tenant, id string, hoursAgo int, evidence ...string) string {
	at := time.Now().UTC().Add(-time.Duration(hoursAgo) * time.Hour).Format(time.RFC3339)
	return fmt.Sprintf(`{"tenantId":%q,"source":"edr","providerAlertId":%q,"title":"Activity %s","severity":"medium","firstActivityDateTime":%q,"evidence":[%s]}`,
		tenant, id, id, at, strings.Join(evidence, ","))
}

// newEntityServer is a correlating server with the alerts of one device
// and one user under several names, over several days, an asset for the
// device, and another tenant's device of the same name.
func newEntityServer(t *testing.T) (*testServer, map[string]string) {
	t.Helper()
	s := newCorrelatingServer(t)
	asset := `{"id":"laptop-jane","kind":"device","displayName":"Jane's laptop","criticality":2,"deviceGroup":"Finance","mdeDeviceId":"mde-42"}`
	if code := s.call(t, "PUT", "/api/v1/assets", "", "application/json", asset, nil); code != http.StatusOK {
		t.Fatalf("put asset: status %d", code)
	}
	alerts := []string{
		entityAlertJSON("default", "a1", 200, `{"entityType":"device","mdeDeviceId":"MDE-42","deviceDnsName":"ws-042.contoso.com","roles":["compromised"]}`,
			`{"entityType":"user","roles":["attacked"],"userAccount":{"userSid":"S-1-5-21-7-1104","userPrincipalName":"jdoe@contoso.com","accountName":"jdoe","domainName":"CONTOSO"}}`),
		entityAlertJSON("default", "a2", 199, `{"entityType":"device","hostName":"WS-042","roles":["source"]}`),
		entityAlertJSON("default", "a3", 198, `{"entityType":"user","userAccount":{"accountName":"CONTOSO\\jdoe"}}`),
		entityAlertJSON("default", "a4", 100, `{"entityType":"device","deviceDnsName":"ws-042.contoso.com"}`,
			`{"entityType":"file","fileDetails":{"fileName":"evil.exe","sha256":"`+strings.Repeat("ab", 32)+`"}}`),
		entityAlertJSON("default", "a5", 2, `{"entityType":"device","mdeDeviceId":"mde-42","deviceDnsName":"ws-042.contoso.com"}`),
		entityAlertJSON("other", "o1", 2, `{"entityType":"device","deviceDnsName":"ws-042.contoso.com"}`),
		entityAlertJSON("default", "a7", 1, `{"entityType":"url","url":"HTTPS://Evil.example:443/login//x?a=1"}`),
	}
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(strings.Join(alerts, "\n")), &ans)
	if ans.Stored != len(alerts) {
		t.Fatalf("ingest: got %+v", ans)
	}
	ids := map[string]string{}
	for i, r := range ans.Results {
		ids[fmt.Sprint("a", i+1)] = r.ID
	}
	return s, ids
}

func TestEntityPage(t *testing.T) {
	s, ids := newEntityServer(t)

	t.Run("DeviceByEveryName", func(t *testing.T) {
		var want entityPage
		if code := s.call(t, "GET", "/api/v1/entities/device/device.mdeId:mde-42", "", "", "", &want); code != http.StatusOK {
			t.Fatalf("status %d: %+v", code, want.Error)
		}
		if want.Key != "device.mdeId:mde-42" || want.EntityType != "device" || want.AlertCount != 4 || want.IncidentCount < 2 ||
			want.Criticality != 2 || want.DeviceGroup != "Finance" || want.AssetID != "laptop-jane" || want.ContainmentState != "none" {
			t.Fatalf("got %+v", want)
		}
		wantAliases := []string{"Jane's laptop", "device.fqdn:ws-042.contoso.com", "device.hostname:ws-042"}
		if !slices.Equal(want.Aliases, wantAliases) {
			t.Errorf("got aliases %q, want %q", want.Aliases, wantAliases)
		}
		if wantAlerts := []string{ids["a5"], ids["a4"], ids["a2"], ids["a1"]}; !slices.Equal(want.alertIDs(), wantAlerts) {
			t.Errorf("got alerts %v, want newest first %v", want.alertIDs(), wantAlerts)
		}
		if a := want.Alerts[3]; a.Title != "Activity a1" || a.Severity != "medium" || a.IncidentID == "" || !slices.Equal(a.Roles, []string{"compromised"}) {
			t.Errorf("got alert %+v, want a1 with its incident and role compromised", a)
		}
		if inc := want.Incidents[0]; inc.ID != want.Alerts[0].IncidentID || !slices.Equal(inc.AlertIDs, []string{ids["a5"]}) || inc.DisplayName == "" {
			t.Errorf("got first incident %+v, want a5's", inc)
		}
		for _, id := range []string{"MDE-42", "ws-042", "WS-042.contoso.com", "laptop-jane", "Jane's laptop", "device.fqdn:ws-042.contoso.com"} {
			var got entityPage
			if code := s.call(t, "GET", "/api/v1/entities/device/"+url.PathEscape(id), "", "", "", &got); code != http.StatusOK {
				t.Errorf("%s: status %d: %+v", id, code, got.Error)
				continue
			}
			if got.Key != want.Key || got.AlertCount != want.AlertCount || !slices.Equal(got.Aliases, want.Aliases) {
				t.Errorf("%s: got %s, %d alerts, aliases %q; want %s, %d, %q", id, got.Key, got.AlertCount, got.Aliases, want.Key, want.AlertCount, want.Aliases)
			}
		}
	})
	t.Run("UserByEveryName", func(t *testing.T) {
		for _, id := range []string{"S-1-5-21-7-1104", "JDoe@Contoso.com", `CONTOSO\jdoe`} {
			var got entityPage
			if code := s.call(t, "GET", "/api/v1/entities/user/"+url.PathEscape(id), "", "", "", &got); code != http.StatusOK {
				t.Errorf("%s: status %d: %+v", id, code, got.Error)
				continue
			}
			if got.Key != "user.sid:S-1-5-21-7-1104" || got.AlertCount != 2 || !slices.Equal(got.alertIDs(), []string{ids["a3"], ids["a1"]}) {
				t.Errorf("%s: got %s with alerts %v, want user.sid:S-1-5-21-7-1104 with a3, a1", id, got.Key, got.alertIDs())
			}
		}
	})
	t.Run("URLInPath", func(t *testing.T) {
		// A URL's "/" are escaped as %2F; the id is normalized as ingest
		// normalizes URLs.
		var got entityPage
		path := "/api/v1/entities/url/" + url.PathEscape("https://evil.example/login//x?a=1")
		if code := s.call(t, "GET", path, "", "", "", &got); code != http.StatusOK {
			t.Fatalf("%s: status %d: %+v", path, code, got.Error)
		}
		if got.Key != "url:https://evil.example/login//x?a=1" || !slices.Equal(got.alertIDs(), []string{ids["a7"]}) {
			t.Errorf("got %s with alerts %v, want url:https://evil.example/login//x?a=1 with a7", got.Key, got.alertIDs())
		}
	})
	t.Run("Paging", func(t *testing.T) {
		var got []string
		path := "/api/v1/entities/device/mde-42?$top=3"
		for range 3 {
			var p entityPage
			if code := s.call(t, "GET", path, "", "", "", &p); code != http.StatusOK {
				t.Fatalf("%s: status %d", path, code)
			}
			got = append(got, p.alertIDs()...)
			if p.NextLink == "" {
				break
			}
			u, err := url.Parse(p.NextLink)
			if err != nil {
				t.Fatal(err)
			}
			if u.Query().Get("$skip") != "3" || u.Query().Get("$top") != "3" {
				t.Errorf("got next link %s, want $skip=3 and $top=3", p.NextLink)
			}
			path = u.RequestURI()
		}
		if want := []string{ids["a5"], ids["a4"], ids["a2"], ids["a1"]}; !slices.Equal(got, want) {
			t.Errorf("got pages %v, want %v", got, want)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		var p entityPage
		if code := s.call(t, "GET", "/api/v1/entities/device/ws-042", "other", "", "", &p); code != http.StatusOK || p.AlertCount != 1 || p.Criticality != 0 {
			t.Errorf("other tenant: got %d, %+v; want its one alert, no asset", code, p)
		}
		if code := s.call(t, "GET", "/api/v1/entities/user/jdoe@contoso.com", "other", "", "", &p); code != http.StatusNotFound {
			t.Errorf("other tenant's user: got status %d, want 404", code)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name, path string
			status     int
			msg        string
		}{
			{"ErrNotFound", "/api/v1/entities/device/ws-999", http.StatusNotFound, `device "ws-999" not found`},
			{"ErrUnknownType", "/api/v1/entities/printer/x", http.StatusBadRequest, "allowed: device, user, mailbox"},
			{"ErrEmptyID", "/api/v1/entities/device/%20", http.StatusBadRequest, "id is empty"},
			{"ErrLongID", "/api/v1/entities/device/" + strings.Repeat("x", weft.MaxEntityIDBytes+1), http.StatusBadRequest, "at most 1024"},
			{"ErrBadTop", "/api/v1/entities/device/mde-42?$top=0", http.StatusBadRequest, "$top"},
			{"ErrFilter", "/api/v1/entities/device/mde-42?$filter=x", http.StatusBadRequest, "$filter is not supported"},
			{"ErrCount", "/api/v1/entities/device/mde-42?$count=true", http.StatusBadRequest, "always carries alertCount"},
		} {
			t.Run(c.name, func(t *testing.T) {
				var p entityPage
				code := s.call(t, "GET", c.path, "", "", "", &p)
				if code != c.status || p.Error == nil || !strings.Contains(p.Error.Message, c.msg) {
					t.Errorf("got %d %+v, want %d containing %q", code, p.Error, c.status, c.msg)
				}
			})
		}
	})
}

func TestEntitySearch(t *testing.T) {
	s, _ := newEntityServer(t)
	type answer struct {
		Value []struct {
			EntityType string `json:"entityType"`
			Key        string `json:"key"`
			Name       string `json:"name"`
			LastSeen   string `json:"lastSeenDateTime"`
			AlertCount int    `json:"alertCount"`
		} `json:"value"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	sha := strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"ByName", "search=WS-04&type=device", []string{"device.hostname:ws-042", "device.fqdn:ws-042.contoso.com", "device.mdeId:mde-42"}},
		{"ByHash", "search=" + sha[:10], []string{"file.sha256:" + sha}},
		{"ByUserName", "search=jdoe&type=account", []string{"user.sid:S-1-5-21-7-1104"}},
		{"Top", "search=ws&$top=1", []string{"device.hostname:ws-042"}},
		{"None", "search=zzz", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ans answer
			if code := s.call(t, "GET", "/api/v1/entities?"+c.query, "", "", "", &ans); code != http.StatusOK {
				t.Fatalf("status %d: %+v", code, ans.Error)
			}
			var got []string
			for _, v := range ans.Value {
				got = append(got, v.Key)
				if v.AlertCount == 0 || v.LastSeen == "" || v.EntityType == "" || v.Name == "" {
					t.Errorf("got summary %+v, want every field", v)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	t.Run("Errors", func(t *testing.T) {
		for _, q := range []string{"", "search=", "search=x&type=printer", "search=x&$top=101", "search=x&$skip=5", "search=a&search=b"} {
			var ans answer
			if code := s.call(t, "GET", "/api/v1/entities?"+q, "", "", "", &ans); code != http.StatusBadRequest || ans.Error == nil {
				t.Errorf("%q: got %d %+v, want 400 with an error", q, code, ans.Error)
			}
		}
	})
}

// noEntityStore is a store without entity pages.
type noEntityStore struct{ weft.Store }

func TestEntityPageUnsupported(t *testing.T) {
	s := newCorrelatingServer(t)
	creds := wefthttp.NewTestCredentials(t, s.store)
	api := wefthttp.NewServer(noEntityStore{s.store}, nil, creds.Options(wefthttp.Options{}))
	for _, path := range []string{"/api/v1/entities/device/x", "/api/v1/entities?search=x"} {
		w := httptest.NewRecorder()
		creds.Handler(api.Handler()).ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusBadRequest || e.Error.Code != weft.EUNSUPPORTED {
			t.Errorf("%s: got %d %+v, want 400 unsupported", path, w.Code, e.Error)
		}
	}
}
