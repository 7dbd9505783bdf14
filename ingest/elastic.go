package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// This file decodes Elastic Security alerts: the documents of the
// .alerts-security.alerts-<space> indices (Kibana 8.x and 9.x), which are ECS
// events with the kibana.alert.* fields of the alert schema
// (elastic.co/guide/en/security/current/alert-schema.html), and the 7.x
// .siem-signals documents, whose signal.* names are read where the 8.x name
// is absent. docs/formats.md has the field table.
//
// Elastic writes the same field nested ({"kibana":{"alert":{"severity":…}}})
// or flattened ({"kibana.alert.severity":…}), and the alert indices mix both
// in one document (kibana.alert.* flattened, the ECS fields nested). The
// document is therefore flattened first into dotted paths (elasticDoc), so
// that every field has one name however it was written; a field written both
// ways is a duplicate name, and rejected as one. The tree it is read into
// and its typed reader are in doctree.go, the entity helpers it shares with
// the OCSF decoder in docentities.go.

// elasticSeverities maps kibana.alert.severity to weft's severity. weft's
// scale stops at high, so critical is high; the original is kept in
// additionalData.elasticSeverity.
var elasticSeverities = map[string]weft.Severity{
	"low": weft.SeverityLow, "medium": weft.SeverityMedium, "high": weft.SeverityHigh, "critical": weft.SeverityHigh,
}

// elasticStatuses maps kibana.alert.workflow_status (and 7.x signal.status)
// to weft's alert status.
var elasticStatuses = map[string]weft.AlertStatus{
	"open": weft.AlertStatusNew, "acknowledged": weft.AlertStatusInProgress, "in-progress": weft.AlertStatusInProgress,
	"closed": weft.AlertStatusResolved,
}

// elasticRiskSeverity maps a risk score (0–100) to a severity for an alert
// without kibana.alert.severity, with the bands of Elastic's own defaults
// (low 21, medium 47, high 73, critical 99).
func elasticRiskSeverity(score float64) weft.Severity {
	switch {
	case score >= 73:
		return weft.SeverityHigh
	case score >= 47:
		return weft.SeverityMedium
	case score >= 21:
		return weft.SeverityLow
	}
	return weft.SeverityInformational
}

