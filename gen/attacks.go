package gen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// attack is one attack instance: the victims its template picked and the
// attacker's infrastructure and tools. Its events refer to it by index; every
// alert it raises is one true incident, named by key.
type attack struct {
	key, tmpl string
	tenant    int
	victims   []int32 // users: [0] is the main victim; then recipients, spray targets
	devices   []int32 // [0] is the entry device; then the devices it moved to
	account   int32   // the account it stole and moves with

	ips              []string // attacker addresses: sign-in, C2
	country          string
	exfilIP          string
	url, c2          string // phishing or download URL; command-and-control URL
	sender, senderIP string
	subject          string
	netID, inetID    string
	attachment       file
	payload, tool    file // the dropped payload; the implant or ransomware binary
	tool2, webShell  file // the credential theft tool; the web shell
	note             file // the ransom note
	noteID           string
	family, threat   string // commodity malware or loader
	ransomFamily     string
	ransomThreat     string
	app              cloudApp // where it exfiltrates to
	alerts           int      // emitted so far
}

// template is one kind of attack.
type template struct {
	name   string
	weight int
	minDur time.Duration // the shortest window it fits in
	plan   func(p *planner)
}

// Templates, in the order Options.Templates names them.
var templates = []template{
	{"phish-chain", 30, 12 * time.Hour, planPhishChain},
	{"spray-bec", 20, 12 * time.Hour, planSprayBEC},
	{"ransomware", 15, 8 * time.Hour, planRansomware},
	{"slow", 15, 72 * time.Hour, planSlow},
	{"commodity", 20, 2 * time.Hour, planCommodity},
}

// TemplateNames lists the attack templates Options.Templates may name.
func TemplateNames() []string {
	names := make([]string, len(templates))
	for i, t := range templates {
		names[i] = t.name
	}
	return names
}

// planner collects the events of one attack at times relative to its start.
type planner struct {
	r      *rand.Rand
	o      *org
	a      *attack
	atk    int32
	tenant uint16
	full   bool // the showcase: every optional step, the widest spread
	window time.Duration
	uses   *usage
	evs    []event
}

// usage counts how often attacks used each user and device of a tenant, so
// that attacks pick different victims where the organization is big enough:
// two attacks on one victim would be one incident to any analyst.
type usage struct{ users, devices map[int32]int }

func (p *planner) coin() bool { return p.r.IntN(2) == 0 }

// between returns a duration in [lo, hi), to the millisecond.
func (p *planner) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(p.r.Int64N(int64(hi-lo)/1e6))*time.Millisecond
}

func (p *planner) add(at time.Duration, d detID, user, dev int32) *event {
	p.evs = append(p.evs, event{
		at: int64(at), det: d, user: user, dev: dev, user2: -1, dev2: -1,
		atk: p.atk, tenant: p.tenant, span: int32(p.r.IntN(600)), rs: p.r.Uint64(),
	})
	return &p.evs[len(p.evs)-1]
}

// leastUsed picks, among a few random candidates from list, the one attacks
// used least, and counts the use.
func (p *planner) leastUsed(list []int32, m map[int32]int, exclude ...int32) int32 {
	best, bestN := list[0], int(^uint(0)>>1)
	for range 12 {
		c := list[p.r.IntN(len(list))]
		skip := false
		for _, x := range exclude {
			skip = skip || x == c
		}
		if !skip && m[c] < bestN {
			best, bestN = c, m[c]
		}
	}
	m[best]++
	return best
}

func (p *planner) person(exclude ...int32) int32 {
	return p.leastUsed(p.o.persons, p.uses.users, exclude...)
}

func (p *planner) server(exclude ...int32) int32 {
	return p.leastUsed(p.o.servers, p.uses.devices, append(exclude, p.o.scanner)...)
}

var (
	phishBrands  = []string{"microsoft", "office365", "sharepoint", "onedrive", "outlook", "docusign", "adobe", "m365"}
	phishWords   = []string{"secure", "login", "verify", "account", "docs", "share", "auth", "portal"}
	badTLDs      = []string{".top", ".xyz", ".online", ".site", ".live", ".info", ".click", ".support"}
	c2Names      = []string{"cloudsync-srv", "msftupdate-cdn", "azure-telemetry", "winsvc-update", "edge-cdn-static"}
	phishLocals  = []string{"no-reply", "notification", "hr", "payroll", "it-support", "docs"}
	phishSubject = []string{"Shared document: Q%d financial review", "Action required: your password expires today", "Invoice %d - payment overdue", "You have %d pending voicemails", "HR: updated remote work policy (%d)", "DocuSign: please review and sign #%d"}
	payloadNames = []string{"OneDrive_Update.exe", "Invoice_%d.exe", "AdobeReaderPatch.exe", "Document_Viewer_%d.exe", "Teams_Setup_x64.exe"}
	docNames     = []string{"Invoice_%d.docm", "Payment_Details_%d.xlsm", "Scan_%d.docm", "Remittance_%d.one"}
	implantNames = []string{"msedgeupdate.exe", "RuntimeBroker64.exe", "svchost_helper.exe", "wuauclt32.exe"}
	credTools    = []string{"m64.exe", "lsa.exe", "debug64.exe", "pd64.exe"}
	loaders      = []string{"Qakbot", "Emotet", "IcedID", "Lumma", "AgentTesla", "Remcos"}
	ransomFams   = []string{"LockBit", "BlackCat", "Akira", "Play", "Royal", "BlackBasta"}
)

