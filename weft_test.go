package weft_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestParseEnums(t *testing.T) {
	cases := []struct {
		name  string
		parse func(string) (string, error)
		in    string
		want  string
	}{
		{"SeverityCase", func(s string) (string, error) { v, err := weft.ParseSeverity(s); return string(v), err }, "HIGH", "high"},
		{"SeverityLegacy", func(s string) (string, error) { v, err := weft.ParseSeverity(s); return string(v), err }, "UnSpecified", "unknown"},
		{"DeterminationLegacyClean", func(s string) (string, error) { v, err := weft.ParseDetermination(s); return string(v), err }, "Clean", "notMalicious"},
		{"DeterminationLegacyCompromisedUser", func(s string) (string, error) { v, err := weft.ParseDetermination(s); return string(v), err }, "compromisedUser", "compromisedAccount"},
		{"DeterminationLegacyInsufficientData", func(s string) (string, error) { v, err := weft.ParseDetermination(s); return string(v), err }, "InsufficientData", "notEnoughDataToValidate"},
		{"DeterminationLegacyConfirmedUserActivity", func(s string) (string, error) { v, err := weft.ParseDetermination(s); return string(v), err }, "confirmedUserActivity", "confirmedActivity"},
		{"ClassificationBenignPositive", func(s string) (string, error) { v, err := weft.ParseClassification(s); return string(v), err }, "BenignPositive", "informationalExpectedActivity"},
		{"IncidentStatusNew", func(s string) (string, error) { v, err := weft.ParseIncidentStatus(s); return string(v), err }, "New", "active"},
		{"VerdictClean", func(s string) (string, error) { v, err := weft.ParseVerdict(s); return string(v), err }, "clean", "noThreatsFound"},
		{"RoleImpacted", func(s string) (string, error) { v, err := weft.ParseEvidenceRole(s); return string(v), err }, "impacted", "compromised"},
		{"EmptyIsZero", func(s string) (string, error) { v, err := weft.ParseSeverity(s); return string(v), err }, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse(c.in)
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	t.Run("ErrNamesAllowedValues", func(t *testing.T) {
		_, err := weft.ParseSeverity("critical")
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "informational, low, medium, high") {
			t.Fatalf("got %v, want an invalid error naming the allowed values", err)
		}
	})
}

func TestIdentifiers(t *testing.T) {
	ids := func(e weft.Evidence) string {
		var s []string
		for _, id := range e.Identifiers() {
			s = append(s, id.String())
		}
		return strings.Join(s, " ")
	}
	cases := []struct {
		name string
		ev   weft.Evidence
		want string
	}{
		{"DeviceAllNames", weft.Evidence{EntityType: weft.EntityDevice, MdeDeviceID: "ABC123", DeviceDNSName: "WS-042.Contoso.com."},
			"device.mdeId:abc123 device.fqdn:ws-042.contoso.com device.hostname:ws-042"},
		{"DeviceShortNameWithDomain", weft.Evidence{EntityType: weft.EntityDevice, HostName: "WS-042", DNSDomain: "contoso.com"},
			"device.fqdn:ws-042.contoso.com device.hostname:ws-042"},
		{"DeviceShortNameOnly", weft.Evidence{EntityType: weft.EntityDevice, HostName: "WS-042"}, "device.hostname:ws-042"},
		{"UserAliases", weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "jdoe", DomainName: "CONTOSO", UserSid: "s-1-5-21-1-2-3-1104", UserPrincipalName: "JDoe@Contoso.com"}},
			`user.sid:S-1-5-21-1-2-3-1104 user.upn:jdoe@contoso.com user.domainSam:contoso\jdoe`},
		{"UserDomainInAccountName", weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: `CONTOSO\jdoe`}}, `user.domainSam:contoso\jdoe`},
		{"MailboxAddress", weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: "SMTP:JDoe@contoso.com"}, "user.email:jdoe@contoso.com"},
		{"IPv4Mapped", weft.Evidence{EntityType: weft.EntityIP, IPAddress: "::ffff:10.0.0.1"}, "ip:10.0.0.1"},
		{"IPInvalid", weft.Evidence{EntityType: weft.EntityIP, IPAddress: "not-an-ip"}, ""},
		{"URL", weft.Evidence{EntityType: weft.EntityURL, URL: "HTTPS://Evil.Example.COM:443/a?b=1#frag"}, "url:https://evil.example.com/a?b=1"},
		{"FileHashesPreferSha256", weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{Sha1: strings.Repeat("A", 40), Sha256: strings.Repeat("b", 64)}},
			"file.sha256:" + strings.Repeat("b", 64) + " file.sha1:" + strings.Repeat("a", 40)},
		{"FileZeroHashIsAbsent", weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{Md5: strings.Repeat("0", 32)}}, ""},
		{"RegistryValueOnItsDevice", weft.Evidence{EntityType: weft.EntityRegistryValue, RegistryHive: "HKEY_CURRENT_USER", RegistryKey: `Software\Microsoft\Windows\CurrentVersion\Run`, RegistryValueName: "Updater", MdeDeviceID: "ABC123"},
			`registryValue:abc123|hkey_current_user\software\microsoft\windows\currentversion\run|updater`},
		{"RegistryKeyWithoutDevice", weft.Evidence{EntityType: weft.EntityRegistryKey, RegistryHive: "HKEY_LOCAL_MACHINE", RegistryKey: `SYSTEM\Setup`},
			`registryKey:hkey_local_machine\system\setup`},
		{"MessageIDs", weft.Evidence{EntityType: weft.EntityEmailMessage, NetworkMessageID: "{ABC-1}", InternetMessageID: "<x@y>"}, "message.networkId:abc-1 message.internetId:<x@y>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(c.ev); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	base := func() *weft.Alert {
		return &weft.Alert{Source: "edr", ProviderAlertID: "1", Title: "t", FirstActivityDateTime: now.Add(-time.Hour)}
	}
	t.Run("OK_Defaults", func(t *testing.T) {
		a := base()
		if _, err := a.Normalize(now); err != nil {
			t.Fatal(err)
		}
		if a.TenantID != weft.DefaultTenantID || a.Severity != weft.SeverityUnknown || a.Status != weft.AlertStatusNew ||
			!a.LastActivityDateTime.Equal(a.FirstActivityDateTime) || a.ID != weft.AlertID("default", "edr", "1") || !a.CreatedDateTime.Equal(now) {
			t.Fatalf("got %+v", a)
		}
	})
	t.Run("OK_NoTimeTakesIngestTimeWithWarning", func(t *testing.T) {
		a := base()
		a.FirstActivityDateTime = time.Time{}
		w, err := a.Normalize(now)
		if err != nil || len(w) != 1 || !a.FirstActivityDateTime.Equal(now) {
			t.Fatalf("got %v, %v, %v", w, err, a.FirstActivityDateTime)
		}
	})
	t.Run("OK_LongFieldsCut", func(t *testing.T) {
		a := base()
		a.Evidence = []weft.Evidence{{EntityType: weft.EntityProcess, ProcessCommandLine: strings.Repeat("x", 10<<20)}}
		w, err := a.Normalize(now)
		if err != nil || len(w) == 0 || len(a.Evidence[0].ProcessCommandLine) > weft.MaxFieldBytes+4 {
			t.Fatalf("got %d bytes, warnings %v, err %v", len(a.Evidence[0].ProcessCommandLine), w, err)
		}
	})
	t.Run("OK_InvalidUTF8Repaired", func(t *testing.T) {
		a := base()
		a.Title = "bad \xff title"
		if _, err := a.Normalize(now); err != nil || a.Title != "bad \uFFFD title" {
			t.Fatalf("got %q, %v", a.Title, err)
		}
	})
	errCases := []struct {
		name, field string
		mod         func(*weft.Alert)
	}{
		{"ErrNoSource", "source", func(a *weft.Alert) { a.Source = " " }},
		{"ErrNoProviderID", "providerAlertId", func(a *weft.Alert) { a.ProviderAlertID = "" }},
		{"ErrNoTitle", "title", func(a *weft.Alert) { a.Title = "" }},
		{"ErrBadTenant", "tenantId", func(a *weft.Alert) { a.TenantID = "a b" }},
		{"ErrFuture", "firstActivityDateTime", func(a *weft.Alert) { a.FirstActivityDateTime = now.Add(time.Hour) }},
		{"ErrBefore1970", "firstActivityDateTime", func(a *weft.Alert) { a.FirstActivityDateTime = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"ErrLastBeforeFirst", "lastActivityDateTime", func(a *weft.Alert) { a.LastActivityDateTime = a.FirstActivityDateTime.Add(-time.Minute) }},
		{"ErrTooMuchEvidence", "evidence", func(a *weft.Alert) { a.Evidence = make([]weft.Evidence, weft.MaxEvidence+1) }},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			a := base()
			c.mod(a)
			_, err := a.Normalize(now)
			fe, ok := err.(*weft.FieldError)
			if !ok || fe.Field != c.field {
				t.Fatalf("got %v, want a field error on %s", err, c.field)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	if got, err := weft.ParseTime("t", "2026-11-28T21:00:00.1234567+02:00"); err != nil || !got.Equal(time.Date(2026, 11, 28, 19, 0, 0, 123456700, time.UTC)) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := weft.ParseTime("t", "2026-11-28T21:00:00"); err == nil || !strings.Contains(err.Error(), "no time zone") {
		t.Fatalf("got %v, want a no-zone error", err)
	}
	if _, err := weft.ParseTime("t", "yesterday"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("got %v, want an RFC 3339 error", err)
	}
}

func TestAlertID(t *testing.T) {
	a, b := weft.AlertID("default", "EDR", "1"), weft.AlertID("default", "edr", "1")
	if a != b || len(a) != 28 || !strings.HasPrefix(a, "wa") {
		t.Fatalf("got %q and %q, want the same 28-character id", a, b)
	}
	if weft.AlertID("other", "edr", "1") == a {
		t.Fatal("two tenants gave the same id")
	}
}
