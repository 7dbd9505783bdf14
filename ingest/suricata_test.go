package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// sharedSamples returns the sample files of a format in the project's shared
// data directory, which lives beside the repository; the test is skipped
// when that directory is absent (a lone clone of the repository).
func sharedSamples(t testing.TB, format, pattern string) []string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "formats", format)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no shared samples: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s in %s: %v", pattern, dir, err)
	}
	return files
}

// sampleCounts is what a sample file decodes to: the alerts, the evidence
// items by entity type, and the alerts that came with a warning.
type sampleCounts struct {
	alerts   int
	evidence map[weft.EntityType]int
	warned   int
}

// countSample decodes body with format and fails the test on any rejected
// record; it returns the counts and the alerts.
func countSample(t *testing.T, body []byte, ndjson bool, format Format) (sampleCounts, []*weft.Alert) {
	t.Helper()
	recs, err := Decode(body, ndjson, format, Limits{}, now)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkRecords(t, recs)
	c := sampleCounts{evidence: map[weft.EntityType]int{}}
	var alerts []*weft.Alert
	for _, r := range recs {
		if r.Err != nil {
			t.Errorf("rejected: %v", r.Err)
			continue
		}
		c.alerts++
		if len(r.Warnings) > 0 {
			c.warned++
		}
		for _, e := range r.Alert.Evidence {
			c.evidence[e.EntityType]++
		}
		alerts = append(alerts, r.Alert)
	}
	return c, alerts
}

// ndjsonOf turns a JSON array of objects into NDJSON, one compact object a
// line, as eve.json holds them.
func ndjsonOf(t testing.TB, array []byte) []byte {
	t.Helper()
	var elems []json.RawMessage
	if err := json.Unmarshal(array, &elems); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	var b bytes.Buffer
	for _, e := range elems {
		if err := json.Compact(&b, e); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// suricataPinned are the counts of every Suricata sample. The shared
// samples are JSON arrays; the testdata ones NDJSON. honeypot-2018 writes
// its timestamps without a zone, hence a warning on each of its alerts.
var suricataPinned = map[string]sampleCounts{
	"first-org-conf-2015.eve.json": {136, map[weft.EntityType]int{weft.EntityIP: 272, weft.EntityURL: 99, weft.EntityDomain: 82}, 0},
	"honeypot-2018.eve.json":       {44, map[weft.EntityType]int{weft.EntityIP: 88, weft.EntityURL: 1, weft.EntityDomain: 1}, 44},
	"wrccdc-2017.eve.json":         {161, map[weft.EntityType]int{weft.EntityIP: 321, weft.EntityURL: 65, weft.EntityDomain: 51}, 0},
	"wrccdc-2018.eve.json":         {207, map[weft.EntityType]int{weft.EntityIP: 413, weft.EntityURL: 57, weft.EntityDomain: 39}, 0},
	"eve_samples.ndjson":           {7, map[weft.EntityType]int{weft.EntityIP: 14, weft.EntityURL: 2, weft.EntityDomain: 4}, 2},
	"eve_handwritten.ndjson":       {3, map[weft.EntityType]int{weft.EntityIP: 6, weft.EntityURL: 1, weft.EntityDomain: 2, weft.EntityFile: 1}, 0},
}

// TestDecodeSuricataSamples decodes every Suricata sample, auto-detected and
// named, as sent (JSON arrays) and as eve.json writes it (NDJSON), with no
// rejects, and pins the counts of alerts and evidence.
func TestDecodeSuricataSamples(t *testing.T) {
	files := sharedSamples(t, "suricata", "*.eve.json")
	local, _ := filepath.Glob(filepath.Join("testdata", "suricata", "*.ndjson"))
	for _, file := range append(files, local...) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := suricataPinned[name]
			if !ok {
				t.Fatalf("no pinned counts for %s", name)
			}
			bodies := map[string][]byte{"as sent": body}
			if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
				bodies["ndjson"] = ndjsonOf(t, body)
			}
			for form, b := range bodies {
				for _, format := range []Format{FormatAuto, FormatSuricata} {
					got, alerts := countSample(t, b, form == "ndjson" || strings.HasSuffix(name, ".ndjson"), format)
					if got.alerts != want.alerts || got.warned != want.warned || !equalCounts(got.evidence, want.evidence) {
						t.Errorf("%s, format %q: got %d alerts (%d warned), evidence %v; want %d (%d), %v",
							form, format, got.alerts, got.warned, got.evidence, want.alerts, want.warned, want.evidence)
					}
					for _, a := range alerts {
						if a.Source != "suricata" || a.DetectorID == "" || a.Severity == weft.SeverityUnknown {
							t.Fatalf("%s: source %q, detector %q, severity %q", a.ProviderAlertID, a.Source, a.DetectorID, a.Severity)
						}
					}
				}
			}
		})
	}
}

