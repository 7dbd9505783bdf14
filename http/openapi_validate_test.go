package http_test

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
)

// schemaValidator checks JSON values against the schemas of an OpenAPI 3.1
// document: the subset of JSON Schema 2020-12 that openapi.json uses — type
// (one or a list), properties, required, additionalProperties (false or a
// schema), items, enum, const, $ref to #/components/schemas, oneOf, anyOf,
// format date-time, minimum, maximum, pattern and maxLength. A schema that
// uses any other keyword is refused by checkSchema rather than half
// checked, so that the document cannot promise more than the test holds.
type schemaValidator struct {
	schemas map[string]any // #/components/schemas
}

// annotations are the keywords that say something to a reader and nothing
// to a validator.
var annotations = []string{"description", "title", "default", "examples", "deprecated", "$comment", "readOnly", "writeOnly"}

// keywords are the keywords validate checks.
var keywords = []string{"type", "properties", "required", "additionalProperties", "items", "enum", "const", "$ref",
	"oneOf", "anyOf", "format", "minimum", "maximum", "pattern", "maxLength"}

// newSchemaValidator returns a validator for the schemas of doc, an OpenAPI
// document decoded into Go values (objects as map[string]any).
func newSchemaValidator(doc map[string]any) *schemaValidator {
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	return &schemaValidator{schemas: schemas}
}

// schemaError is a value that does not match its schema: where (a JSON
// pointer into the value) and why.
type schemaError struct {
	Pointer string
	Reason  string
}

func (e *schemaError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(root)"
	}
	return p + ": " + e.Reason
}

// checkSchema reports the first problem of a schema as a validator reads it:
// a keyword validate does not check, a $ref that does not resolve, a
// keyword of the wrong shape. at is where the schema is, for the message.
func (v *schemaValidator) checkSchema(s any, at string) error {
	m, ok := s.(map[string]any)
	if !ok {
		if _, isBool := s.(bool); isBool {
			return nil
		}
		return fmt.Errorf("%s: a schema is an object or a boolean, not %T", at, s)
	}
	for k, kv := range m {
		switch {
		case slices.Contains(annotations, k):
		case !slices.Contains(keywords, k):
			return fmt.Errorf("%s: keyword %q is not one the test's validator checks", at, k)
		case k == "$ref":
			ref, _ := kv.(string)
			if _, err := v.resolve(ref); err != nil {
				return fmt.Errorf("%s: %v", at, err)
			}
		case k == "type":
			for _, t := range typeList(kv) {
				if !slices.Contains([]string{"object", "array", "string", "integer", "number", "boolean", "null"}, t) {
					return fmt.Errorf("%s: type %q is not a JSON Schema type", at, t)
				}
			}
			if len(typeList(kv)) == 0 {
				return fmt.Errorf("%s: type is a string or a list of strings", at)
			}
		case k == "properties":
			props, ok := kv.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: properties is an object", at)
			}
			for name, ps := range props {
				if err := v.checkSchema(ps, at+"/properties/"+escapePointer(name)); err != nil {
					return err
				}
			}
		case k == "required":
			req, ok := kv.([]any)
			if !ok {
				return fmt.Errorf("%s: required is a list", at)
			}
			props, _ := m["properties"].(map[string]any)
			for _, r := range req {
				if _, ok := props[fmt.Sprint(r)]; !ok {
					return fmt.Errorf("%s: required member %v is not among the properties", at, r)
				}
			}
		case k == "additionalProperties" || k == "items":
			if err := v.checkSchema(kv, at+"/"+k); err != nil {
				return err
			}
		case k == "oneOf" || k == "anyOf":
			subs, ok := kv.([]any)
			if !ok || len(subs) == 0 {
				return fmt.Errorf("%s: %s is a non-empty list", at, k)
			}
			for i, sub := range subs {
				if err := v.checkSchema(sub, at+"/"+k+"/"+strconv.Itoa(i)); err != nil {
					return err
				}
			}
		case k == "enum":
			if vs, ok := kv.([]any); !ok || len(vs) == 0 {
				return fmt.Errorf("%s: enum is a non-empty list", at)
			}
		case k == "format":
			if kv != "date-time" {
				return fmt.Errorf("%s: format %v is not one the validator checks (date-time)", at, kv)
			}
		case k == "minimum" || k == "maximum" || k == "maxLength":
			if _, ok := kv.(float64); !ok {
				return fmt.Errorf("%s: %s is a number", at, k)
			}
		case k == "pattern":
			p, _ := kv.(string)
			if _, err := regexp.Compile(p); err != nil {
				return fmt.Errorf("%s: pattern: %v", at, err)
			}
		}
	}
	return nil
}

// resolve returns the schema a $ref names; only #/components/schemas/Name
// refs are taken.
func (v *schemaValidator) resolve(ref string) (any, error) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not to #/components/schemas", ref)
	}
	s, ok := v.schemas[name]
	if !ok {
		return nil, fmt.Errorf("$ref %q names no schema", ref)
	}
	return s, nil
}

