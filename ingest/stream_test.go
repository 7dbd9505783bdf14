package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/weftxdr/weft"
)

var streamNow = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

// chunkReader returns at most n bytes a read, as a network or a pipe may.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// streamAll reads a whole Stream in batches of n and returns its records and
// its error, if any.
func streamAll(t testing.TB, st *Stream, n int) ([]Record, error) {
	t.Helper()
	var all []Record
	for {
		recs, err := st.Next(n)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return all, err
		}
		if len(recs) == 0 {
			t.Fatalf("an empty batch")
		}
		all = append(all, recs...)
	}
}

// quotedValue and quotedAlerts are the member names of Graph containers
// (a list response's "value", an incident's "alerts").
var (
	quotedValue  = []byte(`"value"`)
	quotedAlerts = []byte(`"alerts"`)
)

// sameAsDecode checks that a Stream over body, read in pieces of read
// bytes (its buffer starting at that size too) and batches of batch
// records, gives what Decode gives. Unless body may hold a Graph list
// response or incident export, the Stream keeps no record over the record
// size limit, so that skipping one is tested too.
func sameAsDecode(t testing.TB, body []byte, ndjson bool, format Format, lim Limits, read, batch int) {
	t.Helper()
	want, wantErr := Decode(body, ndjson, format, lim, streamNow)
	st := NewStream(&chunkReader{b: body, n: read}, ndjson, format, lim, func() time.Time { return streamNow })
	st.readSize = read
	if !bytes.Contains(body, quotedValue) && !bytes.Contains(body, quotedAlerts) {
		st.maxKeep = lim.withDefaults().MaxRecordBytes
	}
	got, err := streamAll(t, st, batch)
	if wantErr != nil {
		if err == nil || err.Error() != wantErr.Error() {
			t.Fatalf("read %d, batch %d: error %v, want %v", read, batch, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("read %d, batch %d: error %v, want none (%d records)", read, batch, err, len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("read %d, batch %d: %d records, want %d\ngot  %s\nwant %s", read, batch, len(got), len(want), describe(got), describe(want))
	}
	for i := range want {
		if g, w := describe(got[i:i+1]), describe(want[i:i+1]); g != w {
			t.Fatalf("read %d, batch %d: record %d:\ngot  %s\nwant %s", read, batch, i, g, w)
		}
		if !reflect.DeepEqual(got[i].Warnings, want[i].Warnings) {
			t.Fatalf("record %d: warnings %q, want %q", i, got[i].Warnings, want[i].Warnings)
		}
	}
}

// describe renders records for a comparison: index, line, and the alert's
// id and raw text or the error.
func describe(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		if r.Err != nil {
			fmt.Fprintf(&b, "[%d@%d %s]", r.Index, r.Line, r.Err.Error())
			continue
		}
		fmt.Fprintf(&b, "[%d@%d %s %q]", r.Index, r.Line, r.Alert.ID, r.Alert.Raw)
	}
	return b.String()
}

// streamBodies are bodies whose cutting has rules: arrays, NDJSON, broken
// records, several values, white space and byte order marks.
func streamBodies(t testing.TB) map[string][]byte {
	const ok = `{"source":"s","providerAlertId":"%d","title":"t"}`
	a := func(i int) string { return fmt.Sprintf(ok, i) }
	bodies := map[string][]byte{
		"Array":              []byte("[\n" + a(1) + ",\n" + a(2) + "\n]"),
		"ArrayEmptyElements": []byte("[," + a(1) + ",," + a(2) + ",]"),
		"ArrayNotClosed":     []byte("[" + a(1) + ",\n" + a(2)),
		"ArrayBrokenString":  []byte("[\n" + `{"source":"s","providerAlertId":"x,"title":"t}` + ",\n" + a(2) + "\n]"),
		"ArrayUnbalanced":    []byte("[\n" + a(1) + ",\n{\"a\":[1,2}\n" + a(3) + "\n]"),
		"ArrayMissingCloser": []byte("[\n" + a(1) + ",\n{\"a\":{\"b\":1}\n,\n" + a(3) + "\n]"),
		"ArrayStrayCloser":   []byte("[" + a(1) + ",}" + a(2) + "]"),
		"ValuesAndArrays":    []byte(a(1) + " [" + a(2) + "," + a(3) + "]\n" + a(4)),
		"PrettyObject":       []byte("{\n  \"source\": \"s\",\n  \"providerAlertId\": \"p\",\n  \"title\": \"t\"\n}\n"),
		"GarbageBetween":     []byte(a(1) + "\nhello there\n" + a(2)),
		"NDJSON":             []byte(a(1) + "\n\n  " + a(2) + " \r\n" + a(3)),
		"NDJSONBadLine":      []byte(a(1) + "\n{\"source\":\"s\",\n" + a(3) + "\n"),
		"NDJSONGarbageFirst": []byte("hello\n" + a(1) + "\n"),
		"NDJSONOnlyGarbage":  []byte("hello\nworld\n"),
		"BOM":                []byte("\xEF\xBB\xBF" + a(1) + "\r\n" + a(2)),
		"Empty":              []byte(" \n\t"),
		"NotJSON":            []byte("hello"),
		"DeepElement":        []byte("[" + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "," + a(1) + "]"),
		"EscapedNewline":     []byte("[{\"source\":\"s\\\n\",\"x\":1},\n" + a(2) + "]"),
		"BigElement":         []byte("[" + a(1) + ",{\"source\":\"s\",\"providerAlertId\":\"big\",\"title\":\"" + strings.Repeat("x", 3000) + "\"}   ,\n" + a(3) + "]"),
		"BigLine":            []byte(a(1) + "\n" + `{"source":"s","providerAlertId":"big","title":"` + strings.Repeat("y", 3000) + "\"}  \n" + a(3) + "\n"),
		"BigBrokenElement":   []byte("[" + a(1) + ",{\"a\":[" + strings.Repeat("1,", 2000) + "\n" + a(2) + "\n]"),
		"BigValueNotClosed":  []byte("{\"a\":\"" + strings.Repeat("z", 3000)),
		"BigGarbageLine":     []byte(a(1) + "\n" + strings.Repeat("g", 3000) + "\n" + a(2)),
		"BrokenStringSpace":  []byte("\uFEFF{\"0 \n"), // a value's end is not trimmed, an element's is
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	return bodies
}

func TestStreamMatchesDecode(t *testing.T) {
	small := Limits{MaxRecordBytes: 1024, MaxDepth: 8, MaxRecords: 100}
	for name, body := range streamBodies(t) {
		t.Run(name, func(t *testing.T) {
			for _, ndjson := range []bool{false, true} {
				for _, lim := range []Limits{{}, small} {
					for _, read := range []int{1, 7, 1000, readSize} {
						for _, batch := range []int{1, 3, 1000} {
							sameAsDecode(t, body, ndjson, FormatAuto, lim, read, batch)
						}
					}
				}
			}
		})
	}
}

func TestStreamTooManyRecords(t *testing.T) {
	body := bytes.Repeat([]byte(`{"source":"s","providerAlertId":"1","title":"t"}`+"\n"), 12)
	st := NewStream(bytes.NewReader(body), false, FormatAuto, Limits{MaxRecords: 10}, nil)
	got, err := streamAll(t, st, 4)
	if weft.ErrorCode(err) != weft.ETOOLARGE || len(got) != 8 {
		t.Fatalf("got %d records and %v, want the 2 full batches of 4 and then too_large", len(got), err)
	}
	if _, again := st.Next(4); again == nil || again.Error() != err.Error() {
		t.Fatalf("after the error Next gave %v, want it again", again)
	}
}

func TestStreamReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(`{"source":"s","providerAlertId":"1","title":"t"}`+"\n"), iotest.ErrReader(boom))
	_, err := streamAll(t, NewStream(r, true, FormatAuto, Limits{}, nil), 10)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the reader's error wrapped", err)
	}
}

