package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// Suricata EVE JSON: the alert records of eve.json, one JSON object per
// line. docs/formats.md has the field table; in short, the signature is the
// title and the detector, the category is the category, severity 1–3 is
// high–low, the two addresses are ip evidence with the roles source and
// destination, and the HTTP host and URL, the TLS SNI, the DNS query names
// and the file hashes of the flow are url, domain and file evidence. What
// weft has no field for is kept in additionalData.

// eveRecord holds the members of an EVE alert record that weft maps. The
// types are those Suricata writes; a record that gives a member another
// type is refused with the member's path (unmarshalRecord).
type eveRecord struct {
	Timestamp string    `json:"timestamp"`
	EventType *string   `json:"event_type"`
	FlowID    *int64    `json:"flow_id"`
	Host      string    `json:"host"` // the sensor name (sensor-name in suricata.yaml)
	SrcIP     string    `json:"src_ip"`
	SrcPort   *int64    `json:"src_port"`
	DestIP    string    `json:"dest_ip"`
	DestPort  *int64    `json:"dest_port"`
	Proto     string    `json:"proto"`
	TxID      *int64    `json:"tx_id"`
	Alert     *eveAlert `json:"alert"`
	HTTP      *eveHTTP  `json:"http"`
	TLS       *struct {
		SNI string `json:"sni"`
	} `json:"tls"`
	DNS   *eveDNS   `json:"dns"`
	Files []eveFile `json:"files"`
}

// eveAlert is the alert object of an EVE alert record.
type eveAlert struct {
	Signature   string `json:"signature"`
	SignatureID *int64 `json:"signature_id"`
	GID         int64  `json:"gid"`
	Category    string `json:"category"`
	Severity    *int64 `json:"severity"`
	Metadata    *struct {
		MitreTechniqueID []string `json:"mitre_technique_id"`
	} `json:"metadata"`
	Source *eveEndpoint `json:"source"` // set when the rule names its target
	Target *eveEndpoint `json:"target"`
}

// eveEndpoint is alert.source or alert.target: the side of the flow the rule
// calls the attacker and the attacked.
type eveEndpoint struct {
	IP string `json:"ip"`
}

// eveHTTP is the part of the http object that names the URL.
type eveHTTP struct {
	Hostname string `json:"hostname"`
	URL      string `json:"url"`
}

// eveDNS holds the query names of the dns object in its three shapes:
// version 1 (query[]), version 3 (queries[]) and a flat rrname.
type eveDNS struct {
	Query   []eveDNSQuery `json:"query"`
	Queries []eveDNSQuery `json:"queries"`
	RRName  string        `json:"rrname"`
}

// eveDNSQuery is one query of the dns object.
type eveDNSQuery struct {
	RRName string `json:"rrname"`
}

// eveFile is one file of the files array that Suricata 7 adds to an alert
// on a flow that carried files.
type eveFile struct {
	Filename string `json:"filename"`
	MD5      string `json:"md5"`
	SHA1     string `json:"sha1"`
	SHA256   string `json:"sha256"`
	Size     *int64 `json:"size"`
}

// eveKeptOut are the top-level members of an EVE record that are not copied
// into additionalData: the time and event type, which weft fields say, and
// the packet bytes, which stay in the raw record only.
var eveKeptOut = map[string]bool{
	"timestamp": true, "event_type": true,
	"payload": true, "payload_printable": true, "packet": true, "packet_info": true, "stream": true,
}

// maxSensorName bounds the sensor name, which becomes part of the provider
// alert id.
const maxSensorName = 255

