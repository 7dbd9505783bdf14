package gen

import "strconv"

// source is the product that raised an alert.
type source uint8

const (
	srcMDE source = iota // Defender for Endpoint
	srcMDO               // Defender for Office 365
	srcMDI               // Defender for Identity
	srcAAD               // Entra ID Protection
	srcMDA               // Defender for Cloud Apps
)

// sources gives each product's Graph alert id prefix, serviceSource, default
// detectionSource and productName.
var sources = [...]struct {
	prefix, service, detection, product string
}{
	srcMDE: {"da", "microsoftDefenderForEndpoint", "microsoftDefenderForEndpoint", "Microsoft Defender for Endpoint"},
	srcMDO: {"fa", "microsoftDefenderForOffice365", "microsoftDefenderForOffice365", "Microsoft Defender for Office 365"},
	srcMDI: {"aa", "microsoftDefenderForIdentity", "microsoftDefenderForIdentity", "Microsoft Defender for Identity"},
	srcAAD: {"ad", "azureAdIdentityProtection", "azureAdIdentityProtection", "Microsoft Entra ID Protection"},
	srcMDA: {"ca", "microsoftDefenderForCloudApps", "cloudAppSecurity", "Microsoft Defender for Cloud Apps"},
}

// detID names a detector: one kind of alert of one product.
type detID uint8

const (
	// Defender for Endpoint.
	dPUA detID = iota
	dEicar
	dMalwareAV
	dPowerShell
	dDropped
	dOfficeChild
	dLsass
	dMimikatz
	dDiscovery
	dRemoteActivity
	dServiceInstall
	dRansomFS
	dRansomAV
	dShadowDelete
	dTamper
	dWebShell
	dSchTask
	dRunKey
	dC2
	dExfil
	dArchive
	// Defender for Office 365.
	dMailURLZap
	dURLClick
	dMailFileZap
	dForwarding
	dOutboundPhish
	dUserReported
	// Entra ID Protection.
	dUnfamiliar
	dAtypicalTravel
	dSpray
	dAnomToken
	// Defender for Identity.
	dOverPTH
	dRecon
	dKerberoast
	dDCSync
	dBruteForce
	dRemoteExec
	// Defender for Cloud Apps.
	dMassDownload
	dExfilApp
	dInboxRule
	dInfrequentCountry
	dMultiFail
	dImpossibleTravel
	numDetectors
)

// detector describes one kind of alert: its Graph fields and how to write its
// evidence. Titles with %s take the threat name the evidence writer sets.
type detector struct {
	src         source
	detection   string // detectionSource when it is not the product's own
	title       string
	category    string
	techniques  []string
	severity    severity
	description string
	actions     string
	evidence    func(r *renderer)
	id          string // detectorId: a GUID derived from the title
}

const (
	actIsolate  = "1. Isolate the device if the activity is not expected.\n2. Review the process tree and collect an investigation package.\n3. Reset the credentials of the accounts logged on to it."
	actAV       = "Run a full scan. If the file is not needed, remove it and block its hash."
	actMail     = "Review the message and its recipients with Threat Explorer. Soft-delete remaining copies, block the sender and the URLs, and check whether any recipient clicked or replied."
	actIdentity = "Review the user's recent sign-ins and risk detections. If the activity was not the user's, revoke sessions, require a password reset and MFA re-registration, and block the source addresses."
	actMDI      = "1. Review the source computer and the account used.\n2. If the activity is malicious, contain the source computer and reset the account's password (twice for krbtgt).\n3. Look for further activity of the account on other computers."
	actMDA      = "Review the user's activity log in Defender for Cloud Apps. If it is not expected, suspend the user, revoke sessions and review the data that was accessed or shared."
)

