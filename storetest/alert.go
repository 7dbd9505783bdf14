package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/weftxdr/weft"
)

// Base is the event time of NewAlert(0). Alert i happens about i×250 ms later.
var Base = time.Date(2026, time.November, 1, 8, 0, 0, 0, time.UTC)

// Pool sizes of the entities NewAlert draws from. They are small enough that
// a batch of a thousand alerts repeats devices and users, as real alerts do,
// and large enough that entity lookups are not all cache hits.
const (
	NumDevices = 400
	NumUsers   = 800
	NumIPs     = 500
	NumFiles   = 2000
)

// NewAlert returns the i-th alert of a deterministic stream of realistic,
// normalized alerts (Alert.Normalize has been applied) of the default tenant:
// about 2 KB of JSON with five evidence records each, and a raw original of
// about the same size. Alerts cycle through three kinds:
//
//   - i%3 == 0, endpoint (Defender for Endpoint): device, user, process,
//     file, IP;
//   - i%3 == 1, email (Defender for Office 365): mailbox, email message,
//     URL, user, IP;
//   - i%3 == 2, identity (Defender for Identity): user, device, IP, URL,
//     cloud application.
//
// Entities come from fixed pools (NumDevices, NumUsers…) with a skewed
// choice, so alerts share them and a few are hot, as in real tenants. Distinct i give distinct alert ids; the same i gives an equal alert,
// so calling NewAlert(i) again is the way to get a copy to modify. Event
// times increase with i; CreatedDateTime (the ingest time) is a few seconds
// after the last activity. ProviderLastUpdateDateTime is set.
func NewAlert(i int) *weft.Alert {
	first := Base.Add(time.Duration(i)*250*time.Millisecond + time.Duration(i*7919%1000000)*time.Nanosecond)
	last := first.Add(time.Duration(i%300) * time.Second)
	provCreated := last.Add(1500 * time.Millisecond)
	provUpdated := provCreated.Add(time.Duration(i%7) * time.Second)
	dev, usr := skewed(i, "device", NumDevices), skewed(i, "user", NumUsers)
	a := &weft.Alert{
		TenantID:                   weft.DefaultTenantID,
		Severity:                   weft.Severities[1+i*7%4],
		Status:                     weft.AlertStatusNew,
		FirstActivityDateTime:      first,
		LastActivityDateTime:       last,
		ProviderCreatedDateTime:    &provCreated,
		ProviderLastUpdateDateTime: &provUpdated,
		DetectorID:                 hexOf("detector", i%37, 36),
		AlertWebURL:                fmt.Sprintf("https://security.microsoft.com/alerts/da%018d", i),
	}
	switch i % 3 {
	case 0:
		k := endpointKinds[i/3%len(endpointKinds)]
		a.Source, a.ServiceSource, a.DetectionSource, a.ProductName = "microsoftDefenderForEndpoint", "microsoftDefenderForEndpoint", "antivirus", "Microsoft Defender for Endpoint"
		a.ProviderAlertID = fmt.Sprintf("da%018d_%d", i, i%97)
		a.Title, a.Category, a.MitreTechniques = k.title, k.category, k.techniques
		a.ThreatDisplayName, a.ThreatFamilyName = "Trojan:Win32/Wacatac.B!ml", "Wacatac"
		file := skewed(i, "file", NumFiles)
		a.Evidence = []weft.Evidence{
			device(dev, first, "compromised"),
			user(usr, first, "contextual"),
			process(i, dev, usr, first),
			fileEvidence(file, dev, first),
			ip(skewed(i, "ip", NumIPs), first, "commandAndControl"),
		}
	case 1:
		k := emailKinds[i/3%len(emailKinds)]
		a.Source, a.ServiceSource, a.DetectionSource, a.ProductName = "microsoftDefenderForOffice365", "microsoftDefenderForOffice365", "microsoftDefenderForOffice365", "Microsoft Defender for Office 365"
		a.ProviderAlertID = fmt.Sprintf("fa%s", hexOf("mdo", i, 32))
		a.Title, a.Category, a.MitreTechniques = k.title, k.category, k.techniques
		a.Evidence = []weft.Evidence{
			mailbox(usr, first),
			emailMessage(i, usr, first),
			urlEvidence(i, first),
			user(usr, first, "compromised"),
			ip(skewed(i, "ip", NumIPs), first, "attacker"),
		}
	default:
		k := identityKinds[i/3%len(identityKinds)]
		a.Source, a.ServiceSource, a.DetectionSource, a.ProductName = "microsoftDefenderForIdentity", "microsoftDefenderForIdentity", "microsoftDefenderForIdentity", "Microsoft Defender for Identity"
		a.ProviderAlertID = fmt.Sprintf("aa%s", hexOf("mdi", i, 30))
		a.Title, a.Category, a.MitreTechniques = k.title, k.category, k.techniques
		a.Evidence = []weft.Evidence{
			user(usr, first, "compromised"),
			device(dev, first, "source"),
			ip(skewed(i, "ip", NumIPs), first, "attacker"),
			urlEvidence(i, first),
			cloudApp(i%5, first),
		}
	}
	a.Description = fmt.Sprintf("%s on %s involving user%03d, matching known attacker tradecraft (%s).",
		a.Title, deviceName(dev), usr, a.Category)
	a.RecommendedActions = "Review the evidence and timeline; isolate the device and reset the account if confirmed."

	now := last.Add(3*time.Second + time.Duration(i%997)*time.Microsecond)
	if _, err := a.Normalize(now); err != nil {
		panic(fmt.Sprintf("storetest.NewAlert(%d): %v", i, err)) // a defect of this generator
	}
	raw, err := json.Marshal(a)
	if err != nil {
		panic(fmt.Sprintf("storetest.NewAlert(%d): %v", i, err))
	}
	a.Raw = raw
	return a
}

