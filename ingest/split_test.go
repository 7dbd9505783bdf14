package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// outcome is what a test expects of one record: accepted (err == "") or
// rejected with a message containing err, at a line.
type outcome struct {
	line int
	err  string
}

func wantOutcomes(t *testing.T, recs []Record, want []outcome) {
	t.Helper()
	if len(recs) != len(want) {
		for _, r := range recs {
			t.Logf("record %d line %d: err %v", r.Index, r.Line, r.Err)
		}
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		switch {
		case r.Line != w.line:
			t.Errorf("record %d: line %d, want %d", i, r.Line, w.line)
		case w.err == "" && r.Err != nil:
			t.Errorf("record %d: rejected: %v", i, r.Err)
		case w.err != "" && r.Err == nil:
			t.Errorf("record %d: accepted, want an error with %q", i, w.err)
		case w.err != "" && !strings.Contains(r.Err.Error(), w.err):
			t.Errorf("record %d: got %q, want %q in it", i, r.Err.Error(), w.err)
		}
	}
}

func TestDecodeMalformedRecordIsRejectedAlone(t *testing.T) {
	t.Run("NDJSON", func(t *testing.T) {
		recs := decode(t, string(readTestdata(t, "malformed_3of5.ndjson")), true, FormatAuto)
		wantOutcomes(t, recs, []outcome{{1, ""}, {2, ""}, {3, "record 3 (line 3): invalid JSON at line 3, column 55: invalid character"}, {4, ""}, {5, ""}})
	})
	t.Run("NDJSONWithoutContentType", func(t *testing.T) {
		recs := decode(t, string(readTestdata(t, "malformed_3of5.ndjson")), false, FormatAuto)
		wantOutcomes(t, recs, []outcome{{1, ""}, {2, ""}, {3, "invalid JSON at line 3"}, {4, ""}, {5, ""}})
	})
	t.Run("Array", func(t *testing.T) {
		recs := decode(t, string(readTestdata(t, "malformed_3of5.json")), false, FormatAuto)
		wantOutcomes(t, recs, []outcome{{2, ""}, {9, ""}, {16, "record 3 (line 16): invalid JSON at line 20, column 23"}, {23, ""}, {30, ""}})
		if recs[4].Alert.ProviderAlertID != "da5" {
			t.Errorf("last record is %q", recs[4].Alert.ProviderAlertID)
		}
	})
}

