package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

var guideNow = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

const guideSamplePath = "testdata/guide/GUIDE_Test.sample.head60.csv"

// guideHeader is GUIDE_Test.csv's header line.
var guideHeader = strings.Join(guideColumnNames[:], ",")

// guideLine returns a GUIDE_Test.csv row (46 columns) in which every entity
// column holds its absent constant, with the columns named in set changed.
func guideLine(set map[string]string) string {
	f := map[string]string{
		"Id": "1", "OrgId": "7", "IncidentId": "100", "AlertId": "200", "Timestamp": "2024-06-04T22:56:27.000Z",
		"DetectorId": "524", "AlertTitle": "563", "Category": "LateralMovement", "MitreTechniques": "T1021;T1047",
		"IncidentGrade": "TruePositive", "EntityType": "User", "EvidenceRole": "Impacted", "EmailClusterId": "",
		"Usage": "Public",
	}
	for g, v := range guideAbsentDefaults {
		f[guideColumnNames[g]] = v
	}
	for k, v := range set {
		if _, ok := f[k]; !ok && !slices.Contains(guideColumnNames[:], k) {
			panic("no GUIDE column " + k)
		}
		f[k] = v
	}
	vals := make([]string, gColumns)
	for i, n := range guideColumnNames {
		vals[i] = f[n]
	}
	return strings.Join(vals, ",")
}

// guideBody joins a header and rows into a body.
func guideBody(rows ...string) string {
	return guideHeader + "\n" + strings.Join(rows, "\n") + "\n"
}

func decodeGUIDEBody(t *testing.T, body string) []Record {
	t.Helper()
	recs, err := Decode([]byte(body), false, FormatAuto, Limits{}, guideNow)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkRecords(t, recs)
	return recs
}

// TestGUIDESample decodes the committed sample of GUIDE_Test.csv and pins
// what it holds. The sample's row at line 59 has 42 columns and is the one
// reject.
func TestGUIDESample(t *testing.T) {
	body, err := os.ReadFile(guideSamplePath)
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeGUIDEBody(t, string(body))
	tenants, incidents := map[string]bool{}, map[string]bool{}
	evidence, entities := map[weft.EntityType]int{}, map[weft.EntityType]int{}
	var rejects []*RecordError
	for _, r := range recs {
		if r.Err != nil {
			rejects = append(rejects, r.Err)
			continue
		}
		a := r.Alert
		if len(r.Warnings) > 0 {
			t.Errorf("record %d: warnings %q", r.Index, r.Warnings)
		}
		tenants[a.TenantID] = true
		incidents[r.SourceIncident] = true
		for i := range a.Evidence {
			evidence[a.Evidence[i].EntityType]++
		}
		for _, ref := range a.Entities() {
			entities[ref.Type]++
		}
		if !json.Valid(a.Raw) || !json.Valid(a.AdditionalData) {
			t.Errorf("record %d: raw %s, additionalData %s: want JSON", r.Index, a.Raw, a.AdditionalData)
		}
	}
	if len(rejects) != 1 || rejects[0].Line != 59 || rejects[0].Message != "the row has 42 columns; the header has 46" {
		t.Fatalf("rejects %v: want the row at line 59, with 42 columns", rejects)
	}
	if got, want := len(recs)-len(rejects), 57; got != want {
		t.Errorf("alerts: got %d, want %d", got, want)
	}
	if got, want := len(tenants), 48; got != want {
		t.Errorf("tenants: got %d, want %d", got, want)
	}
	if got, want := len(incidents), 57; got != want {
		t.Errorf("incidents: got %d, want %d", got, want)
	}
	wantEvidence := map[weft.EntityType]int{
		weft.EntityUser: 15, weft.EntityIP: 17, weft.EntityDevice: 5, weft.EntityFile: 4, weft.EntityURL: 3,
		weft.EntityEmailMessage: 3, weft.EntityProcess: 2, weft.EntityCloudApplication: 1, weft.EntityMailCluster: 1,
		weft.EntityGeneric: 6, // CloudLogonSession 3, CloudLogonRequest 3
	}
	if !equalCounts(evidence, wantEvidence) {
		t.Errorf("evidence by type: got %v, want %v", evidence, wantEvidence)
	}
	// Entities: evidence with an identifier. Three files have a name and a
	// folder but no hash and no device, the processes have no process id,
	// the mail cluster no cluster id: none of those can link.
	wantEntities := map[weft.EntityType]int{
		weft.EntityUser: 15, weft.EntityIP: 17, weft.EntityDevice: 5, weft.EntityFile: 1, weft.EntityURL: 3,
		weft.EntityEmailMessage: 3, weft.EntityCloudApplication: 1,
	}
	if !equalCounts(entities, wantEntities) {
		t.Errorf("entities by type: got %v, want %v", entities, wantEntities)
	}
}

