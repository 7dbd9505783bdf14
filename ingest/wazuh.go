package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// Wazuh alerts.json: the alerts a Wazuh manager writes, one JSON object per
// line. docs/formats.md has the field table; in short, rule.description is
// the title, rule.id the detector, rule.level 0–16 the severity, the agent
// and the host that logged the event are device evidence, the decoded
// addresses, users and Windows process are ip, user and process evidence,
// and a file integrity (syscheck) event is file evidence with its hashes.
// What weft has no field for is kept in additionalData.

// wazuhRecord holds the members of a Wazuh alert that weft maps, with the
// types Wazuh writes; a record that gives one of them another type is
// refused with its path (unmarshalRecord). Wazuh writes the values its
// decoders extract (data.*) as strings.
type wazuhRecord struct {
	Timestamp string     `json:"timestamp"`
	ID        string     `json:"id"`
	Rule      *wazuhRule `json:"rule"`
	Agent     *struct {
		Name string `json:"name"`
		IP   string `json:"ip"`
	} `json:"agent"`
	Manager *struct {
		Name string `json:"name"`
	} `json:"manager"`
	Predecoder *struct {
		Hostname string `json:"hostname"`
	} `json:"predecoder"`
	FullLog  string         `json:"full_log"`
	Data     *wazuhData     `json:"data"`
	Syscheck *wazuhSyscheck `json:"syscheck"`
}

// wazuhRule is the rule that raised the alert.
type wazuhRule struct {
	ID          string   `json:"id"`
	Level       *int64   `json:"level"`
	Description string   `json:"description"`
	Groups      []string `json:"groups"`
	Mitre       *struct {
		ID     []string `json:"id"`
		Tactic []string `json:"tactic"`
	} `json:"mitre"`
}

// wazuhData are the decoded fields weft maps: the static fields of Wazuh's
// decoders, the EVE fields of its Suricata decoder and the Windows event
// channel's.
type wazuhData struct {
	SrcIP   string   `json:"srcip"`
	DstIP   string   `json:"dstip"`
	SrcUser string   `json:"srcuser"`
	DstUser string   `json:"dstuser"`
	EVESrc  string   `json:"src_ip"`
	EVEDest string   `json:"dest_ip"`
	HTTP    *eveHTTP `json:"http"`
	TLS     *struct {
		SNI string `json:"sni"`
	} `json:"tls"`
	Win *struct {
		System *struct {
			Computer string `json:"computer"`
		} `json:"system"`
		EventData *wazuhEventData `json:"eventdata"`
	} `json:"win"`
}

// wazuhEventData are the Windows event fields weft maps (Security log and
// Sysmon names, as Wazuh spells them).
type wazuhEventData struct {
	TargetUserName    string `json:"targetUserName"`
	TargetDomainName  string `json:"targetDomainName"`
	SubjectUserName   string `json:"subjectUserName"`
	SubjectDomainName string `json:"subjectDomainName"`
	User              string `json:"user"` // Sysmon: DOMAIN\name
	IPAddress         string `json:"ipAddress"`
	Image             string `json:"image"`
	CommandLine       string `json:"commandLine"`
	ProcessID         string `json:"processId"`
	ParentImage       string `json:"parentImage"`
	ParentProcessID   string `json:"parentProcessId"`
	Hashes            string `json:"hashes"` // Sysmon: SHA1=…,MD5=…,SHA256=…
}

// wazuhSyscheck is a file integrity monitoring event.
type wazuhSyscheck struct {
	Path      string         `json:"path"`
	Event     string         `json:"event"`
	MD5After  string         `json:"md5_after"`
	SHA1After string         `json:"sha1_after"`
	SHA256    string         `json:"sha256_after"`
	SizeAfter jsontext.Value `json:"size_after"` // a string in Wazuh 4, a number in some exports
}

// wazuhKeptOut are the top-level members of a Wazuh alert that are not
// copied into additionalData: the time (mapped), full_log (the
// description) and previous_output (the earlier events of a frequency rule,
// often long), which stay in the raw record.
var wazuhKeptOut = map[string]bool{"timestamp": true, "full_log": true, "previous_output": true}

