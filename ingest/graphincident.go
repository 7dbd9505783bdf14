package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// This file unwraps the Microsoft Graph bodies that hold several alerts:
//
//   - a list response, {"@odata.context": …, "value": [alert, …]} with
//     perhaps "@odata.nextLink" (GET /security/alerts_v2);
//   - incidents exported with their alerts (GET
//     /security/incidents?$expand=alerts): a list response of incidents, one
//     incident, or a JSON array or NDJSON of them.
//
// Each alert becomes one Record, decoded as any Graph alert (graph.go). An
// incident's own state (status, classification, tags, comments …) rides
// along on each of its alerts as a weft.IncidentImport (Alert.Import), so
// that the store can bring the incident over whole; Record.SourceIncident
// names it ("graph-incident/<id>").
//
// Like the splitter (split.go), it finds where members and array elements end
// without parsing them, so that a syntax error inside one alert of an
// incident costs that alert only. docs/formats.md has the mapping.

// graphIncidentSource scopes Graph incident ids in weft.IncidentImport.Source
// and Record.SourceIncident.
const graphIncidentSource = "graph-incident"

// member is one member of a JSON object in a body: its name as sent (between
// the quotes, escapes left as they are) and where its value lies.
type member struct {
	name       []byte
	start, end int // the value is body[start:end]
	line       int // the line of body[start]
}

// members lists the members of the object that starts with the '{' at
// body[start] and ends before end, on line. It does not decode values: it
// finds where each ends as the splitter finds records. It returns the reason
// when the object's own structure is broken (a missing name, colon or comma,
// an unterminated string); the decoder then says precisely what is wrong.
func members(body []byte, start, end, line int, lim Limits) ([]member, string) {
	s := &scanner{data: body[:end], line: line, lim: lim, maxTracked: min(lim.MaxDepth+1, 256)}
	s.stack = make([]byte, 0, s.maxTracked)
	var ms []member
	i := s.skipSpace(start + 1)
	if i < end && body[i] == '}' {
		return ms, ""
	}
	for {
		if i >= end || body[i] != '"' {
			return nil, "expected a member name at line " + strconv.Itoa(s.line)
		}
		j := s.stringEnd(i)
		if j < 0 {
			return nil, "unterminated string at line " + strconv.Itoa(s.line)
		}
		name := body[i+1 : j-1]
		if i = s.skipSpace(j); i >= end || body[i] != ':' {
			return nil, "expected ':' after a member name at line " + strconv.Itoa(s.line)
		}
		i = s.skipSpace(i + 1)
		if i >= end {
			return nil, "expected a value at line " + strconv.Itoa(s.line)
		}
		m := member{name: name, start: i, line: s.line}
		switch c := body[i]; c {
		case '{', '[':
			e, st := s.scan(i, end, modeValue)
			if st != statusEnd {
				return nil, "unbalanced brackets from line " + strconv.Itoa(m.line)
			}
			m.end = e
		case '"':
			if m.end = s.stringEnd(i); m.end < 0 {
				return nil, "unterminated string at line " + strconv.Itoa(s.line)
			}
		default:
			e := i
			for e < end && !isSpace(body[e]) && body[e] != ',' && body[e] != '}' && body[e] != ']' {
				e++
			}
			if e == i {
				return nil, "expected a value at line " + strconv.Itoa(s.line)
			}
			m.end = e
		}
		ms = append(ms, m)
		switch i = s.skipSpace(m.end); {
		case i < end && body[i] == ',':
			i = s.skipSpace(i + 1)
		case i < end && body[i] == '}':
			return ms, ""
		default:
			return nil, "expected ',' or '}' after a member at line " + strconv.Itoa(s.line)
		}
	}
}

// stringEnd returns the position after the string whose opening quote is at
// s.data[i], or -1 when it does not end on its line.
func (s *scanner) stringEnd(i int) int {
	for j := i + 1; j < len(s.data); j++ {
		switch s.data[j] {
		case '"':
			return j + 1
		case '\\':
			j++
		case '\n':
			return -1
		}
	}
	return -1
}

// container is what a record that holds alerts is.
type container uint8

const (
	notContainer   container = iota
	listResponse             // {"value": [...]} and OData control information
	incidentObject           // a Graph incident with its alerts
)

// isODataControl reports whether a member name is OData control information
// ("@odata.context", "alerts@odata.context" …), never data.
func isODataControl(name []byte) bool { return bytes.Contains(name, []byte("@odata.")) }