// TestGUIDEAbsentNeverLinks checks that no absent constant becomes an
// identifier or a property: two alerts of one organisation that share only
// absent constants share no entity, and a real id shared does link.
func TestGUIDEAbsentNeverLinks(t *testing.T) {
	var rows []string
	for i, typ := range []string{"Machine", "User", "Ip", "Url", "File", "Process", "MailMessage", "Mailbox",
		"MailCluster", "RegistryKey", "RegistryValue", "CloudApplication", "OAuthApplication", "AzureResource", "CloudLogonSession"} {
		rows = append(rows, guideLine(map[string]string{"Id": fmt.Sprint(i), "AlertId": fmt.Sprint(300 + i), "EntityType": typ}))
	}
	rows = append(rows,
		guideLine(map[string]string{"AlertId": "400", "EntityType": "Machine", "DeviceId": "1239"}),
		guideLine(map[string]string{"AlertId": "401", "EntityType": "Machine", "DeviceId": "1239", "DeviceName": "2833"}))
	recs := decodeGUIDEBody(t, guideBody(rows...))
	seen := map[string]string{}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("record %d: %v", r.Index, r.Err)
		}
		for _, e := range r.Alert.Evidence {
			for g, v := range guideAbsentDefaults {
				if bytes.Contains(e.Properties, []byte(`"`+guideColumnNames[g]+`":"`+v+`"`)) {
					t.Errorf("%s: properties %s keep the absent %s %s", r.Alert.ProviderAlertID, e.Properties, guideColumnNames[g], v)
				}
			}
			for _, id := range e.Identifiers() {
				if other, ok := seen[id.String()]; ok && other != r.Alert.ProviderAlertID {
					if id.String() != "device.mdeId:guide-device-1239" {
						t.Errorf("%s and %s share %s", other, r.Alert.ProviderAlertID, id)
					}
				}
				seen[id.String()] = r.Alert.ProviderAlertID
			}
		}
	}
	if seen["device.mdeId:guide-device-1239"] != "7/401" {
		t.Errorf("the device of 7/400 is not the device of 7/401: %v", seen)
	}
}

// TestGUIDEDetectAbsent checks the absent rule: a value that fills more than
// half of a column in a file of at least guideDetectMinRows rows is absent
// too; in a smaller file it is an id.
func TestGUIDEDetectAbsent(t *testing.T) {
	build := func(n int) string {
		rows := make([]string, n)
		for i := range rows {
			dev := "77" // a constant of another GUIDE release
			if i%3 == 0 {
				dev = fmt.Sprint(1000 + i)
			}
			rows[i] = guideLine(map[string]string{"Id": fmt.Sprint(i), "AlertId": fmt.Sprint(i), "EntityType": "Machine", "DeviceId": dev})
		}
		return guideBody(rows...)
	}
	devices := func(recs []Record) map[string]int {
		m := map[string]int{}
		for _, r := range recs {
			if r.Err != nil {
				t.Fatalf("record %d: %v", r.Index, r.Err)
			}
			m[r.Alert.Evidence[0].MdeDeviceID]++
		}
		return m
	}
	big := devices(decodeGUIDEBody(t, build(guideDetectMinRows)))
	if big["guide-device-77"] != 0 || big[""] != 66 {
		t.Errorf("%d rows: devices %v: want 77 absent in 66 rows", guideDetectMinRows, big)
	}
	small := devices(decodeGUIDEBody(t, build(guideDetectMinRows-1)))
	if small["guide-device-77"] != 66 {
		t.Errorf("%d rows: devices %v: want 77 kept as an id", guideDetectMinRows-1, small)
	}
}

