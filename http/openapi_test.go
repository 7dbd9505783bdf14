package http_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tests of openapi.json: the document is well formed for the validator
// (TestOpenAPIDocument), describes exactly the routes the server registers
// (TestOpenAPIRoutes), and describes the answers a real server gives, success
// and error, member by member (TestOpenAPIResponses).

// openAPIFile is the document, as the server embeds it.
const openAPIFile = "openapi.json"

// eventDataKey is the extension of a text/event-stream media type that gives
// the schema of each event's data (OpenAPI 3.1 has no keyword for it).
const eventDataKey = "x-weft-event-data"

// httpMethods are the methods an OpenAPI path item may describe.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := decodeJSONValue(raw)
	if err != nil {
		t.Fatalf("%s is not valid JSON: %v", openAPIFile, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", openAPIFile)
	}
	return doc, raw
}

// lookup returns what a local $ref ("#/components/…") names in doc.
func lookup(doc map[string]any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not in an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q names nothing", ref)
		}
	}
	return cur, nil
}

// deref follows a $ref of a response or parameter object.
func deref(doc map[string]any, v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", compact(v))
	}
	if ref, ok := m["$ref"].(string); ok {
		target, err := lookup(doc, ref)
		if err != nil {
			return nil, err
		}
		if m, ok = target.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %q is not an object", ref)
		}
	}
	return m, nil
}

// operations returns the document's operations by route, "GET /path".
func operations(doc map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

func TestOpenAPIDocument(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi: got %v, want 3.1.0", doc["openapi"])
	}
	if info, _ := doc["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Errorf("info: got %v, want a title and a version", doc["info"])
	}
	v := newSchemaValidator(doc)
	if len(v.schemas) == 0 {
		t.Fatal("the document has no components/schemas")
	}
	for name, s := range v.schemas {
		if err := v.checkSchema(s, "#/components/schemas/"+name); err != nil {
			t.Error(err)
		}
	}
	ids := map[string]string{}
	for route, op := range operations(doc) {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", route)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s: operationId %s is also %s's", route, id, other)
		}
		ids[id] = route
		params, _ := op["parameters"].([]any)
		declared := map[string]bool{}
		for i, p := range params {
			pm, err := deref(doc, p)
			if err != nil {
				t.Errorf("%s: parameter %d: %v", route, i, err)
				continue
			}
			in, name := fmt.Sprint(pm["in"]), fmt.Sprint(pm["name"])
			if !slices.Contains([]string{"path", "query", "header", "cookie"}, in) || name == "" {
				t.Errorf("%s: parameter %d: in %q, name %q", route, i, in, name)
			}
			if declared[in+" "+name] {
				t.Errorf("%s: parameter %s %s is declared twice", route, in, name)
			}
			declared[in+" "+name] = true
			if err := v.checkSchema(pm["schema"], route+" parameter "+fmt.Sprint(pm["name"])); err != nil {
				t.Error(err)
			}
			if pm["in"] == "path" && !strings.Contains(route, "{"+fmt.Sprint(pm["name"])+"}") {
				t.Errorf("%s: path parameter %v is not in the path", route, pm["name"])
			}
		}
		for _, seg := range strings.Split(route, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok && !declared["path "+strings.TrimSuffix(name, "}")] {
				t.Errorf("%s: the path parameter %s is not declared", route, seg)
			}
		}
		if body, ok := op["requestBody"].(map[string]any); ok {
			content, _ := body["content"].(map[string]any)
			for mt, media := range content {
				media, _ := media.(map[string]any)
				if err := v.checkSchema(media["schema"], route+" requestBody "+mt); err != nil {
					t.Error(err)
				}
			}
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s: no responses", route)
		}
		for status, r := range responses {
			if _, err := strconv.Atoi(status); err != nil {
				t.Errorf("%s: response %q: list each status; the test cannot hold a range or a default true", route, status)
			}
			rm, err := deref(doc, r)
			if err != nil {
				t.Errorf("%s %s: %v", route, status, err)
				continue
			}
			if d, _ := rm["description"].(string); d == "" {
				t.Errorf("%s %s: a response needs a description", route, status)
			}
			content, _ := rm["content"].(map[string]any)
			for mt, media := range content {
				media, _ := media.(map[string]any)
				if err := v.checkSchema(media["schema"], route+" "+status+" "+mt); err != nil {
					t.Error(err)
				}
				if ev, ok := media[eventDataKey]; ok {
					if err := v.checkSchema(ev, route+" "+status+" "+mt+" "+eventDataKey); err != nil {
						t.Error(err)
					}
				}
			}
		}
	}
}

// registeredRoutes returns the patterns of the route table (the pattern
// members of the route literals, routes.go) and those that the package's
// non-test files register with s.mux.HandleFunc or s.mux.Handle, found by
// parsing them, so that a route added to the table is found without anyone
// listing it here.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if key, ok := kv.Key.(*ast.Ident); ok && key.Name == "pattern" {
					lit, ok := kv.Value.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: a route whose pattern is not a string literal; the test cannot read it", fset.Position(kv.Pos()))
						return true
					}
					pattern, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					routes = append(routes, pattern)
				}
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			if mux, ok := sel.X.(*ast.SelectorExpr); !ok || mux.Sel.Name != "mux" {
				return true
			}
			if sel, ok := call.Args[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "pattern" {
				return true // the loop that registers the route table
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route registered with a pattern that is not a string literal; the test cannot read it", fset.Position(call.Pos()))
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			routes = append(routes, pattern)
			return true
		})
	}
	return routes
}

func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	documented := operations(doc)
	registered := map[string]bool{}
	for _, pattern := range registeredRoutes(t) {
		if pattern == "/api/" { // the catch-all that answers 404 for unknown API routes
			continue
		}
		method, path, ok := strings.Cut(pattern, " ")
		if ok && isUIPath(path) {
			continue
		}
		if !ok {
			t.Errorf("route %q is registered for every method; give it one so that the document can describe it", pattern)
			continue
		}
		registered[method+" "+openAPIPath(path)] = true
	}
	if len(registered) < 10 {
		t.Fatalf("found only %d routes in the package's files; is the parser looking at the right calls?", len(registered))
	}
	var missing, extra []string
	for route := range registered {
		if documented[route] == nil {
			missing = append(missing, route)
		}
	}
	for route := range documented {
		if !registered[route] {
			extra = append(extra, route)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, r := range missing {
		t.Errorf("route %s is registered but not in %s", r, openAPIFile)
	}
	for _, r := range extra {
		t.Errorf("route %s is in %s but not registered", r, openAPIFile)
	}
}

// isUIPath reports whether a route's path is the web UI's (http/ui.go),
// pages and their assets, which the API's document does not describe:
// every path outside /api/ but health, readiness and metrics.
func isUIPath(path string) bool {
	return !strings.HasPrefix(path, "/api/") && path != "/healthz" && path != "/readyz" && path != "/metrics"
}

// openAPIPath writes a ServeMux path pattern as an OpenAPI path template:
// a wildcard that takes the rest of the path, {id...}, is {id} (its value
// is path-escaped), and the end anchor {$} goes.
func openAPIPath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(pattern, "...}", "}")
}
