package priority

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func factorPoints(fs []weft.PriorityFactor) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Name] = f.Points
	}
	return m
}

func TestScoreCalibration(t *testing.T) {
	now := t0.Add(90 * time.Minute)
	tests := []struct {
		name     string
		in       Input
		wantBand string
	}{
		{"InformationalFromCommonDetectorIsLow", Input{
			Alerts:             []*weft.Alert{alert("Email reported by user as malware or phish", srcMDO, weft.SeverityInformational, "InitialAccess", []string{"T1566"}, time.Hour, message("m"), mailbox("a@contoso.com"))},
			DetectorPrevalence: prevalence(0.3), Now: now,
		}, "low"},
		{"LowCredentialAccessFromCommonDetectorIsLow", Input{
			Alerts:             []*weft.Alert{alert("Suspected brute-force attack (Kerberos, NTLM)", srcMDI, weft.SeverityLow, "CredentialAccess", []string{"T1110.001"}, time.Hour, user("a@contoso.com"), device("dc01"))},
			DetectorPrevalence: prevalence(0.25), Now: now,
		}, "low"},
		{"LowCloudSignInFromCommonDetectorIsLow", Input{
			Alerts:             []*weft.Alert{alert("Activity from infrequent country", [2]string{"microsoftDefenderForCloudApps", "cloudAppSecurity"}, weft.SeverityLow, "InitialAccess", []string{"T1078.004"}, time.Hour, user("a@contoso.com"))},
			DetectorPrevalence: prevalence(0.2), Now: now,
		}, "low"},
		{"SingleHighIsMedium", Input{
			Alerts: []*weft.Alert{alert("Suspicious access to LSASS service", srcMDE, weft.SeverityHigh, "CredentialAccess", []string{"T1003.001"}, time.Hour, device("ws-042"))},
			Now:    now,
		}, "medium"},
		{"SingleHighWithEverythingKnownIsMedium", Input{
			Alerts:             []*weft.Alert{alert("Suspicious remote activity", srcMDE, weft.SeverityHigh, "LateralMovement", []string{"T1021.002", "T1570"}, time.Hour, device("ws-042"))},
			Criticality:        criticalities(map[string]int{"ws-042": 1}),
			DetectorPrevalence: prevalence(0.02), Now: now,
		}, "medium"},
		{"MultiStageOnCriticalAssetIsTop", Input{
			Alerts: multiStage(), Criticality: criticalities(map[string]int{"srv-db01": 3}), Now: now,
		}, "top"},
		{"MultiStageOnImportantAssetIsTop", Input{
			Alerts: multiStage(), Criticality: criticalities(map[string]int{"jdoe@contoso.com": 2}), Now: now,
		}, "top"},
		{"MultiStageOnOrdinaryAssetsIsMedium", Input{
			Alerts: multiStage(), Criticality: criticalities(nil), Now: now,
		}, "medium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, factors := Score(tt.in)
			if got := Band(score); got != tt.wantBand {
				t.Errorf("got %d (%s), want %s; factors %+v", score, got, tt.wantBand, factors)
			}
			t.Logf("score %d: %v", score, factorPoints(factors))
		})
	}
}