// decodeWazuh decodes one alert of a Wazuh manager's alerts.json. It
// refuses a record without id or rule.id, a member of the wrong type and a
// rule.level outside 0–16, each with the member's path. A timestamp without
// a zone offset is read as UTC, with a warning.
func decodeWazuh(rec []byte, now time.Time) (*weft.Alert, []string, *fieldErr) {
	var r wazuhRecord
	if fe := unmarshalRecord(rec, &r); fe != nil {
		return nil, nil, fe
	}
	switch {
	case r.ID == "":
		return nil, nil, &fieldErr{field: "id", msg: "is required (the Wazuh alert id)"}
	case r.Rule == nil:
		return nil, nil, &fieldErr{field: "rule", msg: "is required (the rule that raised the alert)"}
	case r.Rule.ID == "":
		return nil, nil, &fieldErr{field: "rule.id", msg: "is required"}
	}
	var warnings []string
	a := &weft.Alert{
		Source:          "wazuh",
		ProductName:     "Wazuh",
		ProviderAlertID: r.ID,
		DetectorID:      r.Rule.ID,
		Title:           r.Rule.Description,
		Description:     r.FullLog,
	}
	// Wazuh's id is the time and the offset in the manager's alerts file,
	// unique per manager only: in a cluster the manager names it.
	if r.Manager != nil && r.Manager.Name != "" {
		a.ProviderAlertID = r.Manager.Name + "/" + r.ID
	}
	if strings.TrimSpace(a.Title) == "" {
		a.Title = "Wazuh rule " + r.Rule.ID
		warnings = append(warnings, "rule.description is empty: the title is "+strconv.Quote(a.Title))
	}
	sev, fe := wazuhSeverity(r.Rule.Level)
	if fe != nil {
		return nil, nil, fe
	}
	a.Severity = sev
	if m := r.Rule.Mitre; m != nil {
		a.MitreTechniques = m.ID
		if len(m.Tactic) > 0 {
			a.Category = m.Tactic[0]
		}
	}
	if a.Category == "" && len(r.Rule.Groups) > 0 {
		a.Category = r.Rule.Groups[0]
	}
	t, w, fe := logTime("timestamp", r.Timestamp, now)
	if fe != nil {
		return nil, nil, fe
	}
	warnings = append(warnings, w...)
	a.FirstActivityDateTime, a.LastActivityDateTime = t, t

	var ev evidenceSet
	if ag := r.Agent; ag != nil && (ag.Name != "" || ag.IP != "") {
		d := weft.Evidence{EntityType: weft.EntityDevice, HostName: ag.Name, DetailedRoles: []string{"agent"}}
		if weft.NormalizeIP(ag.IP) != "" {
			d.IPInterfaces = []string{ag.IP}
		}
		ev.add(d)
	}
	// The host that wrote a syslog line, when it is not the agent itself
	// (a manager or an agent that receives other machines' syslog).
	if p := r.Predecoder; p != nil && p.Hostname != "" && (r.Agent == nil || !sameHost(p.Hostname, r.Agent.Name)) {
		ev.add(weft.Evidence{EntityType: weft.EntityDevice, HostName: p.Hostname, DetailedRoles: []string{"predecoder.hostname"}})
	}
	if d := r.Data; d != nil {
		warnings = append(warnings, wazuhDataEvidence(&ev, d)...)
	}
	if s := r.Syscheck; s != nil {
		wazuhFileEvidence(&ev, s)
	}
	a.Evidence = ev.list
	a.AdditionalData = keptMembers(rec, wazuhKeptOut)
	return a, warnings, nil
}

// sameHost reports whether the host names a and b name one machine: equal,
// or one the first label of the other (web-01, web-01.example.org), in any
// case.
func sameHost(a, b string) bool {
	a, b = weft.NormalizeHost(a), weft.NormalizeHost(b)
	short := func(s string) string { h, _, _ := strings.Cut(s, "."); return h }
	return a == b || (a == short(b) && !strings.Contains(a, ".")) || (b == short(a) && !strings.Contains(b, "."))
}

// wazuhSeverity maps rule.level to a weft severity, by the bands of the
// Wazuh dashboard: 0–3 (ignored, system notifications, successful events)
// informational, 4–6 low, 7–11 medium, 12–16 high (Wazuh's "critical"
// 15–16 included: weft has no higher severity). Absent is unknown;
// anything else is refused.
func wazuhSeverity(level *int64) (weft.Severity, *fieldErr) {
	switch {
	case level == nil:
		return weft.SeverityUnknown, nil
	case *level < 0 || *level > 16:
		return "", &fieldErr{field: "rule.level", msg: strconv.FormatInt(*level, 10) + " is not a Wazuh rule level (0–16)"}
	case *level <= 3:
		return weft.SeverityInformational, nil
	case *level <= 6:
		return weft.SeverityLow, nil
	case *level <= 11:
		return weft.SeverityMedium, nil
	}
	return weft.SeverityHigh, nil
}

