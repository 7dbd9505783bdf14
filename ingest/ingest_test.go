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

// now is the ingest time of every test: a day after the testdata samples.
var now = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

// decode decodes body and fails the test on a body-level error.
func decode(t *testing.T, body string, ndjson bool, format Format) []Record {
	t.Helper()
	recs, err := Decode([]byte(body), ndjson, format, Limits{}, now)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkRecords(t, recs)
	return recs
}

// checkRecords checks what holds for every decoded body: exactly one of
// Alert and Err per record, indexes in order, lines never going back.
func checkRecords(t testing.TB, recs []Record) {
	t.Helper()
	line := 0
	for i, r := range recs {
		if (r.Alert == nil) == (r.Err == nil) {
			t.Fatalf("record %d: Alert %v, Err %v: want exactly one", i, r.Alert != nil, r.Err)
		}
		if r.Index != i {
			t.Fatalf("record %d: Index %d", i, r.Index)
		}
		if r.Line < 1 || r.Line < line {
			t.Fatalf("record %d: Line %d after line %d", i, r.Line, line)
		}
		line = r.Line
		if r.Err != nil && (r.Err.Index != r.Index || r.Err.Line != r.Line) {
			t.Fatalf("record %d: Err at %d/%d, record at %d/%d", i, r.Err.Index, r.Err.Line, r.Index, r.Line)
		}
	}
}

// one decodes a body of one record and returns it.
func one(t *testing.T, body string, format Format) Record {
	t.Helper()
	recs := decode(t, body, false, format)
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	return recs[0]
}

// alertOf decodes a body of one record that must be accepted.
func alertOf(t *testing.T, body string, format Format) *weft.Alert {
	t.Helper()
	r := one(t, body, format)
	if r.Err != nil {
		t.Fatalf("rejected: %v", r.Err)
	}
	return r.Alert
}

// rejection decodes a body of one record that must be rejected.
func rejection(t *testing.T, body string, format Format) *RecordError {
	t.Helper()
	r := one(t, body, format)
	if r.Err == nil {
		t.Fatalf("accepted: %+v", r.Alert)
	}
	return r.Err
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// object parses a JSON object that weft kept raw, for comparisons.
func object(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, raw)
	}
	return m
}

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{{"", FormatAuto}, {"auto", FormatAuto}, {"AUTO", FormatAuto}, {"weft", FormatWeft}, {"Graph", FormatGraph},
		{"ocsf", FormatOCSF}, {"Elastic", FormatElastic}, {" suricata", FormatSuricata}, {"wazuh", FormatWazuh}, {"GUIDE", FormatGUIDE}} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := ParseFormat("cef")
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "allowed: auto, weft, graph, ocsf, elastic, suricata, wazuh, guide") {
			t.Fatalf("got %v, want EINVALID naming the allowed values", err)
		}
	})
}

func TestRecordErrorMessage(t *testing.T) {
	e := &RecordError{Index: 2, Line: 3, Field: "severity", Message: "bad"}
	if got, want := e.Error(), "record 3 (line 3): severity: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e.Field = ""
	if got, want := e.Error(), "record 3 (line 3): bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ndjson     bool
		code, msg  string
	}{
		{"ErrEmpty", "", false, weft.EINVALID, "the body is empty"},
		{"ErrOnlySpace", "\xEF\xBB\xBF \r\n\t\n", false, weft.EINVALID, "the body is empty"},
		{"ErrNotJSON", "hello, world", false, weft.EINVALID, `the body is not JSON`},
		{"ErrNotJSONLines", "hello\nworld\n", true, weft.EINVALID, `got "hello" at line 1`},
		{"ErrScalar", `"an alert"`, false, weft.EINVALID, `the body is not JSON`},
		{"ErrTooMany", strings.Repeat("{}\n", 11), true, weft.ETOOLARGE, "more than 10 records"},
		{"ErrTooManyInArray", "[" + strings.Repeat("{},", 10) + "{}]", false, weft.ETOOLARGE, "more than 10 records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Decode([]byte(tc.body), tc.ndjson, FormatAuto, Limits{MaxRecords: 10}, now)
			if recs != nil || weft.ErrorCode(err) != tc.code || !strings.Contains(weft.ErrorMessage(err), tc.msg) {
				t.Fatalf("got %d records, %v; want code %s with %q", len(recs), err, tc.code, tc.msg)
			}
		})
	}
	t.Run("ErrUnknownFormat", func(t *testing.T) {
		_, err := Decode([]byte("{}"), false, Format("xml"), Limits{}, now)
		if weft.ErrorCode(err) != weft.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})
	t.Run("EmptyArrayOK", func(t *testing.T) {
		if recs := decode(t, " [ ] ", false, FormatAuto); len(recs) != 0 {
			t.Fatalf("got %d records, want 0", len(recs))
		}
	})
}

