package ingest

import "bytes"

// This file reads past a record of a Stream that is longer than the
// largest record it keeps (maxKeep, MaxContainerBytes): an NDJSON line to
// its newline, a JSON value to its end by a skipper that follows
// scanner.scan's rules one byte at a time and can therefore resume across
// reads. Only the record's first maxKeep bytes are kept, for the rare
// record that fits in them after all (its end is white space); any other
// is refused for its size, or as broken if its end cannot be found.

// skipLongLine reads past a line longer than maxKeep, keeping only its
// first maxKeep bytes: it is rejected for its size unless all but those is
// trailing white space.
func (s *Stream) skipLongLine() error {
	line := s.sc.line
	kept := s.buf[s.pos : s.pos+s.maxKeep]
	size := int64(len(s.buf) - s.pos) // bytes of the line so far
	trimmed := size                   // up to its last non-space byte
	for i := len(s.buf) - 1; i > s.pos && isSpace(s.buf[i]); i-- {
		trimmed--
	}
	s.base += int64(len(s.buf))
	s.buf, s.pos = make([]byte, 0, s.readSize), 0
	for {
		if !s.fill() {
			if s.rerr != nil {
				return s.readErr()
			}
			break
		}
		j := bytes.IndexByte(s.buf, '\n')
		end := len(s.buf)
		if j >= 0 {
			end = j
		}
		for i := 0; i < end; i++ {
			if !isSpace(s.buf[i]) {
				trimmed = size + int64(i) + 1
			}
		}
		size += int64(end)
		if j >= 0 {
			s.pos = j + 1
			s.sc.line++
			break
		}
		s.base += int64(len(s.buf))
		s.buf = s.buf[:0]
	}
	if trimmed > int64(s.maxKeep) {
		s.noteHeld(kept)
		return s.addTooLarge(line, trimmed)
	}
	text := bytes.Clone(kept[:trimmed])
	s.noteHeld(text)
	return s.add(cut{text: text, sp: span{line: line}})
}

// skipValue reads to the end of a value longer than maxKeep, keeping only
// its first maxKeep bytes.
func (s *Stream) skipValue(mode scanMode) error {
	line := s.sc.line
	k := skipper{mode: mode, line: line, startLine: line, maxTracked: s.sc.maxTracked}
	kept := s.buf[s.pos : s.pos+s.maxKeep]
	data := s.buf[s.pos:]
	scratch := make([]byte, 0, s.readSize)
	for {
		used, done := k.feed(data)
		if done {
			s.pos = len(s.buf) - len(data) + used
			break
		}
		s.base += int64(len(s.buf))
		s.buf, s.pos = scratch, 0
		if !s.fill() {
			if s.rerr != nil {
				return s.readErr()
			}
			k.finish()
			s.pos = len(s.buf)
			break
		}
		data = s.buf
	}
	s.sc.line = k.line
	if k.status == statusBroken || mode == modeValue && k.status != statusEnd {
		s.mode = modeDone
		return s.addBrokenAt(line)
	}
	size := k.n
	if mode == modeElement {
		size = k.trimmed // as splitArray, which trims an element's end
	}
	var err error
	if size > int64(s.maxKeep) {
		err = s.addTooLarge(line, size)
	} else {
		err = s.add(cut{text: bytes.Clone(kept[:size]), sp: span{line: line, depth: k.maxDepth}})
	}
	if err != nil {
		return err
	}
	if k.status == statusEOF {
		s.mode = modeDone
		return s.addErr(s.sc.line, "the body ends inside a JSON array (no closing ]): it may have been cut short")
	}
	s.afterValue(mode)
	return nil
}

// skipper finds where a value ends by scanner.scan's rules, one byte at a
// time, so that it can resume across reads: strings with their escapes, a
// raw newline that breaks a string, bracket depth with a closer that does
// not match taken to close the nearest matching opener. It keeps no bytes.
type skipper struct {
	mode       scanMode
	stack      []byte
	maxTracked int
	depth      int
	maxDepth   int
	inString   bool
	escaped    bool
	line       int
	startLine  int
	n          int64 // bytes of the value so far
	trimmed    int64 // bytes up to its last non-space byte
	status     scanStatus
}

// feed reads data, which follows what it read before, and returns how many
// of its bytes belong to the value and whether the value ended there.
func (k *skipper) feed(data []byte) (used int, done bool) {
	for i, c := range data {
		if k.inString {
			switch {
			case k.escaped:
				k.escaped = false
				if c == '\n' {
					k.line++
				}
			case c == '\\':
				k.escaped = true
			case c == '"':
				k.inString = false
			case c == '\n':
				k.inString = false
				if k.line == k.startLine {
					return k.end(i, statusEnd)
				}
				k.line++
			}
			k.grow(i, c)
			continue
		}
		switch c {
		case '"':
			k.inString = true
		case '{', '[':
			k.depth++
			if len(k.stack) < k.maxTracked {
				k.stack = append(k.stack, c)
			}
			k.maxDepth = max(k.maxDepth, k.depth)
		case '}', ']':
			if k.depth == 0 {
				if k.mode == modeElement && c == ']' {
					return k.end(i, statusEnd)
				}
				break
			}
			open := byte('{')
			if c == ']' {
				open = '['
			}
			switch {
			case k.depth > len(k.stack):
				k.depth--
			case k.stack[k.depth-1] == open:
				k.depth--
				k.stack = k.stack[:k.depth]
			default:
				j := k.depth - 2
				for j >= 0 && k.stack[j] != open {
					j--
				}
				if j >= 0 {
					k.depth = j
					k.stack = k.stack[:j]
				} else if k.mode == modeElement && c == ']' {
					return k.end(i, statusEnd)
				}
			}
			if k.depth == 0 && k.mode == modeValue {
				k.grow(i, c)
				return k.end(i+1, statusEnd)
			}
		case ',':
			if k.depth == 0 && k.mode == modeElement {
				return k.end(i, statusEnd)
			}
		case '\n':
			k.line++
		}
		k.grow(i, c)
	}
	k.n += int64(len(data))
	return len(data), false
}

// grow notes that data[i], c, belongs to the value.
func (k *skipper) grow(i int, c byte) {
	if !isSpace(c) {
		k.trimmed = k.n + int64(i) + 1
	}
}

// end ends the value before data[i].
func (k *skipper) end(i int, st scanStatus) (int, bool) {
	k.n += int64(i)
	k.status = st
	return i, true
}

// finish ends the value at the end of the input.
func (k *skipper) finish() {
	switch {
	case k.inString || k.depth > 0:
		k.status = statusBroken
	default:
		k.status = statusEOF
	}
}