// containerOf tells what the members ms of an object make:
//   - a list response: a "value" array, and otherwise OData control
//     information only (no alert has "value");
//   - an incident: an "alerts" array and another property that only Graph
//     incidents have (displayName, customTags, redirectIncidentId,
//     resolvingComment, or an @odata.type naming an incident). Inside a list
//     response, where every element is an alert or an incident, any one of
//     these (or "alerts") is enough, so that an incident exported without
//     $expand=alerts is refused as such rather than as a bad alert.
func containerOf(body []byte, ms []member, inList bool) container {
	var value, alerts, mark, other bool
	for _, m := range ms {
		switch string(m.name) {
		case "value":
			value = body[m.start] == '['
		case "alerts":
			alerts = body[m.start] == '['
			mark = mark || inList
		case "displayName", "customTags", "redirectIncidentId", "resolvingComment":
			mark = true
		case "@odata.type":
			mark = mark || bytes.Contains(body[m.start:m.end], []byte("microsoft.graph.security.incident"))
		default:
			other = other || !isODataControl(m.name)
		}
	}
	switch {
	case !inList && value && !alerts && !mark && !other:
		return listResponse
	case mark && (alerts || inList):
		return incidentObject
	}
	return notContainer
}

// appendRecords decodes the span sp and appends what it holds to recs: one
// record, or, for a Graph list response or incident, one per alert in it.
// The records of recs are numbered from base (a Stream's batch does not start
// at 0), and Index base+len(recs) is the next. It returns an ETOOLARGE
// *weft.Error when the records would pass d.lim.MaxRecords.
//
// A record is first decoded as one alert. A list response or an incident
// never decodes as one (neither has a title, and both are refused when they
// pass the record size limit), so only a record refused as an alert is
// looked at as a container: plain alerts pay nothing for containers.
func (d *decoder) appendRecords(recs []Record, base int, body []byte, sp *span) ([]Record, error) {
	if base+len(recs) >= d.lim.MaxRecords {
		return nil, tooManyRecords(d.lim)
	}
	r := d.decode(base+len(recs), body, sp)
	if r.Err == nil || sp.err != "" {
		return append(recs, r), nil
	}
	if (d.format == FormatAuto || d.format == FormatGraph) && body[sp.start] == '{' {
		if ms, bad := members(body, sp.start, sp.end, sp.line, d.lim); bad == "" {
			switch containerOf(body, ms, false) {
			case listResponse:
				return d.appendList(recs, base, body, ms)
			case incidentObject:
				return d.appendIncident(recs, base, body, sp, ms)
			}
		}
	}
	return append(recs, d.explainRefused(r, body, sp)), nil
}

// appendOne decodes one record in format and appends it.
func (d *decoder) appendOne(recs []Record, base int, body []byte, sp *span, format Format) ([]Record, error) {
	if base+len(recs) >= d.lim.MaxRecords {
		return nil, tooManyRecords(d.lim)
	}
	saved := d.format
	d.format = format
	r := d.decode(base+len(recs), body, sp)
	d.format = saved
	return append(recs, d.explainRefused(r, body, sp)), nil
}

// explainRefused says so when a record was refused because it is a raw
// event rather than an alert (rawevents.go).
func (d *decoder) explainRefused(r Record, body []byte, sp *span) Record {
	if r.Err != nil && sp.err == "" {
		if why := rawEvent(body[sp.start:sp.end], d.lim); why != "" {
			r.Err.Field, r.Err.Message = "", why
		}
	}
	return r
}

func tooManyRecords(lim Limits) error {
	return weft.Errorf(weft.ETOOLARGE, "the body holds more than %d records; send at most %d per request", lim.MaxRecords, lim.MaxRecords)
}

// elements cuts the array value of m into spans, as the splitter cuts a body
// that is an array; a broken element gets a span with an error.
func (d *decoder) elements(body []byte, m member) ([]span, error) {
	s := &scanner{data: body[:m.end], line: m.line, lim: d.lim, maxTracked: min(d.lim.MaxDepth+1, 256)}
	s.stack = make([]byte, 0, s.maxTracked)
	s.splitArray(m.start)
	if s.err != nil {
		return nil, s.err
	}
	return s.spans, nil
}