var detectors = [numDetectors]detector{
	dPUA: {src: srcMDE, detection: "antivirus", title: "'%s' unwanted software was detected", category: "UnwantedSoftware", severity: sevLow,
		description: "Potentially unwanted applications (PUA) are software that is not malicious but degrades the device's performance or security: adware, bundlers, miners. Microsoft Defender Antivirus detected such an application on the device.",
		actions:     actAV, evidence: evPUA},
	dEicar: {src: srcMDE, detection: "antivirus", title: "'%s' malware was detected", category: "Malware", severity: sevInformational,
		description: "Microsoft Defender Antivirus detected the EICAR anti-malware test file. The file is harmless and is used to check that antivirus protection works.",
		actions:     actAV, evidence: evEicar},
	dMalwareAV: {src: srcMDE, detection: "antivirus", title: "'%s' malware was detected", category: "Malware", severity: sevMedium, techniques: []string{"T1204.002"},
		description: "Malware was detected on the device. The threat may have been remediated automatically; confirm that no further malicious activity happened after the detection.",
		actions:     actIsolate, evidence: evMalwareAV},
	dPowerShell: {src: srcMDE, title: "Suspicious PowerShell command line", category: "Execution", severity: sevMedium, techniques: []string{"T1059.001", "T1105"},
		description: "A suspicious PowerShell command line was run. Attackers use PowerShell to download and run payloads in memory, often obfuscated or encoded, to evade detection.",
		actions:     actIsolate, evidence: evPowerShell},
	dDropped: {src: srcMDE, title: "Suspicious file dropped and launched", category: "Execution", severity: sevMedium, techniques: []string{"T1204.002"},
		description: "A process dropped a file that was launched shortly afterwards. This pattern is typical of downloaders and phishing payloads delivered by mail or through the browser.",
		actions:     actIsolate, evidence: evDropped},
	dOfficeChild: {src: srcMDE, title: "Suspicious process launched by an Office application", category: "Execution", severity: sevMedium, techniques: []string{"T1204.002", "T1059.005"},
		description: "An Office application started a script host or command shell. Malicious documents use macros to launch such processes to download and run further payloads.",
		actions:     actIsolate, evidence: evOfficeChild},
	dLsass: {src: srcMDE, title: "Suspicious access to LSASS service", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1003.001"},
		description: "A process accessed the memory of the Local Security Authority Subsystem Service (LSASS) in a way typical of credential dumping. Attackers read LSASS memory to steal password hashes and Kerberos tickets of the accounts logged on to the device.",
		actions:     actIsolate, evidence: evLsass},
	dMimikatz: {src: srcMDE, title: "Mimikatz credential theft tool", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1003.001", "T1550.002"},
		description: "The Mimikatz credential theft tool, or a variant of it, was detected. It dumps credentials from memory and lets an attacker reuse them to move to other devices.",
		actions:     actIsolate, evidence: evMimikatz},
	dDiscovery: {src: srcMDE, title: "Suspicious sequence of exploration activities", category: "Discovery", severity: sevMedium, techniques: []string{"T1087.002", "T1069.002", "T1018", "T1482"},
		description: "A process ran a sequence of commands that enumerate domain accounts, groups, computers and trusts. Attackers explore the network like this after gaining a foothold.",
		actions:     actIsolate, evidence: evDiscovery},
	dRemoteActivity: {src: srcMDE, title: "Suspicious remote activity", category: "LateralMovement", severity: sevHigh, techniques: []string{"T1021.002", "T1570"},
		description: "A device started a process or created a service on another device over SMB or WMI with an account that does not usually do so. This may be lateral movement with stolen credentials.",
		actions:     actIsolate, evidence: evRemoteActivity},
	dServiceInstall: {src: srcMDE, title: "Suspicious service registration", category: "Persistence", severity: sevMedium, techniques: []string{"T1543.003", "T1569.002"},
		description: "A new service was registered on the device by a remote account. Attackers install services to run their tools with SYSTEM privileges on devices they move to.",
		actions:     actIsolate, evidence: evServiceInstall},
	dRansomFS: {src: srcMDE, title: "Ransomware behavior detected in the file system", category: "Impact", severity: sevHigh, techniques: []string{"T1486"},
		description: "A process encrypted or renamed many files in a short time and dropped ransom notes. This is typical ransomware behavior.",
		actions:     actIsolate, evidence: evRansomFS},
	dRansomAV: {src: srcMDE, detection: "antivirus", title: "'%s' ransomware was detected", category: "Ransomware", severity: sevHigh, techniques: []string{"T1486"},
		description: "Ransomware was detected on the device. Ransomware encrypts files and demands payment; it is usually the last step of a human-operated attack.",
		actions:     actIsolate, evidence: evRansomAV},
	dShadowDelete: {src: srcMDE, title: "File backups were deleted", category: "Impact", severity: sevHigh, techniques: []string{"T1490"},
		description: "A process deleted volume shadow copies or backup catalogs. Ransomware does this before encrypting files so that they cannot be restored.",
		actions:     actIsolate, evidence: evShadowDelete},
	dTamper: {src: srcMDE, title: "Attempt to turn off Microsoft Defender Antivirus protection", category: "DefenseEvasion", severity: sevHigh, techniques: []string{"T1562.001"},
		description: "A process tried to turn off real-time protection or add exclusions to Microsoft Defender Antivirus. Attackers disable protection before running their tools.",
		actions:     actIsolate, evidence: evTamper},
	dWebShell: {src: srcMDE, title: "Possible web shell installation", category: "InitialAccess", severity: sevHigh, techniques: []string{"T1190", "T1505.003"},
		description: "The web server process wrote a script file into a web directory and then ran a command shell. An attacker may have exploited the application and installed a web shell.",
		actions:     actIsolate, evidence: evWebShell},
	dSchTask: {src: srcMDE, title: "Suspicious scheduled task", category: "Persistence", severity: sevMedium, techniques: []string{"T1053.005"},
		description: "A scheduled task was created that runs a file from a user-writable folder. Attackers use scheduled tasks to keep their foothold across reboots.",
		actions:     actIsolate, evidence: evSchTask},
	dRunKey: {src: srcMDE, title: "Anomaly detected in ASEP registry", category: "Persistence", severity: sevMedium, techniques: []string{"T1547.001"},
		description: "A process added a program to an auto-start extensibility point (ASEP) in the registry. Malware does this to start with the user's session.",
		actions:     actIsolate, evidence: evRunKey},
	dC2: {src: srcMDE, title: "Suspicious connection blocked by network protection", category: "CommandAndControl", severity: sevMedium, techniques: []string{"T1071.001"},
		description: "Network protection blocked a connection to an address with a bad reputation. The process may be malware contacting its command-and-control server.",
		actions:     actIsolate, evidence: evC2},
	dExfil: {src: srcMDE, title: "Possible data exfiltration to cloud storage", category: "Exfiltration", severity: sevHigh, techniques: []string{"T1567.002", "T1048"},
		description: "A file-synchronization tool uploaded a large amount of data to a cloud storage service the organization does not use. Attackers steal data this way before deploying ransomware or extorting the victim.",
		actions:     actIsolate, evidence: evExfil},
	dArchive: {src: srcMDE, title: "Suspicious archive creation", category: "Collection", severity: sevMedium, techniques: []string{"T1560.001"},
		description: "A process created a password-protected archive of many documents. Attackers stage data in archives before exfiltrating it.",
		actions:     actIsolate, evidence: evArchive},

	dMailURLZap: {src: srcMDO, title: "Email messages containing malicious URL removed after delivery", category: "InitialAccess", severity: sevMedium, techniques: []string{"T1566.002"},
		description: "Emails with a URL that was found to be malicious after delivery were removed from the recipients' mailboxes by zero-hour auto purge (ZAP).",
		actions:     actMail, evidence: evMailURLZap},
	dURLClick: {src: srcMDO, title: "A potentially malicious URL click was detected", category: "InitialAccess", severity: sevHigh, techniques: []string{"T1566.002", "T1204.001"},
		description: "A user clicked a URL in an email that Safe Links later found to be malicious. The user may have entered credentials or downloaded a payload.",
		actions:     actMail, evidence: evURLClick},
	dMailFileZap: {src: srcMDO, title: "Email messages containing malicious file removed after delivery", category: "InitialAccess", severity: sevMedium, techniques: []string{"T1566.001"},
		description: "Emails with an attachment that was found to be malicious after delivery were removed from the recipients' mailboxes by zero-hour auto purge (ZAP).",
		actions:     actMail, evidence: evMailFileZap},
	dForwarding: {src: srcMDO, title: "Suspicious email forwarding activity", category: "Collection", severity: sevMedium, techniques: []string{"T1114.003"},
		description: "A mailbox started forwarding messages to an external address that it has not sent mail to before. This is typical of business email compromise.",
		actions:     actIdentity, evidence: evForwarding},
	dOutboundPhish: {src: srcMDO, title: "Suspicious email sending patterns detected", category: "LateralMovement", severity: sevHigh, techniques: []string{"T1534"},
		description: "A user sent many messages with the same suspicious URL to internal and external recipients. The account may be compromised and used for phishing.",
		actions:     actIdentity, evidence: evOutboundPhish},
	dUserReported: {src: srcMDO, title: "Email reported by user as malware or phish", category: "InitialAccess", severity: sevInformational, techniques: []string{"T1566"},
		description: "A user reported an email as malware or phishing with the Report button.",
		actions:     actMail, evidence: evUserReported},

	dUnfamiliar: {src: srcAAD, title: "Unfamiliar sign-in properties", category: "InitialAccess", severity: sevMedium, techniques: []string{"T1078.004"},
		description: "The sign-in had properties (IP address, ASN, location, device, browser) that are unfamiliar for the user compared with their sign-in history.",
		actions:     actIdentity, evidence: evUnfamiliar},
	dAtypicalTravel: {src: srcAAD, title: "Atypical travel", category: "InitialAccess", severity: sevMedium, techniques: []string{"T1078.004"},
		description: "Two sign-ins of the user came from geographically distant locations within a time shorter than the travel between them would take.",
		actions:     actIdentity, evidence: evAtypicalTravel},
	dSpray: {src: srcAAD, title: "Password spray", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1110.003"},
		description: "Many accounts were tried with a few common passwords from the same addresses. At least one of the tried accounts may have a weak password.",
		actions:     actIdentity, evidence: evSpray},
	dAnomToken: {src: srcAAD, title: "Anomalous Token", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1528", "T1550.001"},
		description: "A token with unusual characteristics (lifetime, location, claims) was used. It may have been stolen and replayed by an attacker.",
		actions:     actIdentity, evidence: evAnomToken},

	dOverPTH: {src: srcMDI, title: "Suspected overpass-the-hash attack (Kerberos)", category: "LateralMovement", severity: sevHigh, techniques: []string{"T1550.002"},
		description: "An account requested Kerberos tickets with a weak encryption type from a computer it does not usually use. Its NTLM hash may have been stolen and used to get tickets.",
		actions:     actMDI, evidence: evOverPTH},
	dRecon: {src: srcMDI, title: "User and IP address reconnaissance (SMB)", category: "Discovery", severity: sevMedium, techniques: []string{"T1049", "T1087.002"},
		description: "A computer enumerated SMB sessions on a domain controller to learn which users are logged on where. Attackers use this to find targets for lateral movement.",
		actions:     actMDI, evidence: evRecon},
	dKerberoast: {src: srcMDI, title: "Suspected Kerberos SPN exposure", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1558.003"},
		description: "An account requested Kerberos service tickets for service accounts in a way typical of Kerberoasting: the tickets can be cracked offline to get the service accounts' passwords.",
		actions:     actMDI, evidence: evKerberoast},
	dDCSync: {src: srcMDI, title: "Suspected DCSync attack (replication of directory services)", category: "CredentialAccess", severity: sevHigh, techniques: []string{"T1003.006"},
		description: "A computer that is not a domain controller requested directory replication. An attacker with replication rights can get the password hash of every account this way.",
		actions:     actMDI, evidence: evDCSync},
	dBruteForce: {src: srcMDI, title: "Suspected brute-force attack (Kerberos, NTLM)", category: "CredentialAccess", severity: sevLow, techniques: []string{"T1110.001"},
		description: "Many authentication failures for the account came from the computer in a short time.",
		actions:     actMDI, evidence: evBruteForce},
	dRemoteExec: {src: srcMDI, title: "Remote code execution attempt", category: "Execution", severity: sevMedium, techniques: []string{"T1569.002", "T1047"},
		description: "An account ran code remotely on another computer through the service control manager or WMI.",
		actions:     actMDI, evidence: evRemoteExec},

	dMassDownload: {src: srcMDA, title: "Mass download by a single user", category: "Collection", severity: sevMedium, techniques: []string{"T1530"},
		description: "A user downloaded an unusually large number of files from a cloud storage app in a single session.",
		actions:     actMDA, evidence: evMassDownload},
	dExfilApp: {src: srcMDA, title: "Data exfiltration to an app that isn't sanctioned", category: "Exfiltration", severity: sevMedium, techniques: []string{"T1567.002"},
		description: "A large upload went to a cloud app that the organization has not sanctioned.",
		actions:     actMDA, evidence: evExfilApp},
	dInboxRule: {src: srcMDA, title: "Suspicious inbox manipulation rule", category: "DefenseEvasion", severity: sevMedium, techniques: []string{"T1564.008", "T1114.003"},
		description: "An inbox rule was created that deletes or moves messages, or forwards them to an external address. Attackers hide their activity and collect mail this way.",
		actions:     actMDA, evidence: evInboxRule},
	dInfrequentCountry: {src: srcMDA, title: "Activity from infrequent country", category: "InitialAccess", severity: sevLow, techniques: []string{"T1078.004"},
		description: "Activity came from a country that no user of the organization has recently used.",
		actions:     actMDA, evidence: evInfrequentCountry},
	dMultiFail: {src: srcMDA, title: "Multiple failed login attempts", category: "CredentialAccess", severity: sevLow, techniques: []string{"T1110"},
		description: "A user had many failed sign-in attempts in a single session compared with their baseline.",
		actions:     actMDA, evidence: evMultiFail},
	dImpossibleTravel: {src: srcMDA, title: "Impossible travel activity", category: "InitialAccess", severity: sevMedium, techniques: []string{"T1078.004"},
		description: "The same user was active from two distant locations within a time shorter than the travel between them would take.",
		actions:     actMDA, evidence: evImpossibleTravel},
}

func init() {
	for i := range detectors {
		detectors[i].id = fixedGUID("detector/" + strconv.Itoa(i) + "/" + detectors[i].title)
	}
}
