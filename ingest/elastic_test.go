package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestElasticSamples(t *testing.T) {
	checkDocSamples(t, "elastic", FormatElastic, map[string]string{
		"alerts_index_mixed.ndjson": "alerts=3 device=3 file=2 ip=1 process=2 user=3",
		"alerts_nested.ndjson":      "alerts=2 device=2 domain=1 ip=2 process=2 registryValue=1 url=1 user=1",
		"alerts_flattened.ndjson":   "alerts=2 device=1 emailMessage=1 file=1 ip=2 mailbox=2 url=1 user=2",
	})
}

// elasticLine returns line n (from 0) of an Elastic sample file.
func elasticLine(t *testing.T, file string, n int) string {
	t.Helper()
	return strings.Split(string(readTestdata(t, "elastic/"+file)), "\n")[n]
}

// elasticDocMap parses a document for a test to change.
func elasticDocMap(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// flattenMap writes every nested object of m as dotted names.
func flattenMap(m map[string]any, prefix string, out map[string]any) {
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		if o, ok := v.(map[string]any); ok && len(o) > 0 {
			flattenMap(o, k, out)
			continue
		}
		out[k] = v
	}
}

// nestMap writes every dotted name of m as nested objects.
func nestMap(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		obj := out
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			next, ok := obj[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[p] = next
			}
			obj = next
		}
		obj[parts[len(parts)-1]] = v
	}
	return out
}