// TestScoreFactors checks each factor alone: everything else held at zero.
func TestScoreFactors(t *testing.T) {
	bare := func(sev weft.Severity, category string, techniques ...string) *weft.Alert {
		return alert("x", [2]string{"", ""}, sev, category, techniques, 0)
	}
	tests := []struct {
		name   string
		in     Input
		factor string
		want   int
		detail string
	}{
		{"SeverityInformational", Input{Alerts: []*weft.Alert{bare(weft.SeverityInformational, "")}}, FactorSeverity, 2, "Highest alert severity is informational."},
		{"SeverityLow", Input{Alerts: []*weft.Alert{bare(weft.SeverityLow, "")}}, FactorSeverity, 6, ""},
		{"SeverityMedium", Input{Alerts: []*weft.Alert{bare(weft.SeverityMedium, "")}}, FactorSeverity, 18, ""},
		{"SeverityHighest", Input{Alerts: []*weft.Alert{bare(weft.SeverityLow, ""), bare(weft.SeverityHigh, "")}}, FactorSeverity, 30, "Highest alert severity is high."},
		{"SeverityUnknown", Input{Alerts: []*weft.Alert{bare(weft.SeverityUnknown, "")}}, FactorSeverity, 0, ""},
		{"TacticEarly", Input{Alerts: []*weft.Alert{bare("", "Discovery")}}, FactorTactics, 2, "1 ATT&CK tactic: Discovery."},
		{"TacticFromTechnique", Input{Alerts: []*weft.Alert{bare("", "Malware", "T1071.001")}}, FactorTactics, 4, "1 ATT&CK tactic: Command and control."},
		{"TacticsLaterWeighMore", Input{Alerts: []*weft.Alert{bare("", "InitialAccess"), bare("", "LateralMovement")}}, FactorTactics, 7,
			"2 ATT&CK tactics, from Initial access to Lateral movement: Initial access, Lateral movement."},
		{"TacticCategoryPicksAmongTechniqueTactics", Input{Alerts: []*weft.Alert{bare("", "InitialAccess", "T1078.004")}}, FactorTactics, 2, ""},
		{"TacticsWithoutCategoryTakeAll", Input{Alerts: []*weft.Alert{bare("", "", "T1550.002")}}, FactorTactics, 7, ""},
		{"TacticsCapped", Input{Alerts: []*weft.Alert{bare("", "", "T1078", "T1003", "T1021", "T1071", "T1041", "T1486", "T1005")}}, FactorTactics, 20, ""},
		{"OneDomainIsNothing", Input{Alerts: []*weft.Alert{
			alert("a", srcMDE, "", "", nil, 0), alert("b", srcMDE, "", "", nil, 0)}}, FactorSources, 0, ""},
		{"TwoDetectionSourcesOneDomain", Input{Alerts: []*weft.Alert{
			alert("a", srcMDE, "", "", nil, 0), alert("b", srcAV, "", "", nil, 0)}}, FactorSources, 2, "Alerts from 1 domain (endpoint) and 2 detection sources."},
		{"ThreeDomains", Input{Alerts: []*weft.Alert{
			alert("a", srcMDE, "", "", nil, 0), alert("b", srcMDO, "", "", nil, 0), alert("c", srcMDI, "", "", nil, 0)}}, FactorSources, 18,
			"Alerts from 3 domains (endpoint, identity, email) and 3 detection sources."},
		{"ThirdPartyByEvidence", Input{Alerts: []*weft.Alert{
			alert("a", [2]string{"wazuh", ""}, "", "", nil, 0, device("ws-1")),
			alert("b", [2]string{"wazuh", ""}, "", "", nil, 0, user("a@contoso.com")),
			alert("c", [2]string{"suricata", ""}, "", "", nil, 0, ip("10.0.0.1"))}}, FactorSources, 16,
			"Alerts from 3 domains (endpoint, identity, network) and 2 detection sources."},
		{"AssetMax", Input{Alerts: []*weft.Alert{alert("z", srcMDE, "", "", nil, 0, device("ws-1")), alert("y", srcMDE, "", "", nil, 0, device("ws-1"), device("dc01"), user("ceo@contoso.com"))},
			Criticality: criticalities(map[string]int{"ws-1": 1, "dc01": 3, "ceo@contoso.com": 2})}, FactorAsset, 18,
			"Impacted device dc01 has asset criticality 3 of 3."},
		{"AssetOutOfRangeClamped", Input{Alerts: []*weft.Alert{alert("y", srcMDE, "", "", nil, 0, device("ws-1"))},
			Criticality: criticalities(map[string]int{"ws-1": 7})}, FactorAsset, 18, ""},
		{"AssetAttackerIgnored", Input{Alerts: []*weft.Alert{alert("y", srcMDE, "", "", nil, 0, weft.Evidence{EntityType: weft.EntityDevice, HostName: "ws-1.contoso.com", Roles: []weft.EvidenceRole{"attacker"}})},
			Criticality: criticalities(map[string]int{"ws-1": 3})}, FactorAsset, 0, ""},
		{"HighImpactRansomware", Input{Alerts: []*weft.Alert{bare("", "Ransomware")}}, FactorHighImpact, 12, "High-impact activity: ransomware."},
		{"HighImpactRansomwareTechnique", Input{Alerts: []*weft.Alert{bare("", "Impact", "T1486")}}, FactorHighImpact, 20, "High-impact activity: ransomware and impact."},
		{"HighImpactCredentialAccess", Input{Alerts: []*weft.Alert{bare("", "CredentialAccess")}}, FactorHighImpact, 6, "High-impact activity: credential access."},
		{"HighImpactExfiltration", Input{Alerts: []*weft.Alert{bare("", "Exfiltration")}}, FactorHighImpact, 8, ""},
		{"HighImpactCapped", Input{Alerts: []*weft.Alert{bare("", "Ransomware"), bare("", "Exfiltration"), bare("", "CredentialAccess")}}, FactorHighImpact, 20,
			"High-impact activity: ransomware, credential access and exfiltration."},
		{"RareDetector", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(0.0005)}, FactorRarity, 8,
			`Detector "x" is rare in this tenant: 0.050% of recent alerts.`},
		{"UncommonDetector", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(0.005)}, FactorRarity, 4, ""},
		{"OrdinaryDetector", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(0.02)}, FactorRarity, 0, ""},
		{"CommonDetector", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(0.1)}, FactorRarity, -4, ""},
		{"VeryCommonDetector", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(0.4)}, FactorRarity, -8,
			`Every detector is common in this tenant; the rarest, "x", raised 40% of recent alerts.`},
		{"UnknownPrevalence", Input{Alerts: []*weft.Alert{bare("", "")}, DetectorPrevalence: prevalence(math.NaN())}, FactorRarity, 0, ""},
		{"RarestDetectorDecides", Input{Alerts: []*weft.Alert{alert("common", srcMDE, "", "", nil, 0), alert("rare", srcMDE, "", "", nil, 0)},
			DetectorPrevalence: func(_, k string) float64 {
				if strings.HasSuffix(k, "/rare") {
					return 0.0001
				}
				return 0.5
			}}, FactorRarity, 8, ""},
		{"RecentLastHour", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(30 * time.Minute)}, FactorRecency, 5, "Last activity 30 minutes ago."},
		{"RecentHours", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(5 * time.Hour)}, FactorRecency, 3, ""},
		{"RecentDay", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(20 * time.Hour)}, FactorRecency, 1, "Last activity 20 hours ago."},
		{"DaysOld", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(3 * 24 * time.Hour)}, FactorRecency, 0, ""},
		{"WeekOld", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(8 * 24 * time.Hour)}, FactorRecency, -5, ""},
		{"MonthOld", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(40 * 24 * time.Hour)}, FactorRecency, -10, "Last activity 40 days ago."},
		{"FutureActivityIsNow", Input{Alerts: []*weft.Alert{bare("", "")}, Now: t0.Add(-time.Hour)}, FactorRecency, 5, "Last activity just now."},
		{"NoClockNoRecency", Input{Alerts: []*weft.Alert{bare("", "")}}, FactorRecency, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, factors := Score(tt.in)
			var got *weft.PriorityFactor
			sum := 0
			for i := range factors {
				sum += factors[i].Points
				if factors[i].Name == tt.factor {
					got = &factors[i]
				} else if factors[i].Name != FactorSeverity && factors[i].Name != FactorTactics && factors[i].Name != FactorHighImpact {
					// Only severity, tactics and high impact may
					// accompany another factor in these inputs.
					t.Errorf("unexpected factor %+v", factors[i])
				}
			}
			if score != min(max(sum, 0), 100) {
				t.Errorf("score %d is not the clamped sum %d of its factors", score, sum)
			}
			switch {
			case tt.want == 0 && got != nil:
				t.Errorf("got factor %+v, want none", *got)
			case tt.want != 0 && got == nil:
				t.Fatalf("got no %s factor in %+v, want %d points", tt.factor, factors, tt.want)
			case got != nil && got.Points != tt.want:
				t.Errorf("got %d points, want %d (%s)", got.Points, tt.want, got.Detail)
			}
			if got != nil && tt.detail != "" && got.Detail != tt.detail {
				t.Errorf("got detail %q, want %q", got.Detail, tt.detail)
			}
		})
	}
}

