package gen

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// event is one alert to be written, in compact form: what fired (det), when,
// on which of the organization's users and devices, and for which attack.
// Everything else — ids, names, hashes, command lines — is derived when it is
// rendered, from the organization, the attack and the event's own seed rs.
// Keeping events small is what lets the generator hold every attack's events
// and a window of noise without holding JSON.
type event struct {
	at     int64  // firstActivityDateTime, Unix nanoseconds
	seq    uint64 // creation order: breaks ties in time
	rs     uint64 // seed of the randomness used to render it
	span   int32  // seconds from first to last activity
	delay  int32  // seconds from last activity to createdDateTime (late arrival)
	atk    int32  // index into generator.attacks, -1 for noise
	user   int32  // the main account (index into org.users), -1 for none, sysAccount for SYSTEM
	user2  int32  // a second account (a target, a service account), -1 for none
	dev    int32  // the main device (index into org.devices), -1 for none
	dev2   int32  // a second device (the destination of lateral movement), -1 for none
	lo, hi int16  // a range of attack.victims the alert names (spray targets, recipients)
	arg    int16  // detector-specific variant
	det    detID
	sev    severity // 0: the detector's own
	tenant uint16
}

// sysAccount stands for NT AUTHORITY\SYSTEM in event.user.
const sysAccount = -2

type severity uint8

const (
	sevDefault severity = iota
	sevInformational
	sevLow
	sevMedium
	sevHigh
)

var severityNames = [...]string{"", "informational", "low", "medium", "high"}

// renderer turns events into Graph alert JSON. It is reused for every event;
// its buffers grow to the largest alert and then stop allocating.
type renderer struct {
	w, ev   jsonWriter
	pcg     rand.PCG
	r       *rand.Rand
	o       *org
	a       *attack // nil for noise
	e       *event
	first   time.Time
	last    time.Time
	created time.Time
	threat  string // the threat name: fills %s in titles and threatDisplayName
	family  string // threatFamilyName
}

func newRenderer() *renderer {
	r := &renderer{}
	r.r = rand.New(&r.pcg)
	return r
}

// noise reports whether the alert being rendered is benign.
func (r *renderer) noise() bool { return r.a == nil }

// bad returns the verdict for evidence the alert is about: attacks are mostly
// malicious, benign detections mostly suspicious.
func (r *renderer) bad() string {
	if r.noise() {
		if r.r.IntN(5) == 0 {
			return "unknown"
		}
		return "suspicious"
	}
	if r.r.IntN(5) < 3 {
		return "malicious"
	}
	return "suspicious"
}