// validate returns a *schemaError for the first part of value (a decoded
// JSON value: map[string]any, []any, string, float64, bool or nil) that
// does not match schema, or nil.
func (v *schemaValidator) validate(schema, value any) error {
	return v.validateAt(schema, value, "")
}

func (v *schemaValidator) validateAt(schema, value any, ptr string) error {
	fail := func(format string, args ...any) error {
		return &schemaError{Pointer: ptr, Reason: fmt.Sprintf(format, args...)}
	}
	switch s := schema.(type) {
	case bool:
		if !s {
			return fail("no value is allowed here")
		}
		return nil
	case map[string]any:
		if ref, ok := s["$ref"].(string); ok {
			target, err := v.resolve(ref)
			if err != nil {
				return fail("%v", err)
			}
			if err := v.validateAt(target, value, ptr); err != nil {
				return err
			}
		}
		if t, ok := s["type"]; ok {
			types := typeList(t)
			if !slices.ContainsFunc(types, func(t string) bool { return hasType(value, t) }) {
				return fail("is %s, want %s", describe(value), strings.Join(types, " or "))
			}
		}
		if e, ok := s["enum"].([]any); ok {
			if !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, value) }) {
				return fail("%s is not one of %s", describe(value), compact(e))
			}
		}
		if c, ok := s["const"]; ok && !reflect.DeepEqual(c, value) {
			return fail("%s is not %s", describe(value), compact(c))
		}
		if err := v.validateString(s, value, fail); err != nil {
			return err
		}
		if f, ok := value.(float64); ok {
			if min, ok := s["minimum"].(float64); ok && f < min {
				return fail("%v is less than the minimum %v", f, min)
			}
			if max, ok := s["maximum"].(float64); ok && f > max {
				return fail("%v is more than the maximum %v", f, max)
			}
		}
		if obj, ok := value.(map[string]any); ok {
			if err := v.validateObject(s, obj, ptr); err != nil {
				return err
			}
		}
		if items, ok := s["items"]; ok {
			if arr, ok := value.([]any); ok {
				for i, x := range arr {
					if err := v.validateAt(items, x, ptr+"/"+strconv.Itoa(i)); err != nil {
						return err
					}
				}
			}
		}
		if subs, ok := s["anyOf"].([]any); ok {
			var first error
			for _, sub := range subs {
				err := v.validateAt(sub, value, ptr)
				if err == nil {
					first = nil
					break
				}
				if first == nil {
					first = err
				}
			}
			if first != nil {
				return fail("matches none of anyOf (the first says %v)", first)
			}
		}
		if subs, ok := s["oneOf"].([]any); ok {
			var matched int
			var first error
			for _, sub := range subs {
				if err := v.validateAt(sub, value, ptr); err == nil {
					matched++
				} else if first == nil {
					first = err
				}
			}
			switch {
			case matched == 0:
				return fail("matches none of oneOf (the first says %v)", first)
			case matched > 1:
				return fail("matches %d of oneOf, want exactly one", matched)
			}
		}
		return nil
	}
	return fail("the schema is %T, not an object or a boolean", schema)
}

// validateString checks format, pattern and maxLength of a string value.
func (v *schemaValidator) validateString(s map[string]any, value any, fail func(string, ...any) error) error {
	str, ok := value.(string)
	if !ok {
		return nil
	}
	if s["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			return fail("%q is not an RFC 3339 date-time", str)
		}
	}
	if p, ok := s["pattern"].(string); ok {
		if !regexp.MustCompile(p).MatchString(str) {
			return fail("%q does not match the pattern %s", str, p)
		}
	}
	if n, ok := s["maxLength"].(float64); ok && float64(utf8.RuneCountInString(str)) > n {
		return fail("is %d characters long; at most %v", utf8.RuneCountInString(str), n)
	}
	return nil
}

// validateObject checks required, properties and additionalProperties, in
// a stable order so that the first mismatch reported is always the same.
func (v *schemaValidator) validateObject(s, obj map[string]any, ptr string) error {
	props, _ := s["properties"].(map[string]any)
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if _, ok := obj[fmt.Sprint(r)]; !ok {
				return &schemaError{Pointer: ptr, Reason: fmt.Sprintf("required member %q is missing", r)}
			}
		}
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		at := ptr + "/" + escapePointer(name)
		if ps, ok := props[name]; ok {
			if err := v.validateAt(ps, obj[name], at); err != nil {
				return err
			}
			continue
		}
		if ap, ok := s["additionalProperties"]; ok {
			if ap == false {
				return &schemaError{Pointer: at, Reason: "is not a member the document names (additionalProperties is false)"}
			}
			if err := v.validateAt(ap, obj[name], at); err != nil {
				return err
			}
		}
	}
	return nil
}

// typeList reads the type keyword: one type or a list of them.
func typeList(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		var ts []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				ts = append(ts, s)
			}
		}
		return ts
	}
	return nil
}

