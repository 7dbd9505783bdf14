package ingest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// This file holds what the decoders share: the tokenizer's options, the
// translation of its errors into field paths and plain words, and a small
// builder for the JSON objects that keep unmapped properties.

// jsonOptions are the options of the tokenizer. Invalid UTF-8 inside strings
// is replaced by U+FFFD rather than rejected. Duplicate member names are
// rejected, but by weft itself (fields.go), which does it for less; the raw
// values weft keeps are checked with rawOptions. Member names match
// case-sensitively, as Graph and the native format spell them.
//
// Duplicates are rejected rather than resolved because parsers disagree on
// which of two values wins, and that disagreement can be used to show weft
// one value and a downstream tool another.
var jsonOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))

// rawOptions check a raw value that weft keeps as sent.
var rawOptions = json.JoinOptions(jsontext.AllowInvalidUTF8(true))

// parseInt parses a JSON number that must be an integer within int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// fieldErr is a rejected field on its way to a RecordError. A fatal error
// leaves the tokenizer where it cannot go on (a syntax error); any other
// error leaves it after the offending value.
type fieldErr struct {
	field, msg string
	fatal      bool
}

// jsonFieldErr translates an error of the tokenizer into a field path and
// plain words. rec and line locate syntax errors; prefix is the path of the
// value that was read (e.g. "additionalData" when a kept value is checked on
// its own).
func jsonFieldErr(err error, rec []byte, line int, prefix string) *fieldErr {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return &fieldErr{field: joinPath(prefix, pointerPath(syn.JSONPointer)), msg: "the name appears twice in one object; weft rejects duplicate names"}
		}
		l, col := position(rec, int(syn.ByteOffset), line)
		what := strings.TrimPrefix(syn.Err.Error(), "jsontext: ")
		if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
			what = "the record ends too early (unbalanced brackets or an unterminated string)"
		}
		if strings.Contains(what, "exceeded max depth") {
			what = "nesting too deep"
		}
		return &fieldErr{field: joinPath(prefix, pointerPath(syn.JSONPointer)), msg: "invalid JSON at line " + strconv.Itoa(l) + ", column " + strconv.Itoa(col) + ": " + what}
	}
	return &fieldErr{field: prefix, msg: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// position turns a byte offset within rec into a line and a column (in
// bytes, 1-based), given the line where rec starts.
func position(rec []byte, off, line int) (int, int) {
	off = min(max(off, 0), len(rec))
	before := rec[:off]
	l := line + bytes.Count(before, []byte{'\n'})
	return l, off - bytes.LastIndexByte(before, '\n')
}

// pointerPath renders a JSON pointer such as /evidence/2/verdict as the path
// evidence[2].verdict, cut after 128 bytes.
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if b.Len() > 128 {
			b.WriteString("…")
			break
		}
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(clip(tok, 64))
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}

func kindWords(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "something else"
}

// objBuilder builds a JSON object from members that are already JSON.
type objBuilder []byte

func (o *objBuilder) name(n string) {
	if len(*o) == 0 {
		*o = append(*o, '{')
	} else {
		*o = append(*o, ',')
	}
	*o = appendQuote(*o, n)
	*o = append(*o, ':')
}

// raw adds a member whose value is JSON.
func (o *objBuilder) raw(name string, v []byte) {
	o.name(name)
	*o = append(*o, v...)
}

// rawb adds a member whose name is given as bytes and whose value is JSON.
func (o *objBuilder) rawb(name []byte, v []byte) {
	if len(*o) == 0 {
		*o = append(*o, '{')
	} else {
		*o = append(*o, ',')
	}
	if b, err := jsontext.AppendQuote(*o, name); err == nil {
		*o = b
	} else {
		*o = appendQuote(*o, string(name))
	}
	*o = append(*o, ':')
	*o = append(*o, v...)
}

// str adds a member whose value is a string.
func (o *objBuilder) str(name, v string) {
	o.name(name)
	*o = appendQuote(*o, v)
}

// members adds the members of the JSON object obj.
func (o *objBuilder) members(obj []byte) {
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 {
		return
	}
	inner := bytes.TrimSpace(obj[1 : len(obj)-1])
	if len(inner) == 0 {
		return
	}
	if len(*o) == 0 {
		*o = append(*o, '{')
	} else {
		*o = append(*o, ',')
	}
	*o = append(*o, inner...)
}

// bytes returns the object, or nil when it has no members.
func (o objBuilder) bytes() []byte {
	if len(o) == 0 {
		return nil
	}
	return append(o, '}')
}

func appendQuote(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b, err := jsontext.AppendQuote(dst, s)
	if err != nil {
		return append(dst, `""`...)
	}
	return b
}

// isObject reports whether v is a JSON object; null and absent are not.
func isObject(v jsontext.Value) bool {
	v = bytes.TrimLeft(v, " \t\r\n")
	return len(v) > 0 && v[0] == '{'
}

// isNull reports whether v is absent or JSON null.
func isNull(v jsontext.Value) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// memberNames lists the names of the members of the JSON object obj, at most
// n of them, for a warning.
func memberNames(obj []byte, n int) []string {
	dec := jsontext.NewDecoder(bytes.NewReader(obj), jsonOptions)
	if _, err := dec.ReadToken(); err != nil {
		return nil
	}
	var names []string
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		if len(names) < n {
			names = append(names, clip(tok.String(), 64))
		}
		if dec.SkipValue() != nil {
			break
		}
	}
	return names
}