// decodeSuricata decodes one Suricata EVE record of event_type "alert". It
// refuses any other event type, a record without alert.signature_id, a
// member of the wrong type, a severity outside 1–255, a port outside
// 0–65535 and an address that is not an IP address, each with the member's
// path. A timestamp without a zone offset is read as UTC, with a warning.
func decodeSuricata(rec []byte, now time.Time) (*weft.Alert, []string, *fieldErr) {
	var r eveRecord
	if fe := unmarshalRecord(rec, &r); fe != nil {
		return nil, nil, fe
	}
	switch {
	case r.EventType == nil:
		return nil, nil, &fieldErr{field: "event_type", msg: `is required; weft reads EVE records of event_type "alert"`}
	case *r.EventType != "alert":
		return nil, nil, &fieldErr{field: "event_type", msg: strconv.Quote(clip(*r.EventType, 32)) + ` records are not alerts; weft reads only event_type "alert" (select them with jq 'select(.event_type=="alert")')`}
	case r.Alert == nil:
		return nil, nil, &fieldErr{field: "alert", msg: "is required (the alert object of an EVE alert record)"}
	case r.Alert.SignatureID == nil:
		return nil, nil, &fieldErr{field: "alert.signature_id", msg: "is required (it identifies the rule that fired)"}
	case len(r.Host) > maxSensorName:
		return nil, nil, &fieldErr{field: "host", msg: "is " + strconv.Itoa(len(r.Host)) + " bytes long; a sensor name is at most " + strconv.Itoa(maxSensorName)}
	}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"src_port", r.SrcPort}, {"dest_port", r.DestPort}} {
		if p.v != nil && (*p.v < 0 || *p.v > 65535) {
			return nil, nil, &fieldErr{field: p.name, msg: strconv.FormatInt(*p.v, 10) + " is not a port number (0–65535)"}
		}
	}
	var warnings []string
	a := &weft.Alert{
		Source:      "suricata",
		ProductName: "Suricata",
		Category:    r.Alert.Category,
		DetectorID:  strconv.FormatInt(r.Alert.GID, 10) + ":" + strconv.FormatInt(*r.Alert.SignatureID, 10),
		Title:       r.Alert.Signature,
	}
	if r.Alert.GID == 0 { // gid is absent in some exports; 1 is the default generator
		a.DetectorID = "1:" + strconv.FormatInt(*r.Alert.SignatureID, 10)
	}
	if strings.TrimSpace(a.Title) == "" {
		a.Title = "Suricata signature " + a.DetectorID
		warnings = append(warnings, "alert.signature is empty: the title is "+strconv.Quote(a.Title))
	}
	sev, fe := suricataSeverity(r.Alert.Severity)
	if fe != nil {
		return nil, nil, fe
	}
	a.Severity = sev
	if m := r.Alert.Metadata; m != nil {
		a.MitreTechniques = m.MitreTechniqueID
	}
	t, w, fe := logTime("timestamp", r.Timestamp, now)
	if fe != nil {
		return nil, nil, fe
	}
	warnings = append(warnings, w...)
	a.FirstActivityDateTime, a.LastActivityDateTime = t, t
	a.ProviderAlertID = suricataAlertID(&r, t)

	var ev evidenceSet
	for _, addr := range []struct {
		field, ip string
		role      weft.EvidenceRole
	}{{"src_ip", r.SrcIP, "source"}, {"dest_ip", r.DestIP, "destination"}} {
		if addr.ip == "" {
			continue
		}
		if _, err := netip.ParseAddr(addr.ip); err != nil {
			return nil, nil, &fieldErr{field: addr.field, msg: strconv.Quote(clip(addr.ip, 64)) + " is not an IP address"}
		}
		ev.ip(addr.ip, addr.role, addr.field)
	}
	// A rule with the target keyword says which side attacks.
	if s := r.Alert.Source; s != nil && r.Alert.Target != nil {
		ev.ip(s.IP, "attacker", "alert.source")
		ev.ip(r.Alert.Target.IP, "attacked", "alert.target")
	}
	if h := r.HTTP; h != nil {
		ev.web(h.Hostname, h.URL, "http")
	}
	if r.TLS != nil {
		ev.domain(r.TLS.SNI, "tls.sni")
	}
	if d := r.DNS; d != nil {
		for _, q := range append(d.Query, d.Queries...) {
			ev.domain(q.RRName, "dns.rrname")
		}
		ev.domain(d.RRName, "dns.rrname")
	}
	for _, f := range r.Files {
		ev.file(f.Filename, f.MD5, f.SHA1, f.SHA256, f.Size, "files")
	}
	a.Evidence = ev.list
	a.AdditionalData = keptMembers(rec, eveKeptOut)
	return a, warnings, nil
}

