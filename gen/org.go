package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// userKind says what an account is for.
type userKind uint8

const (
	person  userKind = iota // a human with a mailbox and a workstation
	admin                   // an IT admin's privileged account: no mailbox, no device
	service                 // a service account: no mailbox, runs on servers
)

// user is one account of the organization, with every name it goes by. Which
// of the names an alert shows depends on the product that raised it (see
// render.go): that is the alias problem the correlation engine must solve.
type user struct {
	first, last string
	display     string // "John Doe"
	sam         string // sAMAccountName: "jdoe"
	upn         string // user principal name: "john.doe@contoso.com", sometimes "jdoe@contoso.com"
	mail        string // primary SMTP address: "john.doe@contoso.com"; "" without a mailbox
	aadID       string // Entra object id (GUID)
	sid         string // S-1-5-21-…-RID
	device      int32  // primary workstation, -1 for none
	kind        userKind
}

// deviceKind says what a device is.
type deviceKind uint8

const (
	workstation deviceKind = iota
	server
	domainController
)

// device is one machine of the organization.
type device struct {
	host      string // NetBIOS-style upper-case name: "WS-0042", "SRV-FS01", "DC01"
	fqdn      string // "ws-0042.contoso.com"
	mdeID     string // Defender for Endpoint device id: 40 hex digits
	aadID     string // Entra device id (GUID); "" for servers
	ip        string // private address
	os        string // osPlatform
	build     int64
	version   string
	rbacID    int64
	rbacGroup string
	firstSeen time.Time
	user      int32 // primary user of a workstation, -1 for none
	kind      deviceKind
}

// org is one tenant's organization: its directory, its machines and the
// addresses that every office user shares.
type org struct {
	tenant    string // tenantId as written, "" for the default tenant
	index     int
	domain    string // "contoso.com"
	netbios   string // "CONTOSO"
	domainSID string // "S-1-5-21-a-b-c"

	users   []user
	persons []int32 // users with a mailbox and a workstation
	admins  []int32
	// Service accounts. svcBackup is a hub: it logs on to every server nightly.
	svcBackup, svcSQL, svcScan int32
	sqlServices                []int32 // svc-sql, svc-sql2 …: what Kerberoasting targets

	devices      []device
	workstations []int32
	servers      []int32 // member servers, not DCs
	dcs          []int32
	scanner      int32   // the vulnerability scanner SRV-SCAN01: a hub of benign recon alerts
	webServers   []int32 // the internet-facing servers SRV-WEB01, SRV-WEB02 …

	natIP string // office egress address: every office sign-in comes from it
}

// Well-known organization names for the first tenants; later tenants are
// numbered.
var orgNames = []string{"contoso", "fabrikam", "northwind", "adatum", "tailspin", "wingtip", "litware", "proseware", "woodgrove", "fourthcoffee"}

var firstNames = []string{
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
	"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Donald", "Sandra",
	"Steven", "Ashley", "Paul", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle",
	"Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah", "Ronald", "Stephanie",
	"Timothy", "Rebecca", "Jason", "Laura", "Jeffrey", "Sharon", "Ryan", "Cynthia", "Jacob", "Kathleen",
	"Gary", "Amy", "Nicholas", "Shirley", "Eric", "Angela", "Jonathan", "Helen", "Stephen", "Anna",
	"Larry", "Brenda", "Justin", "Pamela", "Scott", "Nicole", "Brandon", "Emma", "Benjamin", "Samantha",
	"Priya", "Wei", "Ahmed", "Fatima", "Hiroshi", "Yuki", "Carlos", "Lucia", "Olga", "Ivan",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Patel", "Chen", "Khan", "Tanaka", "Schmidt", "Muller", "Rossi", "Kowalski", "Novak", "Dubois",
}

// serverRoles name member servers: SRV-FS01, SRV-SQL01, …
var serverRoles = []string{"FS", "SQL", "WEB", "SCAN", "APP", "BKP", "PRN", "EXCH", "ERP", "HR", "CRM", "DEV"}