// equalCounts compares counts by key, where an absent key counts 0.
func equalCounts[K comparable](got, want map[K]int) bool {
	for k, v := range got {
		if want[k] != v {
			return false
		}
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestDecodeSuricataSampleIDsAreUnique checks that the derived provider
// alert ids of the shared samples, 548 distinct alerts, are all distinct.
func TestDecodeSuricataSampleIDsAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, file := range sharedSamples(t, "suricata", "*.eve.json") {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, alerts := countSample(t, body, false, FormatSuricata)
		for _, a := range alerts {
			if prev, dup := seen[a.ID]; dup {
				t.Errorf("%s: id %s (%s) also in %s", file, a.ID, a.ProviderAlertID, prev)
			}
			seen[a.ID] = file
		}
	}
}

// suricataLine returns line n (from 1) of testdata/suricata/eve_handwritten.ndjson.
func suricataLine(t *testing.T, n int) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(readTestdata(t, "suricata/eve_handwritten.ndjson"))), "\n")
	return lines[n-1]
}

func TestDecodeSuricataMapping(t *testing.T) {
	t.Run("HTTPDownloadWithTargetAndFile", func(t *testing.T) {
		a := alertOf(t, suricataLine(t, 2), FormatAuto)
		wantAlert(t, a, "suricata", "sensor-dmz-1/998877665544:1:2019714:1@2026-11-27T08:16:40.000001Z", weft.SeverityHigh)
		if a.DetectorID != "1:2019714" || a.Title != "ET INFO Executable Download from dotted-quad Host" || a.Category != "A Network Trojan was detected" || a.ProductName != "Suricata" {
			t.Errorf("detector %q, title %q, category %q, product %q", a.DetectorID, a.Title, a.Category, a.ProductName)
		}
		at := time.Date(2026, 11, 27, 8, 16, 40, 1000, time.UTC)
		if !a.FirstActivityDateTime.Equal(at) || !a.LastActivityDateTime.Equal(at) {
			t.Errorf("activity %v–%v, want %v", a.FirstActivityDateTime, a.LastActivityDateTime, at)
		}
		wantTypes(t, a, weft.EntityIP, weft.EntityIP, weft.EntityURL, weft.EntityFile)
		src, dst := a.Evidence[0], a.Evidence[1]
		if src.IPAddress != "203.0.113.77" || !slices.Equal(src.Roles, []weft.EvidenceRole{"source", "attacker"}) || !slices.Equal(src.DetailedRoles, []string{"src_ip", "alert.source"}) {
			t.Errorf("source ip %+v", src)
		}
		if dst.IPAddress != "10.1.2.3" || !slices.Equal(dst.Roles, []weft.EvidenceRole{"destination", "attacked"}) {
			t.Errorf("destination ip %+v", dst)
		}
		if u := a.Evidence[2].URL; u != "http://203.0.113.77/dl/invoice.exe" {
			t.Errorf("url %q", u)
		}
		f := a.Evidence[3].FileDetails
		if f == nil || f.FileName != "invoice.exe" || f.FilePath != "/dl" || f.FileSize != 73802 || f.Md5 == "" || f.Sha1 == "" || f.Sha256 == "" {
			t.Errorf("file %+v", f)
		}
		ad := object(t, a.AdditionalData)
		for _, k := range []string{"flow_id", "host", "src_ip", "src_port", "dest_port", "proto", "tx_id", "alert", "http", "files", "app_proto"} {
			if _, ok := ad[k]; !ok {
				t.Errorf("additionalData has no %s: %s", k, a.AdditionalData)
			}
		}
		for _, k := range []string{"timestamp", "event_type"} {
			if _, ok := ad[k]; ok {
				t.Errorf("additionalData has %s", k)
			}
		}
		if bytes.ContainsAny(a.AdditionalData, "\n\t") {
			t.Errorf("additionalData is not compact: %s", a.AdditionalData)
		}
	})
	t.Run("DNSQueryWithMitre", func(t *testing.T) {
		a := alertOf(t, suricataLine(t, 1), FormatSuricata)
		wantAlert(t, a, "suricata", "sensor-dmz-1/1122334455667788:1:2027863@2026-11-27T08:15:02.123456Z", weft.SeverityMedium)
		if !slices.Equal(a.MitreTechniques, []string{"T1071"}) {
			t.Errorf("mitre %v", a.MitreTechniques)
		}
		wantTypes(t, a, weft.EntityIP, weft.EntityIP, weft.EntityDomain)
		if d := a.Evidence[2]; d.DomainName != "update.badcdn.top" || !slices.Equal(d.DetailedRoles, []string{"dns.rrname"}) {
			t.Errorf("domain %+v", d)
		}
	})
	t.Run("SNIAndDNSNameOneDomain", func(t *testing.T) {
		a := alertOf(t, suricataLine(t, 3), FormatAuto)
		wantTypes(t, a, weft.EntityIP, weft.EntityIP, weft.EntityDomain)
		if d := a.Evidence[2]; d.DomainName != "login.example-c2.net" || !slices.Equal(d.DetailedRoles, []string{"tls.sni", "dns.rrname"}) {
			t.Errorf("domain %+v", d)
		}
		if a.DetectorID != "1:2033966" || !strings.HasPrefix(a.ProviderAlertID, "5566778899:1:2033966@") {
			t.Errorf("detector %q, id %q", a.DetectorID, a.ProviderAlertID)
		}
	})
	t.Run("HTTPHostAndPath", func(t *testing.T) {
		a := alertOf(t, eve(`"http":{"hostname":"Example.COM","url":"/a?b=c"}`), FormatAuto)
		wantTypes(t, a, weft.EntityIP, weft.EntityIP, weft.EntityDomain, weft.EntityURL)
		if a.Evidence[2].DomainName != "Example.COM" || a.Evidence[3].URL != "http://Example.COM/a?b=c" {
			t.Errorf("domain %q, url %q", a.Evidence[2].DomainName, a.Evidence[3].URL)
		}
		a = alertOf(t, eve(`"http":{"hostname":"proxy.example","url":"http://other.example/x"}`), FormatAuto)
		if a.Evidence[3].URL != "http://other.example/x" {
			t.Errorf("proxied url %q", a.Evidence[3].URL)
		}
	})
	t.Run("LoopbackAndUnspecifiedAreNoEvidence", func(t *testing.T) {
		a := alertOf(t, strings.Replace(strings.Replace(eve(""), "192.0.2.1", "0.0.0.0", 1), "198.51.100.2", "::1", 1), FormatAuto)
		wantTypes(t, a)
	})
	t.Run("NoFlowID", func(t *testing.T) {
		a := alertOf(t, strings.Replace(eve(""), `"flow_id":42,`, "", 1), FormatAuto)
		if !strings.HasPrefix(a.ProviderAlertID, "noflow-") {
			t.Errorf("id %q", a.ProviderAlertID)
		}
	})
}

// eve returns a minimal EVE alert record with extra members added.
func eve(extra string) string {
	rec := `{"timestamp":"2026-11-27T10:00:00.000000+0000","flow_id":42,"event_type":"alert","src_ip":"192.0.2.1","src_port":1234,"dest_ip":"198.51.100.2","dest_port":80,"proto":"TCP","alert":{"gid":1,"signature_id":1000001,"signature":"Test rule","category":"Misc activity","severity":2}`
	if extra != "" {
		rec += "," + extra
	}
	return rec + "}"
}

// eveAlertWith returns a minimal EVE alert record whose alert object has
// extra members.
func eveAlertWith(alert string) string {
	return `{"timestamp":"2026-11-27T10:00:00Z","flow_id":42,"event_type":"alert","src_ip":"192.0.2.1","dest_ip":"198.51.100.2","alert":{` + alert + `}}`
}

func TestDecodeSuricataSeverity(t *testing.T) {
	for _, tc := range []struct {
		severity string
		want     weft.Severity
	}{{"1", weft.SeverityHigh}, {"2", weft.SeverityMedium}, {"3", weft.SeverityLow}, {"4", weft.SeverityInformational}, {"255", weft.SeverityInformational}, {"null", weft.SeverityUnknown}} {
		a := alertOf(t, eveAlertWith(`"signature_id":1,"signature":"s","severity":`+tc.severity), FormatSuricata)
		if a.Severity != tc.want {
			t.Errorf("severity %s: got %q, want %q", tc.severity, a.Severity, tc.want)
		}
	}
}