// render writes the alert for e into r.w.b and returns its Graph id.
func (r *renderer) render(e *event, o *org, a *attack, seq uint32, seed uint64, end time.Time) string {
	r.e, r.o, r.a = e, o, a
	r.pcg.Seed(e.rs, seed)
	r.threat, r.family = "", ""
	r.first = time.Unix(0, e.at).UTC()
	r.last = r.first.Add(time.Duration(e.span) * time.Second)
	if r.last.After(end) {
		r.last = laterOf(r.first, end)
	}
	r.created = r.last.Add(time.Duration(e.delay) * time.Second)
	if r.created.After(end) {
		r.created = laterOf(r.last, end)
	}
	d := &detectors[e.det]
	src := &sources[d.src]

	// Evidence first: it decides the threat name the title needs.
	r.ev.reset()
	r.ev.begin('[', ']')
	d.evidence(r)
	r.ev.end()

	ticks := r.created.UnixNano()/100 + 621355968000000000 // .NET ticks, as in real Defender ids
	var idb [48]byte
	id := append(idb[:0], src.prefix...)
	id = strconv.AppendInt(id, ticks, 10)
	id = append(id, '_')
	id = strconv.AppendInt(id, int64(int32(mix32(seq^uint32(seed)))), 10)
	ids := string(id)

	w := &r.w
	w.reset()
	w.rootObject()
	w.str("@odata.type", "#microsoft.graph.security.alert")
	w.str("id", ids)
	if d.src == srcMDE {
		w.str("providerAlertId", ids[2:]) // Defender for Endpoint: the id without its prefix
	} else {
		w.str("providerAlertId", guid(r.r))
	}
	w.opt("tenantId", o.tenant)
	w.str("status", "new")
	sev := d.severity
	if e.sev != sevDefault {
		sev = e.sev
	}
	w.str("severity", severityNames[sev])
	if d.src == srcMDE || d.src == srcMDO {
		w.str("classification", "unknown")
		w.str("determination", "unknown")
	}
	w.str("serviceSource", src.service)
	ds := src.detection
	if d.detection != "" {
		ds = d.detection
	}
	w.str("detectionSource", ds)
	w.str("detectorId", d.id)
	w.str("productName", src.product)
	if strings.Contains(d.title, "%s") {
		w.str("title", strings.Replace(d.title, "%s", r.threat, 1))
	} else {
		w.str("title", d.title)
	}
	w.str("description", d.description)
	w.str("recommendedActions", d.actions)
	w.str("category", d.category)
	w.opt("threatDisplayName", r.threat)
	w.opt("threatFamilyName", r.family)
	w.strs("mitreTechniques", d.techniques...)
	w.key("alertWebUrl")
	w.b = append(w.b, `"https://security.microsoft.com/alerts/`...)
	w.b = append(w.b, ids...)
	if o.tenant != "" {
		w.b = append(w.b, "?tid="...)
		w.b = append(w.b, o.tenant...)
	}
	w.b = append(w.b, '"')
	w.time("createdDateTime", r.created)
	w.time("lastUpdateDateTime", r.created.Add(time.Duration(r.r.IntN(5000))*time.Millisecond))
	w.time("firstActivityDateTime", r.first)
	w.time("lastActivityDateTime", r.last)
	w.strs("comments")
	w.strs("systemTags")
	w.raw("evidence", r.ev.b)
	w.end()
	return ids
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// mix32 is a bijection on uint32 (a finalizer of a hash function): distinct
// sequence numbers give distinct, random-looking id suffixes.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// Evidence. Each helper writes one record into r.ev. The names a helper
// writes for a user or a device depend on the product: that is where the
// aliases come from.

func (r *renderer) beginEvidence(kind, verdict string, roles []string, detailed ...string) {
	w := &r.ev
	w.elemObject()
	w.str("@odata.type", "#microsoft.graph.security."+kind+"Evidence")
	w.time("createdDateTime", r.created)
	w.str("verdict", verdict)
	w.str("remediationStatus", "none")
	w.strs("roles", roles...)
	w.strs("detailedRoles", detailed...)
}

// deviceMDE writes a device as Defender for Endpoint knows it: its device
// ids, FQDN, OS and sensor state, addresses and logged-on users.
func (r *renderer) deviceMDE(d int32, roles []string, detailed ...string) {
	dv := &r.o.devices[d]
	r.beginEvidence("device", "unknown", roles, detailed...)
	w := &r.ev
	w.time("firstSeenDateTime", dv.firstSeen)
	w.str("mdeDeviceId", dv.mdeID)
	if dv.aadID != "" && r.r.IntN(10) != 0 {
		w.str("azureAdDeviceId", dv.aadID)
	} else {
		w.null("azureAdDeviceId")
	}
	w.str("deviceDnsName", dv.fqdn)
	w.str("osPlatform", dv.os)
	w.num("osBuild", dv.build)
	w.str("version", dv.version)
	w.str("healthStatus", "active")
	risk := "low"
	if !r.noise() {
		risk = pick(r.r, []string{"medium", "high", "high"})
	}
	w.str("riskScore", risk)
	w.num("rbacGroupId", dv.rbacID)
	w.str("rbacGroupName", dv.rbacGroup)
	w.str("onboardingStatus", "onboarded")
	w.str("defenderAvStatus", "updated")
	w.strs("ipInterfaces", dv.ip)
	w.array("loggedOnUsers")
	if dv.user >= 0 {
		u := &r.o.users[dv.user]
		w.elemObject()
		w.str("accountName", u.sam)
		w.str("domainName", r.o.netbios)
		w.end()
	}
	w.end()
	w.end()
}

// deviceHost writes a device as the identity products name it: a short host
// name only.
func (r *renderer) deviceHost(d int32, roles []string, detailed ...string) {
	dv := &r.o.devices[d]
	r.beginEvidence("device", "unknown", roles, detailed...)
	w := &r.ev
	w.str("hostName", dv.host)
	if dv.kind == domainController {
		w.str("ntDomain", r.o.netbios)
	}
	w.str("osPlatform", dv.os)
	w.end()
}

// dc writes one of the domain controllers: they are in every Defender for
// Identity alert, which makes them the classic hub.
func (r *renderer) dc() {
	r.deviceHost(r.o.dcs[r.r.IntN(len(r.o.dcs))], []string{"destination"}, "Domain controller")
}

// account is the Graph userAccount of one evidence record.
type account struct {
	name, domain, upn, sid, aad, display string
}

func (r *renderer) writeAccount(a account) {
	w := &r.ev
	w.object("userAccount")
	w.str("accountName", a.name)
	w.opt("domainName", a.domain)
	w.opt("userPrincipalName", a.upn)
	w.opt("userSid", a.sid)
	w.opt("azureAdUserId", a.aad)
	w.opt("displayName", a.display)
	w.end()
}

// accountView returns the names product src shows for user u. Within one
// record the names that belong together appear together; which of them a
// product includes varies, as it does in real exports.
func (r *renderer) accountView(u int32, src source) account {
	if u == sysAccount {
		return account{name: "system", domain: "NT AUTHORITY", sid: "S-1-5-18"}
	}
	us := &r.o.users[u]
	switch src {
	case srcMDE: // DOMAIN\sam + SID, sometimes the UPN or object id
		a := account{name: us.sam, domain: r.o.netbios, sid: us.sid}
		if r.r.IntN(10) == 0 {
			a.sid = ""
		}
		if r.r.IntN(3) == 0 {
			a.upn = us.upn
		}
		if r.r.IntN(5) == 0 {
			a.aad = us.aadID
		}
		return a
	case srcMDI: // sam + SID; the domain as NetBIOS or DNS name
		a := account{name: us.sam, domain: r.o.netbios, sid: us.sid, display: us.display}
		if r.r.IntN(5) < 2 {
			a.domain = r.o.domain
		}
		if r.r.IntN(2) == 0 {
			a.upn = us.upn
		}
		if r.r.IntN(4) == 0 {
			a.aad = us.aadID
		}
		return a
	default: // Entra ID Protection, Cloud Apps, Office 365: UPN + object id
		local, _, _ := strings.Cut(us.upn, "@")
		a := account{name: local, upn: us.upn, aad: us.aadID, display: us.display}
		if src == srcMDA && r.r.IntN(4) == 0 {
			a.aad = ""
		}
		return a
	}
}

func (r *renderer) user(u int32, src source, verdict string, roles []string, detailed ...string) {
	r.beginEvidence("user", verdict, roles, detailed...)
	r.writeAccount(r.accountView(u, src))
	r.ev.end()
}

// mailbox writes a mailbox: always its address, often with the UPN and the
// Entra account that link it to the user's other names.
func (r *renderer) mailbox(u int32, verdict string, roles []string, detailed ...string) {
	us := &r.o.users[u]
	r.beginEvidence("mailbox", verdict, roles, detailed...)
	w := &r.ev
	w.str("displayName", us.display)
	w.str("primaryAddress", us.mail)
	if r.r.IntN(5) < 3 {
		w.str("upn", us.upn)
	}
	if r.r.IntN(2) == 0 {
		local, _, _ := strings.Cut(us.upn, "@")
		r.writeAccount(account{name: local, upn: us.upn, aad: us.aadID, display: us.display})
	}
	w.end()
}

// message is an analyzedMessageEvidence.
type message struct {
	netID, inetID       string
	subject, sender     string
	senderIP, recipient string
	direction           string // inbound, outbound, intraorg
	action, location    string
	urls                []string
	attachments         int64
	threats             []string
	received            time.Time
}

func (r *renderer) message(m *message, verdict string, roles []string) {
	r.beginEvidence("analyzedMessage", verdict, roles)
	w := &r.ev
	w.str("networkMessageId", m.netID)
	w.str("internetMessageId", m.inetID)
	w.str("subject", m.subject)
	w.str("language", "en")
	w.str("senderIp", m.senderIP)
	w.str("recipientEmailAddress", m.recipient)
	w.str("antiSpamDirection", m.direction)
	w.str("deliveryAction", m.action)
	w.str("deliveryLocation", m.location)
	w.object("p1Sender")
	w.str("emailAddress", m.sender)
	w.str("domainName", m.sender[strings.IndexByte(m.sender, '@')+1:])
	w.end()
	w.object("p2Sender")
	w.str("emailAddress", m.sender)
	w.str("domainName", m.sender[strings.IndexByte(m.sender, '@')+1:])
	w.end()
	w.time("receivedDateTime", m.received)
	w.strs("threats", m.threats...)
	w.strs("threatDetectionMethods", "urlDetonationReputation", "spoofDmarc")
	w.strs("urls", m.urls...)
	w.num("urlCount", int64(len(m.urls)))
	w.num("attachmentsCount", m.attachments)
	w.str("urn", "urn:MailEntity:"+strings.ReplaceAll(m.netID, "-", ""))
	w.end()
}

func (r *renderer) url(u, verdict string, roles []string, detailed ...string) {
	r.beginEvidence("url", verdict, roles, detailed...)
	r.ev.str("url", u)
	r.ev.end()
}

func (r *renderer) ip(addr, country, verdict string, roles []string, detailed ...string) {
	r.beginEvidence("ip", verdict, roles, detailed...)
	r.ev.str("ipAddress", addr)
	if country != "" {
		r.ev.str("countryLetterCode", country)
	} else {
		r.ev.null("countryLetterCode")
	}
	r.ev.end()
}

// fileDetails writes a Graph fileDetails. Process images carry no MD5 and
// parent images only their names and SHA-1, as in Defender's exports.
func (r *renderer) fileDetails(k string, f *file, level int) {
	w := &r.ev
	w.object(k)
	w.str("fileName", f.name)
	w.str("filePath", f.path)
	w.str("sha1", f.sha1)
	if level > 0 {
		w.str("sha256", f.sha256)
		w.opt("filePublisher", f.vendor)
		w.num("fileSize", f.size)
		w.opt("signer", f.signer)
	}
	if level > 1 {
		w.str("md5", f.md5)
		w.opt("issuer", f.issuer)
	}
	w.end()
}

// file writes a fileEvidence seen on device d (-1: none, as in mail).
func (r *renderer) file(f *file, d int32, verdict, status string, roles []string, detailed ...string) {
	r.beginEvidence("file", verdict, roles, detailed...)
	r.fileDetails("fileDetails", f, 2)
	r.ev.opt("detectionStatus", status)
	if d >= 0 {
		r.ev.str("mdeDeviceId", r.o.devices[d].mdeID)
	}
	r.ev.end()
}

// process writes a processEvidence: image, command line, parent, and the
// account it ran as in Defender for Endpoint's form.
func (r *renderer) process(img *file, cmdline string, parent *file, u, d int32, verdict string, roles []string, detailed ...string) {
	r.beginEvidence("process", verdict, roles, detailed...)
	w := &r.ev
	pid := 1000 + r.r.Int64N(30000)
	created := r.first.Add(-time.Duration(r.r.IntN(120000)) * time.Millisecond)
	w.num("processId", pid)
	w.num("parentProcessId", 500+r.r.Int64N(20000))
	w.str("processCommandLine", cmdline)
	w.time("processCreationDateTime", created)
	w.time("parentProcessCreationDateTime", created.Add(-time.Duration(1+r.r.IntN(3600))*time.Second))
	w.str("detectionStatus", "detected")
	w.str("mdeDeviceId", r.o.devices[d].mdeID)
	r.fileDetails("imageFile", img, 1)
	if parent != nil {
		r.fileDetails("parentProcessImageFile", parent, 0)
	}
	r.writeAccount(r.accountView(u, srcMDE))
	w.end()
}

func (r *renderer) cloudApp(app cloudApp, verdict string, roles []string) {
	r.beginEvidence("cloudApplication", verdict, roles)
	w := &r.ev
	w.num("appId", app.id)
	w.str("displayName", app.name)
	w.num("instanceId", 0)
	w.str("instanceName", app.name)
	w.num("saasAppId", app.id)
	w.end()
}

func (r *renderer) registryValue(hive, key, name, value string, roles []string) {
	r.beginEvidence("registryValue", "suspicious", roles)
	w := &r.ev
	w.str("registryHive", hive)
	w.str("registryKey", key)
	w.str("registryValueName", name)
	w.str("registryValue", value)
	w.str("registryValueType", "String")
	w.str("mdeDeviceId", r.o.devices[r.e.dev].mdeID)
	w.end()
}

// victims returns the attack's victims the event names (its lo:hi range).
func (r *renderer) victims() []int32 {
	if r.a == nil || r.e.hi <= r.e.lo {
		return nil
	}
	return r.a.victims[r.e.lo:min(int(r.e.hi), len(r.a.victims))]
}
