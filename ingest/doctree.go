package ingest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// This file holds the tree the OCSF and Elastic decoders (ocsf.go,
// elastic.go) read a record into, and docReader, which reads typed values
// out of it with the field's path for any error. Both formats nest their
// fields several levels deep and in several places, so looking them up by
// name in a tree is simpler than a one-pass tokenizer, and records are small
// enough that the tree costs little.

// docNode is one JSON value of a record. Numbers keep their text, so that an
// integer is never rounded through a float64 before weft checks it.
type docNode struct {
	kind jsontext.Kind // '"', '0', 't', 'f', 'n', '{' or '['
	s    string        // a string's contents, a number's text
	obj  []docMember   // an object's members, in order
	arr  []docNode     // an array's elements
}

// docMember is one member of an object.
type docMember struct {
	name string
	val  docNode
}

// docTreeOptions reject duplicate names (the default), which the tree
// would otherwise resolve silently. Invalid UTF-8 has been replaced before a
// third-party decoder runs (decode.go).
var docTreeOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true))

// parseDocTree decodes rec, one JSON object, into a tree. A duplicate name is
// refused with its path; a syntax error with its byte offset in the record
// (the record error gives the record's line).
func parseDocTree(rec []byte) (*docNode, *fieldErr) {
	dec := jsontext.NewDecoder(bytes.NewReader(rec), docTreeOptions)
	root := &docNode{}
	err := readDocNode(dec, root)
	if err == nil {
		if _, err = dec.ReadToken(); err == io.EOF {
			err = nil
		} else if err == nil {
			return nil, &fieldErr{msg: "invalid JSON: unexpected data after the record's object"}
		}
	}
	if err != nil {
		var syn *jsontext.SyntacticError
		if errors.As(err, &syn) && !errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			what := strings.TrimPrefix(syn.Err.Error(), "jsontext: ")
			if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
				what = "the record ends too early (unbalanced brackets or an unterminated string)"
			}
			return nil, &fieldErr{field: pointerPath(syn.JSONPointer), msg: "invalid JSON at byte " + strconv.FormatInt(syn.ByteOffset+1, 10) + " of the record: " + what}
		}
		return nil, jsonFieldErr(err, rec, 1, "")
	}
	if root.kind != '{' {
		return nil, &fieldErr{msg: "expected a JSON object, got " + kindWords(root.kind)}
	}
	return root, nil
}

