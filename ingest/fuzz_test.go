package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// FuzzDecode checks that Decode never panics on any body, and that what it
// returns is well formed: a body-level *weft.Error and no records, or records
// in order that each hold exactly one of an alert and an error, with the raw
// JSON weft keeps being valid JSON.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, uint8(0))
		f.Add(b, true, uint8(1))
	}
	for _, s := range []string{
		``, `[`, `]`, `{`, `}`, `[{]`, `[{"a":"b}]`, `{"a":[}`, "\xEF\xBB\xBF{}\r\n{}", `[,,{},]`, `{} {} [{}]`,
		`{"source":"s","providerAlertId":"1","title":"t","evidence":[{"@odata.type":"#x.yEvidence","u":{"a":1,"a":2}}]}`,
		`{"id":"1","title":"t","serviceSource":"x","evidence":[{"url":{}},{"@odata.type":"#microsoft.graph.security.urlEvidence","url":1}]}`,
		`{"source":"s","providerAlertId":"1","title":"t","lastActivityDateTime":"2026-11-28T20:00:00.123+01:00"}`,
		"{\"source\":\"s\",\"title\":\"\xff\",\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
	} {
		f.Add([]byte(s), false, uint8(2))
		f.Add([]byte(s), true, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool, format uint8) {
		formats := []Format{FormatAuto, FormatWeft, FormatGraph}
		lim := Limits{MaxRecordBytes: 4096, MaxDepth: 8, MaxRecords: 64}
		recs, err := Decode(body, ndjson, formats[int(format)%len(formats)], lim, time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC))
		if err != nil {
			checkBodyError(t, recs, err)
			return
		}
		checkDecoded(t, recs, lim, func(r Record) {
			if a := r.Alert; a.ID == "" || a.Source == "" || a.ProviderAlertID == "" {
				t.Fatalf("record %d: accepted without id, source or provider id: %+v", r.Index, a)
			}
		})
	})
}

// checkBodyError checks a body-level error that Decode returned for a
// fuzzed body: it comes without records and says EINVALID or ETOOLARGE.
func checkBodyError(t *testing.T, recs []Record, err error) {
	t.Helper()
	if recs != nil {
		t.Fatalf("records with a body-level error %v", err)
	}
	if c := weft.ErrorCode(err); c != weft.EINVALID && c != weft.ETOOLARGE {
		t.Fatalf("error %v has code %q", err, c)
	}
}

// checkDecoded checks the records that Decode returned for a fuzzed body
// decoded with lim, the checks every format's fuzz target shares: the
// records are well formed (checkRecords) and at most lim.MaxRecords, a
// rejected record says why, and an accepted alert keeps only valid JSON
// (raw and additionalData JSON, evidence properties a JSON object). It
// then calls accepted with each accepted record, for the target's own
// checks.
func checkDecoded(t *testing.T, recs []Record, lim Limits, accepted func(r Record)) {
	t.Helper()
	checkRecords(t, recs)
	if len(recs) > lim.MaxRecords {
		t.Fatalf("%d records, limit %d", len(recs), lim.MaxRecords)
	}
	for _, r := range recs {
		if r.Err != nil {
			if r.Err.Message == "" {
				t.Fatalf("record %d: empty error message", r.Index)
			}
			continue
		}
		a := r.Alert
		for _, raw := range [][]byte{a.Raw, a.AdditionalData} {
			if raw != nil && !json.Valid(raw) {
				t.Fatalf("record %d: kept invalid JSON %q", r.Index, raw)
			}
		}
		for i, e := range a.Evidence {
			if e.Properties != nil && (!json.Valid(e.Properties) || e.Properties[0] != '{') {
				t.Fatalf("record %d: evidence[%d].properties is not a JSON object: %q", r.Index, i, e.Properties)
			}
		}
		accepted(r)
	}
}

// addDocSeeds seeds a fuzz target of one record a line with each sample
// file of testdata/dir and with its first line alone.
func addDocSeeds(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		line, _, _ := strings.Cut(string(b), "\n")
		f.Add([]byte(line))
	}
}

// fuzzDocFormat decodes body as NDJSON in format and checks what Decode
// returns, then decodes it with the format's decoder directly, which must
// not panic on any bytes either.
func fuzzDocFormat(t *testing.T, body []byte, format Format) {
	lim := Limits{MaxRecordBytes: 1 << 16, MaxDepth: 16, MaxRecords: 64}
	recs, err := Decode(body, true, format, lim, now)
	if err != nil {
		checkBodyError(t, recs, err)
	} else {
		checkDecoded(t, recs, lim, func(r Record) {
			if a := r.Alert; a.ID == "" || a.Source == "" || a.ProviderAlertID == "" || a.Title == "" || len(a.Evidence) > weft.MaxEvidence {
				t.Fatalf("record %d: accepted without id, source, provider id or title: %+v", r.Index, a)
			}
		})
	}
	if len(body) <= lim.MaxRecordBytes {
		if a, _, fe := foreignDecoders[format](body, now); (a == nil) == (fe == nil) {
			t.Fatalf("decoder returned alert %v and error %v", a != nil, fe)
		}
	}
}

// addForeignSeeds seeds a fuzz target of fuzzForeign with each NDJSON
// sample file of testdata/dir, told to be NDJSON.
func addForeignSeeds(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.ndjson"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
}

// fuzzForeign decodes body with format and auto-detection and checks the
// records as FuzzDecode does, and that each alert of the format's source
// has what its decoder always sets.
func fuzzForeign(t *testing.T, body []byte, ndjson bool, format Format, source string) {
	lim := Limits{MaxRecordBytes: 8192, MaxDepth: 8, MaxRecords: 64}
	for _, f := range []Format{format, FormatAuto} {
		recs, err := Decode(body, ndjson, f, lim, now)
		if err != nil {
			checkBodyError(t, recs, err)
			return
		}
		checkDecoded(t, recs, lim, func(r Record) {
			if f != format { // auto-detection may have chosen another format's decoder
				return
			}
			a := r.Alert
			if a.Source != source {
				t.Fatalf("record %d: source %q", r.Index, a.Source)
			}
			if a.ProviderAlertID == "" || a.DetectorID == "" || a.Title == "" || a.FirstActivityDateTime.IsZero() {
				t.Fatalf("record %d: %+v", r.Index, a)
			}
			if a.AdditionalData != nil && a.AdditionalData[0] != '{' {
				t.Fatalf("record %d: additionalData %q is not an object", r.Index, a.AdditionalData)
			}
		})
	}
}

// FuzzParseTime checks the fast timestamp parser against weft.ParseTime:
// whatever it accepts, weft.ParseTime accepts as the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-28T21:00:00Z", "2026-11-28T21:00:00.123456789+05:30", "2024-02-29T23:59:59-00:00", "2026-11-31T00:00:00Z", "1969-12-31T23:59:59.9Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseTimeFast([]byte(s))
		if !ok {
			return
		}
		slow, err := weft.ParseTime("t", s)
		if err != nil || !fast.Equal(slow) || fast.Location() != time.UTC {
			t.Fatalf("%q: fast %v, weft.ParseTime %v, %v", s, fast, slow, err)
		}
	})
}
