package ingest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// graphAlertWith returns a Graph alert with the given evidence items.
func graphAlertWith(items ...string) string {
	return `{"@odata.type":"#microsoft.graph.security.alert","id":"da1","title":"t","serviceSource":"microsoftDefenderForEndpoint",` +
		`"firstActivityDateTime":"2026-11-28T20:00:00Z","evidence":[` + strings.Join(items, ",") + `]}`
}

// TestDecodeEvidenceTypes maps one item of every Graph evidence type weft
// interprets.
func TestDecodeEvidenceTypes(t *testing.T) {
	for _, tc := range []struct {
		item  string
		typ   weft.EntityType
		check func(e weft.Evidence) bool
	}{
		{`{"@odata.type":"#microsoft.graph.security.deviceEvidence","mdeDeviceId":"73e7","azureAdDeviceId":"0bd6","deviceDnsName":"ws1.contoso.com","hostName":"ws1","ntDomain":"CONTOSO","dnsDomain":"contoso.com","osPlatform":"Windows11","osBuild":"22631","rbacGroupName":"g","healthStatus":"active","riskScore":"high","ipInterfaces":["10.0.0.4"],"loggedOnUsers":[{"accountName":"jdoe","domainName":"CONTOSO"}]}`,
			weft.EntityDevice, func(e weft.Evidence) bool {
				return e.MdeDeviceID == "73e7" && e.AzureAdDeviceID == "0bd6" && e.DeviceDNSName == "ws1.contoso.com" && e.HostName == "ws1" &&
					e.NtDomain == "CONTOSO" && e.DNSDomain == "contoso.com" && e.OsPlatform == "Windows11" && e.OsBuild == 22631 &&
					e.RbacGroupName == "g" && e.HealthStatus == "active" && e.RiskScore == "high" && e.IPInterfaces[0] == "10.0.0.4" &&
					strings.Contains(string(e.Properties), "loggedOnUsers")
			}},
		{`{"@odata.type":"#microsoft.graph.security.userEvidence","userAccount":{"accountName":"jdoe","domainName":"CONTOSO","userPrincipalName":"jdoe@contoso.com","userSid":"S-1-5-21-1","azureAdUserId":"fc8f","displayName":"Jane"}}`,
			weft.EntityUser, func(e weft.Evidence) bool {
				u := e.UserAccount
				return u.AccountName == "jdoe" && u.DomainName == "CONTOSO" && u.UserPrincipalName == "jdoe@contoso.com" && u.UserSid == "S-1-5-21-1" && u.AzureAdUserID == "fc8f" && u.DisplayName == "Jane"
			}},
		{`{"@odata.type":"#microsoft.graph.security.mailboxEvidence","displayName":"Jane","primaryAddress":"jdoe@contoso.com","upn":"jdoe@contoso.com"}`,
			weft.EntityMailbox, func(e weft.Evidence) bool {
				return e.DisplayName == "Jane" && e.PrimaryAddress == "jdoe@contoso.com" && e.UserAccount.UserPrincipalName == "jdoe@contoso.com"
			}},
		{`{"@odata.type":"#microsoft.graph.security.analyzedMessageEvidence","networkMessageId":"5b6c","internetMessageId":"<a@b>","subject":"hi","senderIp":"203.0.113.7","recipientEmailAddress":"jdoe@contoso.com","p1Sender":{"emailAddress":"x@evil.example","displayName":"X"},"deliveryAction":"delivered","deliveryLocation":"inbox","antiSpamDirection":"inbound","receivedDateTime":"2026-11-28T19:00:00Z","urls":["https://evil.example/a"],"threats":["Phish"]}`,
			weft.EntityEmailMessage, func(e weft.Evidence) bool {
				return e.NetworkMessageID == "5b6c" && e.InternetMessageID == "<a@b>" && e.Subject == "hi" && e.SenderIP == "203.0.113.7" &&
					e.RecipientEmailAddress == "jdoe@contoso.com" && e.SenderAddress == "x@evil.example" && e.DeliveryAction == "delivered" &&
					e.DeliveryLocation == "inbox" && e.AntiSpamDirection == "inbound" && e.ReceivedDateTime != nil && e.URLs[0] == "https://evil.example/a" &&
					e.Threats[0] == "Phish" && strings.Contains(string(e.Properties), `"p1Sender":{"displayName":"X"}`)
			}},
		{`{"@odata.type":"#microsoft.graph.security.mailClusterEvidence","clusterBy":"SenderIp","clusterByValue":"203.0.113.7","emailCount":12,"networkMessageIds":["a","b"]}`,
			weft.EntityMailCluster, func(e weft.Evidence) bool {
				return e.ClusterBy == "SenderIp" && e.ClusterByValue == "203.0.113.7" && e.EmailCount == 12 && len(e.NetworkMessageIDs) == 2
			}},
		{`{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"198.51.100.23","countryLetterCode":"NL"}`,
			weft.EntityIP, func(e weft.Evidence) bool { return e.IPAddress == "198.51.100.23" && e.CountryLetterCode == "NL" }},
		{`{"@odata.type":"#microsoft.graph.security.urlEvidence","url":"https://evil.example/a"}`,
			weft.EntityURL, func(e weft.Evidence) bool { return e.URL == "https://evil.example/a" }},
		{`{"@odata.type":"#microsoft.graph.security.dnsEvidence","domainName":"evil.example","dnsServerIp":{"ipAddress":"10.0.0.53"}}`,
			weft.EntityDomain, func(e weft.Evidence) bool {
				return e.DomainName == "evil.example" && strings.Contains(string(e.Properties), "dnsServerIp")
			}},
		{`{"@odata.type":"#microsoft.graph.security.fileEvidence","detectionStatus":"blocked","mdeDeviceId":"73e7","fileDetails":{"fileName":"a.exe","filePath":"C:\\T","filePublisher":"P","fileSize":"42","issuer":"I","signer":"S","md5":"m","sha1":"s1","sha256":"s2","sha256Ac":"s3"}}`,
			weft.EntityFile, func(e weft.Evidence) bool {
				f := e.FileDetails
				return e.DetectionStatus == "blocked" && e.MdeDeviceID == "73e7" && f.FileName == "a.exe" && f.FilePath == `C:\T` && f.FilePublisher == "P" &&
					f.FileSize == 42 && f.Issuer == "I" && f.Signer == "S" && f.Md5 == "m" && f.Sha1 == "s1" && f.Sha256 == "s2" &&
					string(e.Properties) == `{"fileDetails":{"sha256Ac":"s3"}}`
			}},
		{`{"@odata.type":"#microsoft.graph.security.processEvidence","processId":4780,"processCommandLine":"a.exe -x","processCreationDateTime":"2026-11-28T19:00:00Z","imageFile":{"fileName":"a.exe"},"parentProcessId":668,"parentProcessCreationDateTime":"2026-11-28T18:00:00Z","parentProcessImageFile":{"fileName":"services.exe"},"userAccount":{"accountName":"SYSTEM"},"detectionStatus":"detected","mdeDeviceId":"73e7"}`,
			weft.EntityProcess, func(e weft.Evidence) bool {
				return e.ProcessID == 4780 && e.ProcessCommandLine == "a.exe -x" && e.ProcessCreationDateTime != nil && e.ImageFile.FileName == "a.exe" &&
					e.ParentProcessID == 668 && e.ParentProcessCreationDateTime != nil && e.ParentProcessImageFile.FileName == "services.exe" &&
					e.UserAccount.AccountName == "SYSTEM" && e.DetectionStatus == "detected" && e.MdeDeviceID == "73e7"
			}},
		{`{"@odata.type":"#microsoft.graph.security.registryKeyEvidence","registryHive":"HKEY_LOCAL_MACHINE","registryKey":"SYSTEM\\X"}`,
			weft.EntityRegistryKey, func(e weft.Evidence) bool {
				return e.RegistryHive == "HKEY_LOCAL_MACHINE" && e.RegistryKey == `SYSTEM\X`
			}},
		{`{"@odata.type":"#microsoft.graph.security.registryValueEvidence","registryHive":"HKEY_CURRENT_USER","registryKey":"Run","registryValueName":"u","registryValue":"C:\\u.exe","registryValueType":"String","mdeDeviceId":"73e7"}`,
			weft.EntityRegistryValue, func(e weft.Evidence) bool {
				return e.RegistryHive == "HKEY_CURRENT_USER" && e.RegistryKey == "Run" && e.RegistryValueName == "u" && e.RegistryValue == `C:\u.exe` && e.RegistryValueType == "String" && e.MdeDeviceID == "73e7"
			}},
		{`{"@odata.type":"#microsoft.graph.security.cloudApplicationEvidence","appId":11161,"displayName":"Office 365","instanceName":"Office 365","saasAppId":11161}`,
			weft.EntityCloudApplication, func(e weft.Evidence) bool {
				return e.AppID == "11161" && e.DisplayName == "Office 365" && e.InstanceName == "Office 365" && string(e.Properties) == `{"saasAppId":11161}`
			}},
		{`{"@odata.type":"#microsoft.graph.security.oauthApplicationEvidence","appId":"a1b2","displayName":"App","objectId":"o1","publisher":"Pub"}`,
			weft.EntityOAuthApplication, func(e weft.Evidence) bool {
				return e.AppID == "a1b2" && e.DisplayName == "App" && e.ObjectID == "o1" && e.Publisher == "Pub"
			}},
		{`{"@odata.type":"#microsoft.graph.security.securityGroupEvidence","securityGroupId":"g1","displayName":"Admins"}`,
			weft.EntitySecurityGroup, func(e weft.Evidence) bool { return e.SecurityGroupID == "g1" && e.DisplayName == "Admins" }},
		{`{"@odata.type":"#microsoft.graph.security.azureResourceEvidence","resourceId":"/subscriptions/1/vm","resourceName":"vm","resourceType":"Virtual Machine"}`,
			weft.EntityCloudResource, func(e weft.Evidence) bool {
				return e.ResourceID == "/subscriptions/1/vm" && e.ResourceName == "vm" && e.ResourceType == "Virtual Machine"
			}},
		{`{"@odata.type":"#microsoft.graph.security.amazonResourceEvidence","amazonAccountId":"123","amazonResourceId":"arn:aws:ec2:1","resourceName":"i-1","resourceType":"EC2"}`,
			weft.EntityCloudResource, func(e weft.Evidence) bool {
				return e.ResourceID == "arn:aws:ec2:1" && e.ResourceName == "i-1" && e.ResourceType == "EC2" && string(e.Properties) == `{"amazonAccountId":"123"}`
			}},
		{`{"@odata.type":"#microsoft.graph.security.googleCloudResourceEvidence","fullResourceName":"//compute.googleapis.com/p/1","resourceName":"vm1","resourceType":"compute.instance","projectId":"p"}`,
			weft.EntityCloudResource, func(e weft.Evidence) bool {
				return e.ResourceID == "//compute.googleapis.com/p/1" && e.ResourceName == "vm1" && e.ResourceType == "compute.instance"
			}},
	} {
		typ := tc.item[strings.Index(tc.item, "security.")+len("security.") : strings.Index(tc.item, `",`)]
		t.Run(typ, func(t *testing.T) {
			a := alertOf(t, graphAlertWith(tc.item), FormatAuto)
			e := a.Evidence[0]
			if e.EntityType != tc.typ || e.OdataType != "#microsoft.graph.security."+typ {
				t.Fatalf("entity type %q, odata type %q; want %q", e.EntityType, e.OdataType, tc.typ)
			}
			if !tc.check(e) {
				t.Fatalf("mapped wrong: %+v (properties %s)", e, e.Properties)
			}
		})
	}
}

