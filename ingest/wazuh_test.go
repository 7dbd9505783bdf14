package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// wazuhPinned are the counts of every Wazuh sample. The shared samples
// (GPL-3.0) are read where they are and never copied into the repository;
// wazuh_alerts.ndjson is written by hand. Its last alert has a timestamp
// without a zone, hence the warning.
var wazuhPinned = map[string]sampleCounts{
	"ossec_insect.json":   {497, map[weft.EntityType]int{weft.EntityDevice: 832, weft.EntityIP: 324, weft.EntityUser: 195, weft.EntityURL: 85, weft.EntityDomain: 7}, 0},
	"ossec_spiral.json":   {865, map[weft.EntityType]int{weft.EntityDevice: 1463, weft.EntityIP: 534, weft.EntityUser: 356, weft.EntityURL: 135, weft.EntityDomain: 12}, 0},
	"wazuh_alerts.ndjson": {5, map[weft.EntityType]int{weft.EntityDevice: 6, weft.EntityIP: 4, weft.EntityUser: 3, weft.EntityURL: 1, weft.EntityDomain: 1, weft.EntityFile: 1, weft.EntityProcess: 1}, 1},
}

// TestDecodeWazuhSamples decodes every Wazuh sample, auto-detected and
// named, as NDJSON (the body is told to be NDJSON, and found to be when it
// is not told), with no rejects, and pins the counts of alerts and
// evidence.
func TestDecodeWazuhSamples(t *testing.T) {
	files := sharedSamples(t, "wazuh", "ossec_*.json")
	local, _ := filepath.Glob(filepath.Join("testdata", "wazuh", "*.ndjson"))
	for _, file := range append(files, local...) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := wazuhPinned[name]
			if !ok {
				t.Fatalf("no pinned counts for %s", name)
			}
			for _, ndjson := range []bool{true, false} {
				for _, format := range []Format{FormatAuto, FormatWazuh} {
					got, alerts := countSample(t, body, ndjson, format)
					if got.alerts != want.alerts || got.warned != want.warned || !equalCounts(got.evidence, want.evidence) {
						t.Errorf("ndjson %v, format %q: got %d alerts (%d warned), evidence %v; want %d (%d), %v",
							ndjson, format, got.alerts, got.warned, got.evidence, want.alerts, want.warned, want.evidence)
					}
					for _, a := range alerts {
						if a.Source != "wazuh" || a.DetectorID == "" || a.Severity == weft.SeverityUnknown {
							t.Fatalf("%s: source %q, detector %q, severity %q", a.ProviderAlertID, a.Source, a.DetectorID, a.Severity)
						}
					}
				}
			}
		})
	}
}

// wazuhLine returns line n (from 1) of testdata/wazuh/wazuh_alerts.ndjson.
func wazuhLine(t *testing.T, n int) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(readTestdata(t, "wazuh/wazuh_alerts.ndjson"))), "\n")
	return lines[n-1]
}

// wazuhAlert returns a minimal Wazuh alert with extra members added.
func wazuhAlert(extra string) string {
	rec := `{"timestamp":"2026-11-27T10:00:00.000+0000","rule":{"level":5,"description":"Test rule","id":"100001","groups":["local"]},"agent":{"id":"001","name":"host-1"},"manager":{"name":"mgr"},"id":"1764237600.42"`
	if extra != "" {
		rec += "," + extra
	}
	return rec + "}"
}

// wazuhRuleWith returns a minimal Wazuh alert whose rule object has the
// given members.
func wazuhRuleWith(rule string) string {
	return `{"timestamp":"2026-11-27T10:00:00Z","rule":{` + rule + `},"agent":{"id":"001","name":"host-1"},"id":"1764237600.42"}`
}

