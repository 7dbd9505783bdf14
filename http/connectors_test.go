package http_test

import (
	"encoding/json"
	"strings"
	"testing"

	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/sqlite"
)

// GET /api/v1/response/connectors joins TestOpenAPIResponses: it answers
// the server's connectors as they were given, and nothing else.
func init() {
	openAPIExtensions = append(openAPIExtensions, func(t *testing.T, store *sqlite.Store, opts *wefthttp.Options) func(*testing.T, *openAPIChecker) {
		want := &wefthttp.ConnectorsInfo{
			Default:    "simulator",
			Connectors: []wefthttp.ConnectorInfo{{Name: "mde", Kind: "webhook"}, {Name: "simulator", Kind: "simulator"}},
			Actions:    []wefthttp.ConnectorRoute{{Type: "isolate", Connector: "mde"}, {Type: "release", Connector: "mde"}, {Type: "disable", Connector: "simulator"}},
		}
		opts.Connectors = want
		return func(t *testing.T, c *openAPIChecker) {
			const route = "GET /api/v1/response/connectors"
			code, raw, _ := c.call(t, route, "/api/v1/response/connectors", "")
			if code != 200 {
				t.Fatalf("%s: %d %s", route, code, raw)
			}
			var got wefthttp.ConnectorsInfo
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
				t.Errorf("%s: got %s, want %s", route, g, w)
			}
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
