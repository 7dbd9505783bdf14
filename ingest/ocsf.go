package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// This file decodes OCSF findings: Detection Finding (class_uid 2004, OCSF
// 1.1 and later) and the Security Finding it replaced (2001, OCSF 1.0),
// following the OCSF 1.x schema (schema.ocsf.io, github.com/ocsf/ocsf-schema:
// events/findings/detection_finding.json, security_finding.json, and the
// finding_info, attack, evidences, device, user, network_endpoint, file,
// process, url and email objects). docs/formats.md has the field table.
//
// A finding is decoded into a tree first (docNode, doctree.go): findings
// nest their entities several levels deep and in several places
// (evidences[], resources[], actor, device …), so looking them up by name is
// simpler than a one-pass tokenizer, and records are small enough that the
// tree costs little. The entity helpers it shares with the Elastic decoder
// are in docentities.go.

// OCSF classes weft reads.
const (
	ocsfSecurityFinding  = 2001
	ocsfDetectionFinding = 2004
)

// ocsfSeverities maps OCSF severity_id to weft's severity. weft's scale stops
// at high, so Critical (5) and Fatal (6) are high; the original id is kept in
// additionalData.ocsfSeverityId. 99 (Other) is read from the severity caption.
var ocsfSeverities = map[int64]weft.Severity{
	0: weft.SeverityUnknown, 1: weft.SeverityInformational, 2: weft.SeverityLow,
	3: weft.SeverityMedium, 4: weft.SeverityHigh, 5: weft.SeverityHigh, 6: weft.SeverityHigh,
}

// ocsfSeverityCaptions maps the severity captions (lower case) to weft's
// severity, for severity_id 99 or a record with only the caption.
var ocsfSeverityCaptions = map[string]weft.Severity{
	"unknown": weft.SeverityUnknown, "informational": weft.SeverityInformational, "info": weft.SeverityInformational,
	"low": weft.SeverityLow, "medium": weft.SeverityMedium, "high": weft.SeverityHigh,
	"critical": weft.SeverityHigh, "fatal": weft.SeverityHigh,
}

// ocsfStatuses maps the finding status_id (2004) and state_id (2001) to
// weft's alert status: New, In Progress, and the closed states (Suppressed,
// Resolved, Archived, Deleted) as resolved.
var ocsfStatuses = map[int64]weft.AlertStatus{
	0: weft.AlertStatusUnknown, 1: weft.AlertStatusNew, 2: weft.AlertStatusInProgress,
	3: weft.AlertStatusResolved, 4: weft.AlertStatusResolved, 5: weft.AlertStatusResolved,
	6: weft.AlertStatusResolved, 99: weft.AlertStatusUnknown,
}

// decodeOCSF decodes one OCSF Detection Finding or Security Finding. It
// refuses any other class_uid, a finding without an id or a title, values
// of the wrong JSON type, and out-of-range severities, ports and times,
// each with the field's path. It is safe for concurrent use.
func decodeOCSF(rec []byte, _ time.Time) (*weft.Alert, []string, *fieldErr) {
	root, fe := parseDocTree(rec)
	if fe != nil {
		return nil, nil, fe
	}
	d := ocsfDecoder{a: &weft.Alert{}}
	d.finding(root)
	if d.err != nil {
		return nil, nil, d.err
	}
	d.a.Evidence = d.evidence()
	return d.a, d.warnings, nil
}

// ocsfDecoder decodes one finding.
type ocsfDecoder struct {
	docReader
	a     *weft.Alert
	extra objBuilder // additionalData
}