// InTenant moves a normalized alert to another tenant, giving it the id it
// has there, and returns it.
func InTenant(a *weft.Alert, tenantID string) *weft.Alert {
	a.TenantID = tenantID
	a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
	return a
}

type alertKind struct {
	title, category string
	techniques      []string
}

var endpointKinds = []alertKind{
	{"Suspicious PowerShell command line", "Execution", []string{"T1059.001"}},
	{"Ransomware behavior detected in the file system", "Impact", []string{"T1486"}},
	{"Suspicious process injection observed", "DefenseEvasion", []string{"T1055", "T1055.002"}},
	{"Credential dumping activity observed", "CredentialAccess", []string{"T1003", "T1003.001"}},
	{"An active 'Wacatac' malware was blocked", "Malware", nil},
	{"Suspicious scheduled task creation", "Persistence", []string{"T1053.005"}},
}

var emailKinds = []alertKind{
	{"Email messages containing malicious URL removed after delivery", "InitialAccess", []string{"T1566.002"}},
	{"A potentially malicious URL click was detected", "InitialAccess", []string{"T1204.001"}},
	{"Suspicious email forwarding activity", "Exfiltration", []string{"T1114.003"}},
	{"User reported a phishing email", "InitialAccess", []string{"T1566"}},
}

var identityKinds = []alertKind{
	{"Suspected brute-force attack (LDAP)", "CredentialAccess", []string{"T1110", "T1110.003"}},
	{"Suspected identity theft (pass-the-ticket)", "LateralMovement", []string{"T1550.003"}},
	{"Atypical travel", "InitialAccess", []string{"T1078"}},
	{"Suspicious inbox manipulation rule", "DefenseEvasion", []string{"T1564.008"}},
}

// skewed picks a member of a pool of n for alert i: the product of two
// uniform picks, so that low numbers are much more likely than high ones.
func skewed(i int, pool string, n int) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s-%d", pool, i)
	v := h.Sum64()
	a, b := v%uint64(n), (v>>32)%uint64(n)
	return int(a * b / uint64(n))
}

// hexOf returns n hex digits derived from prefix and i.
func hexOf(prefix string, i, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s-%d", prefix, i))
	s := hex.EncodeToString(sum[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// guid formats 32 hex digits of prefix and i as a GUID.
func guid(prefix string, i int) string {
	h := hexOf(prefix, i, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func deviceName(d int) string { return fmt.Sprintf("ws-%03d", d) }

func roles(r ...weft.EvidenceRole) []weft.EvidenceRole { return r }

func ptr[T any](v T) *T { return &v }

func device(d int, t time.Time, role weft.EvidenceRole) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityDevice, CreatedDateTime: ptr(t), Roles: roles(role),
		Verdict: "suspicious", RemediationStatus: "none",
		MdeDeviceID: hexOf("device", d, 40), DeviceDNSName: deviceName(d) + ".contoso.com",
		OsPlatform: "Windows11", OsBuild: 22631, RbacGroupName: "Workstations", RiskScore: "high",
	}
}

func account(u int) *weft.UserAccount {
	return &weft.UserAccount{
		AccountName: fmt.Sprintf("user%03d", u), DomainName: "CONTOSO",
		UserPrincipalName: fmt.Sprintf("user%03d@contoso.com", u),
		UserSid:           fmt.Sprintf("S-1-5-21-1004336348-1177238915-682003330-%d", 1000+u),
	}
}

func user(u int, t time.Time, role weft.EvidenceRole) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityUser, CreatedDateTime: ptr(t), Roles: roles(role),
		Verdict: "suspicious", RemediationStatus: "none", UserAccount: account(u),
	}
}

func mailbox(u int, t time.Time) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityMailbox, CreatedDateTime: ptr(t), Roles: roles("destination"),
		Verdict: "unknown", RemediationStatus: "none",
		DisplayName: fmt.Sprintf("User %03d", u), PrimaryAddress: fmt.Sprintf("user%03d@contoso.com", u),
	}
}

