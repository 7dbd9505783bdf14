package ingest

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// weftAlert returns a native alert with extra properties added.
func weftAlert(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"source":"edr","providerAlertId":"A-1","title":"Suspicious thing","firstActivityDateTime":"2026-11-28T20:00:00Z"` + extra + `}`
}

func TestDecodeFormatDetection(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		format     Format
		want       string // the source the alert gets, or an error
	}{
		{"GraphByODataType", `{"@odata.type":"#microsoft.graph.security.alert","id":"1","title":"t","source":"mine"}`, FormatAuto, "microsoftGraph"},
		{"WeftBySource", `{"source":"mine","providerAlertId":"1","title":"t","serviceSource":"x"}`, FormatAuto, "mine"},
		{"GraphByServiceSource", `{"id":"1","title":"t","serviceSource":"microsoftDefenderForIdentity"}`, FormatAuto, "microsoftDefenderForIdentity"},
		{"GraphByDetectionSource", `{"id":"1","title":"t","detectionSource":"antivirus"}`, FormatAuto, "antivirus"},
		{"GraphByProviderAlertID", `{"providerAlertId":"p1","title":"t","productName":"Sentinel"}`, FormatAuto, "Sentinel"},
		{"GraphByEvidence", `{"id":"1","title":"t","evidence":[{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"10.0.0.1"}]}`, FormatAuto, "microsoftGraph"},
		{"GraphUnknownServiceSource", `{"id":"1","title":"t","serviceSource":"unknown","detectionSource":"customDetection"}`, FormatAuto, "customDetection"},
		{"ErrUndecidable", `{"id":"1","title":"t"}`, FormatAuto, "cannot tell the format; name it with ?format=weft|graph"},
		{"NamedGraph", `{"id":"1","title":"t"}`, FormatGraph, "microsoftGraph"},
		{"NamedWeft", `{"source":"s","providerAlertId":"1","title":"t","@odata.type":"#microsoft.graph.security.alert"}`, FormatWeft, "s"},
		{"ErrNamedWeftWithoutSource", `{"id":"1","title":"t","serviceSource":"x"}`, FormatWeft, "source: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := one(t, tc.body, tc.format)
			switch {
			case r.Err != nil && !strings.Contains(r.Err.Error(), tc.want):
				t.Fatalf("got %v, want %q", r.Err, tc.want)
			case r.Err == nil && r.Alert.Source != tc.want:
				t.Fatalf("source %q, want %q", r.Alert.Source, tc.want)
			}
		})
	}
}

func TestDecodeInvalidEnumsAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, allowed string
	}{
		{"Severity", weftAlert(`"severity":"critical"`), "severity", `"critical" is not a valid value; allowed: unknown, informational, low, medium, high`},
		{"Status", weftAlert(`"status":"open"`), "status", "allowed: unknown, new, inProgress, resolved"},
		{"Classification", weftAlert(`"classification":"bad"`), "classification", "allowed: unknown, falsePositive, truePositive, informationalExpectedActivity"},
		{"Determination", weftAlert(`"determination":"evil"`), "determination", "allowed: unknown, apt, malware,"},
		{"Verdict", weftAlert(`"evidence":[{"entityType":"ip","verdict":"evil"}]`), "evidence[0].verdict", "allowed: unknown, suspicious, malicious, noThreatsFound"},
		{"Remediation", weftAlert(`"evidence":[{"entityType":"ip"},{"entityType":"ip","remediationStatus":"fixed"}]`), "evidence[1].remediationStatus", "allowed: none, remediated, prevented, blocked, notFound"},
		{"Role", weftAlert(`"evidence":[{"entityType":"ip","roles":["source","villain"]}]`), "evidence[0].roles[1]", "allowed: unknown, contextual, scanned, source,"},
		{"GraphSeverity", `{"id":"1","title":"t","serviceSource":"x","severity":"sev1"}`, "severity", "allowed: unknown, informational"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, tc.body, FormatAuto)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.allowed) {
				t.Fatalf("got %q: %q; want %q naming %q", e.Field, e.Message, tc.field, tc.allowed)
			}
		})
	}
}

func TestDecodeEnumSpellings(t *testing.T) {
	a := alertOf(t, weftAlert(`"severity":"HIGH","status":"InProgress","classification":"BenignPositive","determination":"compromisedUser"`), FormatAuto)
	if a.Severity != weft.SeverityHigh || a.Status != weft.AlertStatusInProgress || a.Classification != weft.ClassificationInformationalExpectedActivity || a.Determination != weft.DeterminationCompromisedAccount {
		t.Fatalf("got %q %q %q %q", a.Severity, a.Status, a.Classification, a.Determination)
	}
	a = alertOf(t, `{"id":"1","title":"t","serviceSource":"x","severity":"unknownFutureValue","status":"unknownFutureValue","determination":"InsufficientData"}`, FormatAuto)
	if a.Severity != weft.SeverityUnknown || a.Status != weft.AlertStatusUnknown || a.Determination != weft.DeterminationNotEnoughDataToValidate {
		t.Fatalf("got %q %q %q", a.Severity, a.Status, a.Determination)
	}
}

func TestDecodeTimestampRules(t *testing.T) {
	for _, tc := range []struct {
		name, props, field, msg string
	}{
		{"ErrNoZone", `"lastActivityDateTime":"2026-11-28T20:30:00"`, "lastActivityDateTime", `timestamp "2026-11-28T20:30:00" has no time zone offset; send RFC 3339 with Z or ±hh:mm`},
		{"ErrNotRFC3339", `"resolvedDateTime":"28/11/2026 20:30"`, "resolvedDateTime", `"28/11/2026 20:30" is not an RFC 3339 timestamp`},
		{"ErrFuture", `"lastActivityDateTime":"2026-11-28T22:00:00Z"`, "lastActivityDateTime", "is 1h0m0s in the future (more than the allowed clock skew of 10m0s)"},
		{"ErrBefore1970", `"evidence":[],"lastActivityDateTime":"1969-12-31T23:59:59Z"`, "lastActivityDateTime", "1969-12-31T23:59:59Z is before 1970-01-01"},
		{"ErrLastBeforeFirst", `"lastActivityDateTime":"2026-11-28T19:00:00Z"`, "lastActivityDateTime", "is before firstActivityDateTime"},
		{"ErrNotAString", `"lastActivityDateTime":1764360000`, "lastActivityDateTime", "expected a string, got a number"},
		{"ErrEvidenceTime", `"evidence":[{"entityType":"process","processCreationDateTime":"2026-11-28 19:00:00"}]`, "evidence[0].processCreationDateTime", "has no time zone offset"},
		{"ErrCommentTime", `"comments":[{"comment":"c","createdDateTime":"yesterday"}]`, "comments[0].createdDateTime", "is not an RFC 3339 timestamp"},
		{"ErrProviderTime", `"providerCreatedDateTime":"2026-11-28"`, "providerCreatedDateTime", "has no time zone offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, weftAlert(tc.props), FormatAuto)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %q: %q; want %q: %q", e.Field, e.Message, tc.field, tc.msg)
			}
		})
	}
	t.Run("GraphTimes", func(t *testing.T) {
		e := rejection(t, `{"id":"1","title":"t","serviceSource":"x","createdDateTime":"2026-11-28T20:00:00"}`, FormatAuto)
		if e.Field != "createdDateTime" || !strings.Contains(e.Message, "no time zone offset") {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("OffsetsAndFractions", func(t *testing.T) {
		a := alertOf(t, weftAlert(`"lastActivityDateTime":"2026-11-28T21:30:00.123456789+01:00"`), FormatAuto)
		if want := time.Date(2026, 11, 28, 20, 30, 0, 123456789, time.UTC); !a.LastActivityDateTime.Equal(want) || a.LastActivityDateTime.Location() != time.UTC {
			t.Fatalf("got %v, want %v", a.LastActivityDateTime, want)
		}
	})
	t.Run("MissingTimesTakeTheIngestTime", func(t *testing.T) {
		r := one(t, `{"source":"s","providerAlertId":"1","title":"t","lastActivityDateTime":"0001-01-01T00:00:00Z"}`, FormatAuto)
		if r.Err != nil || !r.Alert.FirstActivityDateTime.Equal(now) || !hasWarning(r.Warnings, "no activity time given") {
			t.Fatalf("got %v, %+v, %q", r.Err, r.Alert, r.Warnings)
		}
	})
}

func TestParseTimeFastAgreesWithWeft(t *testing.T) {
	for _, s := range []string{
		"2026-11-28T21:00:00Z", "2026-11-28T21:00:00.1Z", "2026-11-28T21:00:00.123456789Z", "2026-11-28T21:00:00.1234567890Z",
		"2026-11-28T21:00:00+05:30", "2026-11-28T21:00:00-00:00", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T23:60:00Z", "2026-11-28T23:59:60Z",
		"2026-11-28T21:00:00+24:00", "2026-11-28t21:00:00z", "2026-11-28T21:00:00", "2026-11-28T21:00:00.Z", "0000-01-01T00:00:00Z",
	} {
		fast, ok := parseTimeFast([]byte(s))
		slow, err := weft.ParseTime("t", s)
		if ok && (err != nil || !fast.Equal(slow) || fast.Location() != time.UTC) {
			t.Errorf("%s: fast %v, weft.ParseTime %v, %v", s, fast, slow, err)
		}
	}
}

func TestDecodeWrongTypesAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name, props, field, msg string
	}{
		{"Description", `"description":5`, "description", "expected a string, got a number"},
		{"Techniques", `"mitreTechniques":"T1059"`, "mitreTechniques", "expected an array of strings, got a string"},
		{"Technique", `"mitreTechniques":["T1059",7]`, "mitreTechniques[1]", "expected a string, got a number"},
		{"Evidence", `"evidence":{"entityType":"ip"}`, "evidence", "expected an array of objects, got an object"},
		{"EvidenceItem", `"evidence":[{"entityType":"ip"},"10.0.0.1"]`, "evidence[1]", "expected an object, got a string"},
		{"ProcessID", `"evidence":[{"entityType":"process","processId":"12a"}]`, "evidence[0].processId", `expected an integer (or a string holding one), got "12a"`},
		{"ProcessIDFraction", `"evidence":[{"entityType":"process","processId":1.5}]`, "evidence[0].processId", "expected an integer, got 1.5"},
		{"UserAccount", `"evidence":[{"entityType":"user","userAccount":"jdoe"}]`, "evidence[0].userAccount", "expected an object, got a string"},
		{"UserSid", `"evidence":[{"entityType":"user","userAccount":{"accountName":"a","userSid":["S-1"]}}]`, "evidence[0].userAccount.userSid", "expected a string, got an array"},
		{"FileSize", `"evidence":[{"entityType":"file","fileDetails":{"fileSize":true}}]`, "evidence[0].fileDetails.fileSize", "expected an integer, got a boolean"},
		{"Comments", `"comments":[{"comment":{}}]`, "comments[0].comment", "expected a string, got an object"},
		{"AdditionalData", `"additionalData":"x"`, "additionalData", "expected an object, got a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, weftAlert(tc.props), FormatAuto)
			if e.Field != tc.field || e.Message != tc.msg {
				t.Fatalf("got %q: %q; want %q: %q", e.Field, e.Message, tc.field, tc.msg)
			}
		})
	}
	t.Run("SourceNotAString", func(t *testing.T) {
		e := rejection(t, `{"source":1,"providerAlertId":"1","title":"t"}`, FormatAuto)
		if e.Field != "source" || e.Message != "expected a string, got a number" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("NullIsAbsent", func(t *testing.T) {
		a := alertOf(t, weftAlert(`"description":null,"mitreTechniques":null,"evidence":null,"additionalData":null,"severity":null`), FormatAuto)
		if a.Description != "" || a.MitreTechniques != nil || a.Evidence != nil || a.AdditionalData != nil || a.Severity != weft.SeverityUnknown {
			t.Fatalf("got %+v", a)
		}
		a = alertOf(t, weftAlert(`"evidence":[null,{"entityType":"ip","ipAddress":null,"roles":[null,"source"]},null],"mitreTechniques":[null,"T1"]`), FormatAuto)
		if len(a.Evidence) != 1 || a.Evidence[0].Roles[0] != "source" || len(a.MitreTechniques) != 1 {
			t.Fatalf("got %+v", a)
		}
	})
	t.Run("IntegersAsStrings", func(t *testing.T) {
		a := alertOf(t, weftAlert(`"evidence":[{"entityType":"device","osBuild":"22631"},{"entityType":"cloudApplication","appId":11161}]`), FormatAuto)
		if a.Evidence[0].OsBuild != 22631 || a.Evidence[1].AppID != "11161" {
			t.Fatalf("got %+v", a.Evidence)
		}
	})
}

func TestDecodeDuplicateNamesAreRejected(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string
	}{
		{"TopLevel", `{"source":"s","providerAlertId":"1","title":"t","title":"u"}`, "title"},
		{"Slot", `{"id":"1","id":"2","title":"t","serviceSource":"x"}`, "id"},
		{"Unknown", weftAlert(`"x":1,"x":2`), "x"},
		{"Evidence", weftAlert(`"evidence":[{"entityType":"ip","ipAddress":"1","ipAddress":"2"}]`), "evidence[0].ipAddress"},
		{"EvidenceUnknown", weftAlert(`"evidence":[{"entityType":"ip","y":1,"y":1}]`), "evidence[0].y"},
		{"Nested", weftAlert(`"evidence":[{"entityType":"user","userAccount":{"userSid":"a","userSid":"b"}}]`), "evidence[0].userAccount.userSid"},
		{"InsideAdditionalData", weftAlert(`"additionalData":{"a":{"b":1,"b":2}}`), "additionalData.a.b"},
		{"Escaped", `{"source":"s","providerAlertId":"1","title":"t","\u0074itle":"u"}`, "title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, tc.body, FormatAuto)
			if e.Field != tc.field || !strings.Contains(e.Message, "the name appears twice in one object") {
				t.Fatalf("got %q: %q; want %q", e.Field, e.Message, tc.field)
			}
		})
	}
}

func TestDecodeWeftOwnedAndUnknownProperties(t *testing.T) {
	t.Run("OwnedIgnored", func(t *testing.T) {
		a := alertOf(t, weftAlert(`"id":"wa-mine","incidentId":"99","createdDateTime":"2000-01-01T00:00:00Z","lastUpdateDateTime":{},"correlationReasons":["sameAsset"],"correlation":"x","raw":"x"`), FormatAuto)
		if a.ID == "wa-mine" || a.IncidentID != 0 || !a.CreatedDateTime.Equal(now) || a.CorrelationReasons != nil || a.Correlation != "" || a.AdditionalData != nil {
			t.Fatalf("got %+v", a)
		}
		if !bytes.Contains(a.Raw, []byte(`"wa-mine"`)) {
			t.Errorf("raw %s: want the record as sent", a.Raw)
		}
	})
	t.Run("UnknownKeptWithoutAdditionalData", func(t *testing.T) {
		r := one(t, weftAlert(`"rule":"r1","score":{"v":9},"incidentWebUrl":"https://x","@odata.etag":"W/1"`), FormatAuto)
		if got := object(t, r.Alert.AdditionalData); !reflect.DeepEqual(got, map[string]any{"rule": "r1", "score": map[string]any{"v": 9.0}, "incidentWebUrl": "https://x"}) {
			t.Errorf("additionalData = %s", r.Alert.AdditionalData)
		}
		if !hasWarning(r.Warnings, "unknown properties were kept in additionalData: rule, score, incidentWebUrl") {
			t.Errorf("warnings = %q", r.Warnings)
		}
	})
	t.Run("UnknownIgnoredWithAdditionalData", func(t *testing.T) {
		r := one(t, weftAlert(`"Severity":"high","additionalData":{"a":1}`), FormatAuto)
		if string(r.Alert.AdditionalData) != `{"a":1}` || !hasWarning(r.Warnings, "unknown properties were ignored, since the record has additionalData: Severity") {
			t.Errorf("additionalData %s, warnings %q", r.Alert.AdditionalData, r.Warnings)
		}
	})
}

func TestDecodeGraphMapping(t *testing.T) {
	t.Run("IDs", func(t *testing.T) {
		a := alertOf(t, `{"id":"g1","providerAlertId":"p1","incidentId":42,"incidentWebUrl":"https://i","title":"t","serviceSource":"x","tenantId":"t1"}`, FormatAuto)
		if a.ProviderAlertID != "g1" || a.TenantID != "t1" || a.IncidentID != 0 {
			t.Fatalf("got %+v", a)
		}
		if got := object(t, a.AdditionalData); !reflect.DeepEqual(got, map[string]any{"graphProviderAlertId": "p1", "graphIncidentId": 42.0, "graphIncidentWebUrl": "https://i"}) {
			t.Fatalf("additionalData = %s", a.AdditionalData)
		}
	})
	t.Run("ProviderAlertIDWithoutID", func(t *testing.T) {
		a := alertOf(t, `{"providerAlertId":"p1","title":"t","serviceSource":"x"}`, FormatAuto)
		if a.ProviderAlertID != "p1" || a.TenantID != weft.DefaultTenantID || a.AdditionalData != nil {
			t.Fatalf("got %+v", a)
		}
	})
	t.Run("ErrNoID", func(t *testing.T) {
		if e := rejection(t, `{"title":"t","serviceSource":"x"}`, FormatAuto); e.Field != "id" || e.Message != "is required (the Graph alert id)" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("ErrIDTooLong", func(t *testing.T) {
		if e := rejection(t, `{"id":"`+strings.Repeat("9", 600)+`","title":"t","serviceSource":"x"}`, FormatAuto); e.Field != "id" || !strings.Contains(e.Message, "is 600 bytes long") {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("CustomDetailsKeptAndNotOverwritten", func(t *testing.T) {
		a := alertOf(t, `{"id":"g1","providerAlertId":"p1","title":"t","serviceSource":"x","additionalData":{"graphProviderAlertId":"mine","k":[1]}}`, FormatAuto)
		if got := object(t, a.AdditionalData); !reflect.DeepEqual(got, map[string]any{"graphProviderAlertId": "mine", "k": []any{1.0}}) {
			t.Fatalf("additionalData = %s", a.AdditionalData)
		}
	})
	t.Run("UnmappedKept", func(t *testing.T) {
		r := one(t, `{"id":"g1","title":"t","serviceSource":"x","source":"s","customField":{"a":1},"@odata.context":"https://graph"}`, FormatGraph)
		if got := object(t, r.Alert.AdditionalData)["graphUnmapped"]; !reflect.DeepEqual(got, map[string]any{"customField": map[string]any{"a": 1.0}, "source": "s"}) {
			t.Fatalf("additionalData = %s", r.Alert.AdditionalData)
		}
		if !hasWarning(r.Warnings, "additionalData.graphUnmapped: customField, source") {
			t.Errorf("warnings = %q", r.Warnings)
		}
	})
}

func TestDecodeInvalidUTF8IsRepaired(t *testing.T) {
	body := "{\"source\":\"s\",\"providerAlertId\":\"1\",\"title\":\"bad \xc3\x28 byte\",\"evidence\":[{\"entityType\":\"generic\",\"properties\":{\"k\":\"\xff\"}}],\"extra\":\"\xfe\"}"
	r := one(t, body, FormatAuto)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	a := r.Alert
	if a.Title != "bad \uFFFD( byte" || !bytes.Contains(a.Evidence[0].Properties, []byte("\uFFFD")) || !bytes.Contains(a.AdditionalData, []byte("\uFFFD")) {
		t.Fatalf("title %q, properties %q, additionalData %q", a.Title, a.Evidence[0].Properties, a.AdditionalData)
	}
	for _, b := range [][]byte{a.Raw, a.Evidence[0].Properties, a.AdditionalData} {
		if !utf8Valid(b) {
			t.Errorf("%q is not valid UTF-8", b)
		}
	}
}

func TestDecodeListsAreCut(t *testing.T) {
	tags := strings.TrimSuffix(strings.Repeat(`"t",`, weft.MaxListItems+5), ",")
	r := one(t, weftAlert(`"systemTags":[`+tags+`],"evidence":[{"entityType":"ip","tags":[`+tags+`]}]`), FormatAuto)
	if r.Err != nil || len(r.Alert.SystemTags) != weft.MaxListItems || len(r.Alert.Evidence[0].Tags) != weft.MaxListItems {
		t.Fatalf("got %v, %d, %d", r.Err, len(r.Alert.SystemTags), len(r.Alert.Evidence[0].Tags))
	}
	if !hasWarning(r.Warnings, "systemTags has 1005 items; only the first 1000 were kept") || !hasWarning(r.Warnings, "evidence[0].tags has 1005 items") {
		t.Errorf("warnings = %q", r.Warnings)
	}
}

func TestDecodeRawIsKept(t *testing.T) {
	small := weftAlert("")
	if a := alertOf(t, "  "+small+"  ", FormatAuto); string(a.Raw) != small {
		t.Errorf("raw %q, want %q", a.Raw, small)
	}
	big := weftAlert(`"description":"` + strings.Repeat("x", weft.MaxRawBytes) + `"`)
	r := one(t, big, FormatAuto)
	if r.Err != nil || r.Alert.Raw != nil || !hasWarning(r.Warnings, "raw record is larger than") {
		t.Fatalf("got %v, %d raw bytes, %q", r.Err, len(r.Alert.Raw), r.Warnings)
	}
}

// TestDecodeAlertsDoNotAliasTheBody overwrites the body after decoding: the
// alerts must not change, since callers reuse their buffers.
func TestDecodeAlertsDoNotAliasTheBody(t *testing.T) {
	for _, file := range []string{"graph_mde.json", "graph_unknown_evidence.json", "weft_native.json"} {
		body := readTestdata(t, file)
		recs, err := Decode(body, false, FormatAuto, Limits{}, now)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%+v", *recs[0].Alert)
		wantEvidence := fmt.Sprintf("%+v %s %s", recs[0].Alert.Evidence, recs[0].Alert.Evidence[0].Properties, recs[0].Alert.AdditionalData)
		for i := range body {
			body[i] = 'X'
		}
		if got := fmt.Sprintf("%+v", *recs[0].Alert); got != want {
			t.Errorf("%s: alert changed with the body", file)
		}
		if got := fmt.Sprintf("%+v %s %s", recs[0].Alert.Evidence, recs[0].Alert.Evidence[0].Properties, recs[0].Alert.AdditionalData); got != wantEvidence {
			t.Errorf("%s: evidence changed with the body", file)
		}
	}
}

func TestDecodeComments(t *testing.T) {
	a := alertOf(t, weftAlert(`"comments":[{"comment":"first","createdByDisplayName":"ana","createdDateTime":"2026-11-28T20:10:00Z","id":"ignored"},null,{"comment":"no time"}]`), FormatAuto)
	if len(a.Comments) != 2 || a.Comments[0].CreatedByDisplayName != "ana" || !a.Comments[1].CreatedDateTime.Equal(now) {
		t.Fatalf("got %+v", a.Comments)
	}
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// TestDecodeManyUnknownNames decodes an object with a great many members
// weft does not know, and a duplicate at the end. (Checked one against the
// others, they would take seconds; see unknownNames.)
func TestDecodeManyUnknownNames(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"source":"s","providerAlertId":"1","title":"t","additionalData":{}`)
	for i := range 80000 {
		fmt.Fprintf(&b, `,"m%d":1`, i)
	}
	r := one(t, b.String()+`,"m5":2}`, FormatAuto)
	if r.Err == nil || r.Err.Field != "m5" || !strings.Contains(r.Err.Message, "appears twice") {
		t.Fatalf("got %v", r.Err)
	}
}