func TestDecodeArrayRecovery(t *testing.T) {
	const ok = `{"source":"s","providerAlertId":"%","title":"t"}`
	rec := func(id string) string { return strings.Replace(ok, "%", id, 1) }
	for _, tc := range []struct {
		name, body string
		want       []outcome
	}{
		{"OK", "[" + rec("1") + "," + rec("2") + "]", []outcome{{1, ""}, {1, ""}}},
		{"OneLinePerElement", "[\n" + rec("1") + ",\n" + rec("2") + "\n]\n", []outcome{{2, ""}, {3, ""}}},
		{"ErrMissingColon", "[\n" + rec("1") + ",\n" + `{"source" "s"}` + ",\n" + rec("3") + "\n]", []outcome{{2, ""}, {3, "invalid JSON at line 3, column 11"}, {4, ""}}},
		{"ErrBadLiteral", "[\n" + `{"source":"s","title":tru}` + ",\n" + rec("2") + "\n]", []outcome{{2, "invalid JSON at line 2"}, {3, ""}}},
		{"ErrMismatchedBracket", "[\n" + `{"source":"s","mitreTechniques":["T1"}` + ",\n" + rec("2") + "\n]", []outcome{{2, "invalid JSON"}, {3, ""}}},
		{"ErrMissingCloser", "[\n" + rec("1") + ",\n" + `{"source":"s","evidence":[{"entityType":"ip"}]` + "\n]", []outcome{{2, ""}, {3, "invalid JSON"}}},
		{"ErrUnterminatedStringEndsAtNewline", "[\n" + `{"source":"s","title":"oops}` + ",\n" + rec("2") + "\n]", []outcome{{2, "invalid JSON"}, {3, ""}}},
		{"ErrStrayCloser", "[\n" + `{"source":"s"}}` + ",\n" + rec("2") + "\n]", []outcome{{2, "invalid JSON"}, {3, ""}}},
		{"ErrNotAnObject", "[\n" + `[1,2]` + ",\n" + `"text"` + ",\n" + rec("3") + "\n]", []outcome{{2, "expected a JSON object, got an array"}, {3, "expected a JSON object, got a string"}, {4, ""}}},
		{"EmptyElementsSkipped", "[," + rec("1") + ",,\n" + rec("2") + ",]", []outcome{{1, ""}, {2, ""}}},
		{"ConcatenatedObjects", "{\n  \"source\": \"s\",\n  \"providerAlertId\": \"1\",\n  \"title\": \"t\"\n}\n{\n  \"source\": \"s\",\n  \"providerAlertId\": \"2\",\n  \"title\": \"t\"\n}\n", []outcome{{1, ""}, {6, ""}}},
		{"ConcatenatedArrays", "[" + rec("1") + "]\n[" + rec("2") + "]", []outcome{{1, ""}, {2, ""}}},
		{"ErrJunkBetweenRecords", rec("1") + "\ngarbage here\n" + rec("3"), []outcome{{1, ""}, {2, `expected a JSON object or an array of objects, got "garbage here"`}, {3, ""}}},
		{"ErrTrailingDataInLine", rec("1") + ` x` + "\n" + rec("2"), []outcome{{1, "invalid JSON at line 1, column 50: unexpected data after the record's object"}, {2, ""}}},
		{"ErrArrayNotClosed", "[\n" + rec("1") + ",\n" + rec("2") + "\n", []outcome{{2, ""}, {3, ""}, {4, "the body ends inside a JSON array"}}},
		{"ErrArrayCutInRecord", "[\n" + rec("1") + ",\n" + `{"source":"s","title":"t","evidence":[`, []outcome{{2, ""}, {3, "nothing from line 3 to the end of the body could be read"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOutcomes(t, decode(t, tc.body, false, FormatWeft), tc.want)
		})
	}
}

func TestDecodeBrokenArrayKeepsRecordsBefore(t *testing.T) {
	recs := decode(t, string(readTestdata(t, "broken_array.json")), false, FormatAuto)
	wantOutcomes(t, recs, []outcome{{2, ""}, {3, ""}, {4, "cannot find the end of this record (unbalanced brackets or an unterminated string); nothing from line 4 to the end of the body could be read"}})
}

func TestDecodeBOMAndCRLF(t *testing.T) {
	for _, ndjson := range []bool{true, false} {
		recs := decode(t, string(readTestdata(t, "bom_crlf.ndjson")), ndjson, FormatAuto)
		wantOutcomes(t, recs, []outcome{{1, ""}, {3, ""}, {4, ""}})
		third := recs[2]
		if third.Alert.Title != "third \uFFFD\uFFFD bytes" || !hasWarning(third.Warnings, "invalid UTF-8 was replaced") {
			t.Errorf("title %q, warnings %q: want invalid UTF-8 replaced, with a warning", third.Alert.Title, third.Warnings)
		}
		if !strings.Contains(string(third.Alert.Raw), "\uFFFD") || strings.HasSuffix(string(recs[0].Alert.Raw), "\r") {
			t.Errorf("raw %q: want repaired, without the CR", third.Alert.Raw)
		}
	}
}

func TestDecodeNDJSONArrayMislabelledIsReadAsArray(t *testing.T) {
	body := "[\n  {\"source\": \"s\", \"providerAlertId\": \"1\", \"title\": \"t\"},\n  {\"source\": \"s\", \"providerAlertId\": \"2\", \"title\": \"t\"}\n]\n"
	wantOutcomes(t, decode(t, body, true, FormatAuto), []outcome{{2, ""}, {3, ""}})
}

func TestDecodeNDJSONLineErrors(t *testing.T) {
	body := "\n" + `{"source":"s","providerAlertId":"1","title":"t"}` + "\n   \n" + `[1]` + "\n" + `{"source":"s","providerAlertId":"2","title":"t"},` + "\n"
	wantOutcomes(t, decode(t, body, true, FormatAuto), []outcome{{2, ""}, {4, "expected a JSON object, got an array"}, {5, "unexpected data after the record's object"}})
}

func TestDecodeRecordTooLarge(t *testing.T) {
	big := `{"source":"s","providerAlertId":"2","title":"` + strings.Repeat("x", 300) + `"}`
	small := `{"source":"s","providerAlertId":"1","title":"t"}`
	for _, ndjson := range []bool{true, false} {
		recs, err := Decode([]byte(small+"\n"+big+"\n"+small), ndjson, FormatAuto, Limits{MaxRecordBytes: 200}, now)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcomes(t, recs, []outcome{{1, ""}, {2, fmt.Sprintf("the record is %d bytes; the limit is 200 bytes", len(big))}, {3, ""}})
	}
}

func TestDecodeDeepNesting(t *testing.T) {
	objects := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	nested := func(levels int) string { // a record nested levels deep, the record itself being 1
		return `{"source":"s","providerAlertId":"1","title":"t","additionalData":` + objects(levels-1) + `}`
	}
	arrays := func(levels int) string {
		return `{"source":"s","providerAlertId":"1","title":"t","x":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	for _, tc := range []struct {
		name, body string
		err        string
	}{
		{"OK32", nested(32), ""},
		{"ErrObjects33", nested(33), "nesting deeper than 32 levels"},
		{"ErrArrays33", arrays(33), "nesting deeper than 32 levels"},
		{"ErrVeryDeep", arrays(20000), "nesting deeper than 32 levels"},
		{"OKInEvidence", `{"source":"s","providerAlertId":"1","title":"t","evidence":[{"entityType":"generic","properties":` + objects(29) + `}]}`, ""},
		{"ErrInEvidence", `{"source":"s","providerAlertId":"1","title":"t","evidence":[{"entityType":"generic","properties":` + objects(30) + `}]}`, "nesting deeper than 32 levels"},
		{"ErrInGenericGraphEvidence", `{"source":"s","providerAlertId":"1","title":"t","evidence":[{"@odata.type":"#x.podEvidence","url":` + objects(30) + `}]}`, "nesting deeper than 32 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []struct {
				ndjson bool
				body   string
			}{{true, tc.body}, {false, tc.body}, {false, "[" + tc.body + "]"}} {
				recs := decode(t, mode.body, mode.ndjson, FormatAuto)
				want := []outcome{{1, tc.err}}
				wantOutcomes(t, recs, want)
			}
		})
	}
}

func TestDecodeLimitsDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	if got.MaxRecordBytes != weft.MaxRecordBytes || got.MaxDepth != 32 || got.MaxRecords != 10000 {
		t.Fatalf("got %+v", got)
	}
}