func sprintfN(r *rand.Rand, format string) string {
	for i := 0; i+1 < len(format); i++ {
		if format[i] == '%' && format[i+1] == 'd' {
			return format[:i] + strconv.Itoa(1+r.IntN(9999)) + format[i+2:]
		}
	}
	return format
}

// newAttack draws an attack's infrastructure and tools. Every template gets
// all of them, so that any detector can render any attack's events.
func newAttack(r *rand.Rand, key, tmpl string, tenant int) *attack {
	a := &attack{key: key, tmpl: tmpl, tenant: tenant, account: -1}
	for range 1 + r.IntN(2) {
		a.ips = append(a.ips, publicIP(r))
	}
	a.country = pick(r, attackerCountries)
	a.exfilIP = publicIP(r)
	dom := pick(r, phishBrands) + "-" + pick(r, phishWords) + "-" + hexString(r, 4) + pick(r, badTLDs)
	a.url = "https://" + dom + "/" + pick(r, []string{"auth", "s", "doc", "view"}) + "/" + hexString(r, 12)
	a.c2 = "https://" + pick(r, []string{"cdn", "api", "update", "static"}) + "." + pick(r, c2Names) + hexString(r, 3) + pick(r, badTLDs) + "/" + pick(r, []string{"gate.php", "api/v2/poll", "jquery-3.3.1.min.js"})
	senderDom := pick(r, []string{"sharepoint-notify", "docs-share", "o365-alerts", "hr-portal", "payments-desk"}) + "-" + hexString(r, 3) + ".com"
	a.sender = pick(r, phishLocals) + "@" + senderDom
	a.senderIP = publicIP(r)
	a.subject = sprintfN(r, pick(r, phishSubject))
	a.netID = guid(r)
	a.inetID = "<" + hexString(r, 32) + "@" + senderDom + ">"
	a.attachment = randomFile(r, sprintfN(r, pick(r, docNames)), "")
	a.payload = randomFile(r, sprintfN(r, pick(r, payloadNames)), "")
	a.tool = randomFile(r, pick(r, implantNames), "")
	a.tool2 = randomFile(r, pick(r, credTools), `C:\Windows\Temp`)
	a.webShell = randomFile(r, pick(r, []string{"error.aspx", "signin.aspx", "help.aspx"}), "")
	a.note = randomFile(r, "README.txt", "")
	a.noteID = hexString(r, 6)
	a.family = pick(r, loaders)
	a.threat = "Trojan:Win32/" + a.family + "!MTB"
	a.ransomFamily = pick(r, ransomFams)
	a.ransomThreat = "Ransom:Win32/" + a.ransomFamily + ".A"
	a.app = pick(r, exfilApps)
	return a
}

// planPhishChain: phishing mail → URL click → payload and attacker sign-in →
// credential dumping on the victim's device → lateral movement with the stolen
// account to 1–3 devices → data staging and exfiltration.
func planPhishChain(p *planner) {
	a, o := p.a, p.o
	n := 1 + p.r.IntN(4)
	if p.full {
		n = 4
	}
	for range n {
		a.victims = append(a.victims, p.person(a.victims...))
	}
	v := a.victims[0]
	d0 := o.users[v].device
	a.devices = []int32{d0}
	click := p.between(5*time.Minute, 40*time.Minute)
	zap := p.add(0, dMailURLZap, v, -1)
	zap.lo, zap.hi = 0, int16(n)
	zap.span = int32((click + p.between(30*time.Minute, 150*time.Minute)) / time.Second)
	p.add(click, dURLClick, v, -1)
	signIn := click + p.between(15*time.Minute, 90*time.Minute)
	p.add(signIn, dUnfamiliar, v, -1).sev = sevHigh
	if p.full || p.coin() {
		p.add(signIn+p.between(5*time.Minute, 40*time.Minute), dAnomToken, v, -1)
	}
	exec := click + p.between(time.Minute, 10*time.Minute)
	p.add(exec, dDropped, v, d0)
	if p.full || p.coin() {
		p.add(exec+p.between(2*time.Minute, 15*time.Minute), dPowerShell, v, d0)
	}
	cred := exec + p.between(20*time.Minute, 2*time.Hour)
	p.add(cred, dLsass, v, d0)
	a.account = v
	if p.full || p.coin() {
		a.account = p.leastUsed(o.admins, p.uses.users)
	}
	p.add(cred+p.between(10*time.Minute, time.Hour), dOverPTH, a.account, d0)
	hops := 1 + p.r.IntN(3)
	if p.full {
		hops = 3
	}
	t := cred + 30*time.Minute
	from := d0
	for range hops {
		var to int32
		if p.r.IntN(10) < 7 {
			to = p.server(a.devices...)
		} else {
			to = o.users[p.person(a.victims...)].device
		}
		a.devices = append(a.devices, to)
		t += p.between(15*time.Minute, 2*time.Hour)
		p.add(t, dRemoteActivity, a.account, from).dev2 = to
		p.add(t+p.between(10*time.Second, 3*time.Minute), dServiceInstall, a.account, to)
		if p.full || p.coin() {
			p.add(t+p.between(time.Minute, 5*time.Minute), dRemoteExec, a.account, from).dev2 = to
		}
		if p.coin() { // the next hop starts from here, or again from the first device
			from = to
		}
	}
	last := a.devices[len(a.devices)-1]
	ex := t + p.between(time.Hour, 8*time.Hour)
	endpoint := p.full || p.coin()
	if endpoint {
		p.add(ex, dArchive, a.account, last)
		p.add(ex+p.between(10*time.Minute, 40*time.Minute), dExfil, a.account, last)
	}
	if p.full || !endpoint {
		p.add(ex+p.between(0, 2*time.Hour), dMassDownload, v, -1)
	}
	if p.full {
		p.add(ex+p.between(20*time.Minute, time.Hour), dExfilApp, a.account, -1)
	}
}

// planSprayBEC: password spray across many users from a few addresses → one
// success → inbox forwarding rule → phishing sent from the mailbox.
func planSprayBEC(p *planner) {
	a, o := p.a, p.o
	nT := 8 + p.r.IntN(18)
	for range nT {
		a.victims = append(a.victims, p.person(a.victims...))
	}
	v := a.victims[0]
	a.ips = append(a.ips, publicIP(p.r), publicIP(p.r))
	sprays := 1 + p.r.IntN(3)
	per := (nT + sprays - 1) / sprays
	t := time.Duration(0)
	for k := range sprays {
		e := p.add(t, dSpray, -1, -1)
		e.lo, e.hi, e.arg = int16(k*per), int16(min(nT, (k+1)*per)), int16(k)
		e.span = int32(p.between(20*time.Minute, 90*time.Minute) / time.Second)
		t += p.between(20*time.Minute, time.Hour)
	}
	if p.coin() {
		p.add(p.between(0, time.Hour), dMultiFail, a.victims[1+p.r.IntN(nT-1)], -1).arg = int16(p.r.IntN(8))
	}
	succ := t + p.between(10*time.Minute, 4*time.Hour)
	p.add(succ, dUnfamiliar, v, -1).sev = sevHigh
	rule := succ + p.between(20*time.Minute, 3*time.Hour)
	switch p.r.IntN(3) {
	case 0:
		p.add(rule, dInboxRule, v, -1)
	case 1:
		p.add(rule, dForwarding, v, -1)
	default:
		p.add(rule, dInboxRule, v, -1)
		p.add(rule+p.between(time.Minute, 30*time.Minute), dForwarding, v, -1)
	}
	k := 2 + p.r.IntN(3)
	for range k {
		a.victims = append(a.victims, p.person(a.victims...))
	}
	a.sender, a.senderIP = o.users[v].mail, o.natIP
	a.subject = "Re: " + a.subject
	send := rule + p.between(time.Hour, 20*time.Hour)
	e := p.add(send, dOutboundPhish, v, -1)
	e.lo, e.hi = int16(nT), int16(nT+k)
	if p.coin() {
		z := p.add(send+p.between(20*time.Minute, 2*time.Hour), dMailURLZap, a.victims[nT], -1)
		z.lo, z.hi = int16(nT), int16(nT+k)
	}
}

