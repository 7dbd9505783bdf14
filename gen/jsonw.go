package gen

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonWriter appends JSON to b, members in the order they are written. The
// generator writes its records with it instead of marshaling structs: it is
// several times faster than encoding/json, allocates nothing per record once
// warm, and the member order is fixed, which keeps output byte-identical.
type jsonWriter struct {
	b     []byte
	stack []frame
}

type frame struct {
	close byte
	n     int
}

func (w *jsonWriter) reset() { w.b, w.stack = w.b[:0], w.stack[:0] }

func (w *jsonWriter) sep() {
	if len(w.stack) == 0 {
		return
	}
	f := &w.stack[len(w.stack)-1]
	if f.n > 0 {
		w.b = append(w.b, ',')
	}
	f.n++
}

func (w *jsonWriter) begin(open, close byte) {
	w.b = append(w.b, open)
	w.stack = append(w.stack, frame{close: close})
}

// end closes the innermost open object or array.
func (w *jsonWriter) end() {
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	w.b = append(w.b, f.close)
}

func (w *jsonWriter) key(k string) {
	w.sep()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

// rootObject opens the top-level object.
func (w *jsonWriter) rootObject() { w.begin('{', '}') }

func (w *jsonWriter) object(k string) { w.key(k); w.begin('{', '}') }
func (w *jsonWriter) array(k string)  { w.key(k); w.begin('[', ']') }
func (w *jsonWriter) elemObject()     { w.sep(); w.begin('{', '}') }

func (w *jsonWriter) elemString(v string) {
	w.sep()
	w.b = appendJSONString(w.b, v)
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

// opt writes k only when v is not empty.
func (w *jsonWriter) opt(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jsonWriter) null(k string) {
	w.key(k)
	w.b = append(w.b, "null"...)
}

func (w *jsonWriter) num(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// time writes t in the form Graph uses: UTC with seven fractional digits.
func (w *jsonWriter) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, "2006-01-02T15:04:05.0000000Z")
	w.b = append(w.b, '"')
}

// strs writes an array of strings, [] when there are none.
func (w *jsonWriter) strs(k string, vs ...string) {
	w.array(k)
	for _, v := range vs {
		w.elemString(v)
	}
	w.end()
}

// raw writes pre-encoded JSON as the value of k.
func (w *jsonWriter) raw(k string, v []byte) {
	w.key(k)
	w.b = append(w.b, v...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
