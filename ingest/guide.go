package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// GUIDE is the public evaluation set Microsoft released with "AI-Driven
// Guided Response for Security Operation Centers with Microsoft Copilot for
// Security" (arXiv 2407.09017): Defender XDR incidents of about 6,000
// organisations, anonymised, as CSV with one row per evidence item. Rows are
// grouped into alerts by OrgId and AlertId and alerts into incidents by OrgId
// and IncidentId; Defender's IncidentId is the ground truth weft eval scores
// correlation against (Record.SourceIncident), never a correlation input.
//
// Every identifier in the file is an anonymised integer, and each entity
// column spells "absent" as one constant integer of its own (DeviceId 98799,
// IpAddress 360606, …) rather than leaving the cell empty. Linking alerts on
// those constants would put every alert of an organisation into one
// incident, so the decoder finds them per column and drops them
// (guide_absent.go). guide_evidence.go maps a row to an evidence item.
// docs/formats.md has the column table and the rules.

// guideSource is the Source of every GUIDE alert.
const guideSource = "guide"

// GUIDE's columns, by the position guideColumnNames gives them. A file may
// order them as it likes; the header says where each is.
const (
	gID = iota
	gOrgID
	gIncidentID
	gAlertID
	gTimestamp
	gDetectorID
	gAlertTitle
	gCategory
	gMitreTechniques
	gIncidentGrade
	gActionGrouped
	gActionGranular
	gEntityType
	gEvidenceRole
	gDeviceID // the first of the evidence's own columns
	gSha256
	gIPAddress
	gURL
	gAccountSid
	gAccountUpn
	gAccountObjectID
	gAccountName
	gDeviceName
	gNetworkMessageID
	gEmailClusterID
	gRegistryKey
	gRegistryValueName
	gRegistryValueData
	gApplicationID
	gApplicationName
	gOAuthApplicationID
	gThreatFamily
	gFileName
	gFolderPath
	gResourceIDName
	gResourceType
	gRoles
	gOSFamily
	gOSVersion
	gAntispamDirection
	gSuspicionLevel
	gLastVerdict
	gCountryCode
	gState
	gCity
	gUsage // GUIDE_Test.csv only: the Kaggle leaderboard split, kept raw
	gColumns
)

// guideColumnNames are the header names of the columns. All but Usage are
// required: GUIDE_Train.csv has the first 45, GUIDE_Test.csv adds Usage.
var guideColumnNames = [gColumns]string{
	"Id", "OrgId", "IncidentId", "AlertId", "Timestamp", "DetectorId", "AlertTitle", "Category",
	"MitreTechniques", "IncidentGrade", "ActionGrouped", "ActionGranular", "EntityType", "EvidenceRole",
	"DeviceId", "Sha256", "IpAddress", "Url", "AccountSid", "AccountUpn", "AccountObjectId", "AccountName",
	"DeviceName", "NetworkMessageId", "EmailClusterId", "RegistryKey", "RegistryValueName",
	"RegistryValueData", "ApplicationId", "ApplicationName", "OAuthApplicationId", "ThreatFamily",
	"FileName", "FolderPath", "ResourceIdName", "ResourceType", "Roles", "OSFamily", "OSVersion",
	"AntispamDirection", "SuspicionLevel", "LastVerdict", "CountryCode", "State", "City", "Usage",
}

// guideCategory returns the weft category of a GUIDE category. GUIDE writes
// Defender's category names, which are Graph's ("InitialAccess",
// "CommandAndControl", "Malware", …), so most pass unchanged; two of
// Defender's older names are folded into the names weft's priority knows.
func guideCategory(s string) string {
	switch s {
	case "CredentialStealing":
		return "CredentialAccess"
	case "WebExploit":
		return "Exploit"
	}
	return s
}

// looksLikeGUIDE reports whether body starts with a GUIDE CSV header: a first
// line, after an optional byte order mark, that names OrgId, AlertId,
// IncidentId, EntityType and EvidenceRole. A JSON body never does.
func looksLikeGUIDE(body []byte) bool {
	body = bytes.TrimPrefix(body, utf8BOM)
	line, _, _ := bytes.Cut(body[:min(len(body), 4096)], []byte("\n"))
	need := 0
	for name := range bytes.SplitSeq(line, []byte(",")) {
		switch string(bytes.Trim(name, " \t\r\"")) {
		case "OrgId", "AlertId", "IncidentId", "EntityType", "EvidenceRole":
			need++
		}
	}
	return need == 5
}

var utf8BOM = []byte("\xef\xbb\xbf")

// guideRow is one accepted row: its fields in the file's order and where it
// is.
type guideRow struct {
	line     int
	text     string // the row as sent, without its line end, for Alert.Raw
	rec      []string
	ts       time.Time
	repaired bool // invalid UTF-8 was replaced
}