func TestScoreClamped(t *testing.T) {
	var alerts []*weft.Alert
	for i, c := range []string{"InitialAccess", "Execution", "CredentialAccess", "LateralMovement", "Exfiltration", "Impact", "Ransomware"} {
		src := [...][2]string{srcMDE, srcMDO, srcMDI, srcAAD, srcAV}[i%5]
		alerts = append(alerts, alert(c, src, weft.SeverityHigh, c, nil, 0, device("dc01")))
	}
	score, factors := Score(Input{Alerts: alerts, Criticality: criticalities(map[string]int{"dc01": 3}), DetectorPrevalence: prevalence(0), Now: t0})
	if score != 100 {
		t.Errorf("got %d, want 100 (%+v)", score, factors)
	}

	old := alert("x", srcMDE, weft.SeverityInformational, "", nil, 0)
	score, factors = Score(Input{Alerts: []*weft.Alert{old}, DetectorPrevalence: prevalence(0.9), Now: t0.Add(365 * 24 * time.Hour)})
	if score != 0 {
		t.Errorf("got %d, want 0 (%+v)", score, factors)
	}
	if score, factors := Score(Input{}); score != 0 || len(factors) != 0 {
		t.Errorf("no alerts: got %d %+v, want 0 and no factors", score, factors)
	}
}