func TestDecodeWazuhMapping(t *testing.T) {
	t.Run("SSHBruteForce", func(t *testing.T) {
		a := alertOf(t, wazuhLine(t, 1), FormatAuto)
		wantAlert(t, a, "wazuh", "wazuh-manager/1764234001.1234567", weft.SeverityMedium)
		if a.DetectorID != "5712" || a.Title != "sshd: brute force trying to get access to the system. Non existent user." ||
			a.Category != "Credential Access" || a.ProductName != "Wazuh" || !strings.HasPrefix(a.Description, "Nov 27 09:00:01 web-01 sshd") {
			t.Errorf("detector %q, title %q, category %q, product %q, description %q", a.DetectorID, a.Title, a.Category, a.ProductName, a.Description)
		}
		if !slices.Equal(a.MitreTechniques, []string{"T1110"}) {
			t.Errorf("mitre %v", a.MitreTechniques)
		}
		at := time.Date(2026, 11, 27, 9, 0, 1, 123e6, time.UTC)
		if !a.FirstActivityDateTime.Equal(at) || !a.LastActivityDateTime.Equal(at) {
			t.Errorf("activity %v–%v, want %v", a.FirstActivityDateTime, a.LastActivityDateTime, at)
		}
		// predecoder.hostname web-01 is the agent web-01.example.org: one device.
		wantTypes(t, a, weft.EntityDevice, weft.EntityIP, weft.EntityUser)
		if d := a.Evidence[0]; d.HostName != "web-01.example.org" || !slices.Equal(d.IPInterfaces, []string{"10.20.0.11"}) || !slices.Equal(d.DetailedRoles, []string{"agent"}) {
			t.Errorf("device %+v", d)
		}
		if ip := a.Evidence[1]; ip.IPAddress != "198.51.100.23" || !slices.Equal(ip.Roles, []weft.EvidenceRole{"source"}) || !slices.Equal(ip.DetailedRoles, []string{"data.srcip"}) {
			t.Errorf("ip %+v", ip)
		}
		if u := a.Evidence[2].UserAccount; u == nil || u.AccountName != "admin" {
			t.Errorf("user %+v", u)
		}
		ad := object(t, a.AdditionalData)
		for _, k := range []string{"id", "rule", "agent", "manager", "decoder", "data", "location", "predecoder"} {
			if _, ok := ad[k]; !ok {
				t.Errorf("additionalData has no %s: %s", k, a.AdditionalData)
			}
		}
		for _, k := range []string{"timestamp", "full_log"} {
			if _, ok := ad[k]; ok {
				t.Errorf("additionalData has %s", k)
			}
		}
	})
	t.Run("SyscheckModified", func(t *testing.T) {
		a := alertOf(t, wazuhLine(t, 2), FormatWazuh)
		wantAlert(t, a, "wazuh", "wazuh-manager/1764234300.1239999", weft.SeverityMedium)
		wantTypes(t, a, weft.EntityDevice, weft.EntityFile)
		f := a.Evidence[1]
		fd := f.FileDetails
		if fd == nil || fd.FileName != "sshd" || fd.FilePath != "/usr/bin" || fd.FileSize != 884800 ||
			fd.Md5 != "7d793037a0760186574b0282f2f435e7" || fd.Sha1 != "f572d396fae9206628714fb2ce00f72e94f2258f" ||
			fd.Sha256 != "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" {
			t.Errorf("file %+v", fd)
		}
		if !slices.Equal(f.Roles, []weft.EvidenceRole{"edited"}) {
			t.Errorf("roles %v", f.Roles)
		}
	})
	t.Run("SysmonProcess", func(t *testing.T) {
		a := alertOf(t, wazuhLine(t, 3), FormatAuto)
		if a.Severity != weft.SeverityHigh || a.Category != "Execution" || !slices.Equal(a.MitreTechniques, []string{"T1059.001", "T1027"}) {
			t.Errorf("severity %q, category %q, mitre %v", a.Severity, a.Category, a.MitreTechniques)
		}
		wantTypes(t, a, weft.EntityDevice, weft.EntityDevice, weft.EntityUser, weft.EntityProcess)
		if d := a.Evidence[1]; d.HostName != "WS-042.corp.example.com" {
			t.Errorf("computer %+v", d)
		}
		if u := a.Evidence[2].UserAccount; u == nil || u.AccountName != `CORP\jdoe` {
			t.Errorf("user %+v", u)
		}
		p := a.Evidence[3]
		if p.ProcessID != 4312 || p.ParentProcessID != 0x1a4 || p.ProcessCommandLine != "powershell.exe -nop -w hidden -enc SQBFAFgA" ||
			p.ImageFile == nil || p.ImageFile.FileName != "powershell.exe" || p.ImageFile.FilePath != `C:\Windows\System32\WindowsPowerShell\v1.0` ||
			p.ImageFile.Sha256 != "DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C" ||
			p.ParentProcessImageFile == nil || p.ParentProcessImageFile.FileName != "explorer.exe" {
			t.Errorf("process %+v, image %+v", p, p.ImageFile)
		}
	})
	t.Run("SuricataThroughWazuh", func(t *testing.T) {
		a := alertOf(t, wazuhLine(t, 4), FormatAuto)
		if a.Severity != weft.SeverityLow || a.Category != "ids" {
			t.Errorf("severity %q, category %q", a.Severity, a.Category)
		}
		wantTypes(t, a, weft.EntityDevice, weft.EntityIP, weft.EntityIP, weft.EntityDomain, weft.EntityURL)
		if u := a.Evidence[4].URL; u != "http://downloads.example.net/tools/x.sh" {
			t.Errorf("url %q", u)
		}
	})
	t.Run("AddressWithPortAndZonelessTime", func(t *testing.T) {
		r := one(t, wazuhLine(t, 5), FormatAuto)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		a := r.Alert
		if a.Severity != weft.SeverityInformational || !a.FirstActivityDateTime.Equal(time.Date(2026, 11, 27, 9, 20, 0, 0, time.UTC)) {
			t.Errorf("severity %q, time %v", a.Severity, a.FirstActivityDateTime)
		}
		if !hasWarning(r.Warnings, "has no time zone offset: read as UTC") {
			t.Errorf("warnings %q", r.Warnings)
		}
		wantTypes(t, a, weft.EntityDevice, weft.EntityIP, weft.EntityUser)
		if ip := a.Evidence[1].IPAddress; ip != "10.20.0.5" {
			t.Errorf("ip %q", ip)
		}
	})
	t.Run("NoManager", func(t *testing.T) {
		a := alertOf(t, wazuhRuleWith(`"id":"1","level":3,"description":"d"`), FormatWazuh)
		if a.ProviderAlertID != "1764237600.42" {
			t.Errorf("id %q", a.ProviderAlertID)
		}
	})
	t.Run("SyslogHostBesideAgent", func(t *testing.T) {
		a := alertOf(t, wazuhAlert(`"predecoder":{"hostname":"mail"}`), FormatAuto)
		wantTypes(t, a, weft.EntityDevice, weft.EntityDevice)
		if d := a.Evidence[1]; d.HostName != "mail" || !slices.Equal(d.DetailedRoles, []string{"predecoder.hostname"}) {
			t.Errorf("device %+v", d)
		}
	})
	t.Run("SameUserTwice", func(t *testing.T) {
		a := alertOf(t, wazuhAlert(`"data":{"srcuser":"root","dstuser":"root"}`), FormatAuto)
		wantTypes(t, a, weft.EntityDevice, weft.EntityUser)
		if r := a.Evidence[1].DetailedRoles; !slices.Equal(r, []string{"data.srcuser", "data.dstuser"}) {
			t.Errorf("detailed roles %v", r)
		}
	})
	t.Run("UPNUser", func(t *testing.T) {
		a := alertOf(t, wazuhAlert(`"data":{"dstuser":"Alice@Example.com"}`), FormatAuto)
		if u := a.Evidence[1].UserAccount; u == nil || u.UserPrincipalName != "Alice@Example.com" {
			t.Errorf("user %+v", u)
		}
	})
}

