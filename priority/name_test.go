package priority

import (
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestName(t *testing.T) {
	ransom := alert("Ransomware activity", srcMDE, weft.SeverityHigh, "Ransomware", nil, 0, device("ws-1"))
	tests := []struct {
		name   string
		alerts []*weft.Alert
		want   string
	}{
		{"NoAlerts", nil, ""},
		{"OneAlertIsItsTitle", []*weft.Alert{ransom}, "Ransomware activity"},
		{"OneTitleIsThatTitle", []*weft.Alert{
			alert("Suspicious PowerShell command line", srcMDE, weft.SeverityMedium, "Execution", nil, 0, device("ws-1")),
			alert(" Suspicious PowerShell command line", srcMDE, weft.SeverityMedium, "Execution", nil, time.Hour, device("ws-2")),
		}, "Suspicious PowerShell command line"},
		{"DefenderExampleInitialAccessToC2", []*weft.Alert{
			alert("A potentially malicious URL click was detected", srcMDO, weft.SeverityHigh, "InitialAccess", []string{"T1566.002"}, 0, device("ws-1"), message("m1")),
			alert("Suspicious PowerShell command line", srcMDE, weft.SeverityMedium, "Execution", nil, time.Minute, device("ws-1")),
			alert("Suspicious connection blocked by network protection", srcMDE, weft.SeverityMedium, "CommandAndControl", []string{"T1071.001"}, 2*time.Minute, device("ws-2")),
		}, "Multi-stage incident involving Initial access & Command and control on multiple endpoints reported by multiple sources"},
		{"DefenderExampleNoTactics", []*weft.Alert{
			alert("'Emotet' malware was detected", srcAV, weft.SeverityMedium, "SuspiciousActivity", nil, 0, device("ws-1")),
			alert("Suspicious file dropped and launched", srcMDE, weft.SeverityMedium, "", nil, time.Minute, device("ws-2")),
		}, "Multi-stage incident on multiple endpoints reported by multiple sources"},
		{"DesignExampleLateralMovement", multiStage(),
			"Multi-stage incident involving Initial access & Lateral movement on multiple endpoints reported by multiple sources"},
		{"OneTacticOneEndpointOneSource", []*weft.Alert{
			alert("Suspicious PowerShell command line", srcMDE, weft.SeverityMedium, "Execution", nil, 0, device("ws-1")),
			alert("Suspicious process launched by an Office application", srcMDE, weft.SeverityMedium, "Execution", nil, 0,
				weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: "WS-1.contoso.com."}),
		}, "Multi-stage incident involving Execution on one endpoint reported by one source"},
		{"NonTacticCategoryUsesTechniques", []*weft.Alert{
			alert("'Qakbot' malware was detected", srcAV, weft.SeverityMedium, "Malware", []string{"T1204.002"}, 0, device("ws-1")),
			alert("File backups were deleted", srcMDE, weft.SeverityHigh, "Impact", []string{"T1490"}, 0, device("ws-1")),
		}, "Multi-stage incident involving Execution & Impact on one endpoint reported by multiple sources"},
		{"UsersWhenNoDevices", []*weft.Alert{
			alert("Unfamiliar sign-in properties", srcAAD, weft.SeverityMedium, "InitialAccess", nil, 0, user("jdoe@contoso.com")),
			alert("Suspicious inbox manipulation rule", [2]string{"microsoftDefenderForCloudApps", "cloudAppSecurity"}, weft.SeverityMedium, "DefenseEvasion", nil, 0, mailbox("JDoe@contoso.com")),
		}, "Multi-stage incident involving Initial access & Defense evasion on one user reported by multiple sources"},
		{"MultipleUsers", []*weft.Alert{
			alert("Password spray", srcAAD, weft.SeverityHigh, "CredentialAccess", nil, 0, user("a@contoso.com"), user("b@contoso.com")),
			alert("Atypical travel", srcAAD, weft.SeverityMedium, "InitialAccess", nil, 0, user("a@contoso.com")),
		}, "Multi-stage incident involving Initial access & Credential access on multiple users reported by one source"},
		{"EndpointsPreferredOverUsers", []*weft.Alert{
			alert("Password spray", srcAAD, weft.SeverityHigh, "CredentialAccess", nil, 0, user("a@contoso.com"), user("b@contoso.com")),
			alert("Suspicious access to LSASS service", srcMDE, weft.SeverityHigh, "CredentialAccess", nil, 0, device("ws-1")),
		}, "Multi-stage incident involving Credential access on one endpoint reported by multiple sources"},
		{"NoScope", []*weft.Alert{
			alert("ET MALWARE Cobalt Strike Beacon", [2]string{"suricata", ""}, weft.SeverityHigh, "command-and-control", nil, 0, ip("10.0.0.1")),
			alert("ET POLICY curl User-Agent", [2]string{"suricata", ""}, weft.SeverityLow, "", nil, 0, ip("10.0.0.1")),
		}, "Multi-stage incident involving Command and control reported by one source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.alerts); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