// TestStreamBoundedBuffer reads records much larger than the largest record
// a Stream keeps, in an array and in NDJSON: each is rejected for its size,
// the records after it decode, and the Stream's buffer never holds one of
// them.
func TestStreamBoundedBuffer(t *testing.T) {
	const limit = 4096
	huge := `{"source":"s","providerAlertId":"huge","title":"` + strings.Repeat("x", 1<<20) + `"}`
	good := func(i int) string { return fmt.Sprintf(`{"source":"s","providerAlertId":"%d","title":"t"}`, i) }
	for name, body := range map[string]string{
		"Array":  "[" + good(1) + ",\n" + huge + ",\n" + good(2) + ",\n" + huge + "]",
		"NDJSON": good(1) + "\n" + huge + "\n" + good(2) + "\n" + huge + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			st := NewStream(&chunkReader{b: []byte(body), n: 1000}, false, FormatAuto, Limits{MaxRecordBytes: limit}, nil)
			st.maxKeep = limit
			var got []Record
			for {
				recs, err := st.Next(1)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if c := cap(st.buf); c > 2*limit+readSize {
					t.Fatalf("the buffer grew to %d bytes, want at most %d", c, 2*limit+readSize)
				}
				got = append(got, recs...)
			}
			if len(got) != 4 || got[0].Err != nil || got[2].Err != nil || got[1].Err == nil || got[3].Err == nil ||
				!strings.Contains(got[1].Err.Message, fmt.Sprintf("the record is %d bytes", len(huge))) || got[1].Line != 2 || got[2].Line != 3 {
				t.Fatalf("got %s, want good, too large (line 2), good (line 3), too large", describe(got))
			}
		})
	}
}