func TestDecodeWazuhSeverity(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  weft.Severity
	}{
		{"0", weft.SeverityInformational}, {"3", weft.SeverityInformational}, {"4", weft.SeverityLow}, {"6", weft.SeverityLow},
		{"7", weft.SeverityMedium}, {"11", weft.SeverityMedium}, {"12", weft.SeverityHigh}, {"15", weft.SeverityHigh},
		{"16", weft.SeverityHigh}, {"null", weft.SeverityUnknown},
	} {
		a := alertOf(t, wazuhRuleWith(`"id":"1","description":"d","level":`+tc.level), FormatWazuh)
		if a.Severity != tc.want {
			t.Errorf("level %s: got %q, want %q", tc.level, a.Severity, tc.want)
		}
	}
}

func TestDecodeWazuhDuplicates(t *testing.T) {
	line := wazuhLine(t, 1)
	recs := decode(t, line+"\n"+line+"\n"+strings.Replace(line, `"name":"wazuh-manager"`, `"name":"wazuh-worker-2"`, 1)+"\n", true, FormatAuto)
	if recs[0].Err != nil || recs[1].Err != nil || recs[2].Err != nil {
		t.Fatalf("rejected: %v, %v, %v", recs[0].Err, recs[1].Err, recs[2].Err)
	}
	if recs[0].Alert.ID != recs[1].Alert.ID {
		t.Errorf("an alert sent twice: ids %s, %s", recs[0].Alert.ID, recs[1].Alert.ID)
	}
	if recs[0].Alert.ID == recs[2].Alert.ID {
		t.Errorf("the same id from another manager is the same alert %s", recs[0].Alert.ID)
	}
}

func TestDecodeWazuhBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, msg string
	}{
		{"ErrNoID", `{"timestamp":"2026-11-27T10:00:00Z","rule":{"id":"1","level":3},"agent":{"name":"h"}}`, "id", "is required (the Wazuh alert id)"},
		{"ErrIDNumber", `{"timestamp":"2026-11-27T10:00:00Z","rule":{"id":"1","level":3},"agent":{"name":"h"},"id":1.5}`, "id", "expected a string, got a number"},
		{"ErrNoRule", `{"timestamp":"2026-11-27T10:00:00Z","agent":{"name":"h"},"decoder":{},"id":"1"}`, "rule", "is required"},
		{"ErrNoRuleID", wazuhRuleWith(`"level":3,"description":"d"`), "rule.id", "is required"},
		{"ErrLevelString", wazuhRuleWith(`"id":"1","level":"5"`), "rule.level", "expected an integer, got a string"},
		{"ErrLevelTooHigh", wazuhRuleWith(`"id":"1","level":99`), "rule.level", "99 is not a Wazuh rule level (0–16)"},
		{"ErrLevelNegative", wazuhRuleWith(`"id":"1","level":-1`), "rule.level", "-1 is not a Wazuh rule level"},
		{"ErrGroupsString", wazuhRuleWith(`"id":"1","groups":"ids"`), "rule.groups", "expected an array of strings, got a string"},
		{"ErrMitreIDNotArray", wazuhRuleWith(`"id":"1","mitre":{"id":"T1110"}`), "rule.mitre.id", "expected an array of strings, got a string"},
		{"ErrAgentString", `{"timestamp":"2026-11-27T10:00:00Z","rule":{"id":"1"},"agent":"h","id":"1"}`, "agent", "expected an object, got a string"},
		{"ErrSrcIPNumber", wazuhAlert(`"data":{"srcip":10}`), "data.srcip", "expected a string, got a number"},
		{"ErrEventDataArray", wazuhAlert(`"data":{"win":{"eventdata":[]}}`), "data.win.eventdata", "expected an object, got an array"},
		{"ErrSyscheckPathNumber", wazuhAlert(`"syscheck":{"path":1}`), "syscheck.path", "expected a string, got a number"},
		{"ErrDuplicateName", wazuhAlert(`"data":{"srcip":"192.0.2.1","srcip":"192.0.2.2"}`), "data.srcip", "appears twice"},
		{"ErrNoTimestamp", `{"rule":{"id":"1"},"agent":{"name":"h"},"id":"1"}`, "timestamp", "is required"},
		{"ErrBadTimestamp", strings.Replace(wazuhAlert(""), "2026-11-27T10:00:00.000+0000", "Nov 27 10:00:00", 1), "timestamp", `"Nov 27 10:00:00" is not a timestamp`},
		{"ErrFutureTimestamp", strings.Replace(wazuhAlert(""), "2026-11-27", "2026-12-27", 1), "timestamp", "in the future"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, tc.body, FormatWazuh)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %q: %q; want %q: …%q…", e.Field, e.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestDecodeWazuhRepairs(t *testing.T) {
	t.Run("NotAnAddressWarned", func(t *testing.T) {
		r := one(t, wazuhAlert(`"data":{"srcip":"unknown","dstip":"[2001:db8::1]:443"}`), FormatWazuh)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		wantTypes(t, r.Alert, weft.EntityDevice, weft.EntityIP)
		if ip := r.Alert.Evidence[1].IPAddress; ip != "2001:db8::1" {
			t.Errorf("ip %q", ip)
		}
		if !hasWarning(r.Warnings, `data.srcip: "unknown" is not an IP address`) {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("EmptyDescriptionTitled", func(t *testing.T) {
		r := one(t, wazuhRuleWith(`"id":"5712","level":3`), FormatWazuh)
		if r.Err != nil || r.Alert.Title != "Wazuh rule 5712" || !hasWarning(r.Warnings, "rule.description is empty") {
			t.Errorf("got %v, %+v, %q", r.Err, r.Alert, r.Warnings)
		}
	})
	t.Run("InvalidUTF8Replaced", func(t *testing.T) {
		r := one(t, strings.Replace(wazuhAlert(""), "Test rule", "Test \xc3 rule", 1), FormatAuto)
		if r.Err != nil || r.Alert.Title != "Test \uFFFD rule" || !hasWarning(r.Warnings, "invalid UTF-8") {
			t.Errorf("got %v, %q, %q", r.Err, r.Alert.Title, r.Warnings)
		}
	})
	t.Run("BOMAndCRLF", func(t *testing.T) {
		body := "\xEF\xBB\xBF" + wazuhLine(t, 1) + "\r\n" + wazuhLine(t, 2) + "\r\n"
		recs := decode(t, body, false, FormatAuto)
		if len(recs) != 2 || recs[0].Err != nil || recs[1].Err != nil {
			t.Fatalf("got %+v", recs)
		}
	})
	t.Run("LongCommandLineCut", func(t *testing.T) {
		cmd := strings.Repeat("A", 900<<10)
		r := one(t, wazuhAlert(`"data":{"win":{"eventdata":{"image":"C:\\x.exe","commandLine":"`+cmd+`"}}}`), FormatWazuh)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		p := r.Alert.Evidence[1]
		if len(p.ProcessCommandLine) > weft.MaxFieldBytes+len("…") || !hasWarning(r.Warnings, "were cut") {
			t.Errorf("command line of %d bytes, warnings %q", len(p.ProcessCommandLine), r.Warnings)
		}
	})
	t.Run("ErrTenMegabyteCommandLine", func(t *testing.T) {
		cmd := strings.Repeat("A", 10<<20)
		e := rejection(t, wazuhAlert(`"data":{"win":{"eventdata":{"commandLine":"`+cmd+`"}}}`), FormatWazuh)
		if !strings.Contains(e.Message, "the limit is 1048576 bytes") {
			t.Errorf("got %q", e.Message)
		}
	})
	t.Run("TruncatedLineAlone", func(t *testing.T) {
		line := wazuhLine(t, 3)
		recs := decode(t, wazuhLine(t, 1)+"\n"+line[:len(line)-40]+"\n"+wazuhLine(t, 2)+"\n", true, FormatAuto)
		if len(recs) != 3 || recs[0].Err != nil || recs[1].Err == nil || recs[2].Err != nil {
			t.Fatalf("got %+v", recs)
		}
	})
}

// FuzzWazuh checks that the Wazuh decoder never panics, named or
// auto-detected, and that what it accepts is well formed.
func FuzzWazuh(f *testing.F) {
	addForeignSeeds(f, "wazuh")
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		fuzzForeign(t, body, ndjson, FormatWazuh, "wazuh")
	})
}

// BenchmarkDecodeWazuh decodes the shared Wazuh samples (NDJSON, 1,362
// alerts, 1.3 MB) and reports records/s, MB/s and records per CPU second.
func BenchmarkDecodeWazuh(b *testing.B) {
	var body bytes.Buffer
	for _, file := range sharedSamples(b, "wazuh", "ossec_*.json") {
		raw, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		body.Write(raw)
	}
	benchmarkDecode(b, body.Bytes(), FormatWazuh)
}
