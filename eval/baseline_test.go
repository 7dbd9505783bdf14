package eval

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func device(mde, fqdn string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityDevice, MdeDeviceID: mde, DeviceDNSName: fqdn}
}

func ip(addr string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityIP, IPAddress: addr}
}

func user(upn string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: upn}}
}

func alert(id, detector string, at time.Duration, ev ...weft.Evidence) *weft.Alert {
	return &weft.Alert{
		TenantID: weft.DefaultTenantID, Source: "microsoftDefenderForEndpoint", ProviderAlertID: id,
		Title: "Suspicious thing " + detector, DetectorID: detector,
		FirstActivityDateTime: t0.Add(at), Evidence: ev,
	}
}

func TestSameDetectorSameDevice(t *testing.T) {
	ws1 := device("aaaa", "ws-0001.contoso.com")
	tests := []struct {
		name   string
		alerts []*weft.Alert
		want   Partition
	}{
		{
			name: "ThirtyMinutesApartJoin",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 30*time.Minute, ws1),
			},
			want: Partition{"a1": "a1", "a2": "a1"},
		},
		{
			name: "TwoHoursApartStayApart",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 2*time.Hour, ws1),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			// Each alert is within the hour of the previous one: a chain.
			name: "BurstChainsPastTheWindow",
			alerts: []*weft.Alert{
				alert("a3", "det-1", 100*time.Minute, ws1),
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 50*time.Minute, ws1),
			},
			want: Partition{"a1": "a1", "a2": "a1", "a3": "a1"},
		},
		{
			name: "OtherDetectorStaysApart",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-2", 5*time.Minute, ws1),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			name: "OtherDeviceStaysApart",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 5*time.Minute, device("bbbb", "ws-0002.contoso.com")),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			// The second alert names the device by its FQDN only.
			name: "AnySharedDeviceIdentifierJoins",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 5*time.Minute, device("", "WS-0001.contoso.com.")),
			},
			want: Partition{"a1": "a1", "a2": "a1"},
		},
		{
			name: "MdeDeviceIDOfFileEvidenceJoins",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ws1),
				alert("a2", "det-1", 5*time.Minute, weft.Evidence{EntityType: weft.EntityFile, MdeDeviceID: "AAAA",
					FileDetails: &weft.FileDetails{FileName: "x.exe"}}),
			},
			want: Partition{"a1": "a1", "a2": "a1"},
		},
		{
			// Identity alerts: each its own source computer first, and the
			// domain controller both talk to second.
			name: "SecondDeviceDoesNotCount",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, device("", "ws-0001.contoso.com"), device("", "dc01.contoso.com")),
				alert("a2", "det-1", 5*time.Minute, device("", "ws-0002.contoso.com"), device("", "dc01.contoso.com")),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			name: "TitleStandsInForMissingDetector",
			alerts: []*weft.Alert{
				alert("a1", "", 0, ws1),
				alert("a2", "", 5*time.Minute, ws1),
				alert("a3", "other", 6*time.Minute, ws1),
			},
			want: Partition{"a1": "a1", "a2": "a1", "a3": "a3"},
		},
		{
			name: "SharedUserIsNotADevice",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, user("jdoe@contoso.com")),
				alert("a2", "det-1", 5*time.Minute, user("jdoe@contoso.com")),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			name: "OtherTenantStaysApart",
			alerts: func() []*weft.Alert {
				b := alert("a2", "det-1", 5*time.Minute, ws1)
				b.TenantID = "fabrikam"
				return []*weft.Alert{alert("a1", "det-1", 0, ws1), b}
			}(),
			want: Partition{"a1": "a1", "a2": "a2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SameDetectorSameDevice(tt.alerts, time.Hour)
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSharedIdentifierUnion(t *testing.T) {
	tests := []struct {
		name   string
		alerts []*weft.Alert
		want   Partition
	}{
		{
			// a1 and a3 share nothing; both share an IP with a2.
			name: "ChainsThroughASharedIP",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, device("aaaa", ""), ip("203.0.113.7")),
				alert("a2", "det-2", 3*time.Hour, user("jdoe@contoso.com"), ip("203.0.113.7")),
				alert("a3", "det-3", 6*time.Hour, user("JDoe@Contoso.com"), device("cccc", "")),
				alert("a4", "det-4", 7*time.Hour, device("dddd", ""), ip("198.51.100.1")),
			},
			want: Partition{"a1": "a1", "a2": "a1", "a3": "a1", "a4": "a4"},
		},
		{
			name: "OutsideTheWindowStaysApart",
			alerts: []*weft.Alert{
				alert("a1", "det-1", 0, ip("203.0.113.7")),
				alert("a2", "det-1", 25*time.Hour, ip("203.0.113.7")),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			// Single linkage: a chain of alerts each within a day of the
			// next spans three days.
			name: "ChainSpansMoreThanTheWindow",
			alerts: []*weft.Alert{
				alert("a1", "x", 0, ip("203.0.113.7")),
				alert("a2", "x", 20*time.Hour, ip("203.0.113.7")),
				alert("a3", "x", 40*time.Hour, ip("203.0.113.7")),
				alert("a4", "x", 60*time.Hour, ip("203.0.113.7")),
			},
			want: Partition{"a1": "a1", "a2": "a1", "a3": "a1", "a4": "a1"},
		},
		{
			// Both a1 and a2 are within the window of a3 but a1 and a2 only
			// share with a3 through different identifiers.
			name: "JoinsTwoComponents",
			alerts: []*weft.Alert{
				alert("a1", "x", 0, ip("203.0.113.7")),
				alert("a2", "x", time.Hour, ip("198.51.100.1")),
				alert("a3", "x", 2*time.Hour, ip("198.51.100.1"), ip("203.0.113.7")),
			},
			want: Partition{"a1": "a1", "a2": "a1", "a3": "a1"},
		},
		{
			name: "NoIdentifiersStaysAlone",
			alerts: []*weft.Alert{
				alert("a1", "x", 0, weft.Evidence{EntityType: weft.EntityIP, IPAddress: "not an address"}),
				alert("a2", "x", 0, weft.Evidence{EntityType: weft.EntityIP, IPAddress: "not an address"}),
			},
			want: Partition{"a1": "a1", "a2": "a2"},
		},
		{
			// Two versions of one alert are one item; the later version
			// brings the IP that joins a3.
			name: "VersionsOfOneAlertAreOneItem",
			alerts: []*weft.Alert{
				alert("a1", "x", 0),
				alert("a1", "x", 0, ip("203.0.113.7")),
				alert("a3", "x", time.Hour, ip("203.0.113.7")),
			},
			want: Partition{"a1": "a1", "a3": "a1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SharedIdentifierUnion(tt.alerts, 24*time.Hour)
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSingletons(t *testing.T) {
	alerts := []*weft.Alert{alert("a1", "x", 0), nil, alert("a2", "x", 0), {ID: "wa123"}}
	want := Partition{"a1": "a1", "a2": "a2", "wa123": "wa123"}
	if got := Singletons(alerts); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestBaselinesIgnoreInputOrder(t *testing.T) {
	// Many alerts over a few devices, IPs and detectors, so that components
	// form and merge; shuffling the input must not change any label.
	r := rand.New(rand.NewPCG(7, 8))
	var alerts []*weft.Alert
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}
	devs := []weft.Evidence{device("d1", ""), device("d2", ""), device("d3", "")}
	for i := range 300 {
		at := time.Duration(r.IntN(20*24)) * time.Hour / 4
		a := alert(fmt.Sprintf("a%03d", i), []string{"x", "y"}[r.IntN(2)], at,
			devs[r.IntN(len(devs))])
		if r.IntN(10) == 0 {
			a.Evidence = append(a.Evidence, ip(ips[r.IntN(len(ips))]))
		}
		alerts = append(alerts, a)
	}
	wantDet := SameDetectorSameDevice(alerts, time.Hour)
	wantUnion := SharedIdentifierUnion(alerts, 2*time.Hour)
	for range 5 {
		r.Shuffle(len(alerts), func(i, j int) { alerts[i], alerts[j] = alerts[j], alerts[i] })
		if got := SameDetectorSameDevice(alerts, time.Hour); !maps.Equal(got, wantDet) {
			t.Fatalf("SameDetectorSameDevice changed with the input order")
		}
		if got := SharedIdentifierUnion(alerts, 2*time.Hour); !maps.Equal(got, wantUnion) {
			t.Fatalf("SharedIdentifierUnion changed with the input order")
		}
	}
	if n := wantUnion.Clusters(); n == 1 || n == len(alerts) {
		t.Errorf("union made %d clusters of %d alerts; the test wants a mix", n, len(alerts))
	}
}

func TestSharedIdentifierUnionMatchesAllPairs(t *testing.T) {
	// Linking each alert only to the last one per identifier must give the
	// components of linking every pair within the window.
	r := rand.New(rand.NewPCG(9, 10))
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}
	var alerts []*weft.Alert
	for i := range 200 {
		at := time.Duration(r.IntN(30*24)) * time.Hour
		a := alert(fmt.Sprintf("a%03d", i), "x", at, ip(ips[r.IntN(len(ips))]))
		if r.IntN(3) == 0 {
			a.Evidence = append(a.Evidence, ip(ips[r.IntN(len(ips))]))
		}
		alerts = append(alerts, a)
	}
	const window = 30 * time.Hour
	got := SharedIdentifierUnion(alerts, window)

	parent := make([]int, len(alerts))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		if parent[x] != x {
			parent[x] = find(parent[x])
		}
		return parent[x]
	}
	for i, a := range alerts {
		for j, b := range alerts[:i] {
			d := a.FirstActivityDateTime.Sub(b.FirstActivityDateTime)
			if d < 0 {
				d = -d
			}
			if d > window {
				continue
			}
			shared := false
			for _, x := range a.Evidence {
				for _, y := range b.Evidence {
					shared = shared || x.IPAddress == y.IPAddress
				}
			}
			if shared {
				parent[find(i)] = find(j)
			}
		}
	}
	want := make(Partition)
	for i, a := range alerts {
		want[AlertKey(a)] = AlertKey(alerts[find(i)])
	}
	if n := want.Clusters(); n < 5 || n > len(alerts)/2 {
		t.Errorf("all-pairs union made %d clusters of %d alerts; the test wants a mix", n, len(alerts))
	}
	// Equal groupings, whatever the labels: no pair is wrong or missed.
	if s := Score(want, got); s.PairPrecision != 1 || s.PairRecall != 1 || s.Items != len(alerts) {
		t.Errorf("chained union differs from all-pairs union: %+v", s)
	}
}

// benchAlerts returns n alerts over 30 days on 20,000 devices, each with an
// IP from a pool of 5,000 and a few hub identifiers, shaped like the
// generator's endpoint alerts.
func benchAlerts(n int) []*weft.Alert {
	r := rand.New(rand.NewPCG(11, 12))
	alerts := make([]*weft.Alert, n)
	for i := range alerts {
		d := r.IntN(20000)
		alerts[i] = alert(fmt.Sprintf("a%07d", i), fmt.Sprintf("det-%d", r.IntN(50)),
			time.Duration(r.Int64N(int64(30*24*time.Hour))),
			device(fmt.Sprintf("%040x", d), fmt.Sprintf("ws-%05d.contoso.com", d)),
			ip(fmt.Sprintf("10.%d.%d.%d", r.IntN(5), r.IntN(250), r.IntN(4))),
			user(fmt.Sprintf("u%d@contoso.com", r.IntN(20000))))
	}
	return alerts
}

func BenchmarkBaselines(b *testing.B) {
	alerts := benchAlerts(200_000)
	for _, bb := range []struct {
		name string
		f    func([]*weft.Alert, time.Duration) Partition
		w    time.Duration
	}{
		{"SameDetectorSameDevice", SameDetectorSameDevice, DetectorWindow},
		{"SharedIdentifierUnion", SharedIdentifierUnion, UnionWindow},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				bb.f(alerts, bb.w)
			}
			b.ReportMetric(float64(len(alerts))*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}