func TestDecodeSuricataDuplicates(t *testing.T) {
	line := suricataLine(t, 2)
	recs := decode(t, line+"\n"+line+"\n"+strings.Replace(line, `"tx_id":1,`, `"tx_id":2,`, 1)+"\n"+
		strings.Replace(line, "08:16:40.000001+00:00", "09:16:40.000001+01:00", 1)+"\n", true, FormatAuto)
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if recs[0].Alert.ID != recs[1].Alert.ID {
		t.Errorf("a line sent twice: ids %s, %s", recs[0].Alert.ID, recs[1].Alert.ID)
	}
	if recs[0].Alert.ID == recs[2].Alert.ID {
		t.Errorf("another transaction of the flow has the same id %s", recs[0].Alert.ID)
	}
	if recs[0].Alert.ID != recs[3].Alert.ID {
		t.Errorf("the same instant in another zone: ids %s, %s", recs[0].Alert.ID, recs[3].Alert.ID)
	}
}

func TestDecodeSuricataBadInput(t *testing.T) {
	long := strings.Repeat("x", 300)
	var names []string
	for i := range weft.MaxEvidence + 1 {
		names = append(names, `{"rrname":"n`+strconv.Itoa(i)+`.example"}`)
	}
	for _, tc := range []struct {
		name, body, field, msg string
	}{
		{"ErrNotAnAlert", `{"timestamp":"2026-11-27T10:00:00Z","flow_id":1,"event_type":"flow","src_ip":"192.0.2.1","flow":{}}`, "event_type", `"flow" records are not alerts`},
		{"ErrNoEventType", `{"timestamp":"2026-11-27T10:00:00Z","alert":{"signature_id":1}}`, "event_type", "is required"},
		{"ErrNoAlert", `{"timestamp":"2026-11-27T10:00:00Z","event_type":"alert","src_ip":"192.0.2.1"}`, "alert", "is required"},
		{"ErrNoSignatureID", eveAlertWith(`"signature":"s"`), "alert.signature_id", "is required"},
		{"ErrSeverityString", eveAlertWith(`"signature_id":1,"severity":"high"`), "alert.severity", "expected an integer, got a string"},
		{"ErrSeverityZero", eveAlertWith(`"signature_id":1,"severity":0`), "alert.severity", "0 is not a Suricata priority"},
		{"ErrSeverityTooHigh", eveAlertWith(`"signature_id":1,"severity":256`), "alert.severity", "256 is not a Suricata priority"},
		{"ErrSeverityFraction", eveAlertWith(`"signature_id":1,"severity":1.5`), "alert.severity", "expected an integer, got 1.5"},
		{"ErrSignatureIDHuge", eveAlertWith(`"signature_id":1e40`), "alert.signature_id", "expected an integer, got 1e40"},
		{"ErrPortTooHigh", strings.Replace(eve(""), `"dest_port":80`, `"dest_port":70000`, 1), "dest_port", "70000 is not a port number"},
		{"ErrPortNegative", strings.Replace(eve(""), `"src_port":1234`, `"src_port":-5`, 1), "src_port", "-5 is not a port number"},
		{"ErrBadIP", strings.Replace(eve(""), `"192.0.2.1"`, `"not-an-ip"`, 1), "src_ip", `"not-an-ip" is not an IP address`},
		{"ErrFlowIDString", strings.Replace(eve(""), `"flow_id":42`, `"flow_id":"42"`, 1), "flow_id", "expected an integer, got a string"},
		{"ErrAlertArray", `{"timestamp":"2026-11-27T10:00:00Z","event_type":"alert","src_ip":"192.0.2.1","alert":[]}`, "alert", "expected an object, got an array"},
		{"ErrDNSQueriesObject", eve(`"dns":{"queries":{"rrname":"x"}}`), "dns.queries", "expected an array of objects, got an object"},
		{"ErrMitreNotStrings", eveAlertWith(`"signature_id":1,"metadata":{"mitre_technique_id":[1]}`), "alert.metadata.mitre_technique_id[0]", "expected a string, got a number"},
		{"ErrDuplicateName", eveAlertWith(`"signature_id":1,"severity":1,"severity":3`), "alert.severity", "appears twice"},
		{"ErrNoTimestamp", `{"event_type":"alert","src_ip":"192.0.2.1","alert":{"signature_id":1}}`, "timestamp", "is required"},
		{"ErrBadTimestamp", strings.Replace(eve(""), "2026-11-27T10:00:00.000000+0000", "yesterday", 1), "timestamp", `"yesterday" is not a timestamp`},
		{"ErrBadZone", strings.Replace(eve(""), "+0000", "+25:00", 1), "timestamp", "is not a timestamp"},
		{"ErrFutureTimestamp", strings.Replace(eve(""), "2026-11-27", "2027-11-27", 1), "timestamp", "in the future"},
		{"ErrTimestampBefore1970", strings.Replace(eve(""), "2026-11-27", "1969-11-27", 1), "timestamp", "before 1970"},
		{"ErrLongSensorName", eve(`"host":"` + long + `"`), "host", "is 300 bytes long"},
		{"ErrTooMuchEvidence", eve(`"dns":{"queries":[` + strings.Join(names, ",") + `]}`), "evidence", "has 1003 records; at most 1000 per alert"},
		{"ErrSyntax", strings.Replace(eve(""), `"proto":"TCP"`, `"proto" "TCP"`, 1), "proto", "invalid JSON at line 1 of the record, column 167"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rejection(t, tc.body, FormatSuricata)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %q: %q; want %q: …%q…", e.Field, e.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestDecodeSuricataRepairs(t *testing.T) {
	t.Run("ZonelessTimeIsUTC", func(t *testing.T) {
		r := one(t, strings.Replace(eve(""), "+0000", "", 1), FormatSuricata)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if want := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC); !r.Alert.FirstActivityDateTime.Equal(want) {
			t.Errorf("time %v, want %v", r.Alert.FirstActivityDateTime, want)
		}
		if !hasWarning(r.Warnings, "has no time zone offset: read as UTC") {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("EmptySignatureTitled", func(t *testing.T) {
		r := one(t, eveAlertWith(`"gid":1,"signature_id":77,"signature":""`), FormatSuricata)
		if r.Err != nil || r.Alert.Title != "Suricata signature 1:77" || !hasWarning(r.Warnings, "alert.signature is empty") {
			t.Errorf("got %v, %+v, %q", r.Err, r.Alert, r.Warnings)
		}
	})
	t.Run("InvalidUTF8Replaced", func(t *testing.T) {
		r := one(t, strings.Replace(eve(""), "Test rule", "Test \xff rule", 1), FormatSuricata)
		if r.Err != nil || r.Alert.Title != "Test \uFFFD rule" || !hasWarning(r.Warnings, "invalid UTF-8") {
			t.Errorf("got %v, %q, %q", r.Err, r.Alert.Title, r.Warnings)
		}
	})
	t.Run("BOMAndCRLF", func(t *testing.T) {
		body := "\xEF\xBB\xBF" + suricataLine(t, 1) + "\r\n" + suricataLine(t, 3) + "\r\n"
		for _, r := range decode(t, body, true, FormatAuto) {
			if r.Err != nil {
				t.Error(r.Err)
			}
		}
	})
	t.Run("LongURLCut", func(t *testing.T) {
		r := one(t, eve(`"http":{"hostname":"example.com","url":"/`+strings.Repeat("a", 200<<10)+`"}`), FormatSuricata)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if u := r.Alert.Evidence[3].URL; len(u) > weft.MaxFieldBytes+len("…") || !hasWarning(r.Warnings, "were cut") {
			t.Errorf("url of %d bytes, warnings %q", len(u), r.Warnings)
		}
	})
	t.Run("ErrRecordTooLarge", func(t *testing.T) {
		e := rejection(t, eve(`"payload_printable":"`+strings.Repeat("a", 2<<20)+`"`), FormatSuricata)
		if !strings.Contains(e.Message, "the limit is 1048576 bytes") {
			t.Errorf("got %q", e.Message)
		}
	})
	t.Run("TruncatedLineAlone", func(t *testing.T) {
		line := suricataLine(t, 1)
		recs := decode(t, line[:len(line)/2]+"\n"+suricataLine(t, 3)+"\n", true, FormatAuto)
		if len(recs) != 2 || recs[0].Err == nil || recs[1].Err != nil {
			t.Fatalf("got %+v", recs)
		}
	})
}

// FuzzSuricata checks that the Suricata decoder never panics, named or
// auto-detected, and that what it accepts is well formed: a Suricata alert
// with a provider id, a detector, times, and additionalData that is a JSON
// object.
func FuzzSuricata(f *testing.F) {
	addForeignSeeds(f, "suricata")
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		fuzzForeign(t, body, ndjson, FormatSuricata, "suricata")
	})
}

// BenchmarkDecodeSuricata decodes the shared Suricata samples as eve.json
// holds them (NDJSON, 548 alerts, 393 KB) and reports records/s, MB/s and
// records per CPU second.
func BenchmarkDecodeSuricata(b *testing.B) {
	var body bytes.Buffer
	for _, file := range sharedSamples(b, "suricata", "*.eve.json") {
		raw, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		body.Write(ndjsonOf(b, raw))
	}
	benchmarkDecode(b, body.Bytes(), FormatSuricata)
}

// benchmarkDecode decodes body, named and auto-detected, and reports
// records/s, MB/s and records per CPU second.
func benchmarkDecode(b *testing.B, body []byte, format Format) {
	n := bytes.Count(body, []byte("\n"))
	for _, f := range []Format{format, FormatAuto} {
		name := string(f)
		if f == FormatAuto {
			name = "auto"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				recs, err := Decode(body, true, f, Limits{}, now)
				if err != nil || len(recs) != n || recs[n-1].Err != nil {
					b.Fatalf("Decode: %v, %d records", err, len(recs))
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)*float64(n)/sec, "records/s")
			b.ReportMetric(float64(b.N)*float64(len(body))/sec/1e6, "MB/s")
			// On a shared machine the wall clock also counts other processes'
			// turns; records per second of this process's CPU time does not.
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N)*float64(n)/cpu, "records/cpu-s")
			}
		})
	}
}