// decodeElastic decodes one Elastic Security alert document, nested,
// flattened or mixed, bare or as a search hit ({"_id":…,"_source":{…}}). It
// refuses a document without an alert id or a rule name, a field written
// twice, values of the wrong JSON type, an unknown severity and a risk score
// outside 0–100, each with the field's dotted path. It is safe for
// concurrent use.
func decodeElastic(rec []byte, _ time.Time) (*weft.Alert, []string, *fieldErr) {
	root, fe := parseDocTree(rec)
	if fe != nil {
		return nil, nil, fe
	}
	d := elasticDecoder{a: &weft.Alert{}, doc: make(elasticDoc, 64)}
	d.lenient = true
	hitID := ""
	if src := root.get("_source"); src != nil && src.kind == '{' {
		hitID = d.id(root.get("_id"), "", "_id")
		d.prefix = "_source."
		root = src
	}
	d.flatten(root, "")
	if d.err == nil {
		d.alert(hitID)
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	d.a.Evidence = d.evidence()
	return d.a, d.warnings, nil
}

// elasticDoc is a document flattened into dotted paths. Arrays are leaves:
// their object elements keep their own shape (see docLookup).
type elasticDoc map[string]*docNode

// elasticDecoder decodes one alert document.
type elasticDecoder struct {
	docReader
	a      *weft.Alert
	doc    elasticDoc
	prefix string // "_source." for a search hit, in error paths
	extra  objBuilder
}

// flatten adds the members of the object v to the document under prefix.
func (d *elasticDecoder) flatten(v *docNode, prefix string) {
	for i := range v.obj {
		m := &v.obj[i]
		key := m.name
		if prefix != "" {
			key = prefix + "." + m.name
		}
		if m.val.kind == '{' && len(m.val.obj) > 0 {
			d.flatten(&m.val, key)
			continue
		}
		if _, dup := d.doc[key]; dup {
			d.fail(d.prefix+key, "is given twice (nested and as a dotted name); weft rejects duplicate names")
			return
		}
		d.doc[key] = &m.val
	}
}

// get returns the first of the fields names that the document has (7.x
// fallbacks follow the 8.x name), and that name for error paths.
func (d *elasticDecoder) get(names ...string) (*docNode, string) {
	for _, n := range names {
		if v := d.doc[n]; v != nil && v.kind != 'n' {
			return v, d.prefix + n
		}
	}
	return nil, ""
}

// s reads a string field (the first of names present).
func (d *elasticDecoder) s(names ...string) string {
	v, path := d.get(names...)
	return d.str(v, path, "")
}

// list reads a field holding a string or an array of strings.
func (d *elasticDecoder) list(names ...string) []string {
	v, path := d.get(names...)
	return d.strs(v, path, "")
}

// date reads a date field: RFC 3339, or epoch milliseconds as
// Elasticsearch also stores dates.
func (d *elasticDecoder) date(names ...string) *time.Time {
	v, path := d.get(names...)
	if v == nil {
		return nil
	}
	if v.kind == '0' {
		ms, ok := d.number(v, path, "")
		if !ok || ms <= 0 {
			if ms < 0 {
				d.fail(path, v.s+" is negative; dates are RFC 3339 or milliseconds since 1970")
			}
			return nil
		}
		t := time.UnixMilli(int64(ms)).UTC()
		return &t
	}
	t, fe := timeVal("", path, d.str(v, path, ""))
	if fe != nil {
		d.failErr(fe)
		return nil
	}
	if t.IsZero() {
		return nil
	}
	return &t
}

// alert decodes the alert's own fields, then its entities.
func (d *elasticDecoder) alert(hitID string) {
	a := d.a
	a.Source = "elasticSecurity"
	a.ProductName = "Elastic Security"
	a.ProviderAlertID = firstNonEmpty(d.s("kibana.alert.uuid", "signal.id"), hitID)
	if a.ProviderAlertID == "" && d.err == nil {
		d.fail(d.prefix+"kibana.alert.uuid", "is required (the alert's id; or send the search hit with its _id)")
		return
	}
	a.Title = d.s("kibana.alert.rule.name", "signal.rule.name")
	if a.Title == "" && d.err == nil {
		d.fail(d.prefix+"kibana.alert.rule.name", "is required (the rule's name is the alert's title)")
		return
	}
	ruleID := d.s("kibana.alert.rule.rule_id", "signal.rule.rule_id")
	a.DetectorID = firstNonEmpty(d.s("kibana.alert.rule.uuid", "signal.rule.id"), ruleID)
	reason := d.s("kibana.alert.reason", "signal.reason")
	a.Description = firstNonEmpty(d.s("kibana.alert.rule.description", "signal.rule.description"), reason)
	a.RecommendedActions = d.s("kibana.alert.rule.note", "signal.rule.note")
	a.AlertWebURL = d.s("kibana.alert.url")
	for _, tag := range append(d.list("kibana.alert.rule.tags", "signal.rule.tags"), d.list("kibana.alert.workflow_tags")...) {
		a.SystemTags = appendNew(a.SystemTags, tag)
	}
	d.severity()
	d.threats()

	a.FirstActivityDateTime = derefTime(d.date("kibana.alert.original_time", "signal.original_time"))
	a.ProviderCreatedDateTime = d.date("kibana.alert.start", "@timestamp")
	updated := d.date("kibana.alert.workflow_status_updated_at")
	if ts := d.date("@timestamp"); ts != nil && (updated == nil || ts.After(*updated)) {
		updated = ts
	}
	a.ProviderLastUpdateDateTime = updated
	status := d.s("kibana.alert.workflow_status", "signal.status")
	if status != "" {
		st, known := elasticStatuses[strings.ToLower(status)]
		if !known {
			d.warn("kibana.alert.workflow_status: " + strconv.Quote(clip(status, 64)) + " is not a status weft knows: the status is unknown")
			st = weft.AlertStatusUnknown
		}
		a.Status = st
		if st == weft.AlertStatusResolved {
			a.ResolvedDateTime = d.date("kibana.alert.workflow_status_updated_at")
		}
	}

	d.entities()
	if d.err != nil {
		return
	}
	d.keep(ruleID, reason, status)
	a.AdditionalData = d.extra.bytes()
}

// severity maps kibana.alert.severity, else the risk score.
func (d *elasticDecoder) severity() {
	sev := d.s("kibana.alert.severity", "kibana.alert.rule.severity", "signal.rule.severity")
	v, path := d.get("kibana.alert.risk_score", "kibana.alert.rule.risk_score", "signal.rule.risk_score")
	score, hasScore := d.number(v, path, "")
	if d.err != nil {
		return
	}
	if hasScore && (score < 0 || score > 100) {
		d.fail(path, strconv.FormatFloat(score, 'f', -1, 64)+" is not a risk score; allowed: 0 to 100")
		return
	}
	if hasScore {
		d.extra.raw("elasticRiskScore", []byte(v.s))
	}
	if sev != "" {
		s, known := elasticSeverities[strings.ToLower(strings.TrimSpace(sev))]
		if !known {
			_, p := d.get("kibana.alert.severity", "kibana.alert.rule.severity", "signal.rule.severity")
			d.fail(p, strconv.Quote(clip(sev, 64))+" is not an Elastic severity; allowed: low, medium, high, critical")
			return
		}
		d.extra.str("elasticSeverity", sev)
		d.a.Severity = s
		return
	}
	if hasScore {
		d.a.Severity = elasticRiskSeverity(score)
	}
}

// threats reads the rule's MITRE ATT&CK mapping, an array of
// {framework, tactic{id,name}, technique[{id,name,subtechnique[…]}]}, or
// failing that the event's own ECS threat.* fields.
func (d *elasticDecoder) threats() {
	v, path := d.get("kibana.alert.rule.threat", "signal.rule.threat", "threat")
	if v == nil {
		d.a.MitreTechniques = append(d.list("threat.technique.id"), d.list("threat.technique.subtechnique.id")...)
		d.a.Category = firstItem(d.list("threat.tactic.name"))
		return
	}
	for i, th := range d.objects(v, path, "") {
		th := &th
		p := docIndex(path, i)
		if name := d.str(docLookup(th, "tactic.name"), p, "tactic.name"); d.a.Category == "" {
			d.a.Category = name
		}
		for j, t := range d.objects(docLookup(th, "technique"), p, "technique") {
			t := &t
			tp := docIndex(p+".technique", j)
			d.a.MitreTechniques = appendNew(d.a.MitreTechniques, d.str(t.get("id"), tp, "id"))
			for k, s := range d.objects(t.get("subtechnique"), tp, "subtechnique") {
				s := &s
				d.a.MitreTechniques = appendNew(d.a.MitreTechniques, d.str(s.get("id"), docIndex(tp+".subtechnique", k), "id"))
			}
		}
	}
}

// entities reads the ECS entity fields: host, user and user.target,
// source and destination, file, process, registry, url, dns and email.
func (d *elasticDecoder) entities() {
	d.host()
	d.user("user")
	d.user("user.target")
	for _, ep := range []struct{ name, role string }{{"source", "source"}, {"destination", "destination"}} {
		d.endpoint(ep.name, weft.EvidenceRole(ep.role))
	}
	if fd := d.file("file"); fd != nil {
		d.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: fd, DetailedRoles: []string{"file"}})
	}
	d.process()
	d.registry()
	if u := d.s("url.full", "url.original"); u != "" {
		d.add(weft.Evidence{EntityType: weft.EntityURL, URL: u, DetailedRoles: []string{"url"}})
	} else if h := d.s("url.domain"); h != "" {
		d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: h, DetailedRoles: []string{"url"}})
	}
	if h := d.s("dns.question.name"); h != "" {
		d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: h, DetailedRoles: []string{"dns.question"}})
	}
	d.email()
}

