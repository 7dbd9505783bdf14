package ingest

import (
	"bytes"
	"fmt"

	"github.com/weftxdr/weft"
)

// This file cuts a body into records. It does not parse JSON: it is a byte
// scanner that tracks strings, escapes and bracket depth, which is enough to
// find where each top-level array element or object ends even when the record
// itself is malformed. The JSON decoder then judges each record alone, so a
// syntax error inside one record never costs the others.
//
// While it scans, the scanner also measures each record's nesting depth, so
// that a record nested too deep is rejected before it is decoded. NDJSON
// lines are not scanned: a newline ends each record, and the decoder checks
// depth as it goes (reader.raw).

// span is where one record lies in the body.
type span struct {
	start, end int    // the record is body[start:end], without surrounding white space
	line       int    // 1-based line of body[start]
	depth      int    // deepest nesting seen by the scanner; a flat object is 1
	err        string // set when the record could not be cut out of the body
}

// scanMode says where a scanned value ends.
type scanMode uint8

const (
	modeElement scanMode = iota // an array element: ends before a ',' or ']' at depth 0
	modeValue                   // a top-level object: ends after its closing brace
)

// scanStatus says how a scan ended.
type scanStatus uint8

const (
	statusEnd    scanStatus = iota // the value ended where its mode says
	statusEOF                      // the input ended at depth 0 (an array element without a following ',' or ']')
	statusBroken                   // the input ended inside a string or with brackets still open
)

// strStop marks the bytes that end the fast path through a string: its
// closing quote, an escape, and a raw newline (never valid inside a JSON
// string, so the scanner takes it as the end of a broken string; that keeps a
// missing quote from swallowing the records on the following lines).
var strStop = [256]bool{'"': true, '\\': true, '\n': true}

type scanner struct {
	data       []byte
	line       int    // line of the next byte to scan
	stack      []byte // openers of the value being scanned, at most maxTracked
	maxTracked int
	lim        Limits
	spans      []span
	err        error // a body-level error (too many records)

	maxDepth int // deepest nesting of the last scanned value
}

var bom = []byte("\xEF\xBB\xBF")

// split cuts body into record spans. It returns a *weft.Error for a body that
// is empty, not JSON at all, or holds more than lim.MaxRecords records.
func split(body []byte, ndjson bool, lim Limits) ([]span, error) {
	s := &scanner{data: body, line: 1, lim: lim, maxTracked: min(lim.MaxDepth+1, 256)}
	s.stack = make([]byte, 0, s.maxTracked)
	i := 0
	if bytes.HasPrefix(body, bom) {
		i = len(bom)
	}
	i = s.skipSpace(i)
	if i == len(body) {
		return nil, weft.Errorf(weft.EINVALID, "the body is empty; send a JSON object, a JSON array of objects, or NDJSON (one object per line)")
	}
	c := body[i]
	switch {
	case ndjson && c != '[':
		s.splitLines(i)
	case c != '{' && c != '[':
		return nil, notJSON(body[i:], s.line)
	case c == '{' && looksLikeNDJSON(body[i:]):
		s.splitLines(i)
	default:
		s.splitStream(i)
	}
	if s.err != nil {
		return nil, s.err
	}
	return s.spans, nil
}

func notJSON(rest []byte, line int) error {
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	return weft.Errorf(weft.EINVALID, "the body is not JSON: expected a JSON object, a JSON array of objects, or NDJSON (one object per line), got %q at line %d",
		clip(string(bytes.TrimSpace(rest)), 32), line)
}

// looksLikeNDJSON reports whether the first two non-blank lines of b both
// start with '{'. A pretty-printed object never has a second line that starts
// with '{' (its members start with '"'), so such a body is one object per line.
func looksLikeNDJSON(b []byte) bool {
	j := bytes.IndexByte(b, '\n')
	if j < 0 {
		return false
	}
	for _, c := range b[j+1:] {
		if !isSpace(c) {
			return c == '{'
		}
	}
	return false
}

// add appends a span unless that would pass the record limit.
func (s *scanner) add(sp span) bool {
	if len(s.spans) >= s.lim.MaxRecords {
		s.err = weft.Errorf(weft.ETOOLARGE, "the body holds more than %d records; send at most %d per request", s.lim.MaxRecords, s.lim.MaxRecords)
		return false
	}
	s.spans = append(s.spans, sp)
	return true
}

// addBroken appends the located error for a record whose end cannot be
// found: everything from its line to the end of the body is lost.
func (s *scanner) addBroken(line int) {
	s.add(span{line: line, err: fmt.Sprintf("cannot find the end of this record (unbalanced brackets or an unterminated string); nothing from line %d to the end of the body could be read", line)})
}

// splitLines cuts NDJSON: each non-blank line is one record.
func (s *scanner) splitLines(i int) {
	body := s.data
	s.spans = make([]span, 0, min(bytes.Count(body[i:], []byte{'\n'})+1, s.lim.MaxRecords+1))
	line, objects := s.line, 0
	for i < len(body) {
		end := len(body)
		if j := bytes.IndexByte(body[i:], '\n'); j >= 0 {
			end = i + j
		}
		a, b := i, end
		for a < b && isSpace(body[a]) {
			a++
		}
		for b > a && isSpace(body[b-1]) {
			b--
		}
		if a < b {
			if body[a] == '{' {
				objects++
			}
			if !s.add(span{start: a, end: b, line: line}) {
				return
			}
		}
		line++
		i = end + 1
	}
	if objects == 0 {
		first := s.spans[0]
		s.err = notJSON(body[first.start:], first.line)
	}
}