// finding decodes the finding's own attributes, then its entities.
func (d *ocsfDecoder) finding(root *docNode) {
	class, ok := d.int(root.get("class_uid"), "", "class_uid")
	switch {
	case d.err != nil:
		return
	case !ok:
		d.fail("class_uid", "is required (2004 for a Detection Finding)")
		return
	case class != ocsfDetectionFinding && class != ocsfSecurityFinding:
		d.fail("class_uid", strconv.FormatInt(class, 10)+" is not a finding class weft reads; send a Detection Finding (2004) or a Security Finding (2001)")
		return
	}
	d.extra.raw("ocsfClassUid", []byte(strconv.FormatInt(class, 10)))

	// The finding's description object: finding_info in 2004, finding in
	// 2001; either name is read in either class, since producers mix them.
	infoName, altName := "finding_info", "finding"
	if class == ocsfSecurityFinding {
		infoName, altName = altName, infoName
	}
	info := d.object(root, "", infoName)
	if info == nil {
		info, infoName = d.object(root, "", altName), altName
	}
	meta := d.object(root, "", "metadata")
	product := d.object(meta, "metadata", "product")

	a := d.a
	a.ProductName = d.str(product.get("name"), "metadata.product", "name")
	vendor := d.str(product.get("vendor_name"), "metadata.product", "vendor_name")
	a.Source = firstNonEmpty(a.ProductName, vendor, "ocsf")
	a.ProviderAlertID = d.id(info.get("uid"), infoName, "uid")
	if a.ProviderAlertID == "" && d.err == nil {
		d.fail(infoName+".uid", "is required (the finding's id)")
		return
	}
	analytic := d.object(info, infoName, "analytic")
	analyticPath := infoName + ".analytic"
	if analytic == nil {
		analytic, analyticPath = d.object(root, "", "analytic"), "analytic"
	}
	analyticName := d.str(analytic.get("name"), analyticPath, "name")
	a.DetectorID = firstNonEmpty(d.id(analytic.get("uid"), analyticPath, "uid"), analyticName)
	types := d.strs(info.get("types"), infoName, "types")
	message := d.str(root.get("message"), "", "message")
	a.Title = firstNonEmpty(d.str(info.get("title"), infoName, "title"), message, analyticName, firstItem(types))
	if a.Title == "" && d.err == nil {
		d.fail(infoName+".title", "is required (or message, or an analytic name)")
		return
	}
	a.Description = d.str(info.get("desc"), infoName, "desc")
	if a.Description == "" && message != a.Title {
		a.Description = message
	}
	a.AlertWebURL = d.str(info.get("src_url"), infoName, "src_url")
	remediation := d.object(root, "", "remediation")
	remPath := "remediation"
	if remediation == nil {
		remediation, remPath = d.object(info, infoName, "remediation"), infoName+".remediation"
	}
	a.RecommendedActions = d.str(remediation.get("desc"), remPath, "desc")

	d.severity(root)
	d.verdict(root)
	d.attacks(root.get("attacks"), "attacks")
	d.attacks(info.get("attacks"), infoName+".attacks")
	if a.Category == "" {
		a.Category = firstItem(types)
	}
	if assignee := d.object(root, "", "assignee"); assignee != nil {
		a.AssignedTo = firstNonEmpty(d.str(assignee.get("email_addr"), "assignee", "email_addr"), d.str(assignee.get("name"), "assignee", "name"))
	}
	for i, m := range d.objects(root.get("malware"), "", "malware") {
		m := &m
		if name := d.str(m.get("name"), docIndex("malware", i), "name"); name != "" && a.ThreatDisplayName == "" {
			a.ThreatDisplayName = name
		}
	}

	// Times: start_time and end_time bound the activity; first_seen_time
	// and last_seen_time of the finding stand in for them. time is when the
	// finding was created, modified_time when it last changed.
	if t := d.timeOf(root, "", "start_time"); t != nil {
		a.FirstActivityDateTime = *t
	} else if t := d.timeOf(info, infoName, "first_seen_time"); t != nil {
		a.FirstActivityDateTime = *t
	}
	if t := d.timeOf(root, "", "end_time"); t != nil {
		a.LastActivityDateTime = *t
	} else if t := d.timeOf(info, infoName, "last_seen_time"); t != nil {
		a.LastActivityDateTime = *t
	}
	created := d.timeOf(info, infoName, "created_time")
	eventTime := d.timeOf(root, "", "time")
	if created == nil {
		created = eventTime
	}
	a.ProviderCreatedDateTime = created
	modified := d.timeOf(info, infoName, "modified_time")
	if modified == nil {
		modified = d.timeOf(meta, "metadata", "modified_time")
	}
	if modified == nil {
		modified = eventTime
	}
	a.ProviderLastUpdateDateTime = modified
	d.status(root, class)

	d.entities(root)
	if d.err != nil {
		return
	}
	d.keep(root, meta, info, types, vendor, analytic)
	a.AdditionalData = d.extra.bytes()
}

