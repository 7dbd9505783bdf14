package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// docSampleCounts summarizes the alerts of a decoded sample file
// (countSample): how many alerts, then how many evidence items of each
// type, e.g. "alerts=3 device=3 file=4 ip=1".
func docSampleCounts(t *testing.T, file string, format Format) string {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := countSample(t, body, true, format)
	var b strings.Builder
	fmt.Fprintf(&b, "alerts=%d", c.alerts)
	for _, k := range slices.Sorted(maps.Keys(c.evidence)) {
		fmt.Fprintf(&b, " %s=%d", k, c.evidence[k])
	}
	return b.String()
}

// checkDocSamples decodes every sample file of dir, told (auto) and named
// (format), and checks its counts against want, which names every file.
func checkDocSamples(t *testing.T, dir string, format Format, want map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples in testdata/%s: %v", dir, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no pinned counts; add it to the test", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			for _, f := range []Format{FormatAuto, format} {
				if got := docSampleCounts(t, file, f); got != w {
					t.Errorf("format %q: got %s, want %s", f, got, w)
				}
			}
		})
	}
	if len(files) != len(want) {
		t.Errorf("%d sample files, %d pinned", len(files), len(want))
	}
}

func TestOCSFSamples(t *testing.T) {
	checkDocSamples(t, "ocsf", FormatOCSF, map[string]string{
		"detection_finding_edr.ndjson":   "alerts=3 device=3 domain=1 file=5 ip=1 process=3 url=1 user=2",
		"detection_finding_cloud.ndjson": "alerts=2 cloudResource=2 device=1 domain=1 ip=2 user=1",
		"detection_finding_email.ndjson": "alerts=2 emailMessage=2 file=1 ip=1 mailbox=3 url=1 user=1",
		"security_finding_1_0.ndjson":    "alerts=2 cloudResource=2 process=1",
	})
}

// ocsfEDR is the first record of detection_finding_edr.ndjson.
func ocsfEDR(t *testing.T) string {
	t.Helper()
	line, _, _ := strings.Cut(string(readTestdata(t, "ocsf/detection_finding_edr.ndjson")), "\n")
	return line
}

