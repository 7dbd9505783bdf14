package correlate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// detAt is alertAt with a detector and a severity.
func detAt(tenant, detector string, sev weft.Severity, at time.Duration, ev ...weft.Evidence) *weft.Alert {
	a := alertAt(tenant, at, ev...)
	a.Title, a.DetectorID, a.Severity = detector, detector, sev
	return a
}

func file(name, sha256 string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{FileName: name, Sha256: sha256}}
}

func TestRepeatGroups(t *testing.T) {
	t.Run("OK_RepeatsOnAHubJoinOneIncidentAnHour", func(t *testing.T) {
		// A scanner trips one detector every 10 minutes. The scanner is a
		// hub (seen with many accounts), yet each hour of repeats is one
		// incident, anchored at the group's first alert: no chain.
		e := newEngine(t, func(c *Config) { c.HubThreshold = 2 })
		var ids []int64
		for i := range 9 {
			p := e.Place(detAt("", "recon", weft.SeverityLow, time.Duration(i)*10*time.Minute, device("scan-1"), user(fmt.Sprintf("u%d", i))))
			ids = append(ids, p.IncidentID)
			if i > 0 && i < 6 && !strings.HasPrefix(p.Explanation, "repeats the detection of alert") {
				t.Errorf("alert %d: explanation %q", i, p.Explanation)
			}
		}
		for i := 1; i < 6; i++ {
			if ids[i] != ids[0] {
				t.Fatalf("incidents %v: the repeats within the hour were split", ids)
			}
		}
		if ids[6] == ids[0] || ids[7] != ids[6] || ids[8] != ids[6] {
			t.Fatalf("incidents %v: want a new group at 60 min holding the rest", ids)
		}
	})
	t.Run("OK_AnotherDetectorOrHostIsNoRepeat", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(detAt("", "pua", weft.SeverityLow, 0, device("ws-r1")))
		p2 := e.Place(detAt("", "eicar", weft.SeverityLow, time.Minute, device("ws-r1")))
		p3 := e.Place(detAt("", "pua", weft.SeverityLow, 2*time.Minute, device("ws-r2")))
		if p2.IncidentID == p1.IncidentID || p3.IncidentID == p1.IncidentID {
			t.Fatalf("benign alerts of other detectors or hosts linked: %d %d %d", p1.IncidentID, p2.IncidentID, p3.IncidentID)
		}
	})
	t.Run("OK_OffWithZeroWindow", func(t *testing.T) {
		e := newEngine(t, func(c *Config) { c.RepeatWindow = 0 })
		p1 := e.Place(detAt("", "pua", weft.SeverityLow, 0, device("ws-r3")))
		p2 := e.Place(detAt("", "pua", weft.SeverityLow, time.Minute, device("ws-r3")))
		if p2.IncidentID == p1.IncidentID {
			t.Fatal("benign repeats linked with repeat groups off")
		}
	})
}

func TestRoutine(t *testing.T) {
	// An admin's script detector fires on the servers they look after. Once
	// it has fired with the admin in another burst within the window, it is
	// routine for the admin: a later burst links through the admin no more.
	e := newEngine(t, nil)
	p1 := e.Place(detAt("", "script", weft.SeverityMedium, 0, device("srv-a"), user("adm-jo")))
	p2 := e.Place(detAt("", "script", weft.SeverityMedium, 3*time.Hour, device("srv-b"), user("adm-jo")))
	if p2.IncidentID == p1.IncidentID {
		t.Fatalf("a routine detection linked through the admin: %+v", p2)
	}
	// Through the admin, nothing links to the routine alert either …
	p3 := e.Place(detAt("", "lateral", weft.SeverityHigh, 4*time.Hour, device("srv-c"), user("adm-jo")))
	if p3.IncidentID == p2.IncidentID {
		t.Fatalf("a high alert linked to the routine alert through the admin: %+v", p3)
	}
	// … but a high-severity detection is never routine.
	p4 := e.Place(detAt("", "lateral", weft.SeverityHigh, 5*time.Hour, device("srv-d"), user("adm-jo")))
	if p4.IncidentID != p3.IncidentID {
		t.Fatalf("two high alerts of one admin did not link: %+v", p4)
	}
}

func TestSeverityWindows(t *testing.T) {
	cases := []struct {
		name     string
		sev1     weft.Severity
		sev2     weft.Severity
		gap      time.Duration
		withUser bool
		link     bool
	}{
		{"OK_HighHigh20h", weft.SeverityHigh, weft.SeverityHigh, 20 * time.Hour, false, true},
		{"OK_MediumHigh5h", weft.SeverityMedium, weft.SeverityHigh, 5 * time.Hour, false, true},
		{"OK_MediumHigh8hApart", weft.SeverityMedium, weft.SeverityHigh, 8 * time.Hour, false, false},
		{"OK_LowHighDeviceOnly", weft.SeverityLow, weft.SeverityHigh, time.Hour, false, false},
		{"OK_LowHighDeviceAndUser1h", weft.SeverityLow, weft.SeverityHigh, time.Hour, true, true},
		{"OK_LowHighDeviceAndUser3hApart", weft.SeverityLow, weft.SeverityHigh, 3 * time.Hour, true, false},
		{"OK_LowLowNeverByColocation", weft.SeverityLow, weft.SeverityLow, time.Minute, true, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, nil)
			ev := []weft.Evidence{device(fmt.Sprintf("ws-s%d", i))}
			if c.withUser {
				ev = append(ev, user(fmt.Sprintf("sev%d", i)))
			}
			p1 := e.Place(detAt("", "one", c.sev1, 0, ev...))
			p2 := e.Place(detAt("", "two", c.sev2, c.gap, ev...))
			if got := p2.IncidentID == p1.IncidentID; got != c.link {
				t.Fatalf("%s and %s %s apart: linked %v, want %v", c.sev1, c.sev2, c.gap, got, c.link)
			}
		})
	}
}