// appendList appends the records of a list response: each element of
// "value" is an alert or an incident.
func (d *decoder) appendList(recs []Record, base int, body []byte, ms []member) ([]Record, error) {
	var value member
	nextLink := false
	for _, m := range ms {
		switch string(m.name) {
		case "value":
			value = m
		case "@odata.nextLink":
			nextLink = true
		}
	}
	elems, err := d.elements(body, value)
	if err != nil {
		return nil, err
	}
	first := len(recs)
	for i := range elems {
		el := &elems[i]
		if el.err == "" && body[el.start] == '{' {
			if ims, bad := members(body, el.start, el.end, el.line, d.lim); bad == "" && containerOf(body, ims, true) == incidentObject {
				if recs, err = d.appendIncident(recs, base, body, el, ims); err != nil {
					return nil, err
				}
				continue
			}
		}
		if recs, err = d.appendOne(recs, base, body, el, FormatGraph); err != nil {
			return nil, err
		}
	}
	if nextLink {
		for i := first; i < len(recs); i++ {
			if recs[i].Err == nil {
				recs[i].Warnings = append(recs[i].Warnings, "the list response has an @odata.nextLink: it is one page of a longer list; send the other pages too")
				break
			}
		}
	}
	return recs, nil
}

// appendIncident appends one record per alert of a Graph incident. Each
// record is at the incident's line; an error in an alert names it
// ("alerts[2].severity"), and an error in the incident's own properties
// rejects every one of its alerts.
func (d *decoder) appendIncident(recs []Record, base int, body []byte, sp *span, ms []member) ([]Record, error) {
	imp, warnings, fe := d.incidentImport(body, sp, ms)
	var key string
	if imp != nil && imp.ID != "" {
		key = imp.Key()
	}
	reject := func(fe *fieldErr) error {
		if base+len(recs) >= d.lim.MaxRecords {
			return tooManyRecords(d.lim)
		}
		i := base + len(recs)
		recs = append(recs, Record{Index: i, Line: sp.line, SourceIncident: key,
			Err: &RecordError{Index: i, Line: sp.line, Field: fe.field, Message: fe.msg}})
		return nil
	}
	var alerts member
	for _, m := range ms {
		if string(m.name) == "alerts" {
			alerts = m
		}
	}
	if alerts.end == 0 || body[alerts.start] != '[' {
		msg := "is missing: export incidents with $expand=alerts, so that their alerts come with them"
		if alerts.end != 0 {
			msg = "expected an array of alerts, got " + kindWords(jsontext.Value(body[alerts.start:alerts.end]).Kind())
		}
		if err := reject(&fieldErr{field: "alerts", msg: msg}); err != nil {
			return nil, err
		}
		return recs, nil
	}
	elems, err := d.elements(body, alerts)
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 && fe != nil {
		// No alert to carry the incident's error: one record says it.
		if err := reject(fe); err != nil {
			return nil, err
		}
		return recs, nil
	}
	var tenant string // of the incident's first accepted alert
	for k := range elems {
		path := "alerts[" + strconv.Itoa(k) + "]"
		if fe != nil {
			if err := reject(fe); err != nil {
				return nil, err
			}
			continue
		}
		n := len(recs)
		if recs, err = d.appendOne(recs, base, body, &elems[k], FormatGraph); err != nil {
			return nil, err
		}
		r := &recs[n]
		r.Line, r.SourceIncident = sp.line, key
		if r.Err == nil && tenant != "" && r.Alert.TenantID != tenant {
			// An incident lives in one tenant: its state must not be
			// copied into another one's.
			got := r.Alert.TenantID
			r.Alert, r.Warnings = nil, nil
			r.Err = &RecordError{Index: r.Index, Field: "tenantId",
				Message: fmt.Sprintf("names tenant %q, but the incident's first alert is in %q; an incident's alerts belong to one tenant", clip(got, 64), tenant)}
		}
		if r.Err != nil {
			r.Err.Line, r.Err.Field = sp.line, joinPath(path, r.Err.Field)
			continue
		}
		tenant = r.Alert.TenantID
		r.Alert.Import = imp
		r.Warnings = append(r.Warnings, warnings...)
		warnings = nil // said once, on the incident's first accepted alert
	}
	return recs, nil
}

// graphIncidentIgnored are the Graph incident properties weft does not
// import: severity follows the alerts, and the others are the source's own.
var graphIncidentIgnored = map[string]bool{
	"severity": true, "incidentWebUrl": true, "tenantId": true, "lastModifiedBy": true,
	"priorityScore": true, "summary": true,
}

