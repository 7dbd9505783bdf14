package ingest

import (
	"bytes"
	"hash/maphash"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// reader reads one record token by token with the JSON v2 tokenizer. The
// formats are decoded by hand rather than into tagged structs: a record is
// decoded straight into weft's types, with no wire structs to allocate and
// copy, every error knows its field path, and an evidence item whose type
// weft does not know is never type-checked against the properties of the
// types it does. Decoding this way is half again as fast as unmarshalling
// into tagged wire structs and mapping those (see BenchmarkDecodeGraph).
//
// Every value the tokenizer returns aliases the record (it reads directly
// from a bytes.Buffer over it), so raw values can be kept without copying
// until the alert is built.
type reader struct {
	dec      jsontext.Decoder
	buf      bytes.Buffer
	rec      []byte
	line     int
	maxDepth int
	valid    bool // the record is valid UTF-8, so strings need no repair
	strings  stringCache
	times    slab[time.Time]
	accounts slab[weft.UserAccount]
	files    slab[weft.FileDetails]
	names    unknownNames // fields.go
	scratch  []byte       // unquoted values on their way to becoming strings
}

// stringCache remembers recent short strings, so that the values a batch
// repeats (sources, platforms, verdicts, evidence types, domains) are
// allocated once. It is the scheme of the JSON v2 decoder: a direct-mapped
// table indexed by a hash of the string, here over all its bytes, since the
// values of one kind share long prefixes and suffixes.
type stringCache [512]string

var cacheSeed = maphash.MakeSeed()

// make returns the string form of b, from the cache when it is there.
func (c *stringCache) make(b []byte) string {
	if len(b) < 2 || len(b) > 64 {
		return string(b)
	}
	i := maphash.Bytes(cacheSeed, b) % uint64(len(c))
	if s := c[i]; s == string(b) {
		return s
	}
	s := string(b)
	c[i] = s
	return s
}

// reset prepares the reader for a record.
func (r *reader) reset(rec []byte, line, maxDepth int, valid bool) {
	r.rec, r.line, r.maxDepth, r.valid = rec, line, maxDepth, valid
	r.buf = *bytes.NewBuffer(rec)
	r.dec.Reset(&r.buf, jsonOptions)
}

// syntax translates an error of the tokenizer.
func (r *reader) syntax(err error) *fieldErr {
	if strings.Contains(err.Error(), "exceeded max depth") { // the tokenizer's limit, far above weft's
		return &fieldErr{msg: "nesting deeper than " + strconv.Itoa(r.maxDepth) + " levels", fatal: true}
	}
	fe := jsonFieldErr(err, r.rec, r.line, "")
	fe.fatal = true
	return fe
}

// value reads the next value as raw JSON.
func (r *reader) value() (jsontext.Value, *fieldErr) {
	v, err := r.dec.ReadValue()
	if err != nil {
		return nil, r.syntax(err)
	}
	return v, nil
}

// enter reads the start of an object or array (want is '{' or '['). It
// returns false, with no error, for null, and an error naming the field for
// anything else.
func (r *reader) enter(path string, name []byte, want jsontext.Kind, what string) (bool, *fieldErr) {
	switch k := r.dec.PeekKind(); k {
	case want:
		if _, err := r.dec.ReadToken(); err != nil {
			return false, r.syntax(err)
		}
		if r.dec.StackDepth() > r.maxDepth {
			return false, &fieldErr{field: at(path, name), msg: "nesting deeper than " + strconv.Itoa(r.maxDepth) + " levels", fatal: true}
		}
		return true, nil
	case 'n':
		_, err := r.dec.ReadToken()
		if err != nil {
			return false, r.syntax(err)
		}
		return false, nil
	default:
		return false, r.wrongType(path, name, what)
	}
}

// wrongType skips a value of the wrong type and says what was expected.
func (r *reader) wrongType(path string, name []byte, want string) *fieldErr {
	v, fe := r.value()
	if fe != nil {
		return fe
	}
	return &fieldErr{field: at(path, name), msg: "expected " + want + ", got " + kindWords(v.Kind())}
}

// next reads the next member name of the current object into the returned
// slice (which aliases the record unless the name has escapes). ok is false
// at the end of the object, whose '}' it consumes.
func (r *reader) next() (name []byte, ok bool, fe *fieldErr) {
	if r.dec.PeekKind() == '}' {
		if _, err := r.dec.ReadToken(); err != nil {
			return nil, false, r.syntax(err)
		}
		return nil, false, nil
	}
	v, err := r.dec.ReadValue()
	if err != nil {
		return nil, false, r.syntax(err)
	}
	if v.Kind() != '"' {
		return nil, false, &fieldErr{msg: "invalid JSON: expected a member name", fatal: true}
	}
	return r.unquote(v), true, nil
}

// more reports whether the current array has another element, consuming its
// ']' when it has not.
func (r *reader) more() (bool, *fieldErr) {
	if r.dec.PeekKind() == ']' {
		if _, err := r.dec.ReadToken(); err != nil {
			return false, r.syntax(err)
		}
		return false, nil
	}
	return true, nil
}

// unquote returns the contents of the JSON string v. It aliases the record
// when v has no escapes and the record is valid UTF-8.
func (r *reader) unquote(v jsontext.Value) []byte {
	s := v[1 : len(v)-1]
	if r.valid && bytes.IndexByte(s, '\\') < 0 {
		return s
	}
	b, _ := jsontext.AppendUnquote(nil, v) // replaces invalid UTF-8 with U+FFFD
	return b
}

// unquoteValue is unquote for a value that is about to be copied: its
// result may be the reader's scratch space, which the next call reuses.
func (r *reader) unquoteValue(v jsontext.Value) []byte {
	s := v[1 : len(v)-1]
	if r.valid && bytes.IndexByte(s, '\\') < 0 {
		return s
	}
	r.scratch, _ = jsontext.AppendUnquote(r.scratch[:0], v)
	return r.scratch
}

// str reads a string field; null is "".
func (r *reader) str(path string, name []byte) (string, *fieldErr) {
	v, fe := r.value()
	if fe != nil {
		return "", fe
	}
	switch v.Kind() {
	case '"':
		return r.strings.make(r.unquoteValue(v)), nil
	case 'n':
		return "", nil
	}
	return "", &fieldErr{field: at(path, name), msg: "expected a string, got " + kindWords(v.Kind())}
}

// time reads a timestamp field; null is the zero time.
func (r *reader) time(path string, name []byte) (time.Time, *fieldErr) {
	v, fe := r.value()
	if fe != nil {
		return time.Time{}, fe
	}
	switch v.Kind() {
	case '"':
		return parseTime(path, name, r.unquoteValue(v))
	case 'n':
		return time.Time{}, nil
	}
	return time.Time{}, &fieldErr{field: at(path, name), msg: "expected a string, got " + kindWords(v.Kind())}
}

// timePtr reads a timestamp field into the reader's slab; null is nil.
func (r *reader) timePtr(path string, name []byte) (*time.Time, *fieldErr) {
	t, fe := r.time(path, name)
	if fe != nil || t.IsZero() {
		return nil, fe
	}
	return r.times.ptr(t), nil
}

// strOrNumber reads a field that is a string or, as Graph sometimes sends
// ids, a number.
func (r *reader) strOrNumber(path string, name []byte) (string, *fieldErr) {
	v, fe := r.value()
	if fe != nil {
		return "", fe
	}
	switch v.Kind() {
	case '"':
		return r.strings.make(r.unquoteValue(v)), nil
	case '0':
		return r.strings.make(v), nil
	case 'n':
		return "", nil
	}
	return "", &fieldErr{field: at(path, name), msg: "expected a string or a number, got " + kindWords(v.Kind())}
}

// int reads an integer field, also from a string holding one (OData sends
// Int64 values as strings when asked to be IEEE 754 compatible).
func (r *reader) int(path string, name []byte) (int64, *fieldErr) {
	v, fe := r.value()
	if fe != nil {
		return 0, fe
	}
	switch v.Kind() {
	case '0':
		if n, ok := parseInt(v); ok {
			return n, nil
		}
		return 0, &fieldErr{field: at(path, name), msg: "expected an integer, got " + clip(string(v), 32)}
	case '"':
		s := string(r.unquoteValue(v))
		if s == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, &fieldErr{field: at(path, name), msg: "expected an integer (or a string holding one), got " + strconv.Quote(clip(s, 32))}
		}
		return n, nil
	case 'n':
		return 0, nil
	}
	return 0, &fieldErr{field: at(path, name), msg: "expected an integer, got " + kindWords(v.Kind())}
}