// host reads host.* as a device.
func (d *elasticDecoder) host() {
	e := weft.Evidence{EntityType: weft.EntityDevice, DetailedRoles: []string{"host"}}
	setDeviceHost(&e, d.s("host.hostname", "host.name"), d.s("host.domain"))
	if name := d.s("host.name"); name != "" && strings.Contains(name, ".") && e.DeviceDNSName == "" {
		e.DeviceDNSName = name
	}
	e.IPInterfaces = d.list("host.ip")
	e.OsPlatform = d.s("host.os.name", "host.os.platform", "host.os.family")
	if e.HostName == "" && e.DeviceDNSName == "" && len(e.IPInterfaces) == 0 {
		return
	}
	var props objBuilder
	if id := d.s("host.id"); id != "" {
		props.str("hostId", id)
	}
	if lvl := d.s("host.asset.criticality", "kibana.alert.host.criticality_level"); lvl != "" {
		props.str("criticality", lvl)
	}
	e.Properties = props.bytes()
	d.add(e)
}

// user reads user.* (or user.target.*) as a user.
func (d *elasticDecoder) user(prefix string) {
	ua := accountOf(d.s(prefix+".name"), d.s(prefix+".domain"), d.s(prefix+".id"))
	email := d.s(prefix + ".email")
	if ua == nil && email == "" {
		return
	}
	if ua != nil {
		ua.DisplayName = d.s(prefix + ".full_name")
	}
	d.add(weft.Evidence{EntityType: weft.EntityUser, UserAccount: ua, PrimaryAddress: email, DetailedRoles: []string{prefix}})
}