func hasType(value any, t string) bool {
	switch value := value.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case float64:
		return t == "number" || (t == "integer" && value == math.Trunc(value) && !math.IsInf(value, 0))
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

// describe names a value's JSON type and, for a scalar, the value.
func describe(value any) string {
	switch value.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return compact(value)
}

func compact(v any) string {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// escapePointer escapes a member name for a JSON pointer (RFC 6901).
func escapePointer(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

// decodeJSONValue decodes JSON into the Go values validate takes.
func decodeJSONValue(data []byte) (any, error) {
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

func TestSchemaValidator(t *testing.T) {
	const schemas = `{"components":{"schemas":{
		"Thing": {"type":"object","properties":{
			"id":{"type":"string","pattern":"^[1-9][0-9]*$"},
			"kind":{"type":"string","enum":["a","b"]},
			"score":{"type":["integer","null"],"minimum":0,"maximum":100},
			"at":{"type":"string","format":"date-time"},
			"tags":{"type":"array","items":{"type":"string","maxLength":3}},
			"fixed":{"const":"ok"},
			"child":{"anyOf":[{"$ref":"#/components/schemas/Thing"},{"type":"null"}]},
			"either":{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"number"}]},
			"free":{"type":"object","additionalProperties":{"type":"boolean"}}},
		 "required":["id"],"additionalProperties":false}}}}`
	doc, err := decodeJSONValue([]byte(schemas))
	if err != nil {
		t.Fatal(err)
	}
	v := newSchemaValidator(doc.(map[string]any))
	thing := map[string]any{"$ref": "#/components/schemas/Thing"}
	if err := v.checkSchema(thing, "Thing"); err != nil {
		t.Fatalf("checkSchema: %v", err)
	}
	for _, tt := range []struct {
		name, value string
		wantPointer string // "" for a value that matches
	}{
		{"OK", `{"id":"7","kind":"a","score":null,"at":"2026-11-20T09:00:00.5+02:00","tags":["x"],"fixed":"ok","child":{"id":"8"},"either":"s","free":{"x":true}}`, ""},
		{"OKInteger", `{"id":"7","score":100,"either":"s"}`, ""},
		{"ErrRequired", `{"kind":"a"}`, "(root)"},
		{"ErrAdditional", `{"id":"7","extra":1}`, "/extra"},
		{"ErrType", `{"id":7}`, "/id"},
		{"ErrPattern", `{"id":"07"}`, "/id"},
		{"ErrEnum", `{"id":"7","kind":"c"}`, "/kind"},
		{"ErrNotInteger", `{"id":"7","score":1.5}`, "/score"},
		{"ErrMaximum", `{"id":"7","score":101}`, "/score"},
		{"ErrMinimum", `{"id":"7","score":-1}`, "/score"},
		{"ErrDateTime", `{"id":"7","at":"2026-11-20 09:00"}`, "/at"},
		{"ErrItems", `{"id":"7","tags":["x",1]}`, "/tags/1"},
		{"ErrMaxLength", `{"id":"7","tags":["long"]}`, "/tags/0"},
		{"ErrConst", `{"id":"7","fixed":"no"}`, "/fixed"},
		{"ErrRefAnyOf", `{"id":"7","child":{"id":"8","extra":true}}`, "/child"},
		{"ErrOneOfTwo", `{"id":"7","either":3}`, "/either"},
		{"ErrOneOfNone", `{"id":"7","either":true}`, "/either"},
		{"ErrAdditionalSchema", `{"id":"7","free":{"x":"yes"}}`, "/free/x"},
		{"ErrNotObject", `[]`, "(root)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			value, err := decodeJSONValue([]byte(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			err = v.validate(thing, value)
			switch {
			case tt.wantPointer == "" && err != nil:
				t.Fatalf("got %v, want a match", err)
			case tt.wantPointer != "" && err == nil:
				t.Fatalf("got a match, want a mismatch at %s", tt.wantPointer)
			case tt.wantPointer != "" && !strings.HasPrefix(err.Error(), tt.wantPointer+": "):
				t.Fatalf("got %v, want a mismatch at %s", err, tt.wantPointer)
			}
		})
	}
	for _, tt := range []struct{ name, schema string }{
		{"ErrUnknownKeyword", `{"type":"string","minLength":1}`},
		{"ErrUnknownRef", `{"$ref":"#/components/schemas/Nothing"}`},
		{"ErrRequiredNotAProperty", `{"type":"object","properties":{},"required":["id"]}`},
		{"ErrUnknownFormat", `{"type":"string","format":"uuid"}`},
		{"ErrNestedKeyword", `{"type":"array","items":{"type":"string","contains":{}}}`},
	} {
		t.Run("CheckSchema/"+tt.name, func(t *testing.T) {
			s, err := decodeJSONValue([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if err := v.checkSchema(s, "schema"); err == nil {
				t.Fatalf("checkSchema(%s): got no error, want one", tt.schema)
			}
		})
	}
}
