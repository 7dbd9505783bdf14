package priority

import (
	"time"

	"github.com/weftxdr/weft"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Sources as Graph names them: serviceSource, detectionSource.
var (
	srcMDE = [2]string{"microsoftDefenderForEndpoint", "microsoftDefenderForEndpoint"}
	srcAV  = [2]string{"microsoftDefenderForEndpoint", "antivirus"}
	srcMDO = [2]string{"microsoftDefenderForOffice365", "microsoftDefenderForOffice365"}
	srcMDI = [2]string{"microsoftDefenderForIdentity", "microsoftDefenderForIdentity"}
	srcAAD = [2]string{"azureAdIdentityProtection", "azureAdIdentityProtection"}
)

// alert builds an alert at t0+at.
func alert(title string, src [2]string, sev weft.Severity, category string, techniques []string, at time.Duration, ev ...weft.Evidence) *weft.Alert {
	return &weft.Alert{
		TenantID: "t1", Source: src[0], ProviderAlertID: title, DetectorID: title,
		Title: title, Category: category, MitreTechniques: techniques, Severity: sev,
		ServiceSource: src[0], DetectionSource: src[1],
		FirstActivityDateTime: t0.Add(at), LastActivityDateTime: t0.Add(at),
		CreatedDateTime: t0.Add(at + time.Minute),
		Evidence:        ev,
	}
}

func device(host string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityDevice, HostName: host, DNSDomain: "contoso.com", Roles: []weft.EvidenceRole{"compromised"}}
}

func user(upn string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: upn}}
}

func mailbox(addr string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: addr}
}

func message(id string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityEmailMessage, NetworkMessageID: id}
}

func ip(a string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityIP, IPAddress: a}
}

// multiStage is a phishing mail to jdoe, a sign-in from an unfamiliar place,
// PowerShell and LSASS access on WS-042 and pass-the-hash from WS-042 to
// SRV-DB01: email, identity and endpoint, with credential access and lateral
// movement.
func multiStage() []*weft.Alert {
	return []*weft.Alert{
		alert("Email messages containing malicious URL removed after delivery", srcMDO, weft.SeverityMedium, "InitialAccess", []string{"T1566.002"}, 0,
			message("m1"), mailbox("jdoe@contoso.com")),
		alert("Unfamiliar sign-in properties", srcAAD, weft.SeverityMedium, "InitialAccess", []string{"T1078.004"}, 20*time.Minute,
			user("jdoe@contoso.com"), ip("203.0.113.7")),
		alert("Suspicious PowerShell command line", srcMDE, weft.SeverityMedium, "Execution", []string{"T1059.001", "T1105"}, 40*time.Minute,
			device("ws-042"), user("jdoe@contoso.com")),
		alert("Suspicious access to LSASS service", srcMDE, weft.SeverityHigh, "CredentialAccess", []string{"T1003.001"}, 50*time.Minute,
			device("ws-042")),
		alert("Suspected overpass-the-hash attack (Kerberos)", srcMDI, weft.SeverityHigh, "LateralMovement", []string{"T1550.002"}, 70*time.Minute,
			device("ws-042"), device("srv-db01"), user("jdoe@contoso.com")),
	}
}

// criticalities returns an asset inventory lookup that knows the given host
// names (short names) and UPNs.
func criticalities(m map[string]int) func(weft.EntityRef) int {
	return func(r weft.EntityRef) int {
		for k, c := range m {
			if r.Key == "device.fqdn:"+k+".contoso.com" || r.Key == "user.upn:"+k {
				return c
			}
		}
		return 0
	}
}

func prevalence(p float64) func(string, string) float64 {
	return func(string, string) float64 { return p }
}