// suricataSeverity maps alert.severity, Suricata's priority (1 is the most
// urgent), to a weft severity: 1 high, 2 medium, 3 low, and 4–255 (the
// priorities classification.config may give, e.g. 4 for tcp-connection)
// informational. Absent is unknown; anything else is refused.
func suricataSeverity(p *int64) (weft.Severity, *fieldErr) {
	switch {
	case p == nil:
		return weft.SeverityUnknown, nil
	case *p == 1:
		return weft.SeverityHigh, nil
	case *p == 2:
		return weft.SeverityMedium, nil
	case *p == 3:
		return weft.SeverityLow, nil
	case *p >= 4 && *p <= 255:
		return weft.SeverityInformational, nil
	}
	return "", &fieldErr{field: "alert.severity", msg: strconv.FormatInt(*p, 10) + " is not a Suricata priority (1 is the highest, 255 the lowest)"}
}

// suricataAlertID derives the provider alert id of an EVE alert, which has
// none of its own, from what makes one alert unique: the sensor, the flow,
// the rule, the transaction and the time. Each of them alone repeats
// (a flow fires many rules; a rule fires on many flows), and their
// combination does not, so a line sent twice is a duplicate rather than a
// second alert. The id reads "[sensor/]flow:gid:sid[:tx]@time", the time in
// UTC with microseconds; without a flow id, the addresses stand in for it,
// hashed.
func suricataAlertID(r *eveRecord, t time.Time) string {
	var b strings.Builder
	if r.Host != "" {
		b.WriteString(r.Host)
		b.WriteByte('/')
	}
	if r.FlowID != nil {
		b.WriteString(strconv.FormatInt(*r.FlowID, 10))
	} else {
		sum := sha256.Sum256([]byte(r.SrcIP + "|" + r.DestIP + "|" + r.Proto + "|" + portString(r.SrcPort) + "|" + portString(r.DestPort)))
		b.WriteString("noflow-" + hex.EncodeToString(sum[:8]))
	}
	b.WriteByte(':')
	gid := r.Alert.GID
	if gid == 0 {
		gid = 1
	}
	b.WriteString(strconv.FormatInt(gid, 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatInt(*r.Alert.SignatureID, 10))
	if r.TxID != nil {
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(*r.TxID, 10))
	}
	b.WriteByte('@')
	b.WriteString(t.UTC().Format("2006-01-02T15:04:05.000000Z"))
	return b.String()
}

// portString renders a port for suricataAlertID; "" when absent.
func portString(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

// The helpers below are shared by the Suricata and Wazuh decoders, which
// read log-shipper JSON rather than an API's: typed members unmarshalled in
// one call, timestamps with "+0000" offsets or none, and evidence gathered
// from flat fields.

// unmarshalRecord unmarshals rec into the struct v with the JSON v2 rules
// weft applies everywhere: names match exactly, a duplicate name is refused
// (parsers disagree on which of two values wins), and a member whose JSON
// type does not fit v's field is refused with its path, e.g.
// `alert.severity: expected an integer, got a string`.
func unmarshalRecord(rec []byte, v any) *fieldErr {
	err := json.Unmarshal(rec, v)
	if err == nil {
		return nil
	}
	var sem *json.SemanticError
	if !errors.As(err, new(*jsontext.SyntacticError)) && errors.As(err, &sem) {
		field := pointerPath(sem.JSONPointer)
		want := wantWords(sem.GoType)
		switch {
		case sem.JSONKind == '0' && want == "an integer":
			return &fieldErr{field: field, msg: "expected an integer, got " + clip(string(sem.JSONValue), 32)}
		case sem.JSONKind != 0:
			return &fieldErr{field: field, msg: "expected " + want + ", got " + kindWords(sem.JSONKind)}
		}
		return &fieldErr{field: field, msg: "expected " + want}
	}
	return recordSyntaxErr(err, rec)
}

// recordSyntaxErr words a syntax error of a record. The position is counted
// within the record (a foreign decoder is not told the line where the record
// starts; the record error carries it).
func recordSyntaxErr(err error, rec []byte) *fieldErr {
	var syn *jsontext.SyntacticError
	if !errors.As(err, &syn) {
		return &fieldErr{msg: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		return &fieldErr{field: pointerPath(syn.JSONPointer), msg: "the name appears twice in one object; weft rejects duplicate names"}
	}
	l, col := position(rec, int(syn.ByteOffset), 1)
	what := strings.TrimPrefix(syn.Err.Error(), "jsontext: ")
	if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
		what = "the record ends too early (unbalanced brackets or an unterminated string)"
	}
	return &fieldErr{field: pointerPath(syn.JSONPointer), msg: "invalid JSON at line " + strconv.Itoa(l) + " of the record, column " + strconv.Itoa(col) + ": " + what}
}

// wantWords names the JSON type that fits the Go type t, for messages.
func wantWords(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "an array of strings"
		}
		return "an array of objects"
	}
	return "another type"
}