// wazuhDataEvidence adds the evidence of the decoded fields. An address
// that Wazuh's snort decoder wrote with its port ("10.0.0.1:80") loses the
// port; a value that is still not an IP address is left out, with a
// warning (it stays in additionalData.data).
func wazuhDataEvidence(ev *evidenceSet, d *wazuhData) []string {
	var warnings []string
	for _, f := range []struct {
		field, v string
		role     weft.EvidenceRole
	}{{"data.srcip", d.SrcIP, "source"}, {"data.dstip", d.DstIP, "destination"}, {"data.src_ip", d.EVESrc, "source"}, {"data.dest_ip", d.EVEDest, "destination"}} {
		v := strings.TrimSpace(f.v)
		if v == "" {
			continue
		}
		if weft.NormalizeIP(v) == "" {
			if i := strings.LastIndexByte(v, ':'); i > 0 && allDigits(v[i+1:]) && weft.NormalizeIP(strings.Trim(v[:i], "[]")) != "" {
				v = strings.Trim(v[:i], "[]")
			} else {
				warnings = append(warnings, f.field+": "+strconv.Quote(clip(v, 64))+" is not an IP address: no ip evidence for it")
				continue
			}
		}
		ev.ip(v, f.role, f.field)
	}
	for _, u := range []struct{ field, v string }{{"data.srcuser", d.SrcUser}, {"data.dstuser", d.DstUser}} {
		wazuhUser(ev, "", u.v, u.field)
	}
	if h := d.HTTP; h != nil {
		ev.web(h.Hostname, h.URL, "data.http")
	}
	if d.TLS != nil {
		ev.domain(d.TLS.SNI, "data.tls.sni")
	}
	if w := d.Win; w != nil {
		if w.System != nil && w.System.Computer != "" {
			ev.add(weft.Evidence{EntityType: weft.EntityDevice, HostName: w.System.Computer, DetailedRoles: []string{"data.win.system.computer"}})
		}
		if e := w.EventData; e != nil {
			wazuhUser(ev, e.TargetDomainName, e.TargetUserName, "data.win.eventdata.targetUserName")
			wazuhUser(ev, e.SubjectDomainName, e.SubjectUserName, "data.win.eventdata.subjectUserName")
			wazuhUser(ev, "", e.User, "data.win.eventdata.user")
			ev.ip(e.IPAddress, "", "data.win.eventdata.ipAddress")
			if e.Image != "" || e.CommandLine != "" {
				ev.add(wazuhProcess(e))
			}
		}
	}
	return warnings
}

// wazuhUser adds a user named by an account name, which may be DOMAIN\name
// or a UPN. Windows writes "-" for no account, which is left out.
func wazuhUser(ev *evidenceSet, domain, name, field string) {
	name = strings.TrimSpace(name)
	if name == "" || name == "-" {
		return
	}
	acct := &weft.UserAccount{AccountName: name, DomainName: strings.TrimSpace(domain)}
	if acct.DomainName == "-" {
		acct.DomainName = ""
	}
	if weft.NormalizeMail(name) != "" && !strings.Contains(name, `\`) {
		acct = &weft.UserAccount{UserPrincipalName: name}
	}
	ev.add(weft.Evidence{EntityType: weft.EntityUser, UserAccount: acct, DetailedRoles: []string{field}})
}

// wazuhProcess builds the process evidence of a Windows event (Sysmon's
// process creation, Security 4688). Process ids come in decimal or, in the
// Security log, as 0x-prefixed hex; one that is neither is left out.
func wazuhProcess(e *wazuhEventData) weft.Evidence {
	p := weft.Evidence{EntityType: weft.EntityProcess, ProcessCommandLine: e.CommandLine, DetailedRoles: []string{"data.win.eventdata"}}
	p.ProcessID = windowsPID(e.ProcessID)
	p.ParentProcessID = windowsPID(e.ParentProcessID)
	if e.Image != "" {
		p.ImageFile = &weft.FileDetails{FileName: e.Image}
		if i := strings.LastIndexAny(e.Image, `/\`); i >= 0 {
			p.ImageFile.FilePath, p.ImageFile.FileName = e.Image[:max(i, 1)], e.Image[i+1:]
		}
		for _, h := range strings.Split(e.Hashes, ",") {
			k, v, _ := strings.Cut(h, "=")
			switch strings.ToUpper(strings.TrimSpace(k)) {
			case "MD5":
				p.ImageFile.Md5 = v
			case "SHA1":
				p.ImageFile.Sha1 = v
			case "SHA256":
				p.ImageFile.Sha256 = v
			}
		}
	}
	if e.ParentImage != "" {
		p.ParentProcessImageFile = &weft.FileDetails{FileName: e.ParentImage}
		if i := strings.LastIndexAny(e.ParentImage, `/\`); i >= 0 {
			p.ParentProcessImageFile.FilePath, p.ParentProcessImageFile.FileName = e.ParentImage[:max(i, 1)], e.ParentImage[i+1:]
		}
	}
	return p
}

// windowsPID parses a process id written in decimal or 0x-prefixed hex; 0
// for anything else.
func windowsPID(s string) int64 {
	s = strings.TrimSpace(s)
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		s, base = h, 16
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// wazuhFileEvidence adds the file of a syscheck event with its hashes after
// the change. Its role says what happened: added, edited (modified); a
// deleted file has none.
func wazuhFileEvidence(ev *evidenceSet, s *wazuhSyscheck) {
	var size *int64
	if v := s.SizeAfter; len(v) > 0 {
		raw := string(v)
		if v.Kind() == '"' {
			raw = strings.Trim(raw, `"`)
		}
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			size = &n
		}
	}
	before := len(ev.list)
	ev.file(s.Path, s.MD5After, s.SHA1After, s.SHA256, size, "syscheck")
	if len(ev.list) == before {
		return
	}
	switch s.Event {
	case "added":
		ev.list[before].Roles = []weft.EvidenceRole{"added"}
	case "modified":
		ev.list[before].Roles = []weft.EvidenceRole{"edited"}
	}
}
