package ingest

import (
	"bytes"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// This file decodes a record's top-level object. Both formats are read in
// one pass: most properties mean the same in both, and the few that do not
// (slot below) are kept raw until the end of the record, when its format is
// known (detect.go), and then interpreted by graph.go or weft.go.

// slot names a top-level property whose meaning depends on the format.
type slot int

const (
	slotID                         slot = iota // Graph: the alert id; weft: ignored (weft owns ids)
	slotIncidentID                             // Graph: kept in additionalData; weft: ignored
	slotIncidentWebURL                         // Graph: kept in additionalData; weft: unknown
	slotCreatedDateTime                        // Graph: the provider's time; weft: ignored (weft owns it)
	slotLastUpdateDateTime                     // as createdDateTime
	slotSource                                 // weft: the source; Graph: not a Graph property
	slotProviderCreatedDateTime                // weft only
	slotProviderLastUpdateDateTime             // weft only
	slotCorrelationReasons                     // weft: ignored (weft owns it); Graph: not a Graph property
	slotCorrelation                            // as correlationReasons
	slotRaw                                    // as correlationReasons
	slotOdataType                              // tells the format; then dropped, as all OData control information
	numSlots
)

var slotNames = [numSlots]string{"id", "incidentId", "incidentWebUrl", "createdDateTime", "lastUpdateDateTime", "source",
	"providerCreatedDateTime", "providerLastUpdateDateTime", "correlationReasons", "correlation", "raw", "@odata.type"}

// top is what decoding a record's object finds besides weft.Alert fields.
type top struct {
	slots           [numSlots]jsontext.Value // raw values; they alias the record
	providerAlertID string
	additionalData  jsontext.Value
	unknown         objBuilder // members neither format knows
}

// alert decodes the record into an alert in the format rd.format, or the
// format the record's properties tell when that is FormatAuto.
func (rd *recordDecoder) alert() (*weft.Alert, *fieldErr) {
	r := &rd.d.r
	r.reset(rd.rec, rd.line, rd.d.lim.MaxDepth, rd.valid)
	if _, err := r.dec.ReadToken(); err != nil { // the scanner has seen the '{'
		return nil, r.syntax(err)
	}
	a := new(weft.Alert)
	var t top
	var seen seenSet
	r.names.release(0)
	for {
		name, ok, fe := r.next()
		if fe != nil {
			return nil, fe
		}
		if !ok {
			break
		}
		id := alertFields.lookup(name)
		if id >= 0 && !seen.add(id) || id < 0 && !r.names.add(0, name) {
			return nil, duplicate("", name)
		}
		if fe := rd.alertMember(id, name, a, &t); fe != nil {
			return nil, fe
		}
	}
	if fe := r.end(); fe != nil {
		return nil, fe
	}
	format := rd.format
	if format == FormatAuto {
		if format = detect(rd.hints); format == "" {
			return nil, &fieldErr{msg: "cannot tell the format; name it with ?format=weft|graph"}
		}
	}
	rd.format = format
	if format == FormatGraph {
		return a, rd.finishGraph(a, &t)
	}
	return a, rd.finishWeft(a, &t)
}

// alertMember decodes one member of the record's object.
func (rd *recordDecoder) alertMember(id int, name []byte, a *weft.Alert, t *top) (fe *fieldErr) {
	r := &rd.d.r
	var s string
	switch id {
	case fTenantID:
		a.TenantID, fe = r.str("", name)
	case fProviderAlertID:
		t.providerAlertID, fe = r.str("", name)
		rd.hints |= hintGraphKey
	case fTitle:
		a.Title, fe = r.str("", name)
	case fDescription:
		a.Description, fe = r.str("", name)
	case fRecommendedActions:
		a.RecommendedActions, fe = r.str("", name)
	case fCategory:
		a.Category, fe = r.str("", name)
	case fMitreTechniques:
		a.MitreTechniques, fe = rd.strs("", name)
	case fSeverity:
		if s, fe = r.str("", name); fe == nil {
			a.Severity, fe = parseEnum("", "severity", s, weft.ParseSeverity, weft.SeverityUnknown)
		}
	case fStatus:
		if s, fe = r.str("", name); fe == nil {
			a.Status, fe = parseEnum("", "status", s, weft.ParseAlertStatus, weft.AlertStatusUnknown)
		}
	case fClassification:
		if s, fe = r.str("", name); fe == nil {
			a.Classification, fe = parseEnum("", "classification", s, weft.ParseClassification, weft.ClassificationUnknown)
		}
	case fDetermination:
		if s, fe = r.str("", name); fe == nil {
			a.Determination, fe = parseEnum("", "determination", s, weft.ParseDetermination, weft.DeterminationUnknown)
		}
	case fAssignedTo:
		a.AssignedTo, fe = r.str("", name)
	case fServiceSource:
		a.ServiceSource, fe = r.str("", name)
		rd.hints |= hintGraphKey
	case fDetectionSource:
		a.DetectionSource, fe = r.str("", name)
		rd.hints |= hintGraphKey
	case fProductName:
		a.ProductName, fe = r.str("", name)
	case fDetectorID:
		a.DetectorID, fe = r.str("", name)
	case fAlertPolicyID:
		a.AlertPolicyID, fe = r.str("", name)
	case fActorDisplayName:
		a.ActorDisplayName, fe = r.str("", name)
	case fThreatDisplayName:
		a.ThreatDisplayName, fe = r.str("", name)
	case fThreatFamilyName:
		a.ThreatFamilyName, fe = r.str("", name)
	case fAlertWebURL:
		a.AlertWebURL, fe = r.str("", name)
	case fFirstActivity:
		a.FirstActivityDateTime, fe = r.time("", name)
	case fLastActivity:
		a.LastActivityDateTime, fe = r.time("", name)
	case fResolved:
		a.ResolvedDateTime, fe = r.timePtr("", name)
	case fComments:
		a.Comments, fe = rd.comments(name)
	case fEvidence:
		a.Evidence, fe = rd.evidenceList(name)
	case fSystemTags:
		a.SystemTags, fe = rd.strs("", name)
	case fAdditionalData:
		t.additionalData, fe = r.raw("", name)
	case int(slotID), int(slotIncidentID), int(slotIncidentWebURL), int(slotCreatedDateTime), int(slotLastUpdateDateTime),
		int(slotSource), int(slotProviderCreatedDateTime), int(slotProviderLastUpdateDateTime), int(slotCorrelationReasons),
		int(slotCorrelation), int(slotRaw), int(slotOdataType):
		var v jsontext.Value
		if v, fe = r.raw("", name); fe != nil {
			return fe
		}
		t.slots[id] = v
		switch slot(id) {
		case slotSource:
			rd.hints |= hintSource
		case slotOdataType:
			if bytes.Contains(v, []byte("microsoft.graph.security.alert")) {
				rd.hints |= hintOdataAlert
			}
		}
	default:
		var v jsontext.Value
		if v, fe = r.raw("", name); fe == nil && !bytes.HasPrefix(name, []byte("@odata.")) { // OData control information, never alert data
			t.unknown.rawb(name, v)
		}
	}
	return fe
}

// comments decodes the comments array; a comment without a time takes the
// ingest time. Members of a comment other than Graph's are dropped.
func (rd *recordDecoder) comments(name []byte) ([]weft.Comment, *fieldErr) {
	r := &rd.d.r
	ok, fe := r.enter("", name, '[', "an array of objects")
	if !ok || fe != nil {
		return nil, fe
	}
	var out []weft.Comment
	for i := 0; ; i++ {
		more, fe := r.more()
		if fe != nil || !more {
			return out, fe
		}
		var c weft.Comment
		ok, fe := rd.nestedObject("comments["+strconv.Itoa(i)+"]", nil, commentFields, nil, func(id int, m []byte) (fe *fieldErr) {
			switch id {
			case cComment:
				c.Comment, fe = r.str("", m)
			case cCreatedBy:
				c.CreatedByDisplayName, fe = r.str("", m)
			case cCreated:
				c.CreatedDateTime, fe = r.time("", m)
			}
			return fe
		})
		if fe != nil {
			return nil, fe
		}
		if !ok {
			continue
		}
		if c.CreatedDateTime.IsZero() {
			c.CreatedDateTime = rd.now.UTC()
		}
		if len(out) == weft.MaxListItems {
			rd.warn("comments has more than " + strconv.Itoa(weft.MaxListItems) + " items; only the first " + strconv.Itoa(weft.MaxListItems) + " were kept")
			if fe := r.skipRest(); fe != nil {
				return nil, fe
			}
			return out, nil
		}
		out = append(out, c)
	}
}

// strs reads a list field, warning when it was cut to weft.MaxListItems.
func (rd *recordDecoder) strs(path string, name []byte) ([]string, *fieldErr) {
	l, cut, fe := rd.d.r.strs(path, name)
	if cut > 0 {
		rd.warn(at(path, name) + " has " + strconv.Itoa(len(l)+cut) + " items; only the first " + strconv.Itoa(len(l)) + " were kept")
	}
	return l, fe
}

// slotString returns the string in slot i; absent and null are "".
func (rd *recordDecoder) slotString(t *top, i slot) (string, *fieldErr) {
	v := t.slots[i]
	switch v.Kind() {
	case 0, 'n':
		return "", nil
	case '"':
		return string(rd.d.r.unquoteValue(v)), nil
	}
	return "", &fieldErr{field: slotNames[i], msg: "expected a string, got " + kindWords(v.Kind())}
}

// slotTime returns the timestamp in slot i; absent and null are nil.
func (rd *recordDecoder) slotTime(t *top, i slot) (*time.Time, *fieldErr) {
	v := t.slots[i]
	switch v.Kind() {
	case 0, 'n':
		return nil, nil
	case '"':
		tm, fe := parseTime("", []byte(slotNames[i]), rd.d.r.unquoteValue(v))
		if fe != nil || tm.IsZero() {
			return nil, fe
		}
		return rd.d.r.times.ptr(tm), nil
	}
	return nil, &fieldErr{field: slotNames[i], msg: "expected a string, got " + kindWords(v.Kind())}
}

// keepSlots adds the given slots that are present to b, under their names.
func (rd *recordDecoder) keepSlots(t *top, b *objBuilder, slots ...slot) {
	for _, i := range slots {
		if v := t.slots[i]; v != nil {
			b.raw(slotNames[i], v)
		}
	}
}