func TestExclusions(t *testing.T) {
	n := 0
	two := func(e *testEngine, a, b weft.Evidence) bool {
		n++
		p1 := e.Place(detAt("", "x1", weft.SeverityHigh, 0, device(fmt.Sprintf("ws-x%da", n)), a))
		p2 := e.Place(detAt("", "x2", weft.SeverityHigh, time.Minute, device(fmt.Sprintf("ws-x%db", n)), b))
		return p1.IncidentID == p2.IncidentID
	}
	t.Run("OK_SystemBinaryByDefault", func(t *testing.T) {
		if two(newEngine(t, nil), file("rundll32.exe", strings.Repeat("a", 64)), file("RUNDLL32.EXE", strings.Repeat("a", 64))) {
			t.Fatal("rundll32.exe linked two devices under the default exclusions")
		}
		if !two(newEngine(t, func(c *Config) { c.Exclusions = nil }), file("rundll32.exe", strings.Repeat("a", 64)), file("rundll32.exe", strings.Repeat("a", 64))) {
			t.Fatal("without exclusions a shared hash did not link")
		}
		if !two(newEngine(t, nil), file("payload.exe", strings.Repeat("b", 64)), file("other-name.exe", strings.Repeat("b", 64))) {
			t.Fatal("a payload's hash did not link")
		}
		system := weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "SYSTEM", DomainName: "NT AUTHORITY", UserSid: "S-1-5-18"}}
		if two(newEngine(t, nil), system, system) {
			t.Fatal("NT AUTHORITY\\SYSTEM linked two devices under the default exclusions")
		}
	})
	t.Run("OK_PatternsAndPrefixes", func(t *testing.T) {
		e := newEngine(t, func(c *Config) {
			c.WeakMaxPrincipals = 8
			c.Exclusions = []string{"user:svc-*", "ip:198.51.100.0/24", "device:dc0?.contoso.com"}
		})
		if two(e, user("svc-backup"), user("svc-backup")) {
			t.Error("svc-backup linked despite user:svc-*")
		}
		if two(e, ip("198.51.100.7"), ip("198.51.100.7")) {
			t.Error("an address in the excluded prefix linked")
		}
		if !two(e, ip("203.0.113.9"), ip("203.0.113.9")) {
			t.Error("an address outside the excluded prefix did not link")
		}
		if two(e, device("DC01"), device("dc01")) {
			t.Error("the DC linked despite device:dc0?.contoso.com")
		}
	})
	for _, bad := range []string{"host:dc01", "user:", "user:***", "ip:10.0.0.0/40", "nocolon"} {
		t.Run("ErrInvalid_"+bad, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Exclusions = []string{bad}
			if _, err := New(cfg); weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "exclusions[0]") {
				t.Fatalf("exclusion %q: got %v", bad, err)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"svc-*", "svc-backup", true}, {"svc-*", "adm-svc", false}, {"*\\run", `hkcu\software\run`, true},
		{"dc0?.contoso.com", "dc01.contoso.com", true}, {"dc0?.contoso.com", "dc1.contoso.com", false},
		{"*a*b*", "xxaxxbxx", true}, {"*a*b", "ba", false}, {"https://*/login", "https://x.test/a/login", true},
	} {
		if got := glob(c.p, c.s); got != c.ok {
			t.Errorf("glob(%q, %q) = %v, want %v", c.p, c.s, got, c.ok)
		}
	}
}

func TestTenantPolicies(t *testing.T) {
	e := newEngine(t, nil)
	strict := DefaultConfig()
	strict.Exclusions = append(strict.Exclusions, "user:shared-*")
	if err := e.SetPolicy("fabrikam", &strict); err != nil {
		t.Fatal(err)
	}
	linked := func(tenant string) bool {
		p1 := e.Place(detAt(tenant, "p1", weft.SeverityHigh, 0, device("ws-p1"), user("shared-kiosk")))
		p2 := e.Place(detAt(tenant, "p2", weft.SeverityHigh, time.Minute, device("ws-p2"), user("shared-kiosk")))
		return p1.IncidentID == p2.IncidentID
	}
	if !linked("contoso") || linked("fabrikam") {
		t.Fatal("a tenant's own exclusion applied to another tenant, or not to its own")
	}
	if got := e.Policy("fabrikam").Exclusions; len(got) != len(DefaultExclusions)+1 {
		t.Fatalf("Policy(fabrikam) has %d exclusions", len(got))
	}
	bad := DefaultConfig()
	bad.HubThreshold = 0
	if err := e.SetPolicy("fabrikam", &bad); weft.ErrorCode(err) != weft.EINVALID {
		t.Fatalf("invalid policy: got %v", err)
	}
	if len(e.Policy("fabrikam").Exclusions) != len(DefaultExclusions)+1 {
		t.Fatal("a refused policy replaced the tenant's policy")
	}
	long := DefaultConfig()
	long.StrongWindow = 72 * time.Hour
	if err := e.SetPolicy("tailspin", &long); err != nil || e.Window() != 72*time.Hour {
		t.Fatalf("Window with a 72 h tenant policy: %s, %v", e.Window(), err)
	}
	if err := e.SetPolicy("fabrikam", nil); err != nil || len(e.Policy("fabrikam").Exclusions) != len(DefaultExclusions) {
		t.Fatal("SetPolicy(nil) did not restore the default policy")
	}
}