// endpoint reads source.* or destination.*: the address as an ip in role,
// a destination's domain as a domain.
func (d *elasticDecoder) endpoint(prefix string, role weft.EvidenceRole) {
	ip := d.s(prefix + ".ip")
	domain := d.s(prefix + ".domain")
	v, path := d.get(prefix + ".port")
	port, hasPort := d.port(v, path, "")
	if ip != "" {
		e := weft.Evidence{EntityType: weft.EntityIP, IPAddress: ip, CountryLetterCode: d.s(prefix + ".geo.country_iso_code"),
			Roles: []weft.EvidenceRole{role}, DetailedRoles: []string{prefix}}
		var props objBuilder
		if hasPort {
			props.raw("port", []byte(strconv.FormatInt(port, 10)))
		}
		if domain != "" {
			props.str("domain", domain)
		}
		e.Properties = props.bytes()
		d.add(e)
	}
	if domain != "" && (role == "destination" || ip == "") {
		d.add(weft.Evidence{EntityType: weft.EntityDomain, DomainName: domain, Roles: []weft.EvidenceRole{role}, DetailedRoles: []string{prefix}})
	}
}

// file reads the ECS file fields under prefix (file, process,
// process.parent, dll …) into file details.
func (d *elasticDecoder) file(prefix string) *weft.FileDetails {
	fd := &weft.FileDetails{FileName: d.s(prefix + ".name"), FilePath: d.s(prefix + ".directory")}
	full := d.s(prefix+".path", prefix+".executable")
	if full != "" {
		dir, base := splitFilePath(full)
		fd.FileName = firstNonEmpty(fd.FileName, base)
		fd.FilePath = firstNonEmpty(fd.FilePath, dir)
	}
	v, path := d.get(prefix + ".size")
	if n, ok := d.int(v, path, ""); ok {
		if n < 0 {
			d.fail(path, strconv.FormatInt(n, 10)+" is negative")
		}
		fd.FileSize = n
	}
	for _, h := range []string{"md5", "sha1", "sha256"} {
		setFileHash(fd, h, d.s(prefix+".hash."+h))
	}
	fd.Signer = d.s(prefix + ".code_signature.subject_name")
	if *fd == (weft.FileDetails{}) {
		return nil
	}
	return fd
}

// process reads process.* and process.parent.* as a process, and its
// executable as a file too when it has a hash.
func (d *elasticDecoder) process() {
	e := weft.Evidence{EntityType: weft.EntityProcess, DetailedRoles: []string{"process"}}
	v, path := d.get("process.pid")
	e.ProcessID = d.pid(v, path, "")
	e.ProcessCommandLine = d.s("process.command_line")
	if e.ProcessCommandLine == "" {
		e.ProcessCommandLine = strings.Join(d.list("process.args"), " ")
	}
	e.ProcessCreationDateTime = d.date("process.start")
	e.ImageFile = d.file("process")
	v, path = d.get("process.parent.pid")
	e.ParentProcessID = d.pid(v, path, "")
	e.ParentProcessCreationDateTime = d.date("process.parent.start")
	e.ParentProcessImageFile = d.file("process.parent")
	e.UserAccount = accountOf(d.s("process.user.name"), d.s("process.user.domain"), d.s("process.user.id"))
	if e.ProcessID == 0 && e.ProcessCommandLine == "" && e.ImageFile == nil {
		return
	}
	if id := d.s("process.entity_id"); id != "" {
		var props objBuilder
		props.str("entityId", id)
		e.Properties = props.bytes()
	}
	d.add(e)
	if f := e.ImageFile; f != nil && f.Md5+f.Sha1+f.Sha256 != "" {
		d.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: f, DetailedRoles: []string{"process.executable"}})
	}
}