// TestDecodeSamples decodes every sample in testdata and checks what each
// is about.
func TestDecodeSamples(t *testing.T) {
	for _, tc := range []struct {
		file   string
		ndjson bool
		check  func(t *testing.T, recs []Record)
	}{
		{"graph_mde.json", false, func(t *testing.T, recs []Record) {
			a := recs[0].Alert
			wantAlert(t, a, "microsoftDefenderForEndpoint", "da637578995287051192_756343937", weft.SeverityMedium)
			if a.TenantID != "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c" || a.Category != "DefenseEvasion" || a.DetectionSource != "antivirus" {
				t.Errorf("tenant %q, category %q, detection source %q", a.TenantID, a.Category, a.DetectionSource)
			}
			if got := a.ProviderCreatedDateTime; got == nil || !got.Equal(time.Date(2021, 4, 27, 12, 19, 27, 721130500, time.UTC)) {
				t.Errorf("ProviderCreatedDateTime = %v", got)
			}
			wantTypes(t, a, weft.EntityDevice, weft.EntityFile, weft.EntityProcess, weft.EntityUser, weft.EntityRegistryKey)
			dev, proc := a.Evidence[0], a.Evidence[2]
			if dev.OsBuild != 22424 || dev.MdeDeviceID != "73e7e2de709dff64ef64b1d0c30e67fab63279db" || len(dev.Roles) != 1 || dev.Roles[0] != "compromised" {
				t.Errorf("device evidence: %+v", dev)
			}
			props := object(t, dev.Properties)
			for _, k := range []string{"loggedOnUsers", "vmMetadata", "rbacGroupId", "onboardingStatus", "firstSeenDateTime"} {
				if _, ok := props[k]; !ok {
					t.Errorf("device evidence properties lack %s: %s", k, dev.Properties)
				}
			}
			if proc.ProcessID != 4780 || proc.ParentProcessID != 668 || proc.UserAccount.UserSid != "S-1-5-21-1180699209-877415012-3182924384-1104" ||
				proc.ImageFile.FileName != "MsSense.exe" || proc.ParentProcessImageFile.FileName != "services.exe" {
				t.Errorf("process evidence: %+v", proc)
			}
			if !strings.Contains(proc.ProcessCommandLine, "<script>") {
				t.Errorf("command line not kept byte-exact: %q", proc.ProcessCommandLine)
			}
			if object(t, a.Evidence[1].Properties)["fileDetails"] == nil {
				t.Errorf("fileDetails.sha256Ac not kept: %s", a.Evidence[1].Properties)
			}
			data := object(t, a.AdditionalData)
			if data["graphProviderAlertId"] != "637578995287051192_756343937" || data["graphIncidentId"] != "28282" {
				t.Errorf("additionalData = %s", a.AdditionalData)
			}
			if len(a.Comments) != 1 || a.Comments[0].CreatedByDisplayName != "secAdmin@contoso.onmicrosoft.com" {
				t.Errorf("comments = %+v", a.Comments)
			}
		}},
		{"graph_mdo_phish.json", false, func(t *testing.T, recs []Record) {
			a := recs[0].Alert
			wantAlert(t, a, "microsoftDefenderForOffice365", "fa1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", weft.SeverityInformational)
			if a.Status != weft.AlertStatusResolved || a.Classification != weft.ClassificationTruePositive || a.Determination != weft.DeterminationPhishing || a.ResolvedDateTime == nil {
				t.Errorf("status %q, classification %q, determination %q, resolved %v", a.Status, a.Classification, a.Determination, a.ResolvedDateTime)
			}
			wantTypes(t, a, weft.EntityMailbox, weft.EntityEmailMessage, weft.EntityURL, weft.EntityMailCluster)
			mb, msg, cl := a.Evidence[0], a.Evidence[1], a.Evidence[3]
			if mb.PrimaryAddress != "jdoe@contoso.com" || mb.UserAccount.UserPrincipalName != "jdoe@contoso.com" || mb.Roles[0] != "attacked" {
				t.Errorf("mailbox evidence: %+v", mb)
			}
			if msg.SenderAddress != "it-support@contoso-mailbox-quota.example.net" || msg.DeliveryAction != "delivered" ||
				msg.RemediationStatus != "remediated" || msg.ReceivedDateTime == nil || len(msg.URLs) != 1 || msg.Threats[0] != "Phish" {
				t.Errorf("message evidence: %+v", msg)
			}
			if p := object(t, msg.Properties); p["p2Sender"] == nil || p["p1Sender"] == nil || p["urlCount"] == nil {
				t.Errorf("message properties = %s", msg.Properties)
			}
			if cl.EmailCount != 3 || len(cl.NetworkMessageIDs) != 3 || cl.ClusterByValue != "203.0.113.77" {
				t.Errorf("mail cluster evidence: %+v", cl)
			}
			if object(t, a.AdditionalData)["NetworkMessageId"] == nil {
				t.Errorf("custom details lost: %s", a.AdditionalData)
			}
		}},
		{"graph_entra_signin.json", false, func(t *testing.T, recs []Record) {
			a := recs[0].Alert
			wantAlert(t, a, "azureAdIdentityProtection", "ad5e2a8c9f3b5e1c0d7f9a4b6c8e2d1f3a5b7c9e0f2a4b6c", weft.SeverityMedium)
			wantTypes(t, a, weft.EntityUser, weft.EntityIP, weft.EntityCloudApplication)
			if a.Evidence[0].UserAccount.AzureAdUserID != "fc8f7484-f813-4db2-afab-bc1507913fb6" || a.Evidence[1].IPAddress != "198.51.100.23" ||
				a.Evidence[1].Roles[0] != "attacker" || a.Evidence[2].AppID != "11161" {
				t.Errorf("evidence: %+v", a.Evidence)
			}
			if object(t, a.Evidence[1].Properties)["location"] == nil {
				t.Errorf("ip location not kept: %s", a.Evidence[1].Properties)
			}
		}},
		{"graph_unknown_evidence.json", false, func(t *testing.T, recs []Record) {
			a := recs[0].Alert
			wantTypes(t, a, weft.EntityGeneric, weft.EntityGeneric, weft.EntityIP)
			if !hasWarning(recs[0].Warnings, "kubernetesPodEvidence") || !hasWarning(recs[0].Warnings, "madeUpThingEvidence") {
				t.Errorf("warnings = %q", recs[0].Warnings)
			}
		}},
		{"weft_native.json", false, func(t *testing.T, recs []Record) {
			a := recs[0].Alert
			wantAlert(t, a, "suricata", "1764360000.123456-2024897", weft.SeverityHigh)
			if a.TenantID != "acme" || a.IncidentID != 0 || a.CorrelationReasons != nil || !a.CreatedDateTime.Equal(now) {
				t.Errorf("weft-owned fields not ignored: %+v", a)
			}
			if !a.FirstActivityDateTime.Equal(time.Date(2026, 11, 28, 19, 58, 12, 418000000, time.UTC)) {
				t.Errorf("first activity %v: want the +01:00 time in UTC", a.FirstActivityDateTime)
			}
			wantTypes(t, a, weft.EntityIP, weft.EntityIP, weft.EntityDevice, weft.EntityGeneric)
			if g := a.Evidence[3]; g.OdataType != "suricata.flow" || object(t, g.Properties)["app_proto"] != "tls" {
				t.Errorf("generic evidence: %+v", g)
			}
			if object(t, a.AdditionalData)["sensor"] != "edge-fw-2" {
				t.Errorf("additionalData = %s", a.AdditionalData)
			}
		}},
		{"weft_batch.ndjson", true, func(t *testing.T, recs []Record) {
			if len(recs) != 3 {
				t.Fatalf("got %d records, want 3", len(recs))
			}
			if object(t, recs[2].Alert.AdditionalData)["rule"] != "persistence-runkey" || !hasWarning(recs[2].Warnings, "kept in additionalData: rule") {
				t.Errorf("unknown property not kept: %s, %q", recs[2].Alert.AdditionalData, recs[2].Warnings)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := readTestdata(t, tc.file)
			recs, err := Decode(body, tc.ndjson, FormatAuto, Limits{}, now)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, recs)
			for _, r := range recs {
				if r.Err != nil {
					t.Fatalf("rejected: %v", r.Err)
				}
				if r.Alert.Raw == nil || !json.Valid(r.Alert.Raw) {
					t.Errorf("record %d: raw not kept", r.Index)
				}
			}
			tc.check(t, recs)
		})
	}
}

func wantAlert(t *testing.T, a *weft.Alert, source, id string, sev weft.Severity) {
	t.Helper()
	if a.Source != source || a.ProviderAlertID != id || a.Severity != sev {
		t.Errorf("source %q, id %q, severity %q; want %q, %q, %q", a.Source, a.ProviderAlertID, a.Severity, source, id, sev)
	}
	if a.ID != weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID) {
		t.Errorf("ID %q is not derived from tenant, source and provider id", a.ID)
	}
}

func wantTypes(t *testing.T, a *weft.Alert, types ...weft.EntityType) {
	t.Helper()
	if len(a.Evidence) != len(types) {
		t.Fatalf("got %d evidence items, want %d", len(a.Evidence), len(types))
	}
	for i, e := range a.Evidence {
		if e.EntityType != types[i] {
			t.Errorf("evidence[%d] is %q, want %q", i, e.EntityType, types[i])
		}
	}
}
