package priority

import (
	"testing"

	"github.com/weftxdr/weft"
)

func TestDomainOf(t *testing.T) {
	tests := []struct {
		name string
		a    weft.Alert
		want Domain
	}{
		{"MDE", weft.Alert{ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "customDetection"}, DomainEndpoint},
		{"Antivirus", weft.Alert{DetectionSource: "antivirus"}, DomainEndpoint},
		{"MDIByProductName", weft.Alert{ProductName: "Microsoft Defender for Identity"}, DomainIdentity},
		{"EntraID", weft.Alert{ServiceSource: "azureAdIdentityProtection"}, DomainIdentity},
		{"MDO", weft.Alert{ServiceSource: "microsoftDefenderForOffice365"}, DomainEmail},
		{"MDA", weft.Alert{ServiceSource: "microsoftDefenderForCloudApps", DetectionSource: "cloudAppSecurity"}, DomainCloudApp},
		{"Suricata", weft.Alert{Source: "suricata", Evidence: []weft.Evidence{device("ws-1")}}, DomainNetwork},
		{"XDRCustomDetectionByEvidence", weft.Alert{ServiceSource: "microsoft365Defender", DetectionSource: "customDetection",
			Evidence: []weft.Evidence{user("a@contoso.com"), message("m")}}, DomainEmail},
		{"WazuhProcess", weft.Alert{Source: "wazuh", Evidence: []weft.Evidence{user("a@contoso.com"), {EntityType: weft.EntityProcess}}}, DomainEndpoint},
		{"WazuhDevice", weft.Alert{Source: "wazuh", Evidence: []weft.Evidence{user("a@contoso.com"), device("ws-1")}}, DomainEndpoint},
		{"ElasticUser", weft.Alert{Source: "elastic", Evidence: []weft.Evidence{user("a@contoso.com"), ip("10.0.0.1")}}, DomainIdentity},
		{"ElasticCloud", weft.Alert{Source: "elastic", Evidence: []weft.Evidence{{EntityType: weft.EntityCloudResource}}}, DomainCloudApp},
		{"OnlyIndicators", weft.Alert{Source: "misp", Evidence: []weft.Evidence{ip("10.0.0.1")}}, DomainNetwork},
		{"MalwareCategory", weft.Alert{Source: "acme", Category: "Malware"}, DomainEndpoint},
		{"Unknown", weft.Alert{Source: "acme", Category: "Discovery"}, DomainUnknown},
	}
	for _, tt := range tests {
		if got := DomainOf(&tt.a); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}
