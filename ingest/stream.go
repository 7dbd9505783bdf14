package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// A Stream decodes an input of any size in bounded memory. A Stream reads
// its input in pieces and cuts records off the front with the same rules as
// split (split.go), so that Decode and a Stream give the same records, with
// the same indexes, lines and errors, for the same bytes. What it holds at a
// time is the records of one batch and the piece being read, never the
// whole input.
//
// The cutting (stream_cut.go) reuses the scanner: an NDJSON line is found
// by its newline, a JSON value by scanner.scan. When scan runs out of
// buffered bytes before the value ends, the Stream reads more and scans the
// value again from its start. Each record is then decoded by the decoder's appendRecords, as
// Decode does, so that a record that holds several alerts (a Graph list
// response or incident export) gives one record per alert.
//
// A record larger than the record size limit is refused unless it is such a
// container, which is why a Stream keeps records up to MaxContainerBytes. A
// record past that is refused without being kept: the rest of it is skipped
// by a skipper that follows scan's rules one byte at a time and can
// therefore resume across reads (stream_skip.go).
//
// This file holds the Stream, its batches (Next, NextRaw), its reading and
// the choice of how to cut the input, including the GUIDE CSV it reads
// whole.

// MaxWholeBytes bounds an input that a Stream cannot cut into records as it
// reads and must read whole: a GUIDE CSV, whose rows of one alert may lie
// anywhere in the file (guide.go). A larger one is refused with ETOOLARGE.
const MaxWholeBytes = 1 << 30

// MaxContainerBytes bounds a record a Stream keeps whole to decode it. A
// record over the record size limit is refused unless it is a Graph list
// response or incident export, whose alerts are decoded one by one; those
// may be up to this size. A larger record is refused for its size without
// being kept.
const MaxContainerBytes = 64 << 20

// readSize is how much a Stream asks its reader for at a time.
const readSize = 64 << 10

// streamMode says how a Stream cuts what follows.
type streamMode uint8

const (
	modeStart  streamMode = iota // nothing read yet
	modeLines                    // NDJSON: every non-blank line is a record
	modeValues                   // JSON objects and arrays of objects, one after the other
	modeArray                    // inside a top-level array
	modeWhole                    // read whole and decoded by Decode (GUIDE CSV)
	modeDone                     // nothing more to cut
)

// Stream decodes records from a reader of any size, in batches, holding
// only one batch and one read buffer at a time. It gives the records Decode
// would give for the same bytes, with their 0-based Index and 1-based Line
// counted over the whole input, except where the documentation of Next says
// otherwise.
//
// A Stream is not safe for concurrent use.
type Stream struct {
	r      io.Reader
	ndjson bool
	format Format
	lim    Limits
	now    func() time.Time
	d      decoder

	buf      []byte // input from offset base; buf[pos:] is not cut yet
	pos      int
	readSize int // bytes asked of r at a time: readSize, less in tests
	maxKeep  int // the largest record kept: MaxContainerBytes, less in tests
	base     int64
	eof      bool  // the reader said io.EOF
	rerr     error // the reader failed
	sc       scanner

	mode    streamMode
	resumed bool   // Resume was called: lines only, no rules about the input's start
	hold    bool   // NDJSON without a line starting with '{' yet: records wait (see cutLine)
	first   []byte // the first line held, for the "not JSON" error
	count   int    // records cut, against lim.MaxRecords
	pending []cut  // records cut and not yet returned
	err     error  // a body-level error, returned from then on

	whole     []Record // modeWhole: the records Decode gave
	raw       []byte   // modeWhole: the input
	offset    int64    // input offset after the last record returned
	line      int      // line at offset
	nextIndex int      // Index of the record after the last one returned
}

// cut is one record cut from the input: its text, or the error of a record
// that could not be cut or kept (in sp.err).
type cut struct {
	sp      span   // relative to text
	text    []byte // nil when sp.err is set
	end     int64  // input offset where cutting goes on after the record
	endLine int    // line at end
}