// TestGUIDEMapping checks the mapping of every alert-level column and of
// each kind of evidence.
func TestGUIDEMapping(t *testing.T) {
	body := guideBody(
		guideLine(map[string]string{"Id": "11", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199", "Timestamp": "2024-06-04T22:56:27.000Z",
			"EntityType": "User", "AccountSid": "2610", "AccountUpn": "3699", "AccountName": "863", "LastVerdict": "Suspicious", "Roles": "Attacker"}),
		guideLine(map[string]string{"Id": "12", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199", "Timestamp": "2024-06-04T21:00:00.000Z",
			"EntityType": "Ip", "EvidenceRole": "Related", "IpAddress": "10862", "CountryCode": "51", "MitreTechniques": "T1021;T1105"}),
		guideLine(map[string]string{"Id": "13", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199", "Timestamp": "2024-06-04T23:10:00Z",
			"EntityType": "Machine", "DeviceId": "1239", "DeviceName": "2833", "OSFamily": "0"}),
		guideLine(map[string]string{"Id": "14", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199",
			"EntityType": "File", "Sha256": "22520", "FileName": "29828", "FolderPath": "100426", "ThreatFamily": "Tiggre", "LastVerdict": "Malicious"}),
		guideLine(map[string]string{"Id": "15", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199",
			"EntityType": "MailMessage", "NetworkMessageId": "67316", "AccountUpn": "355472"}),
		guideLine(map[string]string{"Id": "16", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199",
			"EntityType": "Url", "Url": "100465"}),
		guideLine(map[string]string{"Id": "17", "OrgId": "657", "IncidentId": "11767", "AlertId": "87199",
			"EntityType": "CloudLogonSession", "EvidenceRole": "Related"}),
		guideLine(map[string]string{"Id": "18", "OrgId": "3", "IncidentId": "11767", "AlertId": "87199", "Category": "CredentialStealing", "IncidentGrade": ""}),
	)
	recs := decodeGUIDEBody(t, body)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	a := recs[0].Alert
	if recs[0].Err != nil || len(recs[0].Warnings) > 0 {
		t.Fatalf("record 0: %v, warnings %q", recs[0].Err, recs[0].Warnings)
	}
	checks := []struct{ name, got, want string }{
		{"tenant", a.TenantID, "guide-org-657"},
		{"source", a.Source, "guide"},
		{"providerAlertId", a.ProviderAlertID, "657/87199"},
		{"sourceIncident", recs[0].SourceIncident, "657/11767"},
		{"detectorId", a.DetectorID, "524"},
		{"title", a.Title, "GUIDE alert title 563"},
		{"category", a.Category, "LateralMovement"},
		{"techniques", strings.Join(a.MitreTechniques, ";"), "T1021;T1047;T1105"},
		{"severity", string(a.Severity), "unknown"},
		{"first", a.FirstActivityDateTime.Format(time.RFC3339), "2024-06-04T21:00:00Z"},
		{"last", a.LastActivityDateTime.Format(time.RFC3339), "2024-06-04T23:10:00Z"},
		{"threatFamily", a.ThreatFamilyName, "Tiggre"},
		{"additionalData", string(a.AdditionalData), `{"guideOrgId":"657","guideAlertId":"87199","guideIncidentId":"11767","guideIncidentGrade":"TruePositive"}`},
		{"id", a.ID, weft.AlertID("guide-org-657", "guide", "657/87199")},
		{"classification", string(a.Classification), "unknown"},
		{"other org", recs[1].Alert.ProviderAlertID + " " + recs[1].Alert.TenantID + " " + recs[1].SourceIncident, "3/87199 guide-org-3 3/11767"},
		{"folded category", recs[1].Alert.Category, "CredentialAccess"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	var raw []string
	if err := json.Unmarshal(a.Raw, &raw); err != nil || len(raw) != 7 || !strings.HasPrefix(raw[1], "12,657,11767,87199,") {
		t.Errorf("raw %s (%v): want the 7 rows as sent", a.Raw, err)
	}
	if len(a.Evidence) != 7 {
		t.Fatalf("got %d evidence, want 7", len(a.Evidence))
	}
	ev := func(i int) string {
		b, err := json.Marshal(a.Evidence[i])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantEv := []string{
		`{"entityType":"user","roles":["compromised","attacker"],"verdict":"suspicious","userAccount":{"accountName":"guide-account-863","userPrincipalName":"upn-3699@guide.invalid","userSid":"guide-sid-2610"},"properties":{"guideId":"11","AccountSid":"2610","AccountUpn":"3699","AccountName":"863","Roles":"Attacker","LastVerdict":"Suspicious","Usage":"Public"}}`,
		`{"entityType":"ip","roles":["contextual"],"ipAddress":"2001:db8::2a6e","properties":{"guideId":"12","IpAddress":"10862","CountryCode":"51","Usage":"Public"}}`,
		`{"entityType":"device","roles":["compromised"],"mdeDeviceId":"guide-device-1239","hostName":"guide-host-2833","properties":{"guideId":"13","DeviceId":"1239","DeviceName":"2833","OSFamily":"0","Usage":"Public"}}`,
		`{"entityType":"file","roles":["compromised"],"verdict":"malicious","fileDetails":{"fileName":"guide-file-29828","filePath":"guide-folder-100426","sha256":"f000000000000000000000000000000000000000000000000000000000022520"},"properties":{"guideId":"14","Sha256":"22520","ThreatFamily":"Tiggre","FileName":"29828","FolderPath":"100426","LastVerdict":"Malicious","Usage":"Public"}}`,
		`{"entityType":"emailMessage","roles":["compromised"],"networkMessageId":"guide-message-67316","recipientEmailAddress":"upn-355472@guide.invalid","properties":{"guideId":"15","AccountUpn":"355472","NetworkMessageId":"67316","Usage":"Public"}}`,
		`{"entityType":"url","roles":["compromised"],"url":"https://url-100465.guide.invalid/","properties":{"guideId":"16","Url":"100465","Usage":"Public"}}`,
		`{"entityType":"generic","odataType":"CloudLogonSession","roles":["contextual"],"properties":{"guideId":"17","Usage":"Public"}}`,
	}
	for i, want := range wantEv {
		if got := ev(i); got != want {
			t.Errorf("evidence[%d]:\n got %s\nwant %s", i, got, want)
		}
	}
	wantKeys := []string{"user.sid:GUIDE-SID-2610", "ip:2001:db8::2a6e", "device.mdeId:guide-device-1239",
		"file.sha256:f000000000000000000000000000000000000000000000000000000000022520", "message.networkId:guide-message-67316",
		"url:https://url-100465.guide.invalid/", ""}
	for i, want := range wantKeys {
		if got := a.Evidence[i].Key(); got != want {
			t.Errorf("evidence[%d] key: got %q, want %q", i, got, want)
		}
	}
}

// TestGUIDEBadInput checks that each kind of bad row is rejected alone with
// its line and column, and that its alert is built from its good rows.
func TestGUIDEBadInput(t *testing.T) {
	good := func(alert, id string) string {
		return guideLine(map[string]string{"AlertId": alert, "Id": id, "EntityType": "Ip", "IpAddress": "5" + id})
	}
	line := good("1", "1")
	bad := func(set map[string]string) string {
		if _, ok := set["AlertId"]; !ok {
			set["AlertId"] = "1"
		}
		return guideLine(set)
	}
	for _, tc := range []struct {
		name, bad, field, msg string
		warn                  bool // the row's alert is known and says the row was rejected
	}{
		{"Truncated", line[:len(line)/2], "", "the row has", false},
		{"ExtraColumn", line + ",x", "", "the row has 47 columns; the header has 46", false},
		{"AlertIdNotInteger", bad(map[string]string{"AlertId": "1a"}), "AlertId", `"1a" is not an anonymised GUIDE id (an integer)`, false},
		{"OrgIdMissing", bad(map[string]string{"OrgId": ""}), "OrgId", "is required", false},
		{"BareQuote", strings.Replace(line, "LateralMovement", `Lateral"Movement`, 1), "", `invalid CSV: bare " in non-quoted-field`, false},
		{"IncidentIdNegative", bad(map[string]string{"IncidentId": "-3"}), "IncidentId", `"-3" is not an anonymised GUIDE id (an integer)`, true},
		{"DeviceIdNotInteger", bad(map[string]string{"DeviceId": "98799.5"}), "DeviceId", `"98799.5" is not an anonymised GUIDE id (an integer)`, true},
		{"TimestampNoZone", bad(map[string]string{"Timestamp": "2024-06-04T22:56:27"}), "Timestamp", "has no time zone offset", true},
		{"TimestampNotRFC3339", bad(map[string]string{"Timestamp": "04/06/2024 22:56"}), "Timestamp", "is not an RFC 3339 timestamp", true},
		{"EntityTypeMissing", bad(map[string]string{"EntityType": ""}), "EntityType", "is required", true},
		{"Future", bad(map[string]string{"Timestamp": "2027-01-01T00:00:00Z", "AlertId": "9"}), "Timestamp", "in the future", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := decodeGUIDEBody(t, guideBody(good("1", "1"), tc.bad, good("1", "3"), good("2", "4")))
			if len(recs) != 3 {
				t.Fatalf("got %d records, want 3: %+v", len(recs), recs)
			}
			bad := recs[1].Err
			if bad == nil || bad.Line != 3 || bad.Field != tc.field || !strings.Contains(bad.Message, tc.msg) {
				t.Fatalf("record 1: got %v, want line 3, field %q, %q", bad, tc.field, tc.msg)
			}
			a := recs[0]
			if a.Err != nil || len(a.Alert.Evidence) != 2 {
				t.Fatalf("record 0: %v, want alert 1 from its 2 good rows", a.Err)
			}
			warned := len(a.Warnings) == 1 && strings.Contains(a.Warnings[0], "the row at line 3 was rejected (record 2): "+tc.field)
			if warned != tc.warn || (!tc.warn && len(a.Warnings) > 0) {
				t.Errorf("record 0 warnings %q; want one naming line 3: %v", a.Warnings, tc.warn)
			}
			if recs[2].Err != nil || recs[2].Line != 5 {
				t.Errorf("record 2: %v at line %d, want alert 2 at line 5", recs[2].Err, recs[2].Line)
			}
		})
	}
	t.Run("RowBeforeItsAlert", func(t *testing.T) {
		recs := decodeGUIDEBody(t, guideBody(guideLine(map[string]string{"AlertId": "1", "DeviceId": "x"}), good("1", "2")))
		if recs[0].Err == nil || recs[1].Err != nil || !strings.Contains(strings.Join(recs[1].Warnings, ""), "line 2 was rejected") {
			t.Fatalf("got %+v, %+v", recs[0].Err, recs[1].Warnings)
		}
	})
}

// TestGUIDEBodies checks byte order marks, CRLF, invalid UTF-8, headers and
// limits.
func TestGUIDEBodies(t *testing.T) {
	row := guideLine(map[string]string{"EntityType": "Ip", "IpAddress": "12"})
	t.Run("BOMAndCRLF", func(t *testing.T) {
		body := "\xef\xbb\xbf" + strings.ReplaceAll(guideBody(row, strings.Replace(row, ",200,", ",201,", 1)), "\n", "\r\n")
		recs := decodeGUIDEBody(t, body)
		if len(recs) != 2 || recs[0].Err != nil || recs[1].Err != nil || recs[1].Line != 3 {
			t.Fatalf("got %+v", recs)
		}
		if raw := string(recs[0].Alert.Raw); strings.Contains(raw, `\r`) {
			t.Errorf("raw %s keeps the CR", raw)
		}
	})
	t.Run("InvalidUTF8", func(t *testing.T) {
		recs := decodeGUIDEBody(t, guideBody(strings.Replace(row, "LateralMovement", "Lateral\xffMovement", 1)))
		r := recs[0]
		if r.Err != nil || r.Alert.Category != "Lateral\uFFFDMovement" || !slices.Contains(r.Warnings, "invalid UTF-8 was replaced by U+FFFD") || !json.Valid(r.Alert.Raw) {
			t.Fatalf("got %v, category %q, warnings %q", r.Err, r.Alert.Category, r.Warnings)
		}
	})
	t.Run("QuotedFields", func(t *testing.T) {
		recs := decodeGUIDEBody(t, guideBody(strings.Replace(row, "LateralMovement", `"Lateral ""Movement"""`, 1)))
		if r := recs[0]; r.Err != nil || r.Alert.Category != `Lateral "Movement"` {
			t.Fatalf("got %v, %+v", r.Err, r.Alert)
		}
	})
	t.Run("ColumnsInAnotherOrderWithoutUsage", func(t *testing.T) {
		cols := slices.Clone(guideColumnNames[:gUsage])
		vals := strings.Split(row, ",")[:gUsage]
		cols[0], cols[1], vals[0], vals[1] = cols[1], cols[0], vals[1], vals[0]
		recs := decodeGUIDEBody(t, strings.Join(cols, ",")+"\n"+strings.Join(vals, ",")+"\n")
		if r := recs[0]; r.Err != nil || r.Alert.TenantID != "guide-org-7" {
			t.Fatalf("got %v, %+v", r.Err, r.Alert)
		}
	})
	for _, tc := range []struct {
		name, body string
		code       string
		msg        string
	}{
		{"Empty", "\xef\xbb\xbf \n", weft.EINVALID, "the body is empty"},
		{"MissingColumn", strings.Replace(guideHeader, ",Url,", ",", 1) + "\n", weft.EINVALID, "line 1: the GUIDE header lacks the column(s) Url;"},
		{"DuplicateColumn", guideHeader + ",Url\n", weft.EINVALID, "line 1: the GUIDE header names the column Url twice (columns 18 and 47)"},
		{"TooManyRecords", guideBody(row, strings.Replace(row, ",200,", ",201,", 1), strings.Replace(row, ",200,", ",202,", 1)), weft.ETOOLARGE, "more than 2 records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Decode([]byte(tc.body), false, FormatGUIDE, Limits{MaxRecords: 2}, guideNow)
			if recs != nil || weft.ErrorCode(err) != tc.code || !strings.Contains(weft.ErrorMessage(err), tc.msg) {
				t.Fatalf("got %d records, %v; want %s %q", len(recs), err, tc.code, tc.msg)
			}
		})
	}
	t.Run("RowTooLong", func(t *testing.T) {
		recs, err := Decode([]byte(guideBody(row)), false, FormatGUIDE, Limits{MaxRecordBytes: 100}, guideNow)
		if err != nil || recs[0].Err == nil || !strings.Contains(recs[0].Err.Message, "the limit is 100 bytes") {
			t.Fatalf("got %v, %+v", err, recs)
		}
	})
	t.Run("RawCapped", func(t *testing.T) {
		rows := make([]string, 600) // about 200 bytes each: more than weft.MaxRawBytes
		for i := range rows {
			rows[i] = guideLine(map[string]string{"Id": fmt.Sprint(i), "EntityType": "Ip", "IpAddress": fmt.Sprint(i)})
		}
		recs := decodeGUIDEBody(t, guideBody(rows...))
		r := recs[0]
		if r.Err != nil || len(r.Alert.Evidence) != 600 || len(r.Alert.Raw) > weft.MaxRawBytes || !json.Valid(r.Alert.Raw) {
			t.Fatalf("got %v, %d evidence, raw %d bytes", r.Err, len(r.Alert.Evidence), len(r.Alert.Raw))
		}
		if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], "raw keeps the first ") {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
}

// TestGUIDEFormat checks that GUIDE is told from its header, named by
// ParseFormat, and never taken for JSON.
func TestGUIDEFormat(t *testing.T) {
	if f, err := ParseFormat("GUIDE"); f != FormatGUIDE || err != nil {
		t.Errorf("ParseFormat: %q, %v", f, err)
	}
	for body, want := range map[string]bool{
		guideHeader + "\n":                                                           true,
		"\xef\xbb\xbf" + guideHeader + "\r\n":                                        true,
		`"OrgId","AlertId","IncidentId","EntityType","EvidenceRole"`:                 true,
		`{"OrgId":1,"AlertId":2,"IncidentId":3,"EntityType":"x","EvidenceRole":"y"}`: false,
		"Id,OrgId,IncidentId,AlertId\n":                                              false,
		"":                                                                           false,
	} {
		if got := looksLikeGUIDE([]byte(body)); got != want {
			t.Errorf("looksLikeGUIDE(%.40q) = %v, want %v", body, got, want)
		}
	}
	recs, err := Decode([]byte(`{"source":"s","providerAlertId":"1","title":"t"}`), false, FormatGUIDE, Limits{}, guideNow)
	if recs != nil || weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "line 1: the body does not start with a GUIDE CSV header") {
		t.Errorf("JSON named GUIDE: %v, %v", recs, err)
	}
}

// FuzzGUIDE checks that decoding a GUIDE body never panics and that what it
// returns is well formed: records in order, each with exactly one of an
// alert and an error; alerts of source guide whose raw, additional data and
// evidence properties are JSON, and whose evidence carries no absent
// constant.
func FuzzGUIDE(f *testing.F) {
	sample, err := os.ReadFile(guideSamplePath)
	if err != nil {
		f.Fatal(err)
	}
	// Small seeds: the fuzzer minimizes every input it finds interesting,
	// and minimizing the whole 15 KB sample stalls it for a minute.
	lines := strings.SplitAfter(string(sample), "\n")
	f.Add([]byte(strings.Join(lines[:4], "")))
	f.Add([]byte(strings.ReplaceAll(strings.Join(lines[:6], ""), "\n", "\r\n")))
	f.Add([]byte(guideBody(guideLine(nil), guideLine(map[string]string{"Id": "2", "EntityType": "Machine", "DeviceId": "3"}))))
	f.Add([]byte(guideHeader + "\n\"a\nb\",1\n"))
	f.Add([]byte(lines[0] + lines[57] + lines[58])) // the sample's short row
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxRecordBytes: 4096, MaxRecords: 64}
		recs, err := Decode(body, false, FormatGUIDE, lim, guideNow)
		if err != nil {
			checkBodyError(t, recs, err)
			return
		}
		checkDecoded(t, recs, lim, func(r Record) {
			a := r.Alert
			if a.Source != guideSource || a.ProviderAlertID == "" || r.SourceIncident == "" || a.ID == "" {
				t.Fatalf("record %d: accepted without source, id or incident: %+v", r.Index, a)
			}
			for i, e := range a.Evidence {
				if e.Properties == nil { // checkDecoded has checked the others
					t.Fatalf("record %d: evidence[%d].properties is not a JSON object: %q", r.Index, i, e.Properties)
				}
				for _, id := range e.Identifiers() {
					if f := guideAbsentIn(strings.ToLower(id.Value)); f != "" {
						t.Fatalf("record %d: evidence[%d] links on %s, made of an absent constant (%s)", r.Index, i, id, f)
					}
				}
			}
		})
	})
}

