// Package ingest decodes the bodies that alert sources send to weft into
// domain alerts. A body is one JSON object, a JSON array of objects, or NDJSON
// (one object per line); each object is one record. Two record formats are
// understood: weft's native alert format (the JSON form of weft.Alert) and the
// Microsoft Graph security alert (alerts_v2). docs/formats.md
// holds the field mapping and the rules for times, limits, duplicate names and
// unknown types.
//
// Bad input never loses good input: a body is first cut into records by a
// byte scanner that survives malformed records, and each record is then
// decoded on its own, so that a broken record is rejected alone with a
// located error (index, line, field, reason) while the others decode.
package ingest

import (
	"fmt"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Format names a record format.
type Format string

// Record formats. FormatAuto tells the format of each record from its
// properties (see Decode).
const (
	FormatAuto  Format = ""
	FormatWeft  Format = "weft"
	FormatGraph Format = "graph"
)

// formatNames lists the format names ParseFormat accepts, for messages.
const formatNames = "auto, weft, graph, ocsf, elastic, suricata, wazuh, guide"

// ParseFormat parses a format name as given in a query parameter or a flag:
// "", "auto", or one of the formats' names, in any case. Any other name yields a
// *weft.Error with code EINVALID that names the allowed values.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "weft":
		return FormatWeft, nil
	case "graph":
		return FormatGraph, nil
	}
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if foreignDecoders[f] != nil || f == FormatGUIDE {
		return f, nil
	}
	return "", weft.Errorf(weft.EINVALID, "format %q is not known; allowed: %s", clip(s, 64), formatNames)
}

// Default limits, used for the zero fields of Limits.
const (
	DefaultMaxDepth   = 32
	DefaultMaxRecords = 10000
)

// Limits bounds what one body may hold. The zero value means the defaults:
// weft.MaxRecordBytes per record, a nesting depth of DefaultMaxDepth and
// DefaultMaxRecords records per body.
type Limits struct {
	MaxRecordBytes int // bytes of one record as sent
	MaxDepth       int // JSON nesting depth of one record; a flat object is 1
	MaxRecords     int // records in one body
}

func (l Limits) withDefaults() Limits {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = weft.MaxRecordBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = DefaultMaxRecords
	}
	return l
}

// Record is one decoded record of a body. Exactly one of Alert and Err is
// set.
type Record struct {
	Index    int          // 0-based position of the record in the body
	Line     int          // 1-based line where the record starts
	Alert    *weft.Alert  // nil when Err != nil
	Warnings []string     // what was repaired or kept as generic (e.g. unknown @odata.type)
	Err      *RecordError // why the record was rejected
	// SourceIncident is the incident the source itself put the alert in
	// (GUIDE's IncidentId; a Graph incident export's id, as
	// "graph-incident/<id>"), "" if none. It is ground truth for weft eval.
	// For a Graph incident export the incident's state also rides on the
	// alert (Alert.Import), and the store puts the alert in the incident
	// imported for it instead of correlating it (graphincident.go).
	SourceIncident string
}

// RecordError says why one record was rejected: where it is (its 0-based
// index and 1-based line), which field is wrong (a path such as
// "evidence[2].verdict", or "" for the record as a whole) and why.
type RecordError struct {
	Index   int
	Line    int
	Field   string
	Message string
	// Source is the record's source when it was read before the record was
	// refused (a rule broken by a well-formed alert), else "".
	Source string
}

// Error renders the error as "record 2 (line 3): severity: …". The record
// number is the 0-based Index, the same number the API reports.
func (e *RecordError) Error() string {
	// Records are counted from 1 here, as a person reading a file would.
	if e.Field == "" {
		return fmt.Sprintf("record %d (line %d): %s", e.Index+1, e.Line, e.Message)
	}
	return fmt.Sprintf("record %d (line %d): %s: %s", e.Index+1, e.Line, e.Field, e.Message)
}

// Decode splits body into records and decodes each into a weft.Alert
// normalized with Alert.Normalize(now).
//
// With ndjson true (Content-Type application/x-ndjson) every non-blank line is
// one record, except that a body starting with "[" is read as a JSON array.
// Otherwise the body is a JSON object, a JSON array of objects, or several of
// those one after the other; a body whose first two non-blank lines both
// start with "{" is read as NDJSON. A UTF-8 byte order mark and CRLF line
// ends are accepted. docs/formats.md has the rules in full.
//
// With FormatAuto each record's format is told from its properties: Graph
// when "@odata.type" names microsoft.graph.security.alert; weft when it has
// "source" (which Graph alerts never have); Graph when it has serviceSource,
// detectionSource or providerAlertId, or its evidence carries "@odata.type".
// A record that matches none of these is rejected.
//
// With FormatAuto or FormatGraph, a record that is a Graph list response
// ({"value": [...]}, as GET /security/alerts_v2 answers) or a Graph incident
// with its alerts (GET /security/incidents?$expand=alerts, whose list
// response is unwrapped too) yields one record per alert, each decoded as a
// Graph alert and carrying its incident (Record.SourceIncident,
// Alert.Import); see graphincident.go. A record refused because it is a raw
// event (an advanced-hunting row, a Windows event …) says so (rawevents.go).
//
// A problem with the body as a whole (empty, not JSON at all, more than
// lim.MaxRecords records, an unknown format) returns a *weft.Error with code
// EINVALID or ETOOLARGE and no records. A problem with one record goes into
// that Record's Err and never stops the others. Decode keeps no state and is
// safe for concurrent use; the returned alerts do not alias body.
func Decode(body []byte, ndjson bool, format Format, lim Limits, now time.Time) ([]Record, error) {
	switch {
	case format == FormatAuto, format == FormatWeft, format == FormatGraph, foreignDecoders[format] != nil:
	case format == FormatGUIDE:
		return decodeGUIDE(body, lim.withDefaults(), now)
	default:
		return nil, weft.Errorf(weft.EINVALID, "format %q is not known; allowed: %s", clip(string(format), 64), formatNames)
	}
	lim = lim.withDefaults()
	if format == FormatAuto && looksLikeGUIDE(body) {
		return decodeGUIDE(body, lim, now)
	}
	spans, err := split(body, ndjson, lim)
	if err != nil {
		return nil, err
	}
	d := &decoder{lim: lim, now: now, format: format}
	recs := make([]Record, 0, len(spans))
	for i := range spans {
		// A Graph list response or incident export holds several alerts
		// (graphincident.go).
		if recs, err = d.appendRecords(recs, 0, body, &spans[i]); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// clip shortens s for an error message, so that an attacker-sized value never
// floods one.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
