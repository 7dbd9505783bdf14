package http_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/sqlite"
)

func TestAutomationRulesAPI(t *testing.T) {
	e, err := automation.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	var st *sqlite.Store
	ev := &automation.Evaluator{Engine: e, Load: func(ctx context.Context, tenant string, id int64) (*automation.Subject, error) {
		return (&automation.Loader{Investigations: st, Entities: st}).Load(ctx, tenant, id)
	}}
	srv := newServerWith(t, sqlite.Options{}, wefthttp.Options{Automation: ev})
	st = srv.store

	call := func(method, path, ifMatch, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), resp.Header
	}
	const rules = "/api/v1/automation/rules"
	t.Run("ErrConditionLocated", func(t *testing.T) {
		code, raw, _ := call("POST", rules, "", `{"name":"x","condition":"severity == 'high' && sevrity","actions":[{"type":"addTag","value":"t"}]}`)
		if code != 400 || !strings.Contains(raw, "condition: 1:23: undeclared reference to 'sevrity'") {
			t.Fatalf("got %d %s; want 400 locating the mistake", code, raw)
		}
	})
	t.Run("ErrActionField", func(t *testing.T) {
		code, raw, _ := call("POST", rules, "", `{"name":"x","condition":"true","actions":[{"type":"setStatus","value":"closed"}]}`)
		if code != 400 || !strings.Contains(raw, "actions[0].value:") {
			t.Fatalf("got %d %s; want 400 naming actions[0].value", code, raw)
		}
	})
	t.Run("ErrUnknownMember", func(t *testing.T) {
		code, raw, _ := call("POST", rules, "", `{"name":"x","condition":"true","actions":[{"type":"addTag","value":"t"}],"colour":"red"}`)
		if code != 400 || !strings.Contains(raw, "colour") {
			t.Fatalf("got %d %s; want 400 naming colour", code, raw)
		}
	})
	var id string
	t.Run("CreateUpdateDelete", func(t *testing.T) {
		code, raw, h := call("POST", rules, "", `{"name":"tag high","enabled":true,"condition":"severity == 'high'","actions":[{"type":"addTag","value":"hot"}]}`)
		if code != 201 || h.Get("ETag") != `"1"` {
			t.Fatalf("create: %d %s etag %q", code, raw, h.Get("ETag"))
		}
		var r weft.AutomationRule
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		id = "/" + jsonID(r.ID)
		if r.UpdatedBy == "" || r.Version != 1 {
			t.Errorf("created rule %+v; want version 1 and its author", r)
		}
		body := `{"name":"tag high","enabled":true,"condition":"severity == 'high'","actions":[{"type":"addTag","value":"hotter"}]}`
		if code, raw, _ := call("PUT", rules+id, `"1"`, body); code != 200 || !strings.Contains(raw, `"version":2`) {
			t.Fatalf("update: %d %s", code, raw)
		}
		if code, raw, _ := call("PUT", rules+id, `"1"`, body); code != 412 {
			t.Fatalf("stale update: %d %s; want 412", code, raw)
		}
		if code, raw, _ := call("GET", rules, "", ""); code != 200 || !strings.Contains(raw, "hotter") {
			t.Fatalf("list: %d %s", code, raw)
		}
		if code, _, _ := call("DELETE", rules+id, `"2"`, ""); code != 204 {
			t.Fatalf("delete: %d", code)
		}
		if code, _, _ := call("GET", rules+id, "", ""); code != 404 {
			t.Fatalf("get deleted: %d; want 404", code)
		}
	})
	t.Run("Test", func(t *testing.T) {
		if _, err := st.StoreAlerts(context.Background(), []*weft.Alert{nativeAlertValue(t)}); err != nil {
			t.Fatal(err)
		}
		code, raw, _ := call("POST", rules+"/test", "", `{"incidentId":"1","rule":{"name":"t","condition":"alertCount >= 1","actions":[{"type":"assign","value":"alice"}]}}`)
		if code != 200 || !strings.Contains(raw, `"matched":true`) || !strings.Contains(raw, "assign to alice") {
			t.Fatalf("test: %d %s", code, raw)
		}
	})
	t.Run("NotificationURLRedacted", func(t *testing.T) {
		code, raw, _ := call("POST", "/api/v1/notifications/rules", "", `{"name":"n","enabled":true,"condition":"true","url":"https://hooks.example.com/services/SECRET","format":"slack"}`)
		if code != 201 || strings.Contains(raw, "SECRET") || !strings.Contains(raw, "https://hooks.example.com/…") {
			t.Fatalf("create notification rule: %d %s; want 201 with the URL redacted", code, raw)
		}
		var created weft.NotificationRule
		if err := json.Unmarshal([]byte(raw), &created); err != nil {
			t.Fatal(err)
		}
		// Sent back as read, with the redacted URL: the stored URL stays.
		created.Name = "renamed"
		back, _ := json.Marshal(&created)
		path := "/api/v1/notifications/rules/" + jsonID(created.ID)
		if code, raw, _ := call("PUT", path, "", string(back)); code != 200 || !strings.Contains(raw, "renamed") {
			t.Fatalf("put back: %d %s", code, raw)
		}
		stored, err := st.FindNotificationRule(context.Background(), weft.DefaultTenantID, created.ID)
		if err != nil || stored.URL != "https://hooks.example.com/services/SECRET" {
			t.Fatalf("stored URL after a put back = %q, %v; want the original", stored.URL, err)
		}
		code, raw, _ = call("POST", "/api/v1/notifications/rules", "", `{"name":"n","condition":"true","url":"http://example.com/x"}`)
		if code != 400 || !strings.Contains(raw, "url: must use https") {
			t.Fatalf("plain http: %d %s; want 400", code, raw)
		}
	})
}