// registry reads registry.* as a registry value, or a key when it names no
// value.
func (d *elasticDecoder) registry() {
	key := d.s("registry.key")
	hive := d.s("registry.hive")
	if key == "" {
		if p := d.s("registry.path"); p != "" {
			key = p
		}
	}
	if key == "" {
		return
	}
	e := weft.Evidence{EntityType: weft.EntityRegistryKey, RegistryHive: hive, RegistryKey: key, DetailedRoles: []string{"registry"}}
	if name := d.s("registry.value"); name != "" {
		e.EntityType = weft.EntityRegistryValue
		e.RegistryValueName = name
		e.RegistryValue = strings.Join(d.list("registry.data.strings"), " ")
		e.RegistryValueType = d.s("registry.data.type")
	}
	d.add(e)
}

// email reads the ECS email.* fields: the message, a mailbox for each
// recipient, and each attachment with a hash as a file.
func (d *elasticDecoder) email() {
	to := d.list("email.to.address")
	e := weft.Evidence{
		EntityType:            weft.EntityEmailMessage,
		InternetMessageID:     d.s("email.message_id"),
		Subject:               d.s("email.subject"),
		SenderAddress:         firstNonEmpty(d.s("email.sender.address"), firstItem(d.list("email.from.address"))),
		RecipientEmailAddress: firstItem(to),
		ReceivedDateTime:      d.date("email.delivery_timestamp"),
		DetailedRoles:         []string{"email"},
	}
	if e.InternetMessageID == "" && e.Subject == "" && e.SenderAddress == "" && len(to) == 0 {
		return
	}
	d.add(e)
	for _, addr := range to {
		d.add(weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: addr, DetailedRoles: []string{"email.to"}})
	}
	v, path := d.get("email.attachments")
	for i, att := range d.objects(v, path, "") {
		att := &att
		p := docIndex(path, i)
		fd := &weft.FileDetails{FileName: d.str(docLookup(att, "file.name"), p, "file.name")}
		for _, h := range []string{"md5", "sha1", "sha256"} {
			setFileHash(fd, h, d.str(docLookup(att, "file.hash."+h), p, "file.hash."+h))
		}
		if fd.Md5+fd.Sha1+fd.Sha256 != "" {
			d.add(weft.Evidence{EntityType: weft.EntityFile, FileDetails: fd, DetailedRoles: []string{"email.attachments"}})
		}
	}
}

// keep adds the leftovers worth having at hand to additionalData: the
// rule's id and type, the reason, the workflow status, the space and the
// event's module, dataset, action and category. Everything else is in the
// raw record.
func (d *elasticDecoder) keep(ruleID, reason, status string) {
	x := &d.extra
	for _, f := range []struct{ name, value string }{
		{"elasticRuleId", ruleID}, {"elasticRuleType", d.s("kibana.alert.rule.type", "signal.rule.type")},
		{"elasticReason", reason}, {"elasticWorkflowStatus", status},
		{"elasticBuildingBlockType", d.s("kibana.alert.building_block_type")},
		{"eventModule", d.s("event.module", "kibana.alert.original_event.module")},
		{"eventDataset", d.s("event.dataset", "kibana.alert.original_event.dataset")},
		{"eventAction", d.s("event.action", "kibana.alert.original_event.action")},
	} {
		if f.value != "" {
			x.str(f.name, f.value)
		}
	}
	for _, f := range []struct{ name, field string }{{"elasticSpaceIds", "kibana.space_ids"}, {"eventCategory", "event.category"}} {
		if v, _ := d.get(f.field); v != nil {
			x.raw(f.name, appendDocJSON(nil, v))
		}
	}
}

// derefTime returns *t, or the zero time for nil.
func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