// guideAlert gathers the accepted rows of one OrgId and AlertId.
type guideAlert struct {
	slot     int // its Record's index
	rows     []*guideRow
	warnings []string
}

// guideDecoder holds the state of decoding one GUIDE body.
type guideDecoder struct {
	lim    Limits
	now    time.Time
	col    [gColumns]int // the file's column of each GUIDE column, -1 if absent
	ncols  int           // columns in the header
	absent [gColumns][]string
	recs   []Record
	alerts map[string]*guideAlert
	// pending holds the warnings for rows rejected before their alert's
	// first good row, by alert.
	pending map[string][]string
}

// decodeGUIDE decodes a GUIDE CSV body into one Record per alert, in the
// order of each alert's first row, with the rows that could not be read as
// Records of their own at their place. Record.Line is the line of the alert's
// first row. A row that cannot be read (wrong column count, a non-integer id,
// a bad timestamp, broken quoting, too long) is rejected alone with its line
// and column; its alert is built from its other rows and says so in a
// warning.
//
// Body-level problems (empty, no GUIDE header, a required column missing or
// named twice, more than lim.MaxRecords records) return a *weft.Error with
// code EINVALID or ETOOLARGE and no records. It keeps no state and is safe for
// concurrent use; the alerts do not alias body.
func decodeGUIDE(body []byte, lim Limits, now time.Time) ([]Record, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, weft.Errorf(weft.EINVALID, "the body is empty; send a GUIDE CSV file with its header line")
	}
	valid := utf8.Valid(body)
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1 // the row checks its own count, for a better message
	header, err := cr.Read()
	if err != nil {
		return nil, weft.Errorf(weft.EINVALID, "line 1: the body does not start with a GUIDE CSV header: invalid CSV: %s", csvMessage(err))
	}
	d := &guideDecoder{lim: lim, now: now, ncols: len(header), alerts: map[string]*guideAlert{}, pending: map[string][]string{}}
	if err := d.readHeader(header); err != nil {
		return nil, err
	}
	var rows []*guideRow
	for {
		start := cr.InputOffset()
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			d.reject(line, "", "invalid CSV: "+csvMessage(err))
		} else {
			line, _ := cr.FieldPos(0)
			text := string(bytes.TrimRight(body[start:cr.InputOffset()], "\r\n"))
			if row := d.row(line, text, rec, valid); row != nil {
				rows = append(rows, row)
			}
		}
		if len(d.recs) > lim.MaxRecords {
			return nil, weft.Errorf(weft.ETOOLARGE, "the body holds more than %d records (GUIDE alerts and rejected rows); send at most %d per request", lim.MaxRecords, lim.MaxRecords)
		}
	}
	d.findAbsent(rows)
	for _, ga := range d.alerts {
		d.recs[ga.slot] = d.alert(ga)
	}
	return d.recs, nil
}

// readHeader maps GUIDE's columns to the file's. Other columns are allowed
// (kept raw); a GUIDE column named twice, or a required one missing, is an
// error.
func (d *guideDecoder) readHeader(header []string) error {
	for i := range d.col {
		d.col[i] = -1
	}
	byName := make(map[string]int, gColumns)
	for i, n := range guideColumnNames {
		byName[n] = i
	}
	for i, h := range header {
		g, ok := byName[strings.TrimSpace(h)]
		if !ok {
			continue
		}
		if d.col[g] >= 0 {
			return weft.Errorf(weft.EINVALID, "line 1: the GUIDE header names the column %s twice (columns %d and %d)", guideColumnNames[g], d.col[g]+1, i+1)
		}
		d.col[g] = i
	}
	var missing []string
	for g := range gUsage {
		if d.col[g] < 0 {
			missing = append(missing, guideColumnNames[g])
		}
	}
	if len(missing) > 0 {
		return weft.Errorf(weft.EINVALID, "line 1: the GUIDE header lacks the column(s) %s; a GUIDE file has the columns %s", strings.Join(missing, ", "), strings.Join(guideColumnNames[:], ","))
	}
	return nil
}

// csvMessage words an encoding/csv error without its own line prefix, which
// the record error gives.
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%v at column %d", pe.Err, pe.Column)
	}
	return err.Error()
}

// reject adds a Record for a row that could not be read.
func (d *guideDecoder) reject(line int, field, msg string) {
	i := len(d.recs)
	d.recs = append(d.recs, Record{Index: i, Line: line, Err: &RecordError{Index: i, Line: line, Field: field, Message: msg}})
}