func TestOCSFMapping(t *testing.T) {
	a := alertOf(t, ocsfEDR(t), FormatOCSF)
	for _, c := range []struct{ field, got, want string }{
		{"source", a.Source, "Falcon Insight"},
		{"productName", a.ProductName, "Falcon Insight"},
		{"providerAlertId", a.ProviderAlertID, "ldt:4f1c2a9e0b7d4c11:281492"},
		{"detectorId", a.DetectorID, "10197"},
		{"title", a.Title, "Suspicious encoded PowerShell download"},
		{"category", a.Category, "Execution"},
		{"severity", string(a.Severity), "high"},
		{"status", string(a.Status), "new"},
		{"mitreTechniques", strings.Join(a.MitreTechniques, ","), "T1059,T1059.001,T1105"},
		{"alertWebUrl", a.AlertWebURL, "https://falcon.example.com/activity/detections/detail/4f1c2a9e0b7d4c11/281492"},
		{"firstActivityDateTime", a.FirstActivityDateTime.Format(time.RFC3339), "2026-11-27T07:45:50Z"},
		{"lastActivityDateTime", a.LastActivityDateTime.Format(time.RFC3339), "2026-11-27T07:56:58Z"},
		{"providerCreatedDateTime", a.ProviderCreatedDateTime.Format(time.RFC3339), "2026-11-27T08:01:12Z"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	byRole := map[string]*weft.Evidence{}
	for i := range a.Evidence {
		e := &a.Evidence[i]
		byRole[string(e.EntityType)+" "+e.DetailedRoles[0]] = e
	}
	dev := byRole["device device"]
	if dev == nil || dev.HostName != "WS-0142" || dev.NtDomain != "CONTOSO" || dev.OsPlatform != "Windows 11" || len(dev.IPInterfaces) != 1 {
		t.Errorf("device: got %+v", dev)
	}
	user := byRole["user actor.user"]
	if user == nil || user.UserAccount.AccountName != "jdoe" || user.UserAccount.DomainName != "CONTOSO" || !strings.HasPrefix(user.UserAccount.UserSid, "S-1-5-21-") {
		t.Errorf("actor.user: got %+v", user)
	}
	proc := byRole["process evidences[0].process"]
	if proc == nil || proc.ProcessID != 7412 || proc.ParentProcessID != 5120 || proc.ImageFile.FileName != "powershell.exe" ||
		proc.ImageFile.FilePath != `C:\Windows\System32\WindowsPowerShell\v1.0` || proc.Verdict != "suspicious" || proc.UserAccount == nil {
		t.Errorf("process: got %+v", proc)
	}
	file := byRole["file evidences[1].file"]
	if file == nil || file.FileDetails.Md5 == "" || file.FileDetails.Sha256 == "" || file.FileDetails.FileSize != 482304 || file.Verdict != "malicious" {
		t.Errorf("file: got %+v", file)
	}
	ip := byRole["ip evidences[2].dst_endpoint"]
	if ip == nil || ip.IPAddress != "203.0.113.77" || ip.CountryLetterCode != "NL" || !slices.Equal(ip.Roles, []weft.EvidenceRole{"destination"}) {
		t.Errorf("dst_endpoint: got %+v", ip)
	}
	var extra map[string]any
	if err := json.Unmarshal(a.AdditionalData, &extra); err != nil {
		t.Fatal(err)
	}
	if extra["ocsfSeverityId"] != 4.0 || extra["ocsfVendor"] != "CrowdStrike" || extra["ocsfUnmapped"] == nil {
		t.Errorf("additionalData: got %v", extra)
	}
}

// ocsfWith returns the first sample record with members replaced (a nil
// value deletes the member): set maps a top-level name, or a name inside
// finding_info as "finding_info.name", to its new value.
func ocsfWith(t *testing.T, set map[string]any) string {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(ocsfEDR(t)), &rec); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		obj, name := rec, k
		if parent, child, ok := strings.Cut(k, "."); ok {
			obj, name = rec[parent].(map[string]any), child
		}
		if v == nil {
			delete(obj, name)
		} else {
			obj[name] = v
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOCSFSeverity(t *testing.T) {
	for _, c := range []struct {
		id      any
		caption string
		want    weft.Severity
	}{
		{0, "", "unknown"}, {1, "", "informational"}, {2, "", "low"}, {3, "", "medium"}, {4, "", "high"},
		{5, "", "high"}, {6, "", "high"}, {99, "Critical", "high"}, {99, "Other", "unknown"}, {"3", "", "medium"},
		{nil, "Low", "low"},
	} {
		a := alertOf(t, ocsfWith(t, map[string]any{"severity_id": c.id, "severity": c.caption}), FormatOCSF)
		if a.Severity != c.want {
			t.Errorf("severity_id %v %q: got %q, want %q", c.id, c.caption, a.Severity, c.want)
		}
	}
}

func TestOCSFStatus(t *testing.T) {
	for id, want := range map[int]weft.AlertStatus{1: "new", 2: "inProgress", 3: "resolved", 4: "resolved", 99: "unknown", 42: "unknown"} {
		r := one(t, ocsfWith(t, map[string]any{"status_id": id}), FormatOCSF)
		if r.Err != nil {
			t.Errorf("status_id %d: rejected: %v", id, r.Err)
			continue
		}
		if r.Alert.Status != want {
			t.Errorf("status_id %d: got %+v, want %q", id, r, want)
		}
		if id == 4 && r.Alert.ResolvedDateTime == nil {
			t.Errorf("status_id 4: no resolvedDateTime")
		}
		if id == 42 && !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "status_id: 42") }) {
			t.Errorf("status_id 42: warnings %q", r.Warnings)
		}
	}
}