func jsonID(id int64) string {
	b, _ := json.Marshal(id)
	return string(b)
}

// nativeAlertValue is one normalized alert of the default tenant.
func nativeAlertValue(t *testing.T) *weft.Alert {
	t.Helper()
	var a weft.Alert
	if err := json.Unmarshal([]byte(nativeAlert("auto1")), &a, json.RejectUnknownMembers(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Normalize(time.Now()); err != nil {
		t.Fatal(err)
	}
	return &a
}

// automationRoutes are the routes of automation.go.
var automationRoutes = []string{
	"GET /api/v1/automation/rules", "POST /api/v1/automation/rules", "POST /api/v1/automation/rules/test",
	"GET /api/v1/automation/rules/{id}", "PUT /api/v1/automation/rules/{id}", "DELETE /api/v1/automation/rules/{id}",
	"GET /api/v1/automation/runs",
	"GET /api/v1/notifications/rules", "POST /api/v1/notifications/rules", "POST /api/v1/notifications/rules/test",
	"GET /api/v1/notifications/rules/{id}", "PUT /api/v1/notifications/rules/{id}", "DELETE /api/v1/notifications/rules/{id}",
	"GET /api/v1/notifications/deliveries",
}

// exerciseAutomationRoutes calls every route of automation.go through c,
// which checks each answer against the document, with a success and a
// validation error each. The server needs Options.Automation and an
// incident "1".
func exerciseAutomationRoutes(t *testing.T, c *openAPIChecker) {
	t.Helper()
	const rule = `{"name":"tag high","enabled":true,"condition":"severity == 'high'","actions":[{"type":"addTag","value":"hot"}]}`
	const notif = `{"name":"n","enabled":true,"condition":"true","events":["created","updated"],"url":"https://hooks.example.com/x","format":"teams"}`
	for _, k := range []struct{ base, body, bad string }{
		{"/api/v1/automation/rules", rule, `{"name":"x","condition":"sevrity","actions":[{"type":"addTag","value":"t"}]}`},
		{"/api/v1/notifications/rules", notif, `{"name":"x","condition":"true","url":"ftp://x"}`},
	} {
		route := "POST " + k.base
		if code, raw, _ := c.call(t, route, k.base, k.bad); code != 400 {
			t.Errorf("%s bad: %d %s", route, code, raw)
		}
		code, raw, _ := c.call(t, route, k.base, k.body)
		if code != 201 {
			t.Fatalf("%s: %d %s", route, code, raw)
		}
		var created struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &created, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		one := k.base + "/" + created.ID
		c.call(t, "GET "+k.base, k.base, "")
		c.call(t, "GET "+k.base+"/{id}", one, "")
		c.call(t, "GET "+k.base+"/{id}", k.base+"/999999", "")
		if code, raw, _ := c.call(t, "PUT "+k.base+"/{id}", one, k.body, "If-Match", `"1"`); code != 200 {
			t.Errorf("PUT %s: %d %s", one, code, raw)
		}
		c.call(t, "PUT "+k.base+"/{id}", one, k.body, "If-Match", `"1"`) // stale: 412
		test := `{"incidentId":"1","rule":` + k.body + `}`
		if code, raw, _ := c.call(t, "POST "+k.base+"/test", k.base+"/test", test); code != 200 {
			t.Errorf("test %s: %d %s", k.base, code, raw)
		}
		c.call(t, "POST "+k.base+"/test", k.base+"/test", `{"incidentId":"1"}`)
		if code, raw, _ := c.call(t, "DELETE "+k.base+"/{id}", one, ""); code != 204 {
			t.Errorf("DELETE %s: %d %s", one, code, raw)
		}
	}
	c.call(t, "GET /api/v1/automation/runs", "/api/v1/automation/runs?incidentId=1&$top=10", "")
	c.call(t, "GET /api/v1/automation/runs", "/api/v1/automation/runs?colour=red", "")
	c.call(t, "GET /api/v1/notifications/deliveries", "/api/v1/notifications/deliveries?ruleId=1", "")
}

func TestAutomationOpenAPI(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	e, err := automation.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	var st *sqlite.Store
	ev := &automation.Evaluator{Engine: e, Load: func(ctx context.Context, tenant string, id int64) (*automation.Subject, error) {
		return (&automation.Loader{Investigations: st, Entities: st}).Load(ctx, tenant, id)
	}}
	srv := newServerWith(t, sqlite.Options{}, wefthttp.Options{Automation: ev})
	st = srv.store
	if _, err := st.StoreAlerts(context.Background(), []*weft.Alert{nativeAlertValue(t)}); err != nil {
		t.Fatal(err)
	}
	c := &openAPIChecker{doc: doc, v: newSchemaValidator(doc), ops: operations(doc), srv: srv.Server, called: map[string]bool{},
		ok: map[string]bool{}, sent: map[string]sentRequest{}, seen: map[string][]int{}}
	exerciseAutomationRoutes(t, c)
	for _, r := range automationRoutes {
		if !c.ok[r] {
			t.Errorf("%s never answered a success", r)
		}
	}
}

// The automation routes join TestOpenAPIResponses.
func init() {
	openAPIExtensions = append(openAPIExtensions, func(t *testing.T, store *sqlite.Store, opts *wefthttp.Options) func(*testing.T, *openAPIChecker) {
		e, err := automation.NewEngine()
		if err != nil {
			t.Fatal(err)
		}
		opts.Automation = &automation.Evaluator{Engine: e, Load: (&automation.Loader{Investigations: store, Entities: store}).Load}
		return exerciseAutomationRoutes
	})
}

// TestNotificationSecretFileAPI: a notification rule's secretFile is a
// plain name in the server's notification secrets directory; a server
// without one refuses it naming the flag, and no answer names a path.
func TestNotificationSecretFileAPI(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.key"), []byte("k3y"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := automation.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, secret string
		code              int
		want              string
	}{
		{"NoDirectory", "", "hook.key", 400, "--notify-secrets-dir"},
		{"OK", dir, "hook.key", 201, `"secretFile":"hook.key"`},
		{"Path", dir, "/etc/passwd", 400, "plain name"},
		{"Traversal", dir, "../hook.key", 400, "plain name"},
		{"Missing", dir, "other.key", 400, "is not in the notification secrets directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &automation.Evaluator{Engine: e, SecretsDir: tc.dir}
			srv := newServerWith(t, sqlite.Options{}, wefthttp.Options{Automation: ev})
			body := `{"name":"n","condition":"true","url":"https://hooks.example/x","secretFile":` + strconv.Quote(tc.secret) + `}`
			resp, err := srv.Client().Post(srv.URL+"/api/v1/notifications/rules", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(raw), tc.want) {
				t.Fatalf("got %d %s; want %d with %q", resp.StatusCode, raw, tc.code, tc.want)
			}
			if strings.Contains(string(raw), dir) {
				t.Errorf("answer %s names the secrets directory", raw)
			}
		})
	}
}