// field returns column g of rec, "" for a column the file does not have.
func (d *guideDecoder) field(rec []string, g int) string {
	if c := d.col[g]; c >= 0 {
		return rec[c]
	}
	return ""
}

// row checks one row and files it under its alert, or rejects it and
// returns nil.
func (d *guideDecoder) row(line int, text string, rec []string, valid bool) *guideRow {
	if len(rec) != d.ncols {
		d.reject(line, "", fmt.Sprintf("the row has %d columns; the header has %d", len(rec), d.ncols))
		return nil
	}
	if len(text) > d.lim.MaxRecordBytes {
		d.reject(line, "", fmt.Sprintf("the row is %d bytes; the limit is %d bytes", len(text), d.lim.MaxRecordBytes))
		return nil
	}
	row := &guideRow{line: line, text: text, rec: rec}
	if !valid && !utf8.ValidString(text) {
		row.repaired = true
		row.text = strings.ToValidUTF8(text, "\uFFFD")
		for i, f := range rec {
			rec[i] = strings.ToValidUTF8(f, "\uFFFD")
		}
	}
	// The ids that place the row come first, so that a row whose other
	// columns are bad can still be named in its alert's warnings.
	for _, g := range []int{gOrgID, gAlertID} {
		v, msg := guideID(d.field(rec, g), true)
		if msg != "" {
			d.reject(line, guideColumnNames[g], msg)
			return nil
		}
		rec[d.col[g]] = v
	}
	key := rec[d.col[gOrgID]] + "/" + rec[d.col[gAlertID]]
	ga := d.alerts[key]
	bad := func(g int, msg string) *guideRow {
		w := fmt.Sprintf("the row at line %d was rejected (record %d): %s: %s", line, len(d.recs)+1, guideColumnNames[g], msg)
		d.reject(line, guideColumnNames[g], msg)
		if ga != nil {
			ga.warnings = append(ga.warnings, w)
		} else {
			d.pending[key] = append(d.pending[key], w)
		}
		return nil
	}
	for g := range gColumns {
		switch {
		case g == gOrgID || g == gAlertID:
			continue
		case g == gID || g == gIncidentID || g == gDetectorID || g == gAlertTitle:
			v, msg := guideID(d.field(rec, g), true)
			if msg != "" {
				return bad(g, msg)
			}
			rec[d.col[g]] = v
		case guideIsEntityID(g):
			v, msg := guideID(d.field(rec, g), false)
			if g == gEmailClusterID && msg != "" {
				// Exporters that read the sparse column as floats write 12.0.
				if s, ok := strings.CutSuffix(d.field(rec, g), ".0"); ok {
					v, msg = guideID(s, false)
				}
			}
			if msg != "" {
				return bad(g, msg)
			}
			rec[d.col[g]] = v
		}
	}
	if strings.TrimSpace(d.field(rec, gEntityType)) == "" {
		return bad(gEntityType, "is required (the kind of evidence, e.g. User, Machine, Ip)")
	}
	ts, ok := parseTimeFast([]byte(d.field(rec, gTimestamp)))
	if !ok {
		t, err := weft.ParseTime("Timestamp", d.field(rec, gTimestamp))
		if err != nil {
			var fe *weft.FieldError
			msg := err.Error()
			if errors.As(err, &fe) {
				msg = fe.Message
			}
			return bad(gTimestamp, msg)
		}
		ts = t
	}
	row.ts = ts
	if ga == nil {
		ga = &guideAlert{slot: len(d.recs), warnings: d.pending[key]}
		delete(d.pending, key)
		d.alerts[key] = ga
		d.recs = append(d.recs, Record{Index: ga.slot, Line: line})
	}
	ga.rows = append(ga.rows, row)
	return row
}

// guideID checks an anonymised integer id and returns it without leading
// zeros, or why it is not one. An empty id is an error only when required.
func guideID(s string, required bool) (string, string) {
	if s == "" {
		if required {
			return "", "is required"
		}
		return "", ""
	}
	if len(s) > 20 {
		return "", fmt.Sprintf("%q is not an anonymised GUIDE id (an integer of at most 20 digits)", clip(s, 32))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", fmt.Sprintf("%q is not an anonymised GUIDE id (an integer)", clip(s, 32))
		}
	}
	if t := strings.TrimLeft(s, "0"); t != s {
		if t == "" {
			t = "0"
		}
		return t, ""
	}
	return s, ""
}