// planRansomware: a foothold on a workstation (loader) or the web server (web
// shell) → discovery → credential theft → the same ransomware binary on
// several servers within an hour, with the stolen account.
func planRansomware(p *planner) {
	a, o := p.a, p.o
	a.tool.name = hexString(p.r, 8) + ".exe" // ransomware binaries get random names
	var d0, actor int32
	t := time.Duration(0)
	if p.coin() {
		v := p.person()
		a.victims = []int32{v}
		d0, actor = o.users[v].device, v
		p.add(0, dMalwareAV, v, d0)
		p.add(p.between(time.Minute, 10*time.Minute), dOfficeChild, v, d0)
	} else {
		d0, actor = p.leastUsed(o.webServers, p.uses.devices), -1
		p.add(0, dWebShell, -1, d0)
	}
	a.devices = []int32{d0}
	t += p.between(10*time.Minute, time.Hour)
	p.add(t, dDiscovery, actor, d0)
	p.add(t+p.between(0, 20*time.Minute), dRecon, actor, d0)
	t += p.between(20*time.Minute, 90*time.Minute)
	p.add(t, dMimikatz, actor, d0)
	a.account = o.svcBackup
	if p.coin() {
		a.account = p.leastUsed(o.admins, p.uses.users)
	}
	if p.r.IntN(5) < 2 {
		p.add(t+p.between(10*time.Minute, 40*time.Minute), dDCSync, a.account, d0)
	}
	t += p.between(30*time.Minute, 2*time.Hour)
	n := min(3+p.r.IntN(6), len(o.servers)-1)
	for range n {
		a.devices = append(a.devices, p.server(a.devices...))
	}
	p.add(t, dRemoteActivity, a.account, d0).dev2 = a.devices[1]
	if p.coin() {
		p.add(t+p.between(5*time.Minute, 30*time.Minute), dTamper, a.account, a.devices[1])
	}
	t += p.between(20*time.Minute, 90*time.Minute)
	for _, s := range a.devices[1:] {
		ts := t + p.between(0, time.Hour)
		if p.r.IntN(3) == 0 {
			p.add(ts-p.between(time.Minute, 5*time.Minute), dShadowDelete, a.account, s)
		}
		p.add(ts, dRansomFS, a.account, s)
		if p.coin() {
			p.add(ts+p.between(0, 5*time.Minute), dRansomAV, a.account, s)
		}
	}
}

// planSlow: a patient intrusion whose steps are 20–60 h apart, longer than
// any correlation window. Consecutive steps share an entity (the user under
// another alias, the device, the service account); the first and the last
// need not share anything.
func planSlow(p *planner) {
	a, o := p.a, p.o
	v := p.person()
	a.victims = []int32{v}
	d1 := o.users[v].device
	svc := p.leastUsed(o.sqlServices, p.uses.users)
	srv := p.server()
	a.devices = []int32{d1, srv}
	a.account = svc
	steps := []func(t time.Duration){
		func(t time.Duration) { p.add(t, dMailFileZap, v, -1).hi = 1 },
		func(t time.Duration) {
			p.add(t, dOfficeChild, v, d1)
			p.add(t+p.between(time.Minute, 5*time.Minute), dDropped, v, d1)
		},
		func(t time.Duration) { p.add(t, pick(p.r, []detID{dSchTask, dRunKey}), v, d1) },
		func(t time.Duration) { p.add(t, dC2, v, d1) },
		func(t time.Duration) { p.add(t, dKerberoast, v, d1).user2 = svc },
		func(t time.Duration) {
			p.add(t, dArchive, svc, srv)
			p.add(t+p.between(20*time.Minute, time.Hour), dExfil, svc, srv)
		},
	}
	n := 4 + p.r.IntN(3)
	gaps := make([]time.Duration, n-1)
	total := time.Duration(0)
	for i := range gaps {
		gaps[i] = p.between(20*time.Hour, 60*time.Hour)
		total += gaps[i]
	}
	budget := p.window * 85 / 100
	for total > budget && n > 3 {
		n--
		total -= gaps[n-1]
		gaps = gaps[:n-1]
	}
	for i := range gaps {
		if total > budget {
			gaps[i] = gaps[i] * budget / total
		}
	}
	first := p.r.IntN(len(steps) - n + 1)
	t := time.Duration(0)
	for i := range n {
		if i > 0 {
			t += gaps[i-1]
		}
		steps[first+i](t)
	}
}

// planCommodity: commodity malware on one device: detection, the script it
// ran, sometimes persistence and its beacon.
func planCommodity(p *planner) {
	a, o := p.a, p.o
	v := p.person()
	d := o.users[v].device
	a.victims, a.devices = []int32{v}, []int32{d}
	p.add(0, dMalwareAV, v, d)
	if p.coin() {
		p.add(p.between(time.Minute, 10*time.Minute), pick(p.r, []detID{dOfficeChild, dPowerShell}), v, d)
	}
	if p.r.IntN(3) == 0 {
		p.add(p.between(3*time.Minute, 20*time.Minute), dRunKey, v, d)
	}
	if p.r.IntN(5) < 3 {
		p.add(p.between(5*time.Minute, time.Hour), dC2, v, d)
	}
}

// attackKey names attack i in the truth file.
func attackKey(i int) string { return fmt.Sprintf("atk-%04d", i) }