// NewStream returns a Stream that reads r. ndjson, format and lim mean what
// they mean for Decode, lim.MaxRecords counting the records of the whole
// input; now is the clock that normalizes each batch (time.Now if nil).
func NewStream(r io.Reader, ndjson bool, format Format, lim Limits, now func() time.Time) *Stream {
	if now == nil {
		now = time.Now
	}
	lim = lim.withDefaults()
	s := &Stream{r: r, ndjson: ndjson, format: format, lim: lim, now: now, line: 1, readSize: readSize, maxKeep: MaxContainerBytes}
	s.d = decoder{lim: lim, format: format}
	s.sc = scanner{line: 1, lim: lim, maxTracked: min(lim.MaxDepth+1, 256)}
	s.sc.stack = make([]byte, 0, s.sc.maxTracked)
	return s
}

// Resume makes s read its input as the rest of an NDJSON input whose first
// index records and line-1 lines were read before (weft ingest --follow
// goes on from a saved offset): every non-blank line is one record, and the
// rules about how an input starts (a byte order mark, an array, an empty
// input, no line that starts with '{') do not apply. Limits.MaxRecords
// counts the records read after index, not the whole input's. Call it
// before the first Next or NextRaw.
func (s *Stream) Resume(line, index int) {
	s.resumed = true
	s.sc.line, s.line, s.nextIndex = line, line, index
	s.d.lim.MaxRecords = s.lim.MaxRecords + min(index, math.MaxInt-s.lim.MaxRecords)
}

// Offset returns the input offset just after the last record returned (for
// NDJSON, after its line's end), the 1-based line there and the Index the
// next record will have. Until a record is returned it is 0, the first line
// and the first index.
func (s *Stream) Offset() (offset int64, line, index int) { return s.offset, s.line, s.nextIndex }

// Whole reports whether the input is read whole instead of being cut into
// records as it is read: a GUIDE CSV (see MaxWholeBytes). It is known once
// Next or NextRaw has been called.
func (s *Stream) Whole() bool { return s.mode == modeWhole }

// Next decodes and returns the records of up to n (at least 1) more
// records of the input, normalized with Alert.Normalize at the clock's time
// for the batch, or io.EOF after the last one. A record that holds several
// alerts (a Graph list response or incident export) gives one record each,
// so a batch may hold more than n.
//
// A problem with the input as a whole is a *weft.Error, as for Decode, but
// it may come after batches were returned: more than lim.MaxRecords records
// (ETOOLARGE, when the record past the limit is cut); an NDJSON input
// (ndjson true) whose lines are not JSON at all, which is known when the
// first line that starts with '{' is read (the records before it wait for
// it, up to lim.MaxRecords of them); a GUIDE CSV larger than MaxWholeBytes
// (ETOOLARGE). A reader's failure is returned wrapped. After an error Next
// returns the same error.
//
// Three things differ from Decode, all for very long lines or records: a
// record longer than MaxContainerBytes is refused for its size even if it
// is a Graph list response or incident export; whether an input that starts
// with '{' is NDJSON is told from its first two lines only when the first
// one fits in the Stream's first read (64 KiB) or the record size limit
// (else the input is read as JSON values); and text between records that is
// not JSON is quoted in its error from the first 64 KiB of its line.
func (s *Stream) Next(n int) ([]Record, error) {
	cuts, err := s.next(n)
	if err != nil {
		return nil, err
	}
	if s.mode == modeWhole {
		if len(s.whole) == 0 {
			return nil, io.EOF
		}
		s.raw = nil // only NextRaw wants it
		k := min(n, len(s.whole))
		recs := s.whole[:k:k]
		s.whole = s.whole[k:]
		return recs, nil
	}
	s.d.now = s.now()
	base := s.nextIndex
	recs := make([]Record, 0, len(cuts))
	for i := range cuts {
		if recs, err = s.d.appendRecords(recs, base, cuts[i].text, &cuts[i].sp); err != nil {
			s.err = err
			return nil, err
		}
	}
	s.nextIndex = base + len(recs)
	return recs, nil
}

// RawRecord is one record cut from the input and not decoded.
type RawRecord struct {
	Index int // 0-based position of the record in the input
	Line  int // 1-based line where it starts
	// Text is the record as sent, without the white space around it, on
	// one line: a record written over several lines is compacted (the white
	// space between its tokens removed, strings left as they are). It is
	// valid until the next call of Next or NextRaw, and nil when Err is set.
	Text []byte
	// Err rejects a record that is refused whatever its content (its end
	// cannot be found, it is too large to keep, too deep, or not a JSON
	// object), or that was written over several lines and is not valid
	// JSON; such a record is decoded here, so that its error is Decode's.
	Err *RecordError
}