// alert builds the Record of one alert from its rows.
func (d *guideDecoder) alert(ga *guideAlert) Record {
	first := ga.rows[0]
	r := Record{Index: ga.slot, Line: first.line}
	rec := first.rec
	org, alertID, incident := d.field(rec, gOrgID), d.field(rec, gAlertID), d.field(rec, gIncidentID)
	a := &weft.Alert{
		TenantID:        "guide-org-" + org,
		Source:          guideSource,
		ProviderAlertID: org + "/" + alertID,
		DetectorID:      d.field(rec, gDetectorID),
		Title:           "GUIDE alert title " + d.field(rec, gAlertTitle),
		Category:        guideCategory(strings.TrimSpace(d.field(rec, gCategory))),
		Severity:        weft.SeverityUnknown,
		Evidence:        make([]weft.Evidence, 0, min(len(ga.rows), weft.MaxEvidence)),
	}
	warnings := ga.warnings
	seenTech := map[string]bool{}
	otherIncidents := map[string]bool{}
	repaired := false
	for _, row := range ga.rows {
		if a.FirstActivityDateTime.IsZero() || row.ts.Before(a.FirstActivityDateTime) {
			a.FirstActivityDateTime = row.ts
		}
		if row.ts.After(a.LastActivityDateTime) {
			a.LastActivityDateTime = row.ts
		}
		for t := range strings.SplitSeq(d.field(row.rec, gMitreTechniques), ";") {
			if t = strings.TrimSpace(t); t != "" && !seenTech[t] && len(a.MitreTechniques) < weft.MaxListItems {
				seenTech[t] = true
				a.MitreTechniques = append(a.MitreTechniques, t)
			}
		}
		if a.ThreatFamilyName == "" {
			a.ThreatFamilyName = strings.TrimSpace(d.field(row.rec, gThreatFamily))
		}
		if inc := d.field(row.rec, gIncidentID); inc != incident {
			otherIncidents[inc] = true
		}
		repaired = repaired || row.repaired
		if len(a.Evidence) < weft.MaxEvidence {
			a.Evidence = a.Evidence[:len(a.Evidence)+1]
			d.evidence(&a.Evidence[len(a.Evidence)-1], row.rec)
		}
	}
	if len(otherIncidents) > 0 {
		warnings = append(warnings, fmt.Sprintf("the rows of this alert name %d other IncidentId(s) besides %s; the first row's is used", len(otherIncidents), incident))
	}
	if n := len(ga.rows); n > weft.MaxEvidence {
		warnings = append(warnings, fmt.Sprintf("the alert has %d evidence rows; the first %d are kept as evidence, all of them raw as far as it fits", n, weft.MaxEvidence))
	}
	if repaired {
		warnings = append(warnings, "invalid UTF-8 was replaced by U+FFFD")
	}
	var ad objBuilder
	for _, m := range []struct{ name, v string }{
		{"guideOrgId", org}, {"guideAlertId", alertID}, {"guideIncidentId", incident},
		{"guideIncidentGrade", d.field(rec, gIncidentGrade)},
		{"guideActionGrouped", d.field(rec, gActionGrouped)},
		{"guideActionGranular", d.field(rec, gActionGranular)},
	} {
		if m.v != "" {
			ad.str(m.name, m.v)
		}
	}
	a.AdditionalData = ad.bytes()
	raw, kept := guideRaw(ga.rows)
	a.Raw = raw
	if kept < len(ga.rows) {
		warnings = append(warnings, fmt.Sprintf("raw keeps the first %d of the alert's %d rows (at most %d bytes)", kept, len(ga.rows), weft.MaxRawBytes))
	}
	ws, err := a.Normalize(d.now)
	if err != nil {
		field, msg := "", weft.ErrorMessage(err)
		var fe *weft.FieldError
		if errors.As(err, &fe) {
			field, msg = fe.Field, fe.Message
			if field == "firstActivityDateTime" || field == "lastActivityDateTime" {
				field = "Timestamp"
			}
		}
		r.Err = &RecordError{Index: r.Index, Line: r.Line, Field: field, Message: msg, Source: guideSource}
		return r
	}
	r.Alert = a
	r.Warnings = append(warnings, ws...)
	r.SourceIncident = org + "/" + incident
	return r
}

// guideRaw returns the alert's rows as a JSON array of strings, each the row
// as sent, as many whole rows as fit in weft.MaxRawBytes, and how many it
// kept.
func guideRaw(rows []*guideRow) ([]byte, int) {
	b := []byte{'['}
	kept := 0
	for _, row := range rows {
		n := len(b)
		if kept > 0 {
			b = append(b, ',')
		}
		b = guideQuote(b, row.text)
		if len(b)+1 > weft.MaxRawBytes {
			b = b[:n]
			break
		}
		kept++
	}
	return append(b, ']'), kept
}

// guideQuote appends s to dst as a JSON string. GUIDE's cells are nearly
// always plain ASCII, which needs no escaping; anything else goes to
// appendQuote.
func guideQuote(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return appendQuote(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