// readDocNode reads the next value of dec into v.
func readDocNode(dec *jsontext.Decoder, v *docNode) error {
	k := dec.PeekKind()
	if k != '{' && k != '[' {
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		v.kind = raw.Kind()
		switch v.kind {
		case '"':
			if bytes.IndexByte(raw, '\\') < 0 {
				v.s = string(raw[1 : len(raw)-1])
			} else {
				b, _ := jsontext.AppendUnquote(nil, raw)
				v.s = string(b)
			}
		case '0':
			v.s = string(raw)
		}
		return nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	v.kind = k
	for {
		switch dec.PeekKind() {
		case '}', ']', 0:
			_, err := dec.ReadToken()
			return err
		}
		if k == '{' {
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if v.obj == nil {
				v.obj = make([]docMember, 0, 4) // most objects are small; skip the first growth steps
			}
			v.obj = append(v.obj, docMember{name: tok.String()})
			if err := readDocNode(dec, &v.obj[len(v.obj)-1].val); err != nil {
				return err
			}
			continue
		}
		v.arr = append(v.arr, docNode{})
		if err := readDocNode(dec, &v.arr[len(v.arr)-1]); err != nil {
			return err
		}
	}
}

// get returns the member name of the object v, or nil when v is not an
// object, has no such member, or the member is null.
func (v *docNode) get(name string) *docNode {
	if v == nil || v.kind != '{' {
		return nil
	}
	for i := range v.obj {
		if m := &v.obj[i]; m.name == name {
			if m.val.kind == 'n' {
				return nil
			}
			return &m.val
		}
	}
	return nil
}

// docLookup returns the value at the dotted path in v, whether the path is
// written nested, flattened or mixed ({"tactic":{"id":…}} or {"tactic.id":…}).
func docLookup(v *docNode, path string) *docNode {
	if m := v.get(path); m != nil {
		return m
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if m := v.get(path[:i]); m != nil && m.kind == '{' {
			if r := docLookup(m, path[i+1:]); r != nil {
				return r
			}
		}
	}
	return nil
}

// appendDocJSON appends v as JSON.
func appendDocJSON(dst []byte, v *docNode) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch v.kind {
	case '"':
		return appendQuote(dst, v.s)
	case '0':
		return append(dst, v.s...)
	case 't':
		return append(dst, "true"...)
	case 'f':
		return append(dst, "false"...)
	case '{':
		dst = append(dst, '{')
		for i := range v.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuote(dst, v.obj[i].name)
			dst = append(dst, ':')
			dst = appendDocJSON(dst, &v.obj[i].val)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		for i := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendDocJSON(dst, &v.arr[i])
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// docReader reads typed values out of a tree, remembering the first error
// and the warnings, and collects the evidence found (docEntities,
// docentities.go). In lenient mode (ECS, where any field may hold an array
// and keywords may be numbers) a string field also takes a number or the
// first element of an array, and a list field a single string.
type docReader struct {
	docEntities
	err      *fieldErr
	warnings []string
	lenient  bool
}

// fail records that field is refused for msg, unless an error is already
// recorded: the first error is the one reported.
func (r *docReader) fail(field, msg string) {
	if r.err == nil {
		r.err = &fieldErr{field: field, msg: msg}
	}
}

// failErr records fe, unless an error is already recorded.
func (r *docReader) failErr(fe *fieldErr) {
	if r.err == nil {
		r.err = fe
	}
}

// warn records a warning: something repaired or read as unknown.
func (r *docReader) warn(s string) { r.warnings = append(r.warnings, s) }

// wrong records that path.name holds the wrong type.
func (r *docReader) wrong(v *docNode, path, name, want string) {
	r.fail(joinPath(path, name), "expected "+want+", got "+kindWords(v.kind))
}

// str reads a string; absent and null are "".
func (r *docReader) str(v *docNode, path, name string) string {
	switch {
	case v == nil || v.kind == 'n':
		return ""
	case v.kind == '"':
		return v.s
	case r.lenient && v.kind == '0':
		return v.s
	case r.lenient && v.kind == '[':
		for i := range v.arr {
			if s := r.str(&v.arr[i], path, name); s != "" || r.err != nil {
				return s
			}
		}
		return ""
	}
	r.wrong(v, path, name, "a string")
	return ""
}

// id reads an identifier: a string, or a number written as one.
func (r *docReader) id(v *docNode, path, name string) string {
	if v != nil && v.kind == '0' {
		return v.s
	}
	return r.str(v, path, name)
}

// strs reads an array of strings (null elements skipped).
func (r *docReader) strs(v *docNode, path, name string) []string {
	switch {
	case v == nil || v.kind == 'n':
		return nil
	case v.kind != '[':
		if r.lenient {
			if s := r.str(v, path, name); s != "" {
				return []string{s}
			}
			return nil
		}
		r.wrong(v, path, name, "an array of strings")
		return nil
	}
	var out []string
	for i := range v.arr {
		e := &v.arr[i]
		switch {
		case e.kind == '"' || r.lenient && e.kind == '0':
			if e.s != "" {
				out = append(out, e.s)
			}
		case e.kind != 'n':
			r.wrong(e, docIndex(joinPath(path, name), i), "", "a string")
			return nil
		}
	}
	return out
}

// number reads a number, or a string holding one; ok is false when absent.
func (r *docReader) number(v *docNode, path, name string) (float64, bool) {
	if v == nil || v.kind == 'n' {
		return 0, false
	}
	if v.kind != '0' && v.kind != '"' {
		r.wrong(v, path, name, "a number")
		return 0, false
	}
	if v.kind == '"' && strings.TrimSpace(v.s) == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
	if err != nil {
		r.fail(joinPath(path, name), "expected a number, got "+strconv.Quote(clip(v.s, 32)))
		return 0, false
	}
	return f, true
}

// int reads an integer, or a string holding one; ok is false when absent.
func (r *docReader) int(v *docNode, path, name string) (int64, bool) {
	if v == nil || v.kind == 'n' {
		return 0, false
	}
	if v.kind != '0' && v.kind != '"' {
		r.wrong(v, path, name, "an integer")
		return 0, false
	}
	s := strings.TrimSpace(v.s)
	if s == "" {
		return 0, false
	}
	n, ok := parseInt([]byte(s))
	if !ok {
		r.fail(joinPath(path, name), "expected an integer, got "+strconv.Quote(clip(v.s, 32)))
		return 0, false
	}
	return n, true
}

// port reads a port number, 0 to 65535.
func (r *docReader) port(v *docNode, path, name string) (int64, bool) {
	n, ok := r.int(v, path, name)
	if ok && (n < 0 || n > 65535) {
		r.fail(joinPath(path, name), strconv.FormatInt(n, 10)+" is not a port; allowed: 0 to 65535")
		return 0, false
	}
	return n, ok
}

// pid reads a process id: not negative; 0 is absent.
func (r *docReader) pid(v *docNode, path, name string) int64 {
	n, _ := r.int(v, path, name)
	if n < 0 {
		r.fail(joinPath(path, name), strconv.FormatInt(n, 10)+" is not a process id (negative)")
		return 0
	}
	return n
}

// object returns the object member name of parent (nil when absent or
// null), refusing any other type.
func (r *docReader) object(parent *docNode, path, name string) *docNode {
	v := parent.get(name)
	if v != nil && v.kind != '{' {
		r.wrong(v, path, name, "an object")
		return nil
	}
	return v
}

// objects returns the elements of an array of objects (null elements are
// kept: they read as empty objects), refusing any other type. A single
// object is an array of one in lenient mode.
func (r *docReader) objects(v *docNode, path, name string) []docNode {
	switch {
	case v == nil || v.kind == 'n':
		return nil
	case r.lenient && v.kind == '{':
		return []docNode{*v}
	case v.kind != '[':
		r.wrong(v, path, name, "an array of objects")
		return nil
	}
	for i := range v.arr {
		if k := v.arr[i].kind; k != '{' && k != 'n' {
			r.wrong(&v.arr[i], docIndex(joinPath(path, name), i), "", "an object")
			return nil
		}
	}
	return v.arr
}

// docIndex renders the path of element i of the array at path.
func docIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