// NextRaw is Next without the decoding: it cuts up to n more records and
// returns their text, one line each, so that they can be sent on as NDJSON
// to a server that decodes them (weft ingest --url). The errors are those of
// Next. For an input read whole (see Whole) it returns the whole input as
// one RawRecord.
func (s *Stream) NextRaw(n int) ([]RawRecord, error) {
	cuts, err := s.next(n)
	if err != nil {
		return nil, err
	}
	if s.mode == modeWhole {
		if s.raw == nil {
			return nil, io.EOF
		}
		raw := s.raw
		s.raw, s.whole = nil, nil
		return []RawRecord{{Line: 1, Text: raw}}, nil
	}
	out := make([]RawRecord, len(cuts))
	for i := range cuts {
		out[i] = s.oneLine(&cuts[i], s.nextIndex+i)
	}
	s.nextIndex += len(cuts)
	return out, nil
}

// oneLine returns a cut record as a RawRecord on one line, or decoded to
// its error when it is refused whatever its content or cannot be put on one
// line. Its Index counts the records cut, not the alerts a container holds.
func (s *Stream) oneLine(c *cut, index int) RawRecord {
	refused := c.sp.err != "" || c.text[0] != '{' || c.sp.depth > s.lim.MaxDepth
	if !refused && bytes.IndexByte(c.text, '\n') < 0 {
		return RawRecord{Index: index, Line: c.sp.line, Text: c.text}
	}
	if !refused {
		v := jsontext.Value(bytes.Clone(c.text))
		if v.Compact() == nil {
			return RawRecord{Index: index, Line: c.sp.line, Text: v}
		}
		// Not valid JSON: a raw newline in it may be inside a string, so
		// it cannot be put on one line without changing what it says.
	}
	s.d.now = s.now()
	recs, err := s.d.appendRecords(nil, 0, c.text, &c.sp)
	if err != nil || len(recs) != 1 || recs[0].Err == nil {
		// Only a valid record gets here, which the server will judge: its
		// raw newlines are white space between tokens.
		return RawRecord{Index: index, Line: c.sp.line, Text: bytes.ReplaceAll(c.text, []byte{'\n'}, []byte{' '})}
	}
	recs[0].Err.Index = index
	return RawRecord{Index: index, Line: c.sp.line, Err: recs[0].Err}
}

// next cuts up to n records and takes them off the pending queue.
func (s *Stream) next(n int) ([]cut, error) {
	if s.err != nil {
		return nil, s.err
	}
	n = max(n, 1)
	if s.mode == modeStart {
		if err := s.start(); err != nil {
			s.err = err
			return nil, err
		}
	}
	if s.mode == modeWhole {
		return nil, nil
	}
	for (len(s.pending) < n || s.hold) && s.mode != modeDone {
		if err := s.cutOne(); err != nil {
			s.err = err
			s.pending = nil
			return nil, err
		}
	}
	if len(s.pending) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(s.pending))
	cuts := s.pending[:k:k]
	s.pending = s.pending[k:]
	if len(s.pending) == 0 {
		s.pending = nil
	}
	last := cuts[k-1]
	s.offset, s.line = last.end, last.endLine
	return cuts, nil
}

// fill reads more input into the buffer and reports whether it got any. It
// never moves bytes within the buffer: it starts a new one when the old is
// full, so that the text of records already cut stays as it is.
func (s *Stream) fill() bool {
	if s.eof {
		return false
	}
	if len(s.buf) == cap(s.buf) {
		keep := len(s.buf) - s.pos
		nb := make([]byte, keep, max(s.readSize, 2*keep))
		copy(nb, s.buf[s.pos:])
		s.base += int64(s.pos)
		s.buf, s.pos = nb, 0
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		s.sc.data = s.buf
		switch {
		case errors.Is(err, io.EOF):
			s.eof = true
		case err != nil:
			s.eof, s.rerr = true, err
		}
		if n > 0 || s.eof {
			return n > 0
		}
	}
}

// readErr is the reader's failure, for the caller.
func (s *Stream) readErr() error {
	return fmt.Errorf("reading the input at byte %d: %w", s.base+int64(len(s.buf)), s.rerr)
}