// incidentImport decodes the properties of a Graph incident other than its
// alerts. A redirected incident (merged into another) is imported as the
// incident it redirects to, without its own state. Comments without a time
// take the incident's last update time (else its created time), so that a
// re-import finds them equal.
func (d *decoder) incidentImport(body []byte, sp *span, ms []member) (*weft.IncidentImport, []string, *fieldErr) {
	imp := &weft.IncidentImport{Source: graphIncidentSource}
	var warnings, unknown []string
	var redirect string
	seen := make(map[string]bool, len(ms))
	size := sp.end - sp.start
	r := &d.r
	for _, m := range ms {
		name := string(m.name)
		if seen[name] {
			return imp, nil, duplicate("", m.name)
		}
		seen[name] = true
		if name == "alerts" {
			size -= m.end - m.start
			continue
		}
		v := body[m.start:m.end]
		valid := utf8.Valid(v)
		r.reset(v, m.line, d.lim.MaxDepth-1, valid)
		rd := recordDecoder{d: d, rec: v, line: m.line, format: FormatGraph, valid: valid}
		var fe *fieldErr
		var s string
		switch name {
		case "id":
			imp.ID, fe = r.strOrNumber("", m.name)
		case "displayName":
			imp.DisplayName, fe = r.str("", m.name)
		case "description":
			imp.Description, fe = r.str("", m.name)
		case "status":
			if s, fe = r.str("", m.name); fe == nil {
				imp.Status, fe = parseEnum("", "status", s, weft.ParseIncidentStatus, "")
			}
		case "classification":
			if s, fe = r.str("", m.name); fe == nil {
				imp.Classification, fe = parseEnum("", "classification", s, weft.ParseClassification, weft.ClassificationUnknown)
			}
		case "determination":
			if s, fe = r.str("", m.name); fe == nil {
				imp.Determination, fe = parseEnum("", "determination", s, weft.ParseDetermination, weft.DeterminationUnknown)
			}
		case "assignedTo":
			imp.AssignedTo, fe = r.str("", m.name)
		case "customTags":
			imp.CustomTags, fe = rd.strs("", m.name)
		case "systemTags":
			imp.SystemTags, fe = rd.strs("", m.name)
		case "comments":
			imp.Comments, fe = rd.comments(m.name)
		case "resolvingComment":
			imp.ResolvingComment, fe = r.str("", m.name)
		case "createdDateTime":
			imp.CreatedDateTime, fe = r.timePtr("", m.name)
		case "lastUpdateDateTime":
			imp.LastUpdateDateTime, fe = r.timePtr("", m.name)
		case "redirectIncidentId":
			redirect, fe = r.strOrNumber("", m.name)
		default:
			if _, fe = r.raw("", m.name); fe == nil && !graphIncidentIgnored[name] && !isODataControl(m.name) {
				unknown = append(unknown, clip(name, 64))
			}
		}
		if fe == nil {
			fe = r.end()
		}
		if fe != nil {
			return imp, nil, fe
		}
		warnings = append(warnings, rd.warnings...)
	}
	if size > d.lim.MaxRecordBytes {
		return imp, nil, &fieldErr{msg: "the incident without its alerts is " + strconv.Itoa(size) + " bytes; the limit is " + strconv.Itoa(d.lim.MaxRecordBytes) + " bytes"}
	}
	if len(unknown) > 0 {
		if len(unknown) > 8 {
			unknown = append(unknown[:8], "…")
		}
		warnings = append(warnings, "properties that are not Graph incident properties were ignored: "+strings.Join(unknown, ", "))
	}
	var at time.Time
	for _, t := range []*time.Time{imp.LastUpdateDateTime, imp.CreatedDateTime} {
		if t != nil && at.IsZero() {
			at = *t
		}
	}
	for i := range imp.Comments {
		if imp.Comments[i].CreatedDateTime.IsZero() {
			imp.Comments[i].CreatedDateTime = at
		}
	}
	if imp.Status == weft.IncidentStatusRedirected {
		if redirect == "" {
			return imp, nil, &fieldErr{field: "redirectIncidentId", msg: "is required when status is redirected (the incident this one was merged into)"}
		}
		warnings = append(warnings, "incident "+clip(imp.ID, 64)+" was merged into incident "+clip(redirect, 64)+
			" (status redirected): its alerts are imported into that incident, without this one's state")
		imp = &weft.IncidentImport{Source: graphIncidentSource, ID: redirect}
	}
	ws, err := imp.Normalize()
	if err != nil {
		var ferr *weft.FieldError
		if errors.As(err, &ferr) {
			return imp, nil, &fieldErr{field: ferr.Field, msg: ferr.Message}
		}
		return imp, nil, &fieldErr{msg: weft.ErrorMessage(err)}
	}
	return imp, append(warnings, ws...), nil
}
