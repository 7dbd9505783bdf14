package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestSniff(t *testing.T) {
	wazuhDoc := strings.SplitN(string(readTestdata(t, "wazuh/wazuh_alerts.ndjson")), "\n", 2)[0]
	hit := func(index, source string) string {
		return `{"_index":` + index + `,"_id":"a1","_score":1,"_source":` + source + `}`
	}
	for _, c := range []struct {
		name, rec string
		want      Format
	}{
		{"OCSF", `{"class_uid":2004,"finding_info":{"uid":"f"}}`, FormatOCSF},
		{"OCSFBeatsKibana", `{"kibana":{},"class_uid":2001}`, FormatOCSF},
		{"ElasticNested", `{"kibana":{"alert":{"uuid":"u"}},"host":{}}`, FormatElastic},
		{"ElasticFlattened", `{"@timestamp":"2026-11-27T07:00:00Z","kibana.alert.uuid":"u"}`, FormatElastic},
		{"ElasticSignal", `{"@timestamp":"2026-11-27T07:00:00Z","signal":{"id":"s","rule":{"name":"r"}}}`, FormatElastic},
		{"SignalNotObject", `{"signal":"SIGTERM","process":{"pid":4}}`, ""},
		{"SignalNull", `{"signal":null}`, ""},
		{"HitAlias", hit(`".alerts-security.alerts-default"`, `{"kibana.alert.uuid":"u"}`), FormatElastic},
		{"HitBackingIndex", hit(`".internal.alerts-security.alerts-default-000001"`, `{"host":{"name":"h"}}`), FormatElastic},
		{"HitSiemSignals", hit(`".siem-signals-default-000001"`, `{"signal":{"id":"s"}}`), FormatElastic},
		{"HitSourceFirst", `{"_source":{"a":"{"},"_index":".alerts-security.alerts-x","_id":"1"}`, FormatElastic},
		{"HitSpaced", "{ \"_index\" :\t\".alerts-security.alerts-x\" ,\n \"_source\" : { } }", FormatElastic},
		{"HitIndexEscaped", hit(`"\u002ealerts-security.alerts-default"`, `{}`), FormatElastic},
		{"HitWazuh", hit(`"wazuh-alerts-4.x-2026.11.27"`, wazuhDoc), ""},
		{"HitOtherIndex", hit(`"my-alerts"`, `{"host":{"name":"h"}}`), ""},
		{"HitIndexPrefixOnly", hit(`"x.alerts-security.alerts-default"`, `{}`), ""},
		{"HitIndexNotString", hit(`7`, `{}`), ""},
		{"HitNoIndex", `{"_id":"a1","_source":{"host":{}}}`, ""},
		{"HitSourceNotObject", hit(`".alerts-security.alerts-default"`, `"text"`), ""},
		{"IndexWithoutSource", `{"_index":".alerts-security.alerts-default","title":"t"}`, ""},
		{"Suricata", `{"event_type":"alert","src_ip":"192.0.2.1","alert":{}}`, FormatSuricata},
		{"SuricataFlowOnly", `{"event_type":"flow","flow_id":1}`, FormatSuricata},
		{"EventTypeAlone", `{"event_type":"x"}`, ""},
		{"Wazuh", wazuhDoc, FormatWazuh},
		{"RuleAlone", `{"rule":{"id":"1"}}`, ""},
		{"Graph", string(readTestdata(t, "graph_mde.json")), ""},
		{"Weft", string(readTestdata(t, "weft_native.json")), ""},
		{"Empty", `{}`, ""},

		// Names with escapes are the names they spell; an escaped quote
		// does not end a name.
		{"EscapedMark", `{"class\u005fuid":2004}`, FormatOCSF},
		{"EscapedKibanaPrefix", `{"kibana\u002ealert.uuid":"u"}`, FormatElastic},
		{"EscapedSignal", `{"sig\u006eal":{}}`, FormatElastic},
		{"EscapedQuoteInName", `{"a\"class_uid":1,"b\\":"class_uid"}`, ""},
		{"EscapedQuoteBeforeMark", `{"x\"y":{"class_uid":1},"kibana.alert.rule.name":"r"}`, FormatElastic},
		{"BrokenEscape", `{"class\u00":2004}`, ""},

		// Mark names below the top level are ordinary fields there; so is
		// a mark spelled in a string value.
		{"NestedOCSF", `{"meta":{"class_uid":2004}}`, ""},
		{"NestedKibana", `{"data":{"kibana":{"alert":{}}},"list":[{"kibana.alert.uuid":"u"}]}`, ""},
		{"NestedSignal", `{"x":{"signal":{}}}`, ""},
		{"NestedHit", `{"hits":{"hits":[{"_index":".alerts-security.alerts-default","_source":{}}]}}`, ""},
		{"NestedSuricata", `{"payload":{"event_type":"alert","src_ip":"192.0.2.1"}}`, ""},
		{"NestedWazuh", `{"data":{"rule":{},"agent":{}}}`, ""},
		{"MarkInValue", `{"message":"{\"class_uid\":2004}","note":"}","k":["kibana"]}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sniff([]byte(c.rec)); got != c.want {
				t.Errorf("sniff(%s) = %q, want %q", clip(c.rec, 200), got, c.want)
			}
		})
	}
}

// TestSniffDecodesHitAndSignal checks that what sniff sends to the Elastic
// decoder, a search hit of an alerts index and a 7.x signal, is accepted
// when auto-detected, and that a Wazuh hit is not decoded as Elastic.
func TestSniffDecodesHitAndSignal(t *testing.T) {
	doc := elasticDocMap(t, elasticLine(t, "alerts_index_mixed.ndjson", 0))
	delete(doc, "kibana.alert.uuid")
	hit, _ := json.Marshal(map[string]any{"_index": ".internal.alerts-security.alerts-default-000001", "_id": "hit-1", "_source": nestMap(doc)})
	if a := alertOf(t, string(hit), FormatAuto); a.Source != "elasticSecurity" || a.ProviderAlertID != "hit-1" {
		t.Errorf("search hit: got source %q, id %q, want elasticSecurity, hit-1", a.Source, a.ProviderAlertID)
	}
	legacy := `{"@timestamp":"2026-11-27T07:00:00Z","signal":{"id":"sig-1","status":"open","rule":{"id":"r-uuid","name":"Legacy rule","severity":"high"}},"host":{"name":"srv-1"}}`
	if a := alertOf(t, legacy, FormatAuto); a.Source != "elasticSecurity" || a.ProviderAlertID != "sig-1" || a.Title != "Legacy rule" {
		t.Errorf("7.x signal: got source %q, id %q, title %q", a.Source, a.ProviderAlertID, a.Title)
	}
	signalHit := `{"_index":".siem-signals-default-000001","_id":"h","_source":` + legacy + `}`
	if a := alertOf(t, signalHit, FormatAuto); a.ProviderAlertID != "sig-1" {
		t.Errorf("7.x signal hit: got id %q, want sig-1", a.ProviderAlertID)
	}
	wazuh := strings.SplitN(string(readTestdata(t, "wazuh/wazuh_alerts.ndjson")), "\n", 2)[0]
	r := one(t, `{"_index":"wazuh-alerts-4.x-2026.11.27","_id":"w","_source":`+wazuh+`}`, FormatAuto)
	if r.Alert != nil && r.Alert.Source == "elasticSecurity" {
		t.Errorf("Wazuh hit decoded as Elastic: %+v", r.Alert)
	}
}

func TestEachTopNameValues(t *testing.T) {
	rec := "{\"a\":1, \"b\" : \"x\\\"y}\" ,\"c\":{\"d\":[1,{\"e\":\"}\"}]},\"f\":true,\"g\":null,\"h\":[ ],\"i\":-2.5e3\n}"
	want := []string{`a=1`, `b="x\"y}"`, `c={"d":[1,{"e":"}"}]}`, `f=true`, `g=null`, `h=[ ]`, `i=-2.5e3`}
	if got := topMembers([]byte(rec), func(string) bool { return true }); !slices.Equal(got, want) {
		t.Errorf("all values:\ngot  %q\nwant %q", got, want)
	}
	// Asked for one value, it hands over that one and still sees every name.
	want = []string{`a`, `b`, `c={"d":[1,{"e":"}"}]}`, `f`, `g`, `h`, `i`}
	if got := topMembers([]byte(rec), func(n string) bool { return n == "c" }); !slices.Equal(got, want) {
		t.Errorf("value of c:\ngot  %q\nwant %q", got, want)
	}
	for _, bad := range []string{`{"a"`, `{"a":`, `{"a" 1}`, `{"a":"x`, `{"a":{"b":1}`, `{"a":,"b":1}`} {
		topMembers([]byte(bad), func(string) bool { return true }) // must not panic
	}
}

// topMembers returns the top-level members of rec as eachTopName reports
// them: "name=value" for those want asks the value of, "name" for the rest.
func topMembers(rec []byte, want func(name string) bool) []string {
	var out []string
	eachTopName(rec, func(name []byte) bool {
		out = append(out, string(name))
		return want(string(name))
	}, func(v []byte) {
		out[len(out)-1] += "=" + string(v)
	})
	return out
}

// FuzzSniff checks that sniff never panics, and that on a valid JSON object
// eachTopName hands over exactly the top-level names and values a JSON
// decoder reads.
func FuzzSniff(f *testing.F) {
	for _, dir := range []string{"elastic", "ocsf", "suricata", "wazuh"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.ndjson"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			line, _, _ := bytes.Cut(b, []byte("\n"))
			f.Add(line)
		}
	}
	for _, s := range []string{
		`{"_index":".alerts-security.alerts-default","_source":{}}`, `{"signal":{"a":"}"}}`, `{"a\"b":1}`,
		`{"class\u005fuid":1}`, `{"a":[{"b":"]"}],"c" : "d"}`, `{"a":1`, `{"a":}`, `{"":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		sniff(rec)
		want, ok := decodedTopMembers(rec)
		if !ok {
			return
		}
		if got := topMembers(rec, func(string) bool { return true }); !slices.Equal(got, want) {
			t.Fatalf("eachTopName(%q):\ngot  %q\nwant %q", rec, got, want)
		}
	})
}

// decodedTopMembers returns the top-level members of rec as "name=value",
// the name raw without its quotes and the value as written, read with a JSON
// decoder; ok is false when rec is not one valid JSON object.
func decodedTopMembers(rec []byte) (members []string, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(rec), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		n := string(name[1 : len(name)-1])
		v, err := dec.ReadValue()
		if err != nil {
			return nil, false
		}
		members = append(members, n+"="+string(v))
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return nil, false
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return members, true
}