// strs reads an array of strings, keeping at most weft.MaxListItems of them;
// cut says how many were left out. Null elements are skipped.
func (r *reader) strs(path string, name []byte) (l []string, cut int, fe *fieldErr) {
	ok, fe := r.enter(path, name, '[', "an array of strings")
	if !ok || fe != nil {
		return nil, 0, fe
	}
	for i := 0; ; i++ {
		more, fe := r.more()
		if fe != nil || !more {
			return l, cut, fe
		}
		v, fe := r.value()
		if fe != nil {
			return nil, 0, fe
		}
		switch v.Kind() {
		case '"':
			if len(l) < weft.MaxListItems {
				if l == nil {
					l = make([]string, 0, 4)
				}
				l = append(l, r.strings.make(r.unquoteValue(v)))
			} else {
				cut++
			}
		case 'n':
		default:
			if fe := r.skipRest(); fe != nil {
				return nil, 0, fe
			}
			return nil, 0, &fieldErr{field: at(path, name) + "[" + strconv.Itoa(i) + "]", msg: "expected a string, got " + kindWords(v.Kind())}
		}
	}
}

// skipRest skips the rest of the current array or object, including its
// closing bracket, so that decoding can go on after a deferred error.
func (r *reader) skipRest() *fieldErr {
	for {
		switch r.dec.PeekKind() {
		case ']', '}':
			if _, err := r.dec.ReadToken(); err != nil {
				return r.syntax(err)
			}
			return nil
		case 0:
			_, err := r.dec.ReadToken()
			return r.syntax(err)
		}
		if err := r.dec.SkipValue(); err != nil {
			return r.syntax(err)
		}
	}
}

