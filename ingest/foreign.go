package ingest

import (
	"bytes"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// Third-party formats. Each decodes one record — a JSON object the splitter
// has cut out of the body, within the size and depth limits, valid UTF-8 —
// into an alert, which Decode then treats like any other: it keeps the
// record as the alert's raw original and normalizes it (Alert.Normalize).
// docs/formats.md has one section per format with its field table.
const (
	FormatOCSF     Format = "ocsf"     // OCSF Detection Finding (2004) and Security Finding (2001)
	FormatElastic  Format = "elastic"  // Elastic Security alerts (ECS with kibana.alert.*)
	FormatSuricata Format = "suricata" // Suricata EVE JSON, event_type "alert"
	FormatWazuh    Format = "wazuh"    // Wazuh alerts.json
	FormatGUIDE    Format = "guide"    // Microsoft's GUIDE CSV: one row per evidence item (guide.go)
)

// foreignDecoder decodes one record of a third-party format. It returns the
// alert, or a *fieldErr naming the field (a path such as "alert.severity")
// and why the record is refused; warnings say what was repaired.
type foreignDecoder func(rec []byte, now time.Time) (a *weft.Alert, warnings []string, fe *fieldErr)

// foreignDecoders are the JSON third-party formats by name.
var foreignDecoders = map[Format]foreignDecoder{
	FormatOCSF:     decodeOCSF,
	FormatElastic:  decodeElastic,
	FormatSuricata: decodeSuricata,
	FormatWazuh:    decodeWazuh,
}

// sniff tells a third-party record's format from its top-level members, or
// returns "" for a record that has none of their marks (weft's and Graph's
// records then go on to detect, detect.go):
//   - "class_uid": OCSF;
//   - a "kibana" object or a flattened "kibana.alert.…" name, or a "signal"
//     object (a 7.x .siem-signals document): Elastic;
//   - a search hit, a "_source" object with an "_index" that names a
//     security alerts index (.alerts-security.alerts-…,
//     .internal.alerts-security.alerts-… or .siem-signals-…): Elastic, whose
//     decoder unwraps the hit. A hit from any other index (wazuh-alerts-…, a
//     user's own) is not told: its document need not be an Elastic alert;
//   - "event_type" with "src_ip", "flow_id" or "alert": Suricata EVE;
//   - "rule" with "agent", "manager" or "decoder": Wazuh.
//
// Only the top level counts: a mark name inside a nested object is an
// ordinary field there. Names are compared as JSON strings, so an escaped
// name ("kib\u0061na") is the name it spells.
//
// It scans bytes and reads only the values it needs (the kind of _source
// and signal, the text of _index), so that auto-detection costs little next
// to decoding.
func sniff(rec []byte) Format {
	var has struct{ classUID, kibana, signal, eventType, eve, rule, wazuh, hitSource, alertsIndex bool }
	const (
		wantSignal = iota + 1
		wantSource
		wantIndex
	)
	want := 0 // the member whose value sniff asked for
	eachTopName(rec, func(raw []byte) bool {
		name := raw
		if bytes.IndexByte(raw, '\\') >= 0 {
			name = unquoteRaw(raw)
		}
		switch string(name) {
		case "class_uid":
			has.classUID = true
		case "kibana":
			has.kibana = true
		case "signal":
			want = wantSignal
			return true
		case "_source":
			want = wantSource
			return true
		case "_index":
			want = wantIndex
			return true
		case "event_type":
			has.eventType = true
		case "src_ip", "flow_id", "alert":
			has.eve = true
		case "rule":
			has.rule = true
		case "agent", "manager", "decoder":
			has.wazuh = true
		default:
			if bytes.HasPrefix(name, []byte("kibana.alert.")) {
				has.kibana = true
			}
		}
		return false
	}, func(v []byte) {
		switch want {
		case wantSignal:
			has.signal = v[0] == '{'
		case wantSource:
			has.hitSource = v[0] == '{'
		case wantIndex:
			has.alertsIndex = v[0] == '"' && isSecurityAlertsIndex(unquoteRaw(v[1:len(v)-1]))
		}
	})
	switch {
	case has.classUID:
		return FormatOCSF
	case has.kibana, has.signal, has.hitSource && has.alertsIndex:
		return FormatElastic
	case has.eventType && has.eve:
		return FormatSuricata
	case has.rule && has.wazuh:
		return FormatWazuh
	}
	return ""
}

// securityAlertsIndices are the prefixes of the indices Elastic Security
// writes its alerts to: 8.x and 9.x (the alias and its backing indices) and
// 7.x.
var securityAlertsIndices = []string{".alerts-security.alerts-", ".internal.alerts-security.alerts-", ".siem-signals-"}

// isSecurityAlertsIndex reports whether the index name idx is one of Elastic
// Security's alerts indices.
func isSecurityAlertsIndex(idx []byte) bool {
	for _, p := range securityAlertsIndices {
		if bytes.HasPrefix(idx, []byte(p)) {
			return true
		}
	}
	return false
}

// unquoteRaw returns the contents of a JSON string, given without its
// quotes, with its escapes resolved; raw itself when it has none. A string
// with a broken escape is returned as it is, to match nothing.
func unquoteRaw(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	s, err := jsontext.AppendUnquote(nil, q)
	if err != nil {
		return raw
	}
	return s
}

// eachTopName calls name with the raw bytes (escapes left as they are) of
// each member name of the JSON object rec. When name returns true, it then
// calls value with the raw bytes of that member's value: a string with its
// quotes, an object or array with its brackets, a number or literal as
// written. Other values are skipped over, never decoded. It trusts rec to be
// one object, as the splitter cut it, and stops at its end or at anything it
// does not expect.
func eachTopName(rec []byte, name func(name []byte) (wantValue bool), value func(v []byte)) {
	depth := 0
	expectName := false // inside the top-level object, a name may start here
	for i := 0; i < len(rec); i++ {
		switch c := rec[i]; c {
		case '"':
			j := stringEnd(rec, i)
			if j < 0 {
				return
			}
			if depth == 1 && expectName {
				expectName = false
				if name(rec[i+1 : j]) {
					start, end := memberValue(rec, j+1)
					if end < 0 {
						return
					}
					value(rec[start:end])
					j = end - 1
				}
			}
			i = j
		case '{', '[':
			depth++
			expectName = depth == 1 && c == '{'
		case '}', ']':
			depth--
			if depth <= 0 {
				return
			}
		case ',':
			expectName = depth == 1
		}
	}
}

// stringEnd returns the index of the quote that closes the JSON string
// opening at rec[i], or -1 when rec ends first.
func stringEnd(rec []byte, i int) int {
	j := i + 1
	for j < len(rec) && rec[j] != '"' {
		if rec[j] == '\\' {
			j++
		}
		j++
	}
	if j >= len(rec) {
		return -1
	}
	return j
}

// memberValue returns the bounds of the value that follows a member name,
// whose closing quote is just before rec[i]: past the colon and any white
// space, to the value's last byte. end is -1 when rec ends first or the colon
// is missing.
func memberValue(rec []byte, i int) (start, end int) {
	i = skipSpace(rec, i)
	if i >= len(rec) || rec[i] != ':' {
		return 0, -1
	}
	start = skipSpace(rec, i+1)
	if start >= len(rec) {
		return 0, -1
	}
	switch rec[start] {
	case '"':
		if j := stringEnd(rec, start); j >= 0 {
			return start, j + 1
		}
		return 0, -1
	case '{', '[':
		depth := 0
		for j := start; j < len(rec); j++ {
			switch rec[j] {
			case '"':
				if j = stringEnd(rec, j); j < 0 {
					return 0, -1
				}
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return start, j + 1
				}
			}
		}
		return 0, -1
	}
	j := start
	for j < len(rec) && rec[j] != ',' && rec[j] != '}' && rec[j] != ']' && !isSpace(rec[j]) {
		j++
	}
	if j == start {
		return 0, -1 // no value: not JSON
	}
	return start, j
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(rec []byte, i int) int {
	for i < len(rec) && isSpace(rec[i]) {
		i++
	}
	return i
}