// severity maps severity_id (and its caption for 99, Other).
func (d *ocsfDecoder) severity(root *docNode) {
	caption := d.str(root.get("severity"), "", "severity")
	id, ok := d.int(root.get("severity_id"), "", "severity_id")
	if d.err != nil {
		return
	}
	if ok {
		d.extra.raw("ocsfSeverityId", []byte(strconv.FormatInt(id, 10)))
	}
	if caption != "" {
		d.extra.str("ocsfSeverity", caption)
	}
	if sev, known := ocsfSeverities[id]; ok && known {
		d.a.Severity = sev
		return
	}
	if ok && id != 99 {
		d.fail("severity_id", strconv.FormatInt(id, 10)+" is not an OCSF severity; allowed: 0 (Unknown) to 6 (Fatal), 99 (Other)")
		return
	}
	if sev, known := ocsfSeverityCaptions[strings.ToLower(strings.TrimSpace(caption))]; known {
		d.a.Severity = sev
		return
	}
	d.a.Severity = weft.SeverityUnknown
	if caption != "" {
		d.warn("severity: " + strconv.Quote(clip(caption, 64)) + " is not an OCSF severity caption: the severity is unknown")
	}
}

// status maps status_id (2004) or state_id (2001). A value newer than
// weft knows is read as unknown, with a warning: OCSF adds statuses.
func (d *ocsfDecoder) status(root *docNode, class int64) {
	name := "status_id"
	if class == ocsfSecurityFinding && root.get("status_id") == nil {
		name = "state_id"
	}
	id, ok := d.int(root.get(name), "", name)
	if !ok || d.err != nil {
		return
	}
	d.extra.raw("ocsfStatusId", []byte(strconv.FormatInt(id, 10)))
	st, known := ocsfStatuses[id]
	if !known {
		d.warn(name + ": " + strconv.FormatInt(id, 10) + " is not a status weft knows: the status is unknown")
		st = weft.AlertStatusUnknown
	}
	d.a.Status = st
	if st == weft.AlertStatusResolved {
		d.a.ResolvedDateTime = d.a.ProviderLastUpdateDateTime
	}
}

// verdict maps the finding's verdict_id (the Incident profile) to weft's
// classification and determination.
func (d *ocsfDecoder) verdict(root *docNode) {
	id, ok := d.int(root.get("verdict_id"), "", "verdict_id")
	if !ok || d.err != nil {
		return
	}
	switch id {
	case 1:
		d.a.Classification = weft.ClassificationFalsePositive
	case 2:
		d.a.Classification = weft.ClassificationTruePositive
	case 5:
		d.a.Classification = weft.ClassificationInformationalExpectedActivity
	case 6:
		d.a.Classification = weft.ClassificationInformationalExpectedActivity
		d.a.Determination = weft.DeterminationSecurityTesting
	case 7:
		d.a.Determination = weft.DeterminationNotEnoughDataToValidate
	}
}

// attacks reads an array of MITRE ATT&CK objects: the techniques and
// sub-techniques become MitreTechniques, the first tactic the category.
func (d *ocsfDecoder) attacks(v *docNode, path string) {
	for i, at := range d.objects(v, "", path) {
		at := &at
		p := docIndex(path, i)
		tactic := d.object(at, p, "tactic")
		if name := d.str(tactic.get("name"), p+".tactic", "name"); d.a.Category == "" {
			d.a.Category = name
		}
		for j, t := range d.objects(at.get("tactics"), p, "tactics") {
			t := &t
			if name := d.str(t.get("name"), docIndex(p+".tactics", j), "name"); d.a.Category == "" {
				d.a.Category = name
			}
		}
		for _, name := range []string{"technique", "sub_technique"} {
			t := d.object(at, p, name)
			d.a.MitreTechniques = appendNew(d.a.MitreTechniques, d.str(t.get("uid"), p+"."+name, "uid"))
		}
	}
}