// raw reads a value to be kept as sent.
func (r *reader) raw(path string, name []byte) (jsontext.Value, *fieldErr) {
	depth := r.dec.StackDepth()
	v, err := r.dec.ReadValue()
	if err != nil {
		return nil, r.syntax(err)
	}
	if fe := r.check(path, name, v, depth); fe != nil {
		return nil, fe
	}
	return v, nil
}

// check checks a value that weft keeps as sent, found inside depth levels of
// nesting: that it does not nest deeper than the limit (the tokenizer's own
// limit is 10,000) and has no duplicate names (the tokenizer does not look
// for them; see jsonOptions).
func (r *reader) check(path string, name []byte, v jsontext.Value, depth int) *fieldErr {
	if k := v.Kind(); k != '{' && k != '[' {
		return nil
	}
	if depth+valueDepth(v, r.maxDepth-depth) > r.maxDepth {
		return &fieldErr{field: at(path, name), msg: "nesting deeper than " + strconv.Itoa(r.maxDepth) + " levels", fatal: true}
	}
	if !v.IsValid(rawOptions) {
		_, err := jsontext.NewDecoder(bytes.NewReader(v), rawOptions).ReadValue()
		fe := jsonFieldErr(err, v, 0, at(path, name))
		fe.fatal = true
		return fe
	}
	return nil
}

// end checks that nothing but white space follows the record's object.
func (r *reader) end() *fieldErr {
	off := int(r.dec.InputOffset())
	rest := bytes.TrimLeft(r.rec[off:], " \t\r\n")
	if len(rest) == 0 {
		return nil
	}
	l, col := position(r.rec, len(r.rec)-len(rest), r.line)
	return &fieldErr{msg: "invalid JSON at line " + strconv.Itoa(l) + ", column " + strconv.Itoa(col) + ": unexpected data after the record's object", fatal: true}
}

// valueDepth returns the nesting depth of the JSON value v (an object or
// array is 1 deep), or a number above limit as soon as it passes it. It
// needs no exact scan when v holds too few brackets to pass the limit.
func valueDepth(v []byte, limit int) int {
	if bytes.Count(v, []byte{'{'})+bytes.Count(v, []byte{'['}) <= limit {
		return 1
	}
	depth, deepest := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			if depth > deepest {
				if deepest = depth; deepest > limit {
					return deepest
				}
			}
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// at renders the path of a member: path.name, or name at the top level. It
// copies name, which may alias the record.
func at(path string, name []byte) string {
	switch {
	case len(name) == 0:
		return path
	case path == "":
		return string(name)
	case len(name) > 0 && name[0] == '[':
		return path + string(name)
	}
	return path + "." + string(name)
}

// atString is at for a name that is a string.
func atString(path, name string) string {
	if path == "" {
		return strings.Clone(name)
	}
	return path + "." + name
}
