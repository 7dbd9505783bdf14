package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
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
			if recs != nil {
				t.Fatalf("records with a body-level error %v", err)
			}
			if c := weft.ErrorCode(err); c != weft.EINVALID && c != weft.ETOOLARGE {
				t.Fatalf("error %v has code %q", err, c)
			}
			return
		}
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
			if a.ID == "" || a.Source == "" || a.ProviderAlertID == "" {
				t.Fatalf("record %d: accepted without id, source or provider id: %+v", r.Index, a)
			}
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
		}
	})
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