// keep adds the leftovers worth having at hand to additionalData: the
// schema version, vendor, finding types, analytic, scores, cloud and the
// producer's unmapped object. Everything else is in the raw record.
func (d *ocsfDecoder) keep(root, meta, info *docNode, types []string, vendor string, analytic *docNode) {
	x := &d.extra
	if v := d.str(meta.get("version"), "metadata", "version"); v != "" {
		x.str("ocsfVersion", v)
	}
	if vendor != "" {
		x.str("ocsfVendor", vendor)
	}
	for _, name := range []string{"activity_id", "confidence_id", "confidence_score", "risk_score", "risk_level_id", "impact_id", "disposition_id", "action_id", "count"} {
		if v := root.get(name); v != nil && v.kind == '0' {
			x.raw("ocsf"+ocsfCamel(name), []byte(v.s))
		}
	}
	for _, name := range []string{"disposition", "risk_level", "confidence"} {
		if s := d.str(root.get(name), "", name); s != "" {
			x.str("ocsf"+ocsfCamel(name), s)
		}
	}
	if len(types) > 0 {
		x.raw("ocsfTypes", appendDocJSON(nil, info.get("types")))
	}
	if analytic != nil {
		x.raw("ocsfAnalytic", appendDocJSON(nil, analytic))
	}
	for _, name := range []string{"cloud", "unmapped"} {
		if v := root.get(name); v != nil {
			x.raw("ocsf"+ocsfCamel(name), appendDocJSON(nil, v))
		}
	}
}

// timeOf reads the OCSF timestamp o.name: epoch milliseconds, or its
// RFC 3339 sibling name_dt (the Date/Time profile). Producers that write
// seconds, microseconds or nanoseconds are caught by magnitude: a value
// below 10^11 (before 1973 in milliseconds) is read as seconds, one of
// 10^14 or more (after year 5000) as microseconds, 10^17 or more as
// nanoseconds, with a warning. Zero is absent; a negative value is refused.
func (d *ocsfDecoder) timeOf(o *docNode, path, name string) *time.Time {
	v := o.get(name)
	if v == nil {
		dt := o.get(name + "_dt")
		if dt == nil {
			return nil
		}
		t, fe := timeVal(path, name+"_dt", d.str(dt, path, name+"_dt"))
		if fe != nil {
			d.failErr(fe)
			return nil
		}
		if t.IsZero() {
			return nil
		}
		return &t
	}
	ms, ok := d.number(v, path, name)
	if !ok {
		return nil
	}
	field := joinPath(path, name)
	switch {
	case ms < 0:
		d.fail(field, strconv.FormatFloat(ms, 'f', -1, 64)+" is negative; OCSF times are milliseconds since 1970")
		return nil
	case ms == 0:
		return nil
	case ms < 1e11:
		d.warn(field + ": " + strconv.FormatFloat(ms, 'f', -1, 64) + " is too small for milliseconds: read as seconds")
		ms *= 1e3
	case ms >= 1e17:
		d.warn(field + ": " + strconv.FormatFloat(ms, 'f', -1, 64) + " is too large for milliseconds: read as nanoseconds")
		ms /= 1e6
	case ms >= 1e14:
		d.warn(field + ": " + strconv.FormatFloat(ms, 'f', -1, 64) + " is too large for milliseconds: read as microseconds")
		ms /= 1e3
	}
	t := time.UnixMilli(int64(ms)).UTC()
	return &t
}

// ocsfCamel turns an OCSF attribute name into the camel case of a member of
// additionalData: "risk_level_id" → "RiskLevelId".
func ocsfCamel(s string) string {
	var b strings.Builder
	up := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			up = true
			continue
		case up && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		up = false
		b.WriteByte(c)
	}
	return b.String()
}