// start reads the beginning of the input and chooses how to cut it, as
// split does.
func (s *Stream) start() error {
	if f, err := ParseFormat(string(s.format)); err != nil || f != s.format {
		return weft.Errorf(weft.EINVALID, "format %q is not known; allowed: %s", clip(string(s.format), 64), formatNames)
	}
	if s.resumed {
		s.mode = modeLines
		return nil
	}
	for len(s.buf) < max(s.readSize, len(bom)) && s.fill() {
	}
	if s.rerr != nil {
		return s.readErr()
	}
	if s.format == FormatGUIDE || s.format == FormatAuto && looksLikeGUIDE(s.buf) {
		return s.readWhole()
	}
	if bytes.HasPrefix(s.buf, bom) {
		s.pos = len(bom)
	}
	if !s.skipSpace() {
		if s.rerr != nil {
			return s.readErr()
		}
		return weft.Errorf(weft.EINVALID, "the body is empty; send a JSON object, a JSON array of objects, or NDJSON (one object per line)")
	}
	c := s.buf[s.pos]
	switch {
	case s.ndjson && c != '[':
		s.mode, s.hold = modeLines, c != '{'
	case c != '{' && c != '[':
		// The error quotes the line (from its first 64 KiB).
		for bytes.IndexByte(s.buf[s.pos:], '\n') < 0 && len(s.buf)-s.pos < readSize && s.fill() {
		}
		if s.rerr != nil {
			return s.readErr()
		}
		return notJSON(s.buf[s.pos:min(len(s.buf), s.pos+readSize)], s.sc.line)
	case c == '{':
		// Find the first line's end and what starts the next line.
		for {
			j := bytes.IndexByte(s.buf[s.pos:], '\n')
			if j >= 0 {
				k := s.pos + j + 1
				for k < len(s.buf) && isSpace(s.buf[k]) {
					k++
				}
				if k < len(s.buf) || s.eof {
					break
				}
			} else if len(s.buf)-s.pos > s.lim.MaxRecordBytes || s.eof {
				break
			}
			s.fill()
		}
		if s.rerr != nil {
			return s.readErr()
		}
		s.mode = modeValues
		if looksLikeNDJSON(s.buf[s.pos:]) {
			s.mode = modeLines
		}
	default:
		s.mode = modeValues
	}
	return nil
}

// readWhole reads the rest of the input, up to MaxWholeBytes, and decodes
// it with Decode.
func (s *Stream) readWhole() error {
	s.mode = modeWhole
	rest, err := io.ReadAll(io.LimitReader(s.r, MaxWholeBytes+1-int64(len(s.buf))))
	if err != nil {
		return fmt.Errorf("reading the input: %w", err)
	}
	body := append(s.buf, rest...)
	s.buf = nil
	if len(body) > MaxWholeBytes {
		return weft.Errorf(weft.ETOOLARGE, "a GUIDE CSV is read whole and may be at most %d bytes; this one is larger (split it into files that keep the rows of each alert together)", MaxWholeBytes)
	}
	recs, err := Decode(body, s.ndjson, s.format, s.lim, s.now())
	if err != nil {
		return err
	}
	s.whole, s.raw = recs, body
	return nil
}

// skipSpace moves past white space, reading as needed, and reports whether
// a byte follows.
func (s *Stream) skipSpace() bool {
	for {
		s.pos = s.sc.skipSpace(s.pos)
		if s.pos < len(s.buf) {
			return true
		}
		if !s.fill() {
			return false
		}
	}
}

// add queues a cut record, against the record limit.
func (s *Stream) add(c cut) error {
	if s.count >= s.lim.MaxRecords {
		return weft.Errorf(weft.ETOOLARGE, "the body holds more than %d records; send at most %d per request", s.lim.MaxRecords, s.lim.MaxRecords)
	}
	s.count++
	c.end, c.endLine = s.base+int64(s.pos), s.sc.line
	c.sp.start, c.sp.end = 0, len(c.text)
	s.pending = append(s.pending, c)
	return nil
}

// addErr queues a record that could not be cut, with its message.
func (s *Stream) addErr(line int, msg string) error {
	return s.add(cut{sp: span{line: line, err: msg}})
}

// addTooLarge queues a record that was skipped because it is larger than
// MaxContainerBytes, with decode's message for a record over the limit.
func (s *Stream) addTooLarge(line int, size int64) error {
	return s.addErr(line, fmt.Sprintf("the record is %d bytes; the limit is %d bytes", size, s.lim.MaxRecordBytes))
}