func TestElasticMapping(t *testing.T) {
	a := alertOf(t, elasticLine(t, "alerts_index_mixed.ndjson", 1), FormatElastic)
	for _, c := range []struct{ field, got, want string }{
		{"source", a.Source, "elasticSecurity"},
		{"providerAlertId", a.ProviderAlertID, "b7e0c4a1f3d2e5a6978812aa3bc4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2"},
		{"detectorId", a.DetectorID, "6f9c1e55-2a1d-4a4e-9a37-1c5e2fbbf0a1"},
		{"title", a.Title, "Malware Prevention Alert"},
		{"severity", string(a.Severity), "high"},
		{"status", string(a.Status), "inProgress"},
		{"firstActivityDateTime", a.FirstActivityDateTime.Format(time.RFC3339Nano), "2026-11-27T07:46:58.12Z"},
		{"providerLastUpdateDateTime", a.ProviderLastUpdateDateTime.Format(time.RFC3339), "2026-11-27T08:15:00Z"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	types := make([]weft.EntityType, len(a.Evidence))
	for i, e := range a.Evidence {
		types[i] = e.EntityType
	}
	if want := []weft.EntityType{"device", "user", "file", "process", "file"}; !slices.Equal(types, want) {
		t.Fatalf("evidence types: got %v, want %v", types, want)
	}
	dev, user, file, proc := a.Evidence[0], a.Evidence[1], a.Evidence[2], a.Evidence[3]
	if dev.DeviceDNSName != "ws-0142.contoso.com" || dev.HostName != "ws-0142" || dev.DNSDomain != "contoso.com" {
		t.Errorf("device: got %+v", dev)
	}
	if user.UserAccount.AccountName != "jdoe" || user.UserAccount.DomainName != "CONTOSO" || user.UserAccount.UserSid == "" {
		t.Errorf("user: got %+v", user.UserAccount)
	}
	if f := file.FileDetails; f.Md5 == "" || f.Sha1 == "" || f.Sha256 == "" || f.FileName != "update.exe" || f.FilePath != `C:\Users\jdoe\AppData\Local\Temp` {
		t.Errorf("file: got %+v", f)
	}
	if proc.ProcessID != 7412 || proc.ParentProcessID != 5120 || proc.ImageFile.FileName != "powershell.exe" || proc.ProcessCreationDateTime == nil {
		t.Errorf("process: got %+v", proc)
	}
	var extra map[string]any
	if err := json.Unmarshal(a.AdditionalData, &extra); err != nil {
		t.Fatal(err)
	}
	if extra["elasticSeverity"] != "critical" || extra["elasticRiskScore"] != 99.0 || extra["eventModule"] != "endpoint" {
		t.Errorf("additionalData: got %v", extra)
	}

	b := alertOf(t, elasticLine(t, "alerts_index_mixed.ndjson", 0), FormatElastic)
	if got := strings.Join(b.MitreTechniques, ","); got != "T1110,T1110.001,T1110.003" || b.Category != "Credential Access" {
		t.Errorf("threat: got %q, category %q", got, b.Category)
	}
	if u := b.Evidence[1].UserAccount; u.AccountName != "jdoe" || u.DomainName != "" || u.UserSid != "" {
		t.Errorf("placeholders kept: got %+v", u)
	}
}

// TestElasticShapes checks that a document decodes to the same alert
// nested, flattened and mixed.
func TestElasticShapes(t *testing.T) {
	for _, file := range []string{"alerts_index_mixed.ndjson", "alerts_nested.ndjson", "alerts_flattened.ndjson"} {
		doc := elasticDocMap(t, elasticLine(t, file, 0))
		flat := map[string]any{}
		flattenMap(doc, "", flat)
		want := alertOf(t, elasticLine(t, file, 0), FormatElastic)
		want.Raw = nil
		for name, m := range map[string]map[string]any{"flattened": flat, "nested": nestMap(flat)} {
			body, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got := alertOf(t, string(body), FormatAuto)
			got.Raw = nil
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				// Member order in additionalData follows the document; compare as objects.
				var gm, wm map[string]any
				_ = json.Unmarshal(g, &gm)
				_ = json.Unmarshal(w, &wm)
				gj, _ := json.Marshal(gm)
				wj, _ := json.Marshal(wm)
				if string(gj) != string(wj) {
					t.Errorf("%s %s:\n got %s\nwant %s", file, name, gj, wj)
				}
			}
		}
	}
}

func TestElasticSeverity(t *testing.T) {
	for _, c := range []struct {
		sev   any
		score any
		want  weft.Severity
	}{
		{"low", nil, "low"}, {"medium", nil, "medium"}, {"high", nil, "high"}, {"critical", nil, "high"}, {"High", 10, "high"},
		{nil, 10, "informational"}, {nil, 21, "low"}, {nil, 47, "medium"}, {nil, 73, "high"}, {nil, 99.5, "high"}, {nil, "50", "medium"},
		{nil, nil, "unknown"},
	} {
		doc := elasticDocMap(t, elasticLine(t, "alerts_index_mixed.ndjson", 0))
		delete(doc, "kibana.alert.rule.severity")
		delete(doc, "kibana.alert.rule.risk_score")
		doc["kibana.alert.severity"], doc["kibana.alert.risk_score"] = c.sev, c.score
		body, _ := json.Marshal(doc)
		if a := alertOf(t, string(body), FormatElastic); a.Severity != c.want {
			t.Errorf("severity %v, risk score %v: got %q, want %q", c.sev, c.score, a.Severity, c.want)
		}
	}
}

func TestElasticHitAndLegacy(t *testing.T) {
	doc := elasticDocMap(t, elasticLine(t, "alerts_index_mixed.ndjson", 0))
	delete(doc, "kibana.alert.uuid")
	hit, _ := json.Marshal(map[string]any{"_index": ".internal.alerts-security.alerts-default-000001", "_id": "hit-1", "_score": 1, "_source": doc})
	if a := alertOf(t, string(hit), FormatElastic); a.ProviderAlertID != "hit-1" || a.Title != "Multiple Logon Failure from the same Source Address" {
		t.Errorf("search hit: got %q %q", a.ProviderAlertID, a.Title)
	}
	legacy := `{"@timestamp":"2026-11-27T07:00:00Z","signal":{"id":"sig-1","status":"closed","original_time":"2026-11-27T06:59:00Z",` +
		`"rule":{"id":"r-uuid","rule_id":"r-1","name":"Legacy rule","severity":"low","risk_score":21,` +
		`"threat":[{"framework":"MITRE ATT&CK","tactic":{"id":"TA0002","name":"Execution"},"technique":[{"id":"T1059","name":"x"}]}]}},` +
		`"host":{"name":"srv-1"}}`
	a := alertOf(t, legacy, FormatElastic)
	if a.ProviderAlertID != "sig-1" || a.DetectorID != "r-uuid" || a.Severity != "low" || a.Status != "resolved" || a.Category != "Execution" || len(a.Evidence) != 1 {
		t.Errorf("7.x signal: got %+v", a)
	}
}

func TestElasticBadInput(t *testing.T) {
	base := elasticLine(t, "alerts_index_mixed.ndjson", 0)
	with := func(set map[string]any) string {
		doc := elasticDocMap(t, base)
		for k, v := range set {
			if v == nil {
				delete(doc, k)
			} else {
				doc[k] = v
			}
		}
		b, _ := json.Marshal(doc)
		return string(b)
	}
	for _, c := range []struct {
		name, body, field, msg string
	}{
		{"SeverityAbsurd", with(map[string]any{"kibana.alert.severity": "99"}), "kibana.alert.severity", `"99" is not an Elastic severity`},
		{"SeverityNumber", with(map[string]any{"kibana.alert.severity": 99}), "kibana.alert.severity", `"99" is not an Elastic severity`},
		{"RiskScoreAbsurd", with(map[string]any{"kibana.alert.risk_score": 150}), "kibana.alert.risk_score", "150 is not a risk score"},
		{"RiskScoreText", with(map[string]any{"kibana.alert.risk_score": "high"}), "kibana.alert.risk_score", `expected a number, got "high"`},
		{"NoUUID", with(map[string]any{"kibana.alert.uuid": nil}), "kibana.alert.uuid", "is required"},
		{"NoRuleName", with(map[string]any{"kibana.alert.rule.name": nil}), "kibana.alert.rule.name", "is required"},
		{"RuleNameObject", with(map[string]any{"kibana.alert.rule.name": map[string]any{}}), "kibana.alert.rule.name", "expected a string, got an object"},
		{"RuleNameBool", with(map[string]any{"kibana.alert.rule.name": true}), "kibana.alert.rule.name", "expected a string, got a boolean"},
		{"NestedAndFlat", with(map[string]any{"kibana": map[string]any{"alert": map[string]any{"severity": "low"}}}), "kibana.alert.severity", "is given twice"},
		{"NegativePort", with(map[string]any{"source": map[string]any{"ip": "192.0.2.1", "port": -1}}), "source.port", "-1 is not a port"},
		{"NegativePID", with(map[string]any{"process": map[string]any{"pid": -7}}), "process.pid", "negative"},
		{"BadTime", with(map[string]any{"kibana.alert.original_time": "2026-11-27 07:08"}), "kibana.alert.original_time", "not an RFC 3339 timestamp"},
		{"NoZone", with(map[string]any{"kibana.alert.original_time": "2026-11-27T07:08:52"}), "kibana.alert.original_time", "no time zone"},
		{"ThreatString", with(map[string]any{"kibana.alert.rule.threat": "T1110"}), "kibana.alert.rule.threat", "expected an array of objects"},
		{"TechniqueNumber", with(map[string]any{"kibana.alert.rule.threat": []any{map[string]any{"technique": []any{7}}}}), "kibana.alert.rule.threat[0].technique[0]", "expected an object"},
		{"Duplicate", `{"kibana.alert.uuid":"a","kibana.alert.uuid":"b","kibana.alert.rule.name":"r"}`, "kibana.alert.uuid", "appears twice"},
		{"Syntax", `{"kibana.alert.uuid":"a","kibana.alert.rule.name":"r","host":{"name":}}`, "host.name", "invalid JSON at byte"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := rejection(t, c.body, FormatAuto)
			if e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got %q: %q, want %q: …%s…", e.Field, e.Message, c.field, c.msg)
			}
		})
	}
	t.Run("Truncated", func(t *testing.T) {
		body := base + "\n" + base[:len(base)/2] + "\n" + elasticLine(t, "alerts_nested.ndjson", 0) + "\n"
		recs := decode(t, body, true, FormatAuto)
		if len(recs) != 3 || recs[0].Err != nil || recs[1].Err == nil || recs[2].Err != nil {
			t.Fatalf("got %+v", recs)
		}
	})
	t.Run("LongCommandLineCut", func(t *testing.T) {
		r := one(t, with(map[string]any{"process": map[string]any{"pid": 4, "command_line": strings.Repeat("x", 300<<10)}}), FormatElastic)
		if r.Err != nil {
			t.Fatalf("rejected: %v", r.Err)
		}
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "were cut") }) {
			t.Errorf("warnings %q", r.Warnings)
		}
	})
	t.Run("InvalidUTF8BOMCRLF", func(t *testing.T) {
		body := "\xEF\xBB\xBF" + strings.Replace(base, "jdoe", "jd\xffoe", 1) + "\r\n" + elasticLine(t, "alerts_nested.ndjson", 1) + "\r\n"
		recs := decode(t, body, true, FormatAuto)
		if len(recs) != 2 || recs[0].Err != nil || recs[1].Err != nil {
			t.Fatalf("got %+v", recs)
		}
		if !slices.Contains(recs[0].Warnings, "invalid UTF-8 was replaced by U+FFFD") {
			t.Errorf("warnings %q", recs[0].Warnings)
		}
	})
	t.Run("UnknownStatusWarned", func(t *testing.T) {
		r := one(t, with(map[string]any{"kibana.alert.workflow_status": "going-to-review"}), FormatElastic)
		if r.Err != nil || r.Alert.Status != "unknown" || len(r.Warnings) == 0 {
			t.Fatalf("got %v, %v", r.Err, r.Warnings)
		}
	})
}