// newOrg builds tenant number index with nUsers people and nDevices machines
// (workstations, member servers and two domain controllers). It draws from r
// only, so the same seed gives the same organization.
func newOrg(r *rand.Rand, index int, tenant string, nUsers, nDevices int, start time.Time) *org {
	name := orgNames[index%len(orgNames)]
	if index >= len(orgNames) {
		name += strconv.Itoa(index / len(orgNames))
	}
	o := &org{
		tenant:    tenant,
		index:     index,
		domain:    name + ".com",
		netbios:   strings.ToUpper(name),
		domainSID: fmt.Sprintf("S-1-5-21-%d-%d-%d", 1000000000+r.Int64N(3000000000), 1000000000+r.Int64N(3000000000), 1000000000+r.Int64N(3000000000)),
		natIP:     publicIP(r),
	}
	rid := 1104
	sams := map[string]int{}
	upns := map[string]int{}
	unique := func(m map[string]int, s string) string {
		m[s]++
		if n := m[s]; n > 1 {
			return s + strconv.Itoa(n)
		}
		return s
	}
	addUser := func(u user) int32 {
		u.aadID = guid(r)
		u.sid = o.domainSID + "-" + strconv.Itoa(rid)
		rid += 1 + r.IntN(3)
		o.users = append(o.users, u)
		return int32(len(o.users) - 1)
	}
	for range nUsers {
		f := firstNames[r.IntN(len(firstNames))]
		l := lastNames[r.IntN(len(lastNames))]
		lf, ll := strings.ToLower(f), strings.ToLower(l)
		u := user{first: f, last: l, display: f + " " + l, kind: person, device: -1}
		u.sam = unique(sams, lf[:1]+ll)
		local := unique(upns, lf+"."+ll)
		u.mail = local + "@" + o.domain
		u.upn = u.mail
		if r.IntN(5) == 0 { // older accounts: the UPN is the sAMAccountName, the mail address is not
			u.upn = u.sam + "@" + o.domain
		}
		o.persons = append(o.persons, addUser(u))
	}
	for i := 0; i < max(3, nUsers/150); i++ {
		p := o.users[o.persons[r.IntN(len(o.persons))]]
		o.admins = append(o.admins, addUser(user{
			first: p.first, last: p.last, display: p.display + " (admin)", kind: admin, device: -1,
			sam: unique(sams, "adm-"+p.sam), upn: "adm-" + p.sam + "@" + o.domain,
		}))
	}
	svc := func(sam, display string) int32 {
		return addUser(user{display: display, kind: service, device: -1, sam: sam, upn: sam + "@" + o.domain})
	}
	o.svcBackup = svc("svc-backup", "Backup Service")
	o.svcSQL = svc("svc-sql", "SQL Server Service")
	o.sqlServices = []int32{o.svcSQL}
	for i := 2; i <= max(1, nDevices/1500); i++ { // a SQL service account per few dozen servers
		o.sqlServices = append(o.sqlServices, svc(fmt.Sprintf("svc-sql%d", i), fmt.Sprintf("SQL Server Service %d", i)))
	}
	o.svcScan = svc("svc-scan", "Vulnerability Scanner")

	nServers := max(4, nDevices/60)
	nWorkstations := max(1, nDevices-nServers-2)
	addDevice := func(d device) int32 {
		d.fqdn = strings.ToLower(d.host) + "." + o.domain
		d.mdeID = hexString(r, 40)
		d.ip = fmt.Sprintf("10.%d.%d.%d", 10+index%200, r.IntN(64), 2+r.IntN(250))
		d.firstSeen = start.Add(-time.Duration(30*86400+r.IntN(900*86400)) * time.Second).Truncate(time.Second)
		o.devices = append(o.devices, d)
		return int32(len(o.devices) - 1)
	}
	for i := 1; i <= 2; i++ {
		o.dcs = append(o.dcs, addDevice(device{host: fmt.Sprintf("DC%02d", i), kind: domainController, os: "WindowsServer2022", build: 20348, version: "21H2", rbacID: 3, rbacGroup: "Domain Controllers", user: -1}))
	}
	roleCount := map[string]int{}
	for i := range nServers {
		role := serverRoles[i%len(serverRoles)]
		roleCount[role]++
		os, build, ver := "WindowsServer2022", int64(20348), "21H2"
		if r.IntN(3) == 0 {
			os, build, ver = "WindowsServer2019", 17763, "1809"
		}
		id := addDevice(device{host: fmt.Sprintf("SRV-%s%02d", role, roleCount[role]), kind: server, os: os, build: build, version: ver, rbacID: 2, rbacGroup: "Servers", user: -1})
		o.servers = append(o.servers, id)
		switch {
		case role == "SCAN" && roleCount[role] == 1:
			o.scanner = id
		case role == "WEB":
			o.webServers = append(o.webServers, id)
		}
	}
	for i := 1; i <= nWorkstations; i++ {
		os, build, ver := "Windows11", int64(22631), "23H2"
		if r.IntN(4) == 0 {
			os, build, ver = "Windows10", 19045, "22H2"
		}
		id := addDevice(device{host: fmt.Sprintf("WS-%04d", i), kind: workstation, os: os, build: build, version: ver, rbacID: 1, rbacGroup: "Workstations", aadID: guid(r), user: -1})
		o.workstations = append(o.workstations, id)
	}
	for i, p := range o.persons {
		w := o.workstations[i%len(o.workstations)]
		o.users[p].device = w
		if o.devices[w].user < 0 {
			o.devices[w].user = p
		}
	}
	return o
}

// hubFile is a file that shows up in many unrelated alerts (system binaries,
// a signed updater, the EICAR test file). Its hashes are derived from its name
// so that they are the same in every scenario, as real ones would be.
type file struct {
	name, path             string
	sha1, sha256, md5      string
	size                   int64
	signer, issuer, vendor string
}