// logTime parses the timestamp a log shipper writes: RFC 3339 with the zone
// offset as "+0000", "+00:00" or "Z", or no zone at all, which Suricata (in
// some versions) and syslog-fed Wazuh managers write for local time. A time
// without a zone is read as UTC, with a warning, since the record says no
// more. The time must be present, after 1970 and not more than
// weft.MaxClockSkew after now.
func logTime(field, s string, now time.Time) (time.Time, []string, *fieldErr) {
	if s == "" {
		return time.Time{}, nil, &fieldErr{field: field, msg: "is required (when the event happened)"}
	}
	var warnings []string
	norm, i := s, 19
	if len(s) >= i && s[len(s)-1] != 'Z' {
		if i < len(s) && s[i] == '.' {
			for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			}
		}
		switch zone := s[i:]; {
		case zone == "":
			norm = s + "Z"
			warnings = append(warnings, field+": "+strconv.Quote(s)+" has no time zone offset: read as UTC")
		case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-') && allDigits(zone[1:]):
			norm = s[:i] + zone[:3] + ":" + zone[3:]
		}
	}
	t, ok := parseTimeFast([]byte(norm))
	switch {
	case !ok:
		return time.Time{}, nil, &fieldErr{field: field, msg: strconv.Quote(clip(s, 64)) + " is not a timestamp (e.g. 2019-01-02T03:50:11.315110+0000)"}
	case t.Before(weft.Epoch):
		return time.Time{}, nil, &fieldErr{field: field, msg: t.Format(time.RFC3339) + " is before 1970-01-01"}
	case t.After(now.Add(weft.MaxClockSkew)):
		return time.Time{}, nil, &fieldErr{field: field, msg: t.Format(time.RFC3339) + " is " + t.Sub(now).Round(time.Second).String() + " in the future (more than the allowed clock skew of " + weft.MaxClockSkew.String() + ")"}
	}
	return t, warnings, nil
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// keptMembers returns, as a JSON object, the top-level members of rec whose
// names out does not list, as sent but without white space between tokens;
// nil when none is left. rec has been decoded already, so it is valid JSON.
// It is safe for concurrent use.
func keptMembers(rec []byte, out map[string]bool) []byte {
	kd := keptDecoders.Get().(*keptDecoder)
	defer func() {
		kd.buf = bytes.Buffer{} // hold on to no record
		keptDecoders.Put(kd)
	}()
	kd.buf = *bytes.NewBuffer(rec) // the tokenizer reads a bytes.Buffer in place
	kd.dec.Reset(&kd.buf, jsonOptions)
	if _, err := kd.dec.ReadToken(); err != nil {
		return nil
	}
	o := make(objBuilder, 0, len(rec))
	for kd.dec.PeekKind() == '"' {
		tok, err := kd.dec.ReadToken()
		if err != nil {
			return nil
		}
		name := tok.String() // the token is void after the next read
		v, err := kd.dec.ReadValue()
		if err != nil {
			return nil
		}
		if !out[name] && !isNull(v) {
			o.raw(name, v)
		}
	}
	kept := jsontext.Value(o.bytes())
	if kept != nil && kept.Compact() != nil { // cannot fail on values the decoder read
		return nil
	}
	return kept
}

// keptDecoder is a tokenizer and its input, reused from record to record
// through keptDecoders.
type keptDecoder struct {
	dec jsontext.Decoder
	buf bytes.Buffer
}

// keptDecoders are the tokenizers keptMembers reuses.
var keptDecoders = sync.Pool{New: func() any { return new(keptDecoder) }}

// evidenceSet gathers the evidence of one alert, merging the mentions of
// one entity (the same address as src_ip and alert.source, the same user
// as srcuser and dstuser) into one item with all their roles. It finds the
// item by its key in a map, so that a record with thousands of names (a
// files or dns array) costs linear time.
type evidenceSet struct {
	list  []weft.Evidence
	index map[string]int // entity type and key → position in list
}

// add appends e, or merges its roles into the item of the same entity.
func (s *evidenceSet) add(e weft.Evidence) {
	if s.list == nil {
		s.list = make([]weft.Evidence, 0, 4) // most alerts name 2 to 4 entities
	}
	k := e.Key()
	if k == "" {
		s.list = append(s.list, e)
		return
	}
	k = string(e.EntityType) + "|" + k
	i, ok := s.index[k]
	if !ok {
		if s.index == nil {
			s.index = make(map[string]int, 4)
		}
		s.index[k] = len(s.list)
		s.list = append(s.list, e)
		return
	}
	x := &s.list[i]
	for _, r := range e.Roles {
		if !slices.Contains(x.Roles, r) {
			x.Roles = append(x.Roles, r)
		}
	}
	for _, r := range e.DetailedRoles {
		if !slices.Contains(x.DetailedRoles, r) {
			x.DetailedRoles = append(x.DetailedRoles, r)
		}
	}
}

// ip adds an IP address with its role ("" for none) and the field it came
// from. A value that is not an IP address is left out, and so are the
// unspecified and loopback addresses (0.0.0.0, 127.0.0.1, ::1): they name
// no one machine, and every alert that carried one would share it.
func (s *evidenceSet) ip(addr string, role weft.EvidenceRole, field string) {
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil || ip.Unmap().IsUnspecified() || ip.Unmap().IsLoopback() {
		return
	}
	e := weft.Evidence{EntityType: weft.EntityIP, IPAddress: strings.TrimSpace(addr), DetailedRoles: []string{field}}
	if role != "" {
		e.Roles = []weft.EvidenceRole{role}
	}
	s.add(e)
}

// domain adds a domain name; an empty name or an IP address is left out.
func (s *evidenceSet) domain(name, field string) {
	name = strings.TrimSpace(name)
	if name == "" || weft.NormalizeIP(name) != "" || weft.NormalizeIP(strings.Trim(name, "[]")) != "" {
		return
	}
	s.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: name, DetailedRoles: []string{field}})
}

// web adds the URL of an HTTP request, from its Host header and its target
// (a path, or an absolute URL when it went through a proxy), and the host's
// domain. prefix is the path of the http object, for the detailed roles.
func (s *evidenceSet) web(host, target, prefix string) {
	host = strings.TrimSpace(host)
	name := host
	if i := strings.LastIndexByte(host, ':'); i > 0 && allDigits(host[i+1:]) && !strings.Contains(host[:i], ":") {
		name = host[:i] // host:port
	}
	s.domain(name, prefix+".hostname")
	var u string
	switch {
	case strings.Contains(target, "://"):
		u = target
	case host != "" && strings.HasPrefix(target, "/"):
		u = "http://" + host + target
	case host != "" && target == "":
		u = "http://" + host + "/"
	}
	if u != "" {
		s.add(weft.Evidence{EntityType: weft.EntityURL, URL: u, DetailedRoles: []string{prefix + ".url"}})
	}
}

// file adds a file named by a path (either slash) with its hashes; a file
// with neither a name nor a hash is left out.
func (s *evidenceSet) file(path, md5, sha1, sha256 string, size *int64, field string) {
	if path == "" && md5 == "" && sha1 == "" && sha256 == "" {
		return
	}
	fd := &weft.FileDetails{FileName: path, Md5: md5, Sha1: sha1, Sha256: sha256}
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		fd.FilePath, fd.FileName = path[:max(i, 1)], path[i+1:]
	}
	if size != nil && *size >= 0 {
		fd.FileSize = *size
	}
	s.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: fd, DetailedRoles: []string{field}})
}