// FuzzElastic checks that the Elastic decoder never panics, and that an
// accepted alert is well formed (see fuzzDocFormat).
func FuzzElastic(f *testing.F) {
	addDocSeeds(f, "elastic")
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDocFormat(t, body, FormatElastic)
	})
}

// BenchmarkDecodeElastic decodes the Elastic samples as one NDJSON batch
// of 1,000 alerts, told (auto) and named, and reports records/s, MB/s and
// records per CPU second.
func BenchmarkDecodeElastic(b *testing.B) {
	benchDocFormat(b, "elastic", FormatElastic)
}

// BenchmarkDecodeOCSF decodes the OCSF samples as one NDJSON batch of
// 1,000 findings, told (auto) and named, and reports records/s, MB/s and
// records per CPU second.
func BenchmarkDecodeOCSF(b *testing.B) {
	benchDocFormat(b, "ocsf", FormatOCSF)
}

// benchDocFormat benchmarks Decode over a batch of 1,000 records made by
// repeating the sample records of testdata/dir.
func benchDocFormat(b *testing.B, dir string, format Format) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	var lines []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(data)), "\n")...)
	}
	var body strings.Builder
	for i := range 1000 {
		body.WriteString(lines[i%len(lines)])
		body.WriteByte('\n')
	}
	data := []byte(body.String())
	for _, f := range []Format{FormatAuto, format} {
		name := "auto"
		if f != FormatAuto {
			name = string(f)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				recs, err := Decode(data, true, f, Limits{}, now)
				if err != nil || len(recs) != 1000 || recs[999].Err != nil {
					b.Fatalf("Decode: %v, %d records", err, len(recs))
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)*1000/sec, "records/s")
			b.ReportMetric(float64(b.N)*float64(len(data))/sec/1e6, "MB/s")
			// On a shared machine the wall clock also counts other
			// processes' turns; records per second of CPU time does not.
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N)*1000/cpu, "records/cpu-s")
			}
		})
	}
}
