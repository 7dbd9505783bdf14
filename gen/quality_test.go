package gen

import (
	"encoding/json"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// identifiers returns the user and device names one evidence record carries,
// as "kind:value". Names in one record belong to one entity.
func identifiers(e *graphEvidence) []string {
	var ids []string
	add := func(kind, v string) {
		if v != "" {
			ids = append(ids, kind+":"+strings.ToLower(v))
		}
	}
	if u := e.UserAccount; u != nil {
		add("aad", u.AzureAdUserID)
		add("sid", u.UserSid)
		add("upn", u.UserPrincipalName)
		if u.DomainName != "" {
			add("sam", u.DomainName+`\`+u.AccountName)
		}
	}
	add("mail", e.PrimaryAddress)
	add("upn", e.Upn)
	add("host", e.HostName)
	add("fqdn", e.DeviceDNSName)
	add("mde", e.MdeDeviceID)
	return ids
}

// unionFind links identifiers seen together.
type unionFind map[string]string

func (u unionFind) find(x string) string {
	for u[x] != "" && u[x] != x {
		x = u[x]
	}
	return x
}

func (u unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	u[ra], u[rb] = rb, rb
}

func TestAliases(t *testing.T) {
	out := defaultOutput(t)
	g, err := newGenerator(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	o := g.orgs[0]
	uf := unionFind{}
	for _, a := range out.alerts {
		for i := range a.Evidence {
			ids := identifiers(&a.Evidence[i])
			for _, id := range ids[min(1, len(ids)):] {
				uf.union(ids[0], id)
			}
		}
	}
	var checked, linked int
	for ai, atk := range g.attacks {
		if atk.tmpl != "phish-chain" {
			continue
		}
		v := &o.users[atk.victims[0]]
		dev := &o.devices[v.device]
		var mail, sam, upn, host, fqdn bool
		for i, a := range out.alerts {
			if out.keys[i] != atk.key {
				continue
			}
			for _, e := range a.Evidence {
				switch src := a.ID[:2]; {
				case src == "fa" && e.PrimaryAddress == v.mail:
					mail = true
				case src == "da" && e.UserAccount != nil && e.UserAccount.AccountName == v.sam && e.UserAccount.DomainName == o.netbios && e.UserAccount.UserSid == v.sid:
					sam = true
				case src == "ad" && e.UserAccount != nil && e.UserAccount.UserPrincipalName == v.upn && e.UserAccount.AzureAdUserID == v.aadID:
					upn = true
				case src == "aa" && e.HostName == dev.host:
					host = true
				case src == "da" && e.DeviceDNSName == dev.fqdn && e.MdeDeviceID == dev.mdeID:
					fqdn = true
				}
			}
		}
		if !mail || !sam || !upn || !fqdn {
			t.Errorf("%s: victim %s seen as mailbox %v, CONTOSO\\sam+SID %v, UPN+object id %v, FQDN+MDE id %v; want all", atk.key, v.upn, mail, sam, upn, fqdn)
		}
		if ai == 0 && !host {
			t.Errorf("%s: the victim's device %s never appears as a bare host name", atk.key, dev.host)
		}
		checked++
		if uf.find("mail:"+v.mail) == uf.find("sid:"+strings.ToLower(v.sid)) {
			linked++
		}
	}
	if checked < 10 || linked < checked*8/10 {
		t.Errorf("%d of %d phish-chain victims' mail addresses link to their SIDs through co-occurring identifiers; want most", linked, checked)
	}
	if uf.find("mail:"+o.users[g.attacks[0].victims[0]].mail) != uf.find("sid:"+strings.ToLower(o.users[g.attacks[0].victims[0]].sid)) {
		t.Error("the showcase victim's mailbox does not link to its SID")
	}
}

func TestHubs(t *testing.T) {
	out := defaultOutput(t)
	g, _ := newGenerator(DefaultOptions())
	o := g.orgs[0]
	hubs := map[string]func(e *graphEvidence) bool{
		"NAT address":       func(e *graphEvidence) bool { return e.IPAddress == o.natIP },
		"domain controller": func(e *graphEvidence) bool { return e.HostName == "DC01" || e.HostName == "DC02" },
		"svc-backup":        func(e *graphEvidence) bool { return e.UserAccount != nil && e.UserAccount.AccountName == "svc-backup" },
		"powershell.exe": func(e *graphEvidence) bool {
			return e.FileDetails != nil && e.FileDetails.Sha256 == filePowerShell.sha256
		},
		"login URL":            func(e *graphEvidence) bool { return e.URL == urlLogin },
		"NT AUTHORITY\\SYSTEM": func(e *graphEvidence) bool { return e.UserAccount != nil && e.UserAccount.UserSid == "S-1-5-18" },
	}
	for name, match := range hubs {
		keys, attacks := map[string]bool{}, map[string]bool{}
		for i, a := range out.alerts {
			for j := range a.Evidence {
				if match(&a.Evidence[j]) {
					keys[out.keys[i]] = true
					if strings.HasPrefix(out.keys[i], "atk-") {
						attacks[out.keys[i]] = true
					}
				}
			}
		}
		t.Logf("%s: in %d true incidents, %d of them attacks", name, len(keys), len(attacks))
		if len(keys) < 50 || len(attacks) < 2 {
			t.Errorf("hub %s is in %d incidents (%d attacks); want at least 50 (2)", name, len(keys), len(attacks))
		}
	}
}

func TestOverlappingAttacks(t *testing.T) {
	out := defaultOutput(t)
	type span struct{ first, last time.Time }
	spans := map[string]*span{}
	for i, a := range out.alerts {
		k := out.keys[i]
		if !strings.HasPrefix(k, "atk-") {
			continue
		}
		if s := spans[k]; s == nil {
			spans[k] = &span{a.FirstActivityDateTime, a.LastActivityDateTime}
		} else if a.LastActivityDateTime.After(s.last) {
			s.last = a.LastActivityDateTime
		}
	}
	g, _ := newGenerator(DefaultOptions())
	hubs := map[string][]string{} // attack → the hubs its alerts name
	for i, a := range out.alerts {
		for _, e := range a.Evidence {
			if e.IPAddress == g.orgs[0].natIP || e.HostName == "DC01" || e.HostName == "DC02" || e.URL == urlLogin {
				hubs[out.keys[i]] = append(hubs[out.keys[i]], e.IPAddress+e.HostName+e.URL)
			}
		}
	}
	overlaps, sharing := 0, 0
	for k1, s1 := range spans {
		for k2, s2 := range spans {
			if k1 < k2 && s1.first.Before(s2.last) && s2.first.Before(s1.last) {
				overlaps++
				for _, h := range hubs[k1] {
					if slices.Contains(hubs[k2], h) {
						sharing++
						break
					}
				}
			}
		}
	}
	if overlaps < 10 || sharing < 3 {
		t.Errorf("%d pairs of attacks overlap in time, %d of them share a hub; want at least 10 and 3", overlaps, sharing)
	}
}

func TestNoiseGroups(t *testing.T) {
	out := defaultOutput(t)
	type sig struct{ tenant, detector, entity string }
	signature := func(a *graphAlert) sig {
		s := sig{tenant: a.TenantID, detector: a.DetectorID}
		for _, e := range a.Evidence {
			src := a.ID[:2]
			if (src == "da" || src == "aa") && strings.HasSuffix(e.OdataType, ".deviceEvidence") {
				s.entity = e.MdeDeviceID + e.HostName
				break
			}
			if src != "da" && src != "aa" && (e.PrimaryAddress != "" || e.UserAccount != nil) {
				s.entity = e.PrimaryAddress
				if e.UserAccount != nil && s.entity == "" {
					s.entity = e.UserAccount.UserPrincipalName
				}
				break
			}
		}
		return s
	}
	type group struct {
		key   string
		sig   sig
		start time.Time
	}
	groups := map[string]*group{}
	open := map[sig]*group{}
	bursts := 0
	for i := range out.alerts {
		a, k := &out.alerts[i], out.keys[i]
		if !strings.HasPrefix(k, "noise-") {
			continue
		}
		s, at := signature(a), a.FirstActivityDateTime
		if g := groups[k]; g != nil {
			bursts++
			if g.sig != s || at.Sub(g.start) >= time.Hour {
				t.Fatalf("alert %s is in %s but has %+v at %s; the group is %+v from %s", a.ID, k, s, at, g.sig, g.start)
			}
			continue
		}
		if g := open[s]; g != nil && at.Sub(g.start) < time.Hour {
			t.Fatalf("alert %s starts %s, but %s has the same detector and entity %s earlier", a.ID, k, g.key, at.Sub(g.start))
		}
		g := &group{k, s, at}
		groups[k], open[s] = g, g
	}
	if bursts < 500 {
		t.Errorf("%d benign alerts joined a group; want bursts", bursts)
	}
}

func TestLateArrival(t *testing.T) {
	out := defaultOutput(t)
	var late, veryLate int
	for _, a := range out.alerts {
		d := a.CreatedDateTime.Sub(a.LastActivityDateTime)
		if d > time.Hour {
			late++
		}
		if d > 2*time.Hour {
			veryLate++
		}
	}
	n := len(out.alerts)
	if late < n/30 || late > n/5 || veryLate < n/100 {
		t.Errorf("%d of %d alerts are created over 1 h late, %d over 2 h; want about 9%% and 3%%", late, n, veryLate)
	}
}

// TestEveryDetectorRenders renders each detector for an attack, and each
// noise kind's detector as benign, so that templates can combine any of
// them.
func TestEveryDetectorRenders(t *testing.T) {
	g, err := newGenerator(smallOptions(2))
	if err != nil {
		t.Fatal(err)
	}
	o, a := g.orgs[0], g.attacks[0]
	r := newRenderer()
	check := func(d detID, atk *attack) {
		e := event{at: g.start.Add(time.Hour).UnixNano(), det: d, user: a.victims[0], user2: o.svcSQL, dev: a.devices[0], dev2: o.servers[0],
			atk: -1, hi: int16(len(a.victims)), rs: uint64(d)}
		id := r.render(&e, o, atk, uint32(d), 1, g.end)
		var ga graphAlert
		if err := json.Unmarshal(r.w.b, &ga); err != nil || ga.ID != id || len(ga.Evidence) == 0 {
			t.Errorf("detector %q: %v\n%s", detectors[d].title, err, r.w.b)
		}
	}
	for d := range numDetectors {
		check(d, a)
	}
	for _, k := range noiseKinds {
		check(k.det, nil)
	}
}

func BenchmarkGenerate(b *testing.B) {
	opts := DefaultOptions()
	var n int
	var bytes int64
	for b.Loop() {
		st, err := Generate(opts, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		n += st.Alerts
		bytes += st.Bytes
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
}

// TestGenerateMillion measures time and memory for 1,000,000 alerts. It runs
// only with WEFT_GEN_MILLION=1:
//
//	WEFT_GEN_MILLION=1 go test -run TestGenerateMillion -v ./gen/
func TestGenerateMillion(t *testing.T) {
	if os.Getenv("WEFT_GEN_MILLION") == "" {
		t.Skip("set WEFT_GEN_MILLION=1 to run")
	}
	opts := DefaultOptions()
	opts.Attacks, opts.NoiseAlerts = 2500, 980000
	runtime.GC()
	var peak uint64
	done := make(chan struct{})
	go func() { // sample the live heap while generating
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	start := time.Now()
	st, err := Generate(opts, io.Discard, io.Discard)
	elapsed := time.Since(start)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t.Logf("%d alerts (%d attacks, %d incidents), %.0f MB NDJSON in %s: %.0f alerts/s; peak heap in use %.1f MB, total allocated %.0f MB, max RSS %.1f MB",
		st.Alerts, st.Attacks, st.Incidents, float64(st.Bytes)/1e6, elapsed.Round(time.Millisecond), float64(st.Alerts)/elapsed.Seconds(),
		float64(peak)/1e6, float64(ms.TotalAlloc)/1e6, float64(ru.Maxrss)/1e3)
	if st.Alerts < 1_000_000 {
		t.Errorf("got %d alerts, want at least 1,000,000", st.Alerts)
	}
}