func TestStreamOffsetAndResume(t *testing.T) {
	a := func(i int) string { return fmt.Sprintf(`{"source":"s","providerAlertId":"%d","title":"t"}`, i) }
	body := a(0) + "\n\n" + a(1) + "\r\n" + "bad\n" + a(3) + "\n"
	st := NewStream(strings.NewReader(body), true, FormatAuto, Limits{}, nil)
	if _, err := st.Next(2); err != nil {
		t.Fatal(err)
	}
	off, line, index := st.Offset()
	if want := int64(strings.Index(body, "bad")); off != want || line != 4 || index != 2 {
		t.Fatalf("after 2 records: offset %d line %d, want %d and 4", off, line, want)
	}
	// Go on from there in a new Stream, as weft ingest --follow does after
	// a restart: the numbering goes on.
	rest := NewStream(strings.NewReader(body[off:]), true, FormatAuto, Limits{}, nil)
	rest.Resume(line, index)
	recs, err := streamAll(t, rest, 10)
	if err != nil || len(recs) != 2 || recs[0].Err == nil || recs[0].Index != 2 || recs[0].Line != 4 || recs[1].Line != 5 || recs[1].Alert == nil {
		t.Fatalf("resumed: %s %v, want line 4 rejected (index 2) and line 5 stored", describe(recs), err)
	}
	if off, line, _ := rest.Offset(); off != int64(len(body)-int(st.offset)) || line != 6 {
		t.Fatalf("at the end: offset %d line %d, want %d and 6", off, line, len(body)-int(st.offset))
	}
	// A resumed input that starts with '[' or holds no object is still lines.
	rest = NewStream(strings.NewReader("[1]\nhello\n"), true, FormatAuto, Limits{}, nil)
	rest.Resume(10, 7)
	recs, err = streamAll(t, rest, 10)
	if err != nil || len(recs) != 2 || recs[0].Line != 10 || recs[1].Index != 8 {
		t.Fatalf("resumed lines: %s %v, want two rejected records at lines 10 and 11", describe(recs), err)
	}
}

// TestStreamResumeLimit checks that after Resume the record limit counts
// the records read since, not the whole input's: a followed file that has
// grown past MaxRecords lines goes on.
func TestStreamResumeLimit(t *testing.T) {
	line := `{"source":"s","providerAlertId":"1","title":"t"}` + "\n"
	st := NewStream(strings.NewReader(line+line), true, FormatAuto, Limits{MaxRecords: 100}, nil)
	st.Resume(1001, 1000)
	recs, err := streamAll(t, st, 10)
	if err != nil || len(recs) != 2 || recs[0].Index != 1000 || recs[1].Alert == nil {
		t.Fatalf("resumed past the limit: %s %v, want two records from index 1000", describe(recs), err)
	}
}