// splitStream cuts a body of JSON objects and arrays of objects, one after
// the other (usually just one of them).
func (s *scanner) splitStream(i int) {
	body := s.data
	for {
		i = s.skipSpace(i)
		if i >= len(body) || s.err != nil {
			return
		}
		switch body[i] {
		case '[':
			i = s.splitArray(i)
		case '{':
			line := s.line
			end, st := s.scan(i, len(body), modeValue)
			if st != statusEnd {
				s.addBroken(line)
				return
			}
			s.add(span{start: i, end: end, line: line, depth: s.maxDepth})
			i = end
		default:
			// Not the start of a record: reject the rest of the line.
			line, end := s.line, len(body)
			if j := bytes.IndexByte(body[i:], '\n'); j >= 0 {
				end = i + j
			}
			s.add(span{line: line, err: fmt.Sprintf("expected a JSON object or an array of objects, got %q", clip(string(bytes.TrimSpace(body[i:end])), 32))})
			i = end
		}
	}
}

// splitArray cuts the elements of the array that starts at body[i] and
// returns the position after it.
func (s *scanner) splitArray(i int) int {
	body := s.data
	i++
	for s.err == nil {
		i = s.skipSpace(i)
		if i >= len(body) {
			s.add(span{line: s.line, err: "the body ends inside a JSON array (no closing ]): it may have been cut short"})
			return i
		}
		switch body[i] {
		case ']':
			return i + 1
		case ',':
			// An empty element (",," or a trailing comma) holds no record.
			i++
			continue
		}
		line := s.line
		end, st := s.scan(i, len(body), modeElement)
		if st == statusBroken {
			s.addBroken(line)
			return len(body)
		}
		e := end
		for e > i && isSpace(body[e-1]) {
			e--
		}
		s.add(span{start: i, end: e, line: line, depth: s.maxDepth})
		if st == statusEOF {
			s.add(span{line: s.line, err: "the body ends inside a JSON array (no closing ]): it may have been cut short"})
			return end
		}
		switch body[end] {
		case ']':
			return end + 1
		case ',':
			i = end + 1
		default: // the newline that ended a broken record
			i = end
		}
	}
	return len(body)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace returns the position of the first non-space byte from i, counting
// lines.
func (s *scanner) skipSpace(i int) int {
	for i < len(s.data) && isSpace(s.data[i]) {
		if s.data[i] == '\n' {
			s.line++
		}
		i++
	}
	return i
}

// scan reads one value from s.data[start:limit] and returns where it ends
// (see scanMode) and how. It records the value's depth in s.maxDepth and
// counts lines in s.line.
//
// A closing bracket that does not match its opener is taken to close the
// nearest matching one below it (the usual mistake is a missing closer), and
// a ']' with no '[' open in an array element is the array's own end. Such a
// value is malformed, and the decoder will say so; the point is only to find
// where the next record starts.
func (s *scanner) scan(start, limit int, mode scanMode) (int, scanStatus) {
	data := s.data[:limit]
	stack := s.stack[:0]
	depth, startLine := 0, s.line
	s.maxDepth = 0
	for i := start; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			j := i + 1
			for {
				for j < len(data) && !strStop[data[j]] {
					j++
				}
				if j >= len(data) {
					return len(data), statusBroken
				}
				if data[j] != '\\' {
					break
				}
				if j+1 < len(data) && data[j+1] == '\n' {
					s.line++
				}
				j += 2
			}
			if data[j] != '\n' {
				i = j
				continue
			}
			// A broken string. If the value began on this line, the line
			// was one record (the usual layout of machine-written arrays):
			// end the value here, so that the next line starts the next
			// record. Otherwise go on, and let the newline be counted.
			if s.line == startLine {
				return j, statusEnd
			}
			i = j - 1
		case '{', '[':
			depth++
			if len(stack) < s.maxTracked {
				stack = append(stack, c)
			}
			if depth > s.maxDepth {
				s.maxDepth = depth
			}
		case '}', ']':
			if depth == 0 {
				if mode == modeElement && c == ']' {
					return i, statusEnd
				}
				continue // a stray closer; the decoder will reject the record
			}
			open := byte('{')
			if c == ']' {
				open = '['
			}
			switch {
			case depth > len(stack): // an untracked level, deeper than any limit
				depth--
			case stack[depth-1] == open:
				depth--
				stack = stack[:depth]
			default:
				k := depth - 2
				for k >= 0 && stack[k] != open {
					k--
				}
				if k >= 0 {
					depth = k
					stack = stack[:k]
				} else if mode == modeElement && c == ']' {
					return i, statusEnd
				}
			}
			if depth == 0 && mode == modeValue {
				return i + 1, statusEnd
			}
		case ',':
			if depth == 0 && mode == modeElement {
				return i, statusEnd
			}
		case '\n':
			s.line++
		}
	}
	if depth > 0 {
		return len(data), statusBroken
	}
	return len(data), statusEOF
}