func TestDecodeEvidenceCommonProperties(t *testing.T) {
	a := alertOf(t, graphAlertWith(`{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"10.0.0.1","createdDateTime":"2026-11-28T19:00:00.5+01:00",`+
		`"verdict":"Malicious","remediationStatus":"prevented","remediationStatusDetails":"d","roles":["attacker","impacted","unknownFutureValue"],"detailedRoles":["Main device"],"tags":["t1"]}`), FormatAuto)
	e := a.Evidence[0]
	if e.CreatedDateTime == nil || e.CreatedDateTime.Hour() != 18 || e.Verdict != "malicious" || e.RemediationStatus != "prevented" ||
		e.RemediationStatusDetails != "d" || !reflect.DeepEqual(e.Roles, []weft.EvidenceRole{"attacker", "compromised", "unknown"}) ||
		e.DetailedRoles[0] != "Main device" || e.Tags[0] != "t1" {
		t.Fatalf("got %+v", e)
	}
}

func TestDecodeUnknownEvidenceTypeKeptAsGeneric(t *testing.T) {
	item := `{"@odata.type":"#microsoft.graph.security.kubernetesPodEvidence","verdict":"suspicious","roles":["compromised"],` +
		`"name":"payments-api","url":{"not":"a string"},"processId":"not a number","userAccount":"not an object","labels":{"app":"payments"}}`
	r := one(t, graphAlertWith(item, `{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"10.0.0.1"}`), FormatAuto)
	if r.Err != nil {
		t.Fatalf("rejected: %v", r.Err)
	}
	e := r.Alert.Evidence[0]
	if e.EntityType != weft.EntityGeneric || e.OdataType != "#microsoft.graph.security.kubernetesPodEvidence" || e.Verdict != "suspicious" || e.Roles[0] != "compromised" {
		t.Fatalf("got %+v", e)
	}
	if e.ProcessID != 0 || e.UserAccount != nil || e.URL != "" {
		t.Errorf("generic evidence has mapped fields: %+v", e)
	}
	if !reflect.DeepEqual(object(t, e.Properties), object(t, []byte(item))) {
		t.Errorf("properties %s, want all of %s", e.Properties, item)
	}
	if !hasWarning(r.Warnings, `evidence[0]: @odata.type "#microsoft.graph.security.kubernetesPodEvidence" is not a type weft interprets`) {
		t.Errorf("warnings = %q", r.Warnings)
	}
	if r.Alert.Evidence[1].EntityType != weft.EntityIP {
		t.Errorf("the next item is %q", r.Alert.Evidence[1].EntityType)
	}

	t.Run("ErrCommonPropertyChecked", func(t *testing.T) {
		e := rejection(t, graphAlertWith(`{"@odata.type":"#microsoft.graph.security.podEvidence","verdict":"evil","url":{}}`), FormatAuto)
		if e.Field != "evidence[0].verdict" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("ErrKnownTypeChecked", func(t *testing.T) {
		e := rejection(t, graphAlertWith(`{"url":{},"@odata.type":"#microsoft.graph.security.urlEvidence"}`), FormatAuto)
		if e.Field != "evidence[0].url" || e.Message != "expected a string, got an object" {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("ErrDuplicateInsideGeneric", func(t *testing.T) {
		e := rejection(t, graphAlertWith(`{"@odata.type":"#microsoft.graph.security.podEvidence","userAccount":{"a":1,"b":{"c":1,"c":2}}}`), FormatAuto)
		if !strings.Contains(e.Message, "appears twice") {
			t.Fatalf("got %v", e)
		}
	})
}

func TestDecodeEvidenceWithoutType(t *testing.T) {
	item := `{"ipAddress":"10.0.0.1","note":"no type"}`
	t.Run("GraphKeepsItAsGeneric", func(t *testing.T) {
		r := one(t, graphAlertWith(item), FormatAuto)
		if r.Err != nil || r.Alert.Evidence[0].EntityType != weft.EntityGeneric || !hasWarning(r.Warnings, "evidence[0] has no @odata.type") {
			t.Fatalf("got %v, %+v, %q", r.Err, r.Alert, r.Warnings)
		}
	})
	t.Run("ErrWeft", func(t *testing.T) {
		e := rejection(t, `{"source":"s","providerAlertId":"1","title":"t","evidence":[`+item+`]}`, FormatAuto)
		if e.Field != "evidence[0].entityType" || !strings.Contains(e.Message, "is required") || !strings.Contains(e.Message, "cloudResource") {
			t.Fatalf("got %v", e)
		}
	})
}

func TestDecodeWeftEvidence(t *testing.T) {
	a := alertOf(t, `{"source":"s","providerAlertId":"1","title":"t","evidence":[`+
		`{"entityType":"account","userAccount":{"accountName":"jdoe"},"senderAddress":"x"},`+
		`{"entityType":"generic","odataType":"suricata.flow","properties":{"flow_id":1},"stray":true},`+
		`{"@odata.type":"#microsoft.graph.security.urlEvidence","url":"https://evil.example"},`+
		`{"entityType":"file","fileDetails":{"sha1":"abc","x":1},"whatever":[1]}]}`, FormatAuto)
	wantTypes(t, a, weft.EntityUser, weft.EntityGeneric, weft.EntityURL, weft.EntityFile)
	if string(a.Evidence[1].Properties) != `{"flow_id":1}` || a.Evidence[1].OdataType != "suricata.flow" {
		t.Errorf("generic item: %+v", a.Evidence[1])
	}
	if got := object(t, a.Evidence[3].Properties); got["whatever"] == nil || got["fileDetails"] == nil {
		t.Errorf("unknown members of a weft item not kept: %s", a.Evidence[3].Properties)
	}
	t.Run("ErrEntityType", func(t *testing.T) {
		e := rejection(t, `{"source":"s","providerAlertId":"1","title":"t","evidence":[{"entityType":"printer"}]}`, FormatAuto)
		if e.Field != "evidence[0].entityType" || !strings.Contains(e.Message, `"printer" is not a valid value; allowed: device, user,`) {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("ErrPropertiesNotObject", func(t *testing.T) {
		e := rejection(t, `{"source":"s","providerAlertId":"1","title":"t","evidence":[{"entityType":"generic","properties":[1]}]}`, FormatAuto)
		if e.Field != "evidence[0].properties" || e.Message != "expected an object, got an array" {
			t.Fatalf("got %v", e)
		}
	})
}

func TestDecodeTooManyEvidenceItems(t *testing.T) {
	items := strings.Repeat(`{"entityType":"ip","ipAddress":"10.0.0.1"},`, weft.MaxEvidence) + `{"entityType":"ip"}`
	e := rejection(t, `{"source":"s","providerAlertId":"1","title":"t","evidence":[`+items+`]}`, FormatAuto)
	if e.Field != "evidence" || !strings.Contains(e.Message, "more than 1000 records") {
		t.Fatalf("got %v", e)
	}
}