// randomAlert draws an alert from a small vocabulary, so that random
// incidents share sources, tactics and entities.
func randomAlert(r *rand.Rand) *weft.Alert {
	srcs := [][2]string{srcMDE, srcAV, srcMDO, srcMDI, srcAAD, {"wazuh", ""}, {"suricata", ""}}
	sevs := weft.Severities
	cats := []string{"", "InitialAccess", "Execution", "Persistence", "CredentialAccess", "Discovery", "LateralMovement", "CommandAndControl", "Exfiltration", "Impact", "Malware", "Ransomware", "SuspiciousActivity"}
	techs := []string{"T1566.001", "T1078.004", "T1059.001", "T1105", "T1003.001", "T1550.002", "T1021.002", "T1486", "T1041", "T1087.002"}
	var ev []weft.Evidence
	for range r.IntN(4) {
		switch r.IntN(4) {
		case 0:
			ev = append(ev, device(fmt.Sprintf("ws-%d", r.IntN(5))))
		case 1:
			ev = append(ev, user(fmt.Sprintf("u%d@contoso.com", r.IntN(5))))
		case 2:
			ev = append(ev, message(fmt.Sprint(r.IntN(5))))
		default:
			ev = append(ev, ip(fmt.Sprintf("10.0.0.%d", r.IntN(5))))
		}
	}
	var tq []string
	for range r.IntN(3) {
		tq = append(tq, techs[r.IntN(len(techs))])
	}
	return alert(fmt.Sprintf("detector %d", r.IntN(8)), srcs[r.IntN(len(srcs))], sevs[r.IntN(len(sevs))],
		cats[r.IntN(len(cats))], tq, time.Duration(r.IntN(72))*time.Hour, ev...)
}

func randomInput(r *rand.Rand) Input {
	return Input{
		Criticality: criticalities(map[string]int{"ws-1": 1, "ws-2": 2, "ws-3": 3, "u1@contoso.com": 3}),
		DetectorPrevalence: func(_, k string) float64 {
			if k[len(k)-1] == '7' {
				return math.NaN()
			}
			return float64(k[len(k)-1]-'0') / 20 // 0 to 0.3
		},
		Now: t0.Add(48 * time.Hour),
	}
}

// TestScoreMonotonic checks that adding an alert never lowers the score.
func TestScoreMonotonic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		in := randomInput(r)
		for range 1 + r.IntN(8) {
			in.Alerts = append(in.Alerts, randomAlert(r))
		}
		before, bf := Score(in)
		in.Alerts = append(in.Alerts, randomAlert(r))
		after, af := Score(in)
		if after < before {
			t.Fatalf("adding %+v lowered the score from %d to %d\nbefore %+v\nafter  %+v", *in.Alerts[len(in.Alerts)-1], before, after, bf, af)
		}
	}
}

// TestScoreDeterministic checks that the order of the alerts changes nothing.
func TestScoreDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		in := randomInput(r)
		for range 1 + r.IntN(12) {
			in.Alerts = append(in.Alerts, randomAlert(r))
		}
		score, factors := Score(in)
		r.Shuffle(len(in.Alerts), func(i, j int) { in.Alerts[i], in.Alerts[j] = in.Alerts[j], in.Alerts[i] })
		score2, factors2 := Score(in)
		// The asset detail names the first entity found at the highest
		// criticality, and the rarity detail the first detector at the
		// lowest prevalence, so compare points only for those.
		if score != score2 || !reflect.DeepEqual(factorPoints(factors), factorPoints(factors2)) {
			t.Fatalf("shuffling changed the score: %d %+v, then %d %+v", score, factors, score2, factors2)
		}
		for i := range factors {
			if n := factors[i].Name; n != FactorAsset && n != FactorRarity && factors[i] != factors2[i] {
				t.Fatalf("shuffling changed factor %+v into %+v", factors[i], factors2[i])
			}
		}
	}
}

func TestBand(t *testing.T) {
	for _, tt := range []struct {
		score int
		want  string
	}{{0, "low"}, {14, "low"}, {15, "medium"}, {85, "medium"}, {86, "top"}, {100, "top"}} {
		if got := Band(tt.score); got != tt.want {
			t.Errorf("Band(%d): got %s, want %s", tt.score, got, tt.want)
		}
	}
}

func TestDetectorKey(t *testing.T) {
	a := &weft.Alert{Source: "Suricata", DetectorID: "2019401", Title: "ET POLICY"}
	if got := DetectorKey(a); got != "suricata/2019401" {
		t.Errorf("got %q", got)
	}
	a.DetectorID = ""
	if got := DetectorKey(a); got != "suricata/title:ET POLICY" {
		t.Errorf("got %q", got)
	}
}

func BenchmarkScore(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	in := randomInput(r)
	in.Alerts = multiStage()
	for len(in.Alerts) < 20 {
		in.Alerts = append(in.Alerts, randomAlert(r))
	}
	b.ReportAllocs()
	for b.Loop() {
		Score(in)
	}
}