func fixedFile(name, path, signer string, size int64) file {
	hash := func(kind string, n int) string {
		sum := sha256.Sum256([]byte("weft-gen/file/" + kind + "/" + name))
		return hex.EncodeToString(sum[:n])
	}
	f := file{name: name, path: path, sha256: hash("sha256", 32), sha1: hash("sha1", 20), md5: hash("md5", 16), size: size}
	if signer != "" {
		f.signer, f.issuer, f.vendor = signer, "Microsoft Windows Production PCA 2011", signer
	}
	return f
}

// Hub files: the image files of the processes that attacks and admins both
// use, a widely deployed signed updater, and the antivirus test file.
var (
	filePowerShell = fixedFile("powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0`, "Microsoft Windows", 450560)
	fileRundll32   = fixedFile("rundll32.exe", `C:\Windows\System32`, "Microsoft Windows", 71680)
	fileCmd        = fixedFile("cmd.exe", `C:\Windows\System32`, "Microsoft Windows", 289792)
	fileUpdater    = fixedFile("OneDriveStandaloneUpdater.exe", `C:\Program Files\Microsoft OneDrive`, "Microsoft Corporation", 4312064)
	fileEicar      = fixedFile("eicar.com.txt", `C:\Users\Public\Downloads`, "", 68)
	fileWinword    = fixedFile("WINWORD.EXE", `C:\Program Files\Microsoft Office\root\Office16`, "Microsoft Corporation", 1637232)
	fileServices   = fixedFile("services.exe", `C:\Windows\System32`, "Microsoft Windows", 719872)
)

// pua are unwanted-software detections; a few installers are on many
// machines, which makes their hashes medium-prevalence entities.
var pua = []struct{ threat, file string }{
	{"PUA:Win32/Presenoker", "FreeVideoConverter_setup.exe"},
	{"PUA:Win32/Caypnamer.A!ml", "pdf_merge_installer.exe"},
	{"PUADlManager:Win32/OfferCore", "WinZipDriverUpdater.exe"},
	{"PUA:Win32/Softcnapp", "SystemOptimizerPro.exe"},
	{"PUABundler:Win32/DownloadAdmin", "7zip_free_download.exe"},
	{"PUA:Win32/Kuping", "Ccleaner_portable.exe"},
	{"PUA:Win32/uTorrent", "uTorrent.exe"},
	{"PUA:Win32/CandyOpen", "chrome_theme_pack.exe"},
}

// cloudApp is a Defender for Cloud Apps application (appId as in the MDA
// catalog).
type cloudApp struct {
	id         int64
	name, host string
}

var (
	appSharePoint = cloudApp{20892, "Microsoft SharePoint Online", "sharepoint.com"}
	appExchange   = cloudApp{20893, "Microsoft Exchange Online", "outlook.office365.com"}
	appOffice365  = cloudApp{11161, "Office 365", "office.com"}
	appOneDrive   = cloudApp{15600, "Microsoft OneDrive for Business", "onedrive.live.com"}
	exfilApps     = []cloudApp{{11627, "Dropbox", "content.dropboxapi.com"}, {26069, "MEGA", "g.api.mega.co.nz"}, {10489, "Box", "upload.box.com"}, {10962, "Google Drive", "www.googleapis.com"}, {28491, "WeTransfer", "storm-eu-west-1.wetransfer.net"}}
)

// urlLogin is the hub URL: every sign-in alert and many mails refer to it.
const urlLogin = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"

var attackerCountries = []string{"NL", "RU", "NG", "BR", "VN", "RO", "US", "DE", "IN", "UA", "CN", "SG"}
var travelCountries = []string{"GB", "FR", "ES", "IT", "US", "CA", "JP", "AU", "DE", "NL", "MX", "IE"}

// publicIP returns a routable-looking IPv4 address outside private,
// documentation and multicast ranges.
func publicIP(r *rand.Rand) string {
	firsts := [...]int{5, 20, 31, 37, 45, 46, 62, 77, 78, 80, 81, 85, 89, 91, 93, 102, 103, 104, 141, 146, 154, 176, 178, 185, 188, 193, 194, 195, 212, 213}
	return fmt.Sprintf("%d.%d.%d.%d", firsts[r.IntN(len(firsts))], r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

func hexString(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := 0; i < n; i += 16 {
		v := r.Uint64()
		for j := i; j < n && j < i+16; j++ {
			b[j] = digits[v&15]
			v >>= 4
		}
	}
	return string(b)
}

func guid(r *rand.Rand) string {
	h := hexString(r, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string("89ab"[h[16]&3]) + h[17:20] + "-" + h[20:]
}

// fixedGUID derives a GUID from a name, for ids that must not change with the
// seed (detector ids).
func fixedGUID(name string) string {
	sum := sha256.Sum256([]byte("weft-gen/" + name))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomFile(r *rand.Rand, name, path string) file {
	return file{name: name, path: path, sha256: hexString(r, 64), sha1: hexString(r, 40), md5: hexString(r, 32), size: 20000 + r.Int64N(3000000)}
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }
