package ingest

import (
	"bytes"
	"fmt"
)

// This file cuts the records of a Stream off the front of its input (see
// stream.go): NDJSON lines by their newline, JSON objects and the elements
// of a top-level array with scanner.scan, with the same rules as split
// (split.go). A record too large to keep is left to stream_skip.go.

// cutOne cuts the next record, or finds that there is none.
func (s *Stream) cutOne() error {
	var err error
	switch s.mode {
	case modeLines:
		err = s.cutLine()
	case modeValues:
		err = s.cutValue()
	case modeArray:
		err = s.cutElement()
	}
	if err == nil && s.rerr != nil {
		err = s.readErr()
	}
	return err
}

// cutLine cuts the next non-blank NDJSON line. Until a line that starts
// with '{' has been read, an NDJSON input is not known to be JSON at all:
// the records wait (hold), and if the input ends first it is refused as
// split refuses it.
func (s *Stream) cutLine() error {
	for {
		// Leading white space is not part of the record.
		for {
			for s.pos < len(s.buf) && s.buf[s.pos] != '\n' && isSpace(s.buf[s.pos]) {
				s.pos++
			}
			if s.pos < len(s.buf) || !s.fill() {
				break
			}
		}
		if s.pos == len(s.buf) {
			return s.endLines()
		}
		line := s.sc.line
		j := bytes.IndexByte(s.buf[s.pos:], '\n')
		for j < 0 && !s.eof && len(s.buf)-s.pos <= s.maxKeep {
			seen := len(s.buf) - s.pos
			s.fill()
			if k := bytes.IndexByte(s.buf[s.pos+seen:], '\n'); k >= 0 {
				j = seen + k
			}
		}
		if j < 0 && !s.eof {
			return s.skipLongLine()
		}
		a, end := s.pos, len(s.buf)
		if j >= 0 {
			end = a + j
		}
		b := end
		for b > a && isSpace(s.buf[b-1]) {
			b--
		}
		s.pos = min(end+1, len(s.buf))
		if j >= 0 {
			s.sc.line++
		}
		if a == b {
			continue
		}
		text := s.buf[a:b:b]
		s.noteHeld(text)
		return s.add(cut{text: text, sp: span{line: line}})
	}
}

// noteHeld ends the wait for a line that starts with '{', or keeps the
// first line that does not for the error if none comes.
func (s *Stream) noteHeld(text []byte) {
	switch {
	case !s.hold:
	case text[0] == '{':
		s.hold = false
	case s.first == nil:
		s.first = bytes.Clone(text[:min(len(text), 64)])
	}
}

// endLines ends an NDJSON input.
func (s *Stream) endLines() error {
	s.mode = modeDone
	if s.hold {
		s.hold = false
		if len(s.pending) > 0 {
			return notJSON(s.first, s.pending[0].sp.line)
		}
	}
	return nil
}

// cutValue cuts the next top-level object, or enters a top-level array, as
// scanner.splitStream does.
func (s *Stream) cutValue() error {
	if !s.skipSpace() {
		s.mode = modeDone
		return nil
	}
	switch s.buf[s.pos] {
	case '[':
		s.pos++
		s.mode = modeArray
		return nil
	case '{':
		return s.cutScanned(modeValue)
	}
	// Not the start of a record: reject the rest of the line.
	line := s.sc.line
	var text []byte
	for {
		rest := s.buf[s.pos:]
		j := bytes.IndexByte(rest, '\n')
		if j >= 0 {
			rest = rest[:j]
		}
		text = append(text, rest[:min(len(rest), readSize-len(text))]...)
		s.pos += len(rest)
		if j >= 0 || !s.fill() {
			break
		}
	}
	return s.addErr(line, fmt.Sprintf("expected a JSON object or an array of objects, got %q", clip(string(bytes.TrimSpace(text)), 32)))
}

// cutElement cuts the next element of a top-level array, or finds its end,
// as scanner.splitArray does.
func (s *Stream) cutElement() error {
	for {
		if !s.skipSpace() {
			s.mode = modeDone
			return s.addErr(s.sc.line, "the body ends inside a JSON array (no closing ]): it may have been cut short")
		}
		switch s.buf[s.pos] {
		case ']':
			s.pos++
			s.mode = modeValues
			return nil
		case ',':
			// An empty element (",," or a trailing comma) holds no record.
			s.pos++
			continue
		}
		return s.cutScanned(modeElement)
	}
}

// cutScanned cuts the object or array element that starts at buf[pos] with
// scanner.scan, reading more input until the value ends within it. A value
// that grows past the record size limit without ending is left to
// skipValue.
func (s *Stream) cutScanned(mode scanMode) error {
	line := s.sc.line
	var end int
	var st scanStatus
	for {
		end, st = s.sc.scan(s.pos, len(s.buf), mode)
		if st == statusEnd || s.eof {
			break
		}
		s.sc.line = line
		have := len(s.buf) - s.pos
		if have > s.maxKeep {
			return s.skipValue(mode)
		}
		// Read as much again before scanning again, so that a value that
		// arrives in small reads is not scanned once per read.
		for len(s.buf)-s.pos < 2*have && s.fill() {
		}
	}
	if st == statusBroken || mode == modeValue && st != statusEnd {
		s.pos = len(s.buf)
		s.mode = modeDone
		return s.addBrokenAt(line)
	}
	e := end
	for mode == modeElement && e > s.pos && isSpace(s.buf[e-1]) {
		e-- // as splitArray, which trims an element's end
	}
	text := s.buf[s.pos:e:e]
	depth := s.sc.maxDepth
	s.pos = end
	if st == statusEOF {
		s.mode = modeDone
		if err := s.add(cut{text: text, sp: span{line: line, depth: depth}}); err != nil {
			return err
		}
		return s.addErr(s.sc.line, "the body ends inside a JSON array (no closing ]): it may have been cut short")
	}
	s.afterValue(mode)
	return s.add(cut{text: text, sp: span{line: line, depth: depth}})
}

// afterValue moves past what ended a value at buf[pos], as splitArray and
// splitStream do: a value's closing brace is already behind; an element's
// ']' ends the array and its ',' is skipped; a newline that ended a broken
// string is left to be counted.
func (s *Stream) afterValue(mode scanMode) {
	if mode != modeElement || s.pos >= len(s.buf) {
		return
	}
	switch s.buf[s.pos] {
	case ']':
		s.pos++
		s.mode = modeValues
	case ',':
		s.pos++
	}
}

// addBrokenAt queues the error for a record whose end cannot be found, and
// ends the input, as scanner.addBroken does.
func (s *Stream) addBrokenAt(line int) error {
	// The rest of the input is lost; read it to its end so that Offset is
	// true, without keeping it.
	s.base += int64(len(s.buf))
	s.buf, s.pos = make([]byte, 0, s.readSize), 0
	for s.fill() {
		s.base += int64(len(s.buf))
		s.buf = s.buf[:0]
	}
	return s.addErr(line, fmt.Sprintf("cannot find the end of this record (unbalanced brackets or an unterminated string); nothing from line %d to the end of the body could be read", line))
}