func TestOCSFBadInput(t *testing.T) {
	long := strings.Repeat("A", 200<<10)
	for _, c := range []struct {
		name, body, field, msg string
	}{
		{"OtherClass", ocsfWith(t, map[string]any{"class_uid": 3002}), "class_uid", "3002 is not a finding class weft reads"},
		{"NoClass", ocsfWith(t, map[string]any{"class_uid": nil}), "class_uid", "is required"},
		{"ClassNotNumber", ocsfWith(t, map[string]any{"class_uid": true}), "class_uid", "expected an integer, got a boolean"},
		{"NoFindingUID", ocsfWith(t, map[string]any{"finding_info.uid": nil}), "finding_info.uid", "is required"},
		{"NoTitle", ocsfWith(t, map[string]any{"finding_info.title": nil, "message": nil, "finding_info.analytic": nil, "finding_info.types": nil}), "finding_info.title", "is required"},
		{"TitleNumber", ocsfWith(t, map[string]any{"finding_info.title": 7}), "finding_info.title", "expected a string, got a number"},
		{"SeverityAbsurd", ocsfWith(t, map[string]any{"severity_id": 7}), "severity_id", "7 is not an OCSF severity"},
		{"SeverityString", ocsfWith(t, map[string]any{"severity_id": "high"}), "severity_id", `expected an integer, got "high"`},
		{"FindingInfoArray", ocsfWith(t, map[string]any{"finding_info": []any{}}), "finding_info", "expected an object, got an array"},
		{"EvidencesObject", ocsfWith(t, map[string]any{"evidences": map[string]any{}}), "evidences", "expected an array of objects"},
		{"EvidenceString", ocsfWith(t, map[string]any{"evidences": []any{"x"}}), "evidences[0]", "expected an object, got a string"},
		{"NegativePort", ocsfWith(t, map[string]any{"evidences": []any{map[string]any{"dst_endpoint": map[string]any{"ip": "192.0.2.1", "port": -1}}}}), "evidences[0].dst_endpoint.port", "-1 is not a port"},
		{"HugePort", ocsfWith(t, map[string]any{"src_endpoint": map[string]any{"ip": "192.0.2.1", "port": 70000}}), "src_endpoint.port", "70000 is not a port"},
		{"NegativePID", ocsfWith(t, map[string]any{"evidences": []any{map[string]any{"process": map[string]any{"pid": -4}}}}), "evidences[0].process.pid", "negative"},
		{"NegativeTime", ocsfWith(t, map[string]any{"time": -5, "finding_info.created_time": nil}), "time", "is negative"},
		{"TimeString", ocsfWith(t, map[string]any{"start_time": "yesterday"}), "start_time", `expected a number, got "yesterday"`},
		{"BadTimeDT", ocsfWith(t, map[string]any{"start_time": nil, "finding_info.first_seen_time": nil, "start_time_dt": "2026-11-27 07:45"}), "start_time_dt", "not an RFC 3339 timestamp"},
		{"FutureTime", ocsfWith(t, map[string]any{"end_time": int64(1893456000000)}), "lastActivityDateTime", "in the future"},
		{"HashesNotArray", ocsfWith(t, map[string]any{"evidences": []any{map[string]any{"file": map[string]any{"name": "a", "hashes": "md5"}}}}), "evidences[0].file.hashes", "expected an array of objects"},
		{"Duplicate", `{"class_uid":2004,"finding_info":{"uid":"a","uid":"b","title":"t"}}`, "finding_info.uid", "appears twice"},
		{"Syntax", `{"class_uid":2004,"finding_info":{"uid":"a","title":"t",}}`, "finding_info", "invalid JSON at byte 56 of the record"},
		{"BadLiteral", `{"class_uid":2004,"finding_info":{"uid":"a","title":nul}}`, "finding_info.title", "invalid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := rejection(t, c.body, FormatOCSF)
			if e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got %q: %q, want %q: …%s…", e.Field, e.Message, c.field, c.msg)
			}
		})
	}
	t.Run("Truncated", func(t *testing.T) {
		body := ocsfEDR(t) + "\n" + ocsfEDR(t)[:300] + "\n"
		recs := decode(t, body, true, FormatAuto)
		if len(recs) != 2 || recs[0].Err != nil || recs[1].Err == nil {
			t.Fatalf("got %+v", recs)
		}
	})
	t.Run("LongCommandLineCut", func(t *testing.T) {
		r := one(t, ocsfWith(t, map[string]any{"evidences": []any{map[string]any{"process": map[string]any{"pid": 4, "cmd_line": long}}}}), FormatOCSF)
		if r.Err != nil {
			t.Fatalf("rejected: %v", r.Err)
		}
		if n := len(r.Alert.Evidence[2].ProcessCommandLine); n != weft.MaxFieldBytes+len("…") {
			t.Errorf("command line: got %d bytes", n)
		}
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "were cut") }) {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("InvalidUTF8Repaired", func(t *testing.T) {
		body := strings.Replace(ocsfEDR(t), "Suspicious encoded", "Suspicious \xff encoded", 1)
		r := one(t, body, FormatAuto)
		if r.Err != nil {
			t.Fatalf("rejected: %v", r.Err)
		}
		if r.Alert.Title != "Suspicious \uFFFD encoded PowerShell download" {
			t.Errorf("title: got %q", r.Alert.Title)
		}
		if !slices.Contains(r.Warnings, "invalid UTF-8 was replaced by U+FFFD") {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("BOMAndCRLF", func(t *testing.T) {
		body := "\xEF\xBB\xBF" + strings.ReplaceAll(string(readTestdata(t, "ocsf/detection_finding_email.ndjson")), "\n", "\r\n")
		for _, r := range decode(t, body, true, FormatAuto) {
			if r.Err != nil {
				t.Errorf("rejected: %v", r.Err)
			}
		}
	})
	t.Run("SecondsRepaired", func(t *testing.T) {
		r := one(t, ocsfWith(t, map[string]any{"start_time": 1795764350}), FormatOCSF)
		if r.Err != nil {
			t.Fatalf("rejected: %v", r.Err)
		}
		if got := r.Alert.FirstActivityDateTime.Format(time.RFC3339); got != "2026-11-27T07:25:50Z" {
			t.Errorf("firstActivityDateTime: got %s", got)
		}
		if !slices.ContainsFunc(r.Warnings, func(w string) bool {
			return strings.Contains(w, "start_time:") && strings.Contains(w, "read as seconds")
		}) {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
}

// FuzzOCSF checks that the OCSF decoder never panics, and that an accepted
// finding is well formed: an id, a source and a title, evidence within the
// limit, and JSON where weft keeps JSON.
func FuzzOCSF(f *testing.F) {
	addDocSeeds(f, "ocsf")
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDocFormat(t, body, FormatOCSF)
	})
}
