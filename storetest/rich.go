package storetest

import (
	"encoding/json"
	"time"

	"github.com/weftxdr/weft"
)

// NewRichAlert returns a normalized alert of the default tenant in which every
// field of weft.Alert is set, with evidence of every entity type and every
// evidence field set somewhere: the round-trip test of a store. All of its
// times are UTC with nanoseconds. Its content is attacker-style (a script tag,
// quotes, backslashes, non-ASCII, SQL) to catch escaping bugs. It has no
// IncidentID: a store sets that.
//
// AdditionalData and Raw are JSON with insignificant white space, which a
// store must keep byte for byte. The Properties of evidence are compact JSON:
// they are stored inside the evidence, whose JSON encoding compacts them.
func NewRichAlert() *weft.Alert {
	t := func(sec, nsec int) time.Time { return Base.Add(time.Duration(sec)*time.Second + time.Duration(nsec)) }
	tp := func(sec, nsec int) *time.Time { v := t(sec, nsec); return &v }
	attack := `<script>alert("x")</script> '; DROP TABLE alerts; -- \ ünïcödé 日本語 🙂`
	a := &weft.Alert{
		TenantID:                   weft.DefaultTenantID,
		Source:                     "microsoftDefenderForEndpoint",
		ProviderAlertID:            "da638123456789012345_-1234567890",
		Title:                      "Rich alert " + attack,
		Description:                "Description\nwith lines\tand tabs " + attack,
		RecommendedActions:         "Do this; then that. " + attack,
		Category:                   "LateralMovement",
		MitreTechniques:            []string{"T1021.002", "T1570", "T1059.001"},
		Severity:                   weft.SeverityHigh,
		Status:                     weft.AlertStatusInProgress,
		Classification:             weft.ClassificationTruePositive,
		Determination:              weft.DeterminationMultiStagedAttack,
		AssignedTo:                 "analyst@contoso.com",
		ServiceSource:              "microsoftDefenderForEndpoint",
		DetectionSource:            "customDetection",
		ProductName:                "Microsoft Defender for Endpoint",
		DetectorID:                 "7b9a1c2e-1111-2222-3333-444455556666",
		AlertPolicyID:              "policy-42",
		ActorDisplayName:           "Storm-0501",
		ThreatDisplayName:          "HackTool:Win32/Mimikatz",
		ThreatFamilyName:           "Mimikatz",
		AlertWebURL:                "https://security.microsoft.com/alerts/da638123456789012345?tid=1&x=<y>",
		FirstActivityDateTime:      t(0, 123456789),
		LastActivityDateTime:       t(3600, 987654321),
		ResolvedDateTime:           tp(7200, 1),
		ProviderCreatedDateTime:    tp(3601, 5),
		ProviderLastUpdateDateTime: tp(3700, 999999999),
		Comments: []weft.Comment{
			{Comment: "First look: " + attack, CreatedByDisplayName: "Analyst One", CreatedDateTime: t(3800, 42)},
			{Comment: "Escalated", CreatedByDisplayName: "Analyst Two", CreatedDateTime: t(3900, 0)},
		},
		SystemTags:         []string{"Defender Experts", "Ransomware"},
		CorrelationReasons: []string{"sameAsset", "temporalProximity"},
		Correlation:        "shares device WS-042 with alert 1812, 3 min earlier",
		AdditionalData:     json.RawMessage("{\n  \"custom\": {\"a\": [1, 2.5, true, null]},\n  \"html\": \"<b>&amp;</b>\"\n}"),
		Raw:                json.RawMessage("{ \"id\": \"da638123456789012345\",\n  \"title\": \"as sent\" }"),
	}
	created := tp(10, 11)
	a.Evidence = []weft.Evidence{
		{
			EntityType: weft.EntityDevice, CreatedDateTime: created, Roles: []weft.EvidenceRole{"compromised", "source"},
			DetailedRoles: []string{"PrimaryDevice"}, Tags: []string{"Domain controller", attack},
			Verdict: "malicious", RemediationStatus: "prevented", RemediationStatusDetails: "isolated",
			DetectionStatus: "detected", MdeDeviceID: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
			AzureAdDeviceID: "11111111-2222-3333-4444-555555555555", DeviceDNSName: "dc-01.contoso.com",
			HostName: "DC-01", NtDomain: "CONTOSO", DNSDomain: "contoso.com", OsPlatform: "WindowsServer2022",
			OsBuild: 20348, RbacGroupName: "Servers", HealthStatus: "active", RiskScore: "high",
			IPInterfaces: []string{"10.0.0.4", "fe80::1"},
			Properties:   json.RawMessage(`{"onboardingStatus":"onboarded","vmMetadata":{"cloudProvider":"Azure"}}`),
		},
		{
			EntityType: weft.EntityUser, Roles: []weft.EvidenceRole{"compromised"}, Verdict: "suspicious",
			UserAccount: &weft.UserAccount{AccountName: "jdoe", DomainName: "CONTOSO", UserPrincipalName: "JDoe@Contoso.com",
				UserSid: "S-1-5-21-1004336348-1177238915-682003330-1104", AzureAdUserID: "99999999-8888-7777-6666-555555555555",
				DisplayName: "John Doe " + attack},
		},
		{
			EntityType: weft.EntityMailbox, Roles: []weft.EvidenceRole{"destination"},
			UserAccount: &weft.UserAccount{UserPrincipalName: "jdoe@contoso.com"},
			DisplayName: "John Doe", PrimaryAddress: "jdoe@contoso.com",
		},
		{
			EntityType: weft.EntityEmailMessage, Roles: []weft.EvidenceRole{"contextual"}, Verdict: "malicious",
			NetworkMessageID: "{ABCDEF01-2345-6789-ABCD-EF0123456789}", InternetMessageID: "<CAF=abc@mail.example.com>",
			Subject: "Re: " + attack, SenderIP: "198.51.100.7", SenderAddress: "evil@example.net",
			RecipientEmailAddress: "jdoe@contoso.com", DeliveryAction: "delivered", DeliveryLocation: "inbox",
			AntiSpamDirection: "inbound", ReceivedDateTime: tp(5, 500), URLs: []string{"https://example.net/a?b=c&d=<e>"},
			Threats: []string{"Phish", "Malware"},
		},
		{
			EntityType: weft.EntityMailCluster, Roles: []weft.EvidenceRole{"contextual"}, ClusterBy: "Subject",
			ClusterByValue: "Invoice overdue", EmailCount: 42, NetworkMessageIDs: []string{"n1", "n2"},
		},
		{EntityType: weft.EntityIP, Roles: []weft.EvidenceRole{"attacker"}, IPAddress: "::ffff:203.0.113.9", CountryLetterCode: "NL"},
		{EntityType: weft.EntityURL, Roles: []weft.EvidenceRole{"commandAndControl"}, URL: "HTTPS://Evil.Example.net:443/x#frag"},
		{EntityType: weft.EntityDomain, DomainName: "Evil.Example.net."},
		{
			EntityType: weft.EntityFile, Roles: []weft.EvidenceRole{"attacker"}, MdeDeviceID: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
			FileDetails: &weft.FileDetails{FileName: "mimikatz.exe", FilePath: `C:\Temp\`, FilePublisher: "Evil Corp",
				FileSize: 1234567, Issuer: "Evil CA", Signer: "Evil Corp", Md5: "0123456789ABCDEF0123456789ABCDEF",
				Sha1:   "0123456789abcdef0123456789abcdef01234567",
				Sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		{
			EntityType: weft.EntityProcess, Roles: []weft.EvidenceRole{"created"}, MdeDeviceID: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
			UserAccount: &weft.UserAccount{AccountName: "jdoe", DomainName: "CONTOSO"}, ProcessID: 4242,
			ProcessCommandLine:      `cmd.exe /c "echo <script>alert(1)</script> & whoami"`,
			ProcessCreationDateTime: tp(1, 999), ImageFile: &weft.FileDetails{FileName: "cmd.exe", FilePath: `C:\Windows\System32`},
			ParentProcessID: 4000, ParentProcessCreationDateTime: tp(0, 1),
			ParentProcessImageFile: &weft.FileDetails{FileName: "explorer.exe", FilePath: `C:\Windows`},
		},
		{EntityType: weft.EntityRegistryKey, RegistryHive: "HKEY_LOCAL_MACHINE", RegistryKey: `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`},
		{
			EntityType: weft.EntityRegistryValue, RegistryHive: "HKEY_LOCAL_MACHINE", RegistryKey: `SOFTWARE\Microsoft\Windows\CurrentVersion\Run`,
			RegistryValueName: "Updater", RegistryValue: `C:\Temp\mimikatz.exe`, RegistryValueType: "String",
		},
		{EntityType: weft.EntityCloudApplication, AppID: "00000003-0000-0000-c000-000000000000", DisplayName: "Microsoft Graph", InstanceName: "Contoso"},
		{EntityType: weft.EntityOAuthApplication, AppID: "12345678-aaaa-bbbb-cccc-1234567890ab", DisplayName: "Evil App", Publisher: "Evil Corp", ObjectID: "obj-1"},
		{EntityType: weft.EntitySecurityGroup, SecurityGroupID: "sg-0001", DisplayName: "Domain Admins"},
		{EntityType: weft.EntityCloudResource, ResourceID: "/subscriptions/x/resourceGroups/rg/providers/vm/vm1", ResourceName: "vm1", ResourceType: "Virtual Machine"},
		{
			EntityType: weft.EntityGeneric, OdataType: "#microsoft.graph.security.kubernetesPodEvidence",
			Properties: json.RawMessage(`{"name":"pod-1","namespace":{"name":"default"},"labels":{"app":"web"}}`),
		},
	}
	if _, err := a.Normalize(t(4000, 0)); err != nil {
		panic("storetest.NewRichAlert: " + err.Error()) // a defect of this generator
	}
	return a
}