func emailMessage(i, u int, t time.Time) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityEmailMessage, CreatedDateTime: ptr(t), Roles: roles("contextual"),
		Verdict: "malicious", RemediationStatus: "remediated", DetailedRoles: []string{"delivered"},
		NetworkMessageID: guid("netmsg", i), InternetMessageID: fmt.Sprintf("<%s@fabrikam.net>", hexOf("imsg", i, 16)),
		Subject: fmt.Sprintf("Invoice %06d overdue", i), SenderIP: fmt.Sprintf("198.51.100.%d", i%254+1),
		SenderAddress: "billing@fabrikam.net", RecipientEmailAddress: fmt.Sprintf("user%03d@contoso.com", u),
		DeliveryAction: "delivered", DeliveryLocation: "inbox", ReceivedDateTime: ptr(t),
	}
}

func urlEvidence(i int, t time.Time) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityURL, CreatedDateTime: ptr(t), Roles: roles("contextual"),
		Verdict: "malicious", RemediationStatus: "blocked",
		URL: fmt.Sprintf("https://fabrikam.net/pay/%d", i%1000),
	}
}

func ip(n int, t time.Time, role weft.EvidenceRole) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityIP, CreatedDateTime: ptr(t), Roles: roles(role),
		Verdict: "suspicious", RemediationStatus: "none",
		IPAddress: fmt.Sprintf("203.0.%d.%d", 113+n/254, n%254+1),
	}
}

func fileDetails(f int) *weft.FileDetails {
	return &weft.FileDetails{
		FileName: fmt.Sprintf("invoice_%04d.exe", f), FilePath: `C:\Users\Public\Downloads`,
		FileSize: int64(180000 + f*37), Sha1: hexOf("sha1", f, 40), Sha256: hexOf("sha256", f, 64),
	}
}

func fileEvidence(f, d int, t time.Time) weft.Evidence {
	return weft.Evidence{
		EntityType: weft.EntityFile, CreatedDateTime: ptr(t), Roles: roles("attacker"),
		Verdict: "malicious", RemediationStatus: "prevented", DetectionStatus: "prevented",
		MdeDeviceID: hexOf("device", d, 40), FileDetails: fileDetails(f),
	}
}

func process(i, d, u int, t time.Time) weft.Evidence {
	created := t.Add(-2 * time.Second)
	parent := t.Add(-90 * time.Second)
	return weft.Evidence{
		EntityType: weft.EntityProcess, CreatedDateTime: ptr(t), Roles: roles("contextual"),
		Verdict: "suspicious", RemediationStatus: "none", DetectionStatus: "detected",
		MdeDeviceID: hexOf("device", d, 40), ProcessID: int64(4000 + i%60000), ProcessCreationDateTime: &created,
		ProcessCommandLine: fmt.Sprintf(`powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBi%04d`, i%10000),
		ImageFile:          &weft.FileDetails{FileName: "powershell.exe", FilePath: `C:\Windows\System32\WindowsPowerShell\v1.0`},
		ParentProcessID:    int64(1200 + i%500), ParentProcessCreationDateTime: &parent,
		ParentProcessImageFile: &weft.FileDetails{FileName: "winword.exe"},
	}
}

func cloudApp(n int, t time.Time) weft.Evidence {
	apps := []struct{ id, name string }{
		{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
		{"00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"},
		{"00000003-0000-0000-c000-000000000000", "Microsoft Graph"},
		{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
		{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"},
	}
	app := apps[n%len(apps)]
	return weft.Evidence{
		EntityType: weft.EntityCloudApplication, CreatedDateTime: ptr(t), Roles: roles("contextual"),
		Verdict: "unknown", RemediationStatus: "none", AppID: app.id, DisplayName: app.name,
	}
}