func TestStreamNextRaw(t *testing.T) {
	body := "[\n{\"source\":\"s\",\n \"providerAlertId\":\"1\",\"title\":\"t\"},\n[1],\n{\"a\":\n\"b\" \"c\"},\n{\"x\":1}\n]"
	st := NewStream(strings.NewReader(body), false, FormatAuto, Limits{}, nil)
	raws, err := st.NextRaw(10)
	if err != nil || len(raws) != 4 {
		t.Fatalf("got %d raw records, %v; want 4", len(raws), err)
	}
	if string(raws[0].Text) != `{"source":"s","providerAlertId":"1","title":"t"}` || raws[0].Line != 2 || raws[0].Err != nil {
		t.Errorf("record 0: %+v", raws[0])
	}
	if raws[1].Err == nil || raws[1].Text != nil || raws[1].Line != 4 || !strings.Contains(raws[1].Err.Message, "expected a JSON object") {
		t.Errorf("record 1: %+v, want rejected without decoding", raws[1])
	}
	if raws[2].Index != 2 || raws[2].Err == nil || raws[2].Line != 5 || !strings.Contains(raws[2].Err.Message, "invalid JSON at line 6") {
		t.Errorf("record 2: %+v, want rejected as Decode rejects it", raws[2])
	}
	if raws[3].Index != 3 || string(raws[3].Text) != `{"x":1}` {
		t.Errorf("record 3: %+v", raws[3])
	}
	if _, err := st.NextRaw(10); err != io.EOF {
		t.Fatalf("got %v at the end, want io.EOF", err)
	}
}

func TestStreamGUIDEIsReadWhole(t *testing.T) {
	body := readTestdata(t, filepath.Join("guide", "GUIDE_Test.sample.head60.csv"))
	want, err := Decode(body, false, FormatAuto, Limits{}, streamNow)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStream(&chunkReader{b: body, n: 100}, false, FormatAuto, Limits{}, func() time.Time { return streamNow })
	got, err := streamAll(t, st, 7)
	if err != nil || !st.Whole() || describe(got) != describe(want) {
		t.Fatalf("got %d records (%v, whole %v), want Decode's %d", len(got), err, st.Whole(), len(want))
	}
}

func FuzzStream(f *testing.F) {
	for _, body := range streamBodies(f) {
		f.Add(body, false, uint16(3), uint8(2))
		f.Add(body, true, uint16(1), uint8(1))
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool, read uint16, batch uint8) {
		lim := Limits{MaxRecordBytes: 64, MaxDepth: 8, MaxRecords: 64}
		if firstLineDecidesLate(body, lim, int(read)%200+1) {
			t.Skip("the first line is longer than the record size limit (see Stream.Next)")
		}
		sameAsDecode(t, body, ndjson, FormatAuto, lim, int(read)%200+1, int(batch)%5+1)
	})
}

// firstLineDecidesLate reports whether body starts with '{' on a first line
// longer than the Stream's first read and the record size limit, the case
// where a Stream, unlike Decode, does not look for a second line.
func firstLineDecidesLate(body []byte, lim Limits, read int) bool {
	b := bytes.TrimLeft(bytes.TrimPrefix(body, bom), " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	j := bytes.IndexByte(b, '\n')
	return (j < 0 || j > lim.MaxRecordBytes) && len(body) > read
}

// BenchmarkStream decodes 10,000 Graph alerts of about 2.4 KB through a
// Stream in batches of 1,000, as NDJSON and as a JSON array, and reports
// alerts/s and MB/s (compare BenchmarkDecodeGraph, which holds the body).
func BenchmarkStream(b *testing.B) {
	lines := bytes.Repeat(graphBatch(1000), 10)
	array := append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSpace(lines), []byte("\n"), []byte(",\n"))...)
	array = append(array, "\n]\n"...)
	for _, c := range []struct {
		name string
		body []byte
	}{{"NDJSON", lines}, {"Array", array}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				st := NewStream(bytes.NewReader(c.body), false, FormatAuto, Limits{MaxRecords: 1 << 30}, nil)
				if got, err := streamAll(b, st, 1000); err != nil || len(got) != 10000 {
					b.Fatalf("%d records, %v", len(got), err)
				}
			}
			b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
