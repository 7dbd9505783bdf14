package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	wefthttp "github.com/weftxdr/weft/http"
)

type assetsAnswer struct {
	Received  int  `json:"received"`
	Created   int  `json:"created"`
	Updated   int  `json:"updated"`
	Unchanged int  `json:"unchanged"`
	Rejected  int  `json:"rejected"`
	Errors    bool `json:"errors"`
	Results   []struct {
		Index  int    `json:"index"`
		Line   int    `json:"line"`
		Status string `json:"status"`
		ID     string `json:"id"`
		Error  *struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

type assetAnswer struct {
	TenantID    string   `json:"tenantId"`
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	DisplayName string   `json:"displayName"`
	Criticality int      `json:"criticality"`
	Tags        []string `json:"tags"`
	Identifiers []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"identifiers"`
}

// call sends a request for a tenant ("" for none) and decodes the answer.
func (s *testServer) call(t *testing.T, method, path, tenant, contentType, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set(wefthttp.TenantHeader, tenant)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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
	if v != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, v, json.RejectUnknownMembers(false)); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

func TestAssetAPI(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		body := `[
  {"id":"dc01","kind":"device","criticality":3,"tags":["domain controller"],"deviceDnsName":"DC01.contoso.com","mdeDeviceId":"6F1C"},
  {"id":"jdoe","kind":"user","criticality":2,"userPrincipalName":"jdoe@contoso.com","accounts":["CONTOSO\\jdoe"]},
  {"id":"bad","kind":"device","criticality":7,"hostName":"x"},
  {"id":"typo","kind":"device","hostNmae":"x"},
  {"id":"elsewhere","tenantId":"fabrikam","kind":"device","hostName":"x"}
]`
		var a assetsAnswer
		if code := s.call(t, "PUT", "/api/v1/assets", "", "application/json", body, &a); code != http.StatusOK {
			t.Fatalf("got status %d, want 200", code)
		}
		if a.Received != 5 || a.Created != 2 || a.Rejected != 3 || !a.Errors {
			t.Fatalf("got %+v, want 5 received, 2 created, 3 rejected", a)
		}
		for i, want := range []struct {
			status, field string
			line          int
		}{{"created", "", 2}, {"created", "", 3}, {"rejected", "criticality", 4}, {"rejected", "hostNmae", 5}, {"rejected", "tenantId", 6}} {
			r := a.Results[i]
			field := ""
			if r.Error != nil {
				field = r.Error.Field
			}
			if r.Index != i || r.Status != want.status || field != want.field || r.Line != want.line {
				t.Errorf("result %d: got %+v (field %q), want %s, field %q, line %d", i, r, field, want.status, want.field, want.line)
			}
		}

		// NDJSON: the same again is unchanged; a bad line is one bad record.
		nd := `{"id":"dc01","kind":"device","criticality":3,"tags":["domain controller"],"deviceDnsName":"DC01.contoso.com","mdeDeviceId":"6F1C"}` +
			"\n{not json\n\n" + `{"id":"jdoe","kind":"user","criticality":1,"userPrincipalName":"jdoe@contoso.com","accounts":["CONTOSO\\jdoe"]}` + "\n"
		a = assetsAnswer{}
		if code := s.call(t, "PUT", "/api/v1/assets", "", "application/x-ndjson", nd, &a); code != http.StatusOK {
			t.Fatalf("NDJSON: got status %d, want 200", code)
		}
		if a.Unchanged != 1 || a.Updated != 1 || a.Rejected != 1 || a.Results[1].Line != 2 || a.Results[2].Line != 4 {
			t.Fatalf("NDJSON: got %+v, want 1 unchanged, 1 updated, 1 rejected on line 2", a)
		}

		var got assetAnswer
		if code := s.call(t, "GET", "/api/v1/assets/dc01", "", "", "", &got); code != http.StatusOK {
			t.Fatalf("GET: got status %d, want 200", code)
		}
		if got.Kind != "device" || got.Criticality != 3 || got.TenantID != "default" || len(got.Identifiers) != 3 ||
			got.Identifiers[0].Kind != "device.mdeId" || got.Identifiers[0].Value != "6f1c" {
			t.Errorf("GET: got %+v, want device dc01, criticality 3, identifiers mdeId 6f1c, fqdn, host name", got)
		}

		var page struct {
			Count    int64         `json:"@odata.count"`
			NextLink string        `json:"@odata.nextLink"`
			Value    []assetAnswer `json:"value"`
		}
		if code := s.call(t, "GET", "/api/v1/assets?$top=1&$count=true", "", "", "", &page); code != http.StatusOK {
			t.Fatalf("list: got status %d, want 200", code)
		}
		if page.Count != 2 || len(page.Value) != 1 || page.Value[0].ID != "dc01" || !strings.Contains(page.NextLink, "%24skip=1") {
			t.Errorf("list: got %+v, want dc01 of 2 with a next link", page)
		}

		if code := s.call(t, "DELETE", "/api/v1/assets/dc01", "", "", "", nil); code != http.StatusNoContent {
			t.Errorf("DELETE: got status %d, want 204", code)
		}
		var e errorAnswer
		if code := s.call(t, "GET", "/api/v1/assets/dc01", "", "", "", &e); code != http.StatusNotFound || e.Error.Code != "not_found" {
			t.Errorf("GET after DELETE: got %d %+v, want 404 not_found", code, e)
		}
		if code := s.call(t, "DELETE", "/api/v1/assets/dc01", "", "", "", &e); code != http.StatusNotFound {
			t.Errorf("DELETE again: got %d, want 404", code)
		}
	})

	t.Run("TenantHeader", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		var a assetsAnswer
		s.call(t, "PUT", "/api/v1/assets", "fabrikam", "", `{"id":"srv","kind":"device","hostName":"srv"}`, &a)
		if a.Created != 1 {
			t.Fatalf("got %+v, want one created", a)
		}
		var e errorAnswer
		if code := s.call(t, "GET", "/api/v1/assets/srv", "", "", "", &e); code != http.StatusNotFound {
			t.Errorf("GET in the default tenant: got %d, want 404", code)
		}
		var got assetAnswer
		if code := s.call(t, "GET", "/api/v1/assets/srv", "fabrikam", "", "", &got); code != http.StatusOK || got.TenantID != "fabrikam" {
			t.Errorf("GET in tenant fabrikam: got %d %+v, want 200", code, got)
		}
	})

	for _, c := range []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"ErrNotJSON", "PUT", "/api/v1/assets", "application/json", `[{"id":"x",`, 400, "invalid"},
		{"ErrNotArray", "PUT", "/api/v1/assets", "application/json", `"dc01"`, 400, "invalid"},
		{"ErrEmpty", "PUT", "/api/v1/assets", "application/json", ` `, 400, "invalid"},
		{"ErrTrailingData", "PUT", "/api/v1/assets", "application/json", `{"id":"a","kind":"user","userSid":"S-1"} {}`, 400, "invalid"},
		{"ErrMediaType", "PUT", "/api/v1/assets", "text/csv", `id,kind`, 415, "unsupported_media_type"},
		{"ErrTooMany", "PUT", "/api/v1/assets", "application/json", "[" + strings.Repeat(`{},`, wefthttp.MaxAssetsPerRequest) + "{}]", 413, "too_large"},
		{"ErrQueryOption", "GET", "/api/v1/assets?$filter=kind%20eq%20'device'", "", "", 400, "unsupported"},
		{"ErrTop", "GET", "/api/v1/assets?$top=0", "", "", 400, "invalid"},
		{"ErrNotFound", "GET", "/api/v1/assets/nothing", "", "", 404, "not_found"},
		{"ErrMethod", "POST", "/api/v1/assets/x", "", "", 404, "not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, wefthttp.Options{})
			var e errorAnswer
			if code := s.call(t, c.method, c.path, "", c.contentType, c.body, &e); code != c.status || e.Error.Code != c.code {
				t.Errorf("got %d %+v, want %d %s", code, e, c.status, c.code)
			}
		})
	}
}

func TestAssetAPIRecordErrors(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	var a assetsAnswer
	body := `[{"id":"a","kind":"device","criticality":"high","hostName":"a"}, 5, {"id":"b/c","kind":"device","hostName":"b"}]`
	s.call(t, "PUT", "/api/v1/assets", "", "", body, &a)
	if a.Rejected != 3 {
		t.Fatalf("got %+v, want 3 rejected", a)
	}
	for i, want := range []struct{ field, message string }{
		{"criticality", "must be a number, not a string"},
		{"", "an asset is a JSON object, not a number"},
		{"id", `"b/c" may contain only printable characters other than "/"`},
	} {
		if r := a.Results[i]; r.Error == nil || r.Error.Field != want.field || r.Error.Message != want.message {
			t.Errorf("result %d: got %+v, want field %q: %s", i, r.Error, want.field, want.message)
		}
	}
}
