package gen

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Evidence writers of the Office 365, Entra ID Protection, Defender for
// Identity and Cloud Apps detectors. event.user is the user the alert is
// about; event.lo:hi selects further users from attack.victims.

// homeCountry is where every organization's users normally are.
const homeCountry = "US"

// homeIP is the stable home-broadband address of user u: benign sign-in
// alerts of one user keep coming from it.
func (r *renderer) homeIP(u int32) string {
	h := fnv.New32a()
	h.Write([]byte(r.o.users[u].aadID))
	v := h.Sum32()
	return fmt.Sprintf("%d.%d.%d.%d", []int{24, 67, 71, 73, 98, 108, 174}[v%7], (v>>3)&255, (v>>11)&255, 1+(v>>19)%254)
}

var noiseSenders = []string{
	"newsletter@deals-weekly.com", "no-reply@shipping-updates.net", "billing@invoice-portal.co", "hr-benefits@perks-center.com",
	"support@cloudstorage-alerts.com", "events@webinar-hub.io", "noreply@docusign-notify.net", "info@supplier-catalog.biz",
}

var noiseSubjects = []string{
	"Your weekly savings are here", "Your parcel could not be delivered", "Invoice #%d is overdue", "Action required: update your benefits",
	"Storage almost full", "Reminder: webinar starts in 1 hour", "Please review and sign: Contract_%d.pdf", "New catalog for Q%d",
}

// mail returns the message of the alert, addressed to recipient.
func (r *renderer) mail(recipient int32) message {
	m := message{direction: "inbound", action: "delivered", location: "inbox", received: r.first}
	if a := r.a; a != nil {
		m.netID, m.inetID, m.subject, m.sender, m.senderIP = a.netID, a.inetID, a.subject, a.sender, a.senderIP
		if strings.HasSuffix(a.sender, "@"+r.o.domain) {
			m.direction = "intraorg"
		}
		m.urls = []string{a.url}
		m.threats = []string{"Phish"}
	} else {
		m.netID = guid(r.r)
		m.sender = pick(r.r, noiseSenders)
		m.inetID = "<" + hexString(r.r, 24) + "@" + m.sender[strings.IndexByte(m.sender, '@')+1:] + ">"
		m.subject = pick(r.r, noiseSubjects)
		if strings.Contains(m.subject, "%d") {
			m.subject = fmt.Sprintf(m.subject, 1+r.r.IntN(9999))
		}
		m.senderIP = publicIP(r.r)
		m.urls = []string{"https://" + m.sender[strings.IndexByte(m.sender, '@')+1:] + "/c/" + hexString(r.r, 12)}
		m.threats = []string{"Spam"}
	}
	m.recipient = r.o.users[recipient].mail
	return m
}

// recipients returns the users a mail alert names: the attack's range, or
// for noise the event's user and a few random colleagues.
func (r *renderer) recipients() []int32 {
	if vs := r.victims(); vs != nil {
		return vs
	}
	rs := []int32{r.e.user}
	for n := r.r.IntN(4); n > 0; n-- {
		rs = append(rs, pick(r.r, r.o.persons))
	}
	return rs
}

func evMailURLZap(r *renderer) {
	m := r.mail(r.e.user)
	m.location = "quarantine"
	for i, u := range r.recipients() {
		if i == 4 {
			break
		}
		m.recipient = r.o.users[u].mail
		r.mailbox(u, "unknown", []string{"attacked"}, "Recipient")
		r.message(&m, r.bad(), nil)
	}
	r.url(m.urls[0], r.bad(), []string{"contextual"}, "URL in message")
	if r.r.IntN(2) == 0 {
		r.url(urlLogin, "unknown", []string{"contextual"}, "URL in message")
	}
}

func evURLClick(r *renderer) {
	u := r.e.user
	m := r.mail(u)
	r.mailbox(u, "unknown", []string{"compromised"}, "Clicked the URL")
	r.user(u, srcMDO, "unknown", []string{"compromised"})
	r.url(r.a.url, "malicious", nil, "Clicked URL")
	if r.r.IntN(10) < 7 {
		r.ip(r.o.natIP, homeCountry, "unknown", []string{"source"}, "Click source")
	} else {
		r.ip(r.homeIP(u), homeCountry, "unknown", []string{"source"}, "Click source")
	}
	r.message(&m, "malicious", nil)
}

func evMailFileZap(r *renderer) {
	m := r.mail(r.e.user)
	m.location, m.urls, m.attachments, m.threats = "quarantine", nil, 1, []string{"Malware"}
	for i, u := range r.recipients() {
		if i == 4 {
			break
		}
		m.recipient = r.o.users[u].mail
		r.mailbox(u, "unknown", []string{"attacked"}, "Recipient")
		r.message(&m, "malicious", nil)
	}
	f := r.a.attachment
	r.file(&f, -1, "malicious", "detected", []string{"contextual"}, "Attachment")
}

func evForwarding(r *renderer) {
	u := r.e.user
	us := &r.o.users[u]
	r.mailbox(u, "suspicious", []string{"compromised"})
	r.user(u, srcMDO, "suspicious", []string{"compromised"})
	r.beginEvidence("mailboxConfiguration", "suspicious", []string{"created"}, "Forwarding rule")
	w := &r.ev
	w.str("mailboxPrimaryAddress", us.mail)
	w.str("displayName", us.display)
	w.str("upn", us.upn)
	w.str("configurationType", "mailForwardingRule")
	w.str("configurationId", guid(r.r))
	w.str("externalDirectoryObjectId", us.aadID)
	w.end()
	r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
}

func evOutboundPhish(r *renderer) {
	u := r.e.user
	m := r.mail(u)
	m.sender, m.senderIP = r.o.users[u].mail, r.o.natIP
	r.mailbox(u, "suspicious", []string{"compromised"}, "Sender")
	for i, v := range r.victims() {
		if i == 3 {
			break
		}
		m.recipient, m.direction = r.o.users[v].mail, "intraorg"
		r.message(&m, "malicious", nil)
	}
	m.recipient, m.direction, m.location = "accounts@"+pick(r.r, []string{"globex-supply.com", "initech-partners.com", "umbrella-logistics.net"}), "outbound", "external"
	r.message(&m, "malicious", nil)
	r.url(r.a.url, "malicious", []string{"contextual"}, "URL in message")
}

func evUserReported(r *renderer) {
	u := r.e.user
	m := r.mail(u)
	r.mailbox(u, "unknown", nil, "Reporter")
	r.message(&m, "unknown", nil)
}

// signInIP returns the address a benign sign-in alert of user u comes from.
func (r *renderer) signInIP(u int32) (string, string) {
	if r.r.IntN(10) < 3 {
		return r.o.natIP, homeCountry
	}
	return r.homeIP(u), homeCountry
}

func evUnfamiliar(r *renderer) {
	u := r.e.user
	r.user(u, srcAAD, r.bad(), r.mainRoles())
	if r.noise() {
		ip, cc := r.signInIP(u)
		r.ip(ip, cc, "unknown", []string{"source"})
	} else {
		r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
	}
	r.url(urlLogin, "unknown", []string{"contextual"}, "Sign-in endpoint")
}

func evAtypicalTravel(r *renderer) {
	u := r.e.user
	r.user(u, srcAAD, r.bad(), r.mainRoles())
	r.ip(r.o.natIP, homeCountry, "unknown", []string{"source"}, "Previous sign-in")
	r.ip(publicIP(r.r), pick(r.r, travelCountries), "suspicious", []string{"source"}, "Current sign-in")
	r.url(urlLogin, "unknown", []string{"contextual"}, "Sign-in endpoint")
}

func evSpray(r *renderer) {
	for _, u := range r.victims() {
		r.user(u, srcAAD, "suspicious", []string{"attacked"})
	}
	for i, ip := range r.a.ips {
		if i%2 == int(r.e.arg)%2 || len(r.a.ips) == 1 {
			r.ip(ip, r.a.country, "malicious", []string{"attacker"})
		}
	}
	r.url(urlLogin, "unknown", []string{"contextual"}, "Sign-in endpoint")
}

func evAnomToken(r *renderer) {
	u := r.e.user
	r.user(u, srcAAD, "suspicious", []string{"compromised"})
	r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
	r.url(urlLogin, "unknown", []string{"contextual"}, "Sign-in endpoint")
}

// identityUser writes event.user as Defender for Identity names it, or the
// computer account of event.dev when there is no user.
func (r *renderer) identityUser(u int32, verdict string, roles []string) {
	if u >= 0 {
		r.user(u, srcMDI, verdict, roles)
		return
	}
	r.beginEvidence("user", verdict, roles)
	r.writeAccount(account{name: r.o.devices[r.e.dev].host + "$", domain: r.o.netbios})
	r.ev.end()
}

func evOverPTH(r *renderer) {
	e := r.e
	r.identityUser(e.user, "malicious", []string{"compromised"})
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.dc()
	if r.r.IntN(2) == 0 {
		r.ip(r.o.devices[e.dev].ip, "", "unknown", []string{"source"})
	}
}

func evRecon(r *renderer) {
	e := r.e
	r.identityUser(e.user, r.bad(), r.mainRoles())
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.dc()
	r.ip(r.o.devices[e.dev].ip, "", "unknown", []string{"source"})
}

func evKerberoast(r *renderer) {
	e := r.e
	r.identityUser(e.user, "malicious", []string{"compromised"})
	r.user(e.user2, srcMDI, "suspicious", []string{"attacked"}, "Service account with SPN")
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.dc()
}

func evDCSync(r *renderer) {
	e := r.e
	r.identityUser(e.user, "malicious", []string{"compromised"})
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.dc()
}

func evBruteForce(r *renderer) {
	e := r.e
	r.identityUser(e.user, r.bad(), []string{"attacked"})
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.dc()
}

func evRemoteExec(r *renderer) {
	e := r.e
	r.identityUser(e.user, "malicious", []string{"compromised"})
	r.deviceHost(e.dev, []string{"source"}, "Source computer")
	r.deviceHost(e.dev2, []string{"destination"}, "Destination computer")
	r.dc()
}

func evMassDownload(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, r.bad(), r.mainRoles())
	r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
	r.cloudApp(pick(r.r, []cloudApp{appSharePoint, appOneDrive}), "unknown", []string{"contextual"})
}

func evExfilApp(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, "suspicious", []string{"compromised"})
	r.ip(r.o.natIP, homeCountry, "unknown", []string{"source"}, "Egress address")
	r.cloudApp(r.a.app, "suspicious", []string{"destination"})
}

func evInboxRule(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, "suspicious", []string{"compromised"})
	r.ip(r.a.ips[0], r.a.country, "malicious", []string{"attacker"})
	r.cloudApp(appExchange, "unknown", []string{"contextual"})
	if r.r.IntN(2) == 0 {
		r.mailbox(u, "suspicious", []string{"edited"})
	}
}

func evInfrequentCountry(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, r.bad(), r.mainRoles())
	r.ip(publicIP(r.r), pick(r.r, travelCountries), "unknown", []string{"source"})
	r.cloudApp(appOffice365, "unknown", []string{"contextual"})
}

func evMultiFail(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, r.bad(), []string{"attacked"})
	if r.noise() {
		ip, cc := r.signInIP(u)
		r.ip(ip, cc, "unknown", []string{"source"})
	} else {
		r.ip(r.a.ips[int(r.e.arg)%len(r.a.ips)], r.a.country, "malicious", []string{"attacker"})
	}
	r.cloudApp(appOffice365, "unknown", []string{"contextual"})
}

func evImpossibleTravel(r *renderer) {
	u := r.e.user
	r.user(u, srcMDA, r.bad(), r.mainRoles())
	r.ip(r.o.natIP, homeCountry, "unknown", []string{"source"})
	r.ip(publicIP(r.r), pick(r.r, travelCountries), "suspicious", []string{"source"})
	r.cloudApp(appOffice365, "unknown", []string{"contextual"})
}