// guideAbsentIdentifiers are what the documented absent constants would
// become in identifiers if they were not dropped.
var guideAbsentIdentifiers = []string{
	"guide-device-98799", "guide-host-153085", "guide-sid-441377", "guide-aad-425863", "upn-673934@",
	"guide-account-453297", "guide-message-529644", "url-160396.", "guide-registry-key-1631",
	"guide-registry-value-635", "guide-registry-data-860", "guide-app-2251", "guide-oauth-app-881",
	"guide-resource-3586", "guide-file-289573", "guide-folder-117668", guideIP(360606),
	"f" + strings.Repeat("0", 57) + "138268",
}

// guideAbsentIn returns the absent identifier that v holds as a whole token
// (not followed by another digit), or "".
func guideAbsentIn(v string) string {
	for _, f := range guideAbsentIdentifiers {
		if i := strings.Index(v, f); i >= 0 && (i+len(f) == len(v) || v[i+len(f)] < '0' || v[i+len(f)] > '9') {
			return f
		}
	}
	return ""
}

// guideBench returns a GUIDE-shaped body of about n rows: the sample's good
// rows repeated with fresh row, alert and incident ids, every alert given 1
// to 4 rows, over 200 organisations.
func guideBench(tb testing.TB, n int) []byte {
	sample, err := os.ReadFile(guideSamplePath)
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sample)), "\n")
	var rows [][]string
	for _, l := range lines[1:] {
		if f := strings.Split(l, ","); len(f) == gColumns {
			rows = append(rows, f)
		}
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	alert := 0
	for i := 0; i < n; alert++ {
		for k := 0; k <= alert%4 && i < n; k, i = k+1, i+1 {
			f := slices.Clone(rows[i%len(rows)])
			f[gID], f[gOrgID] = fmt.Sprint(i), fmt.Sprint(alert%200)
			f[gIncidentID], f[gAlertID] = fmt.Sprint(alert/3), fmt.Sprint(alert)
			b.WriteString(strings.Join(f, ","))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// BenchmarkDecodeGUIDE decodes a synthetic GUIDE body of 100,000 rows built
// from the sample's and reports rows/s, alerts/s and MB/s.
func BenchmarkDecodeGUIDE(b *testing.B) {
	const n = 100000
	body := guideBench(b, n)
	recs, err := Decode(body, false, FormatGUIDE, Limits{MaxRecords: n}, guideNow)
	if err != nil {
		b.Fatal(err)
	}
	alerts := len(recs)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		recs, err := Decode(body, false, FormatGUIDE, Limits{MaxRecords: n}, guideNow)
		if err != nil || len(recs) != alerts || recs[0].Err != nil {
			b.Fatalf("Decode: %v, %d records", err, len(recs))
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*n/sec, "rows/s")
	b.ReportMetric(float64(b.N)*float64(alerts)/sec, "alerts/s")
	b.ReportMetric(float64(b.N)*float64(len(body))/sec/1e6, "MB/s")
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(b.N)*n/cpu, "rows/cpu-s")
	}
}
