package correlate

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestPartitionInvariants places generated scenarios under random policies
// (random caps and windows, in shuffled arrival order) and checks what must
// hold whatever the policy: every alert is in exactly one incident, and no
// incident exceeds the cap, merges and continuations included.
func TestPartitionInvariants(t *testing.T) {
	alerts := smallScenario(t)
	r := rand.New(rand.NewPCG(7, 7))
	for round := range 6 {
		cfg := DefaultConfig()
		cfg.MaxIncidentAlerts = 2 + r.IntN(30)
		cfg.StrongWindow = time.Duration(1+r.IntN(72)) * time.Hour
		cfg.MediumSeverityWindow = time.Duration(1+r.IntN(24)) * time.Hour
		cfg.BenignWindow = min(cfg.BenignWindow, cfg.MediumSeverityWindow)
		cfg.HubThreshold = 1 + r.IntN(20)
		cfg.WeakMaxPrincipals = min(cfg.WeakMaxPrincipals, cfg.HubThreshold)
		e := newTestEngine(t, cfg)
		where := map[string]int64{}     // alert → incident
		members := map[int64][]string{} // incident → alerts
		for _, a := range shuffleLocally(alerts, uint64(round)) {
			if _, dup := where[a.ID]; dup {
				t.Fatalf("alert %s placed twice", a.ID)
			}
			p := e.Place(a)
			for _, m := range p.Merged {
				for _, id := range members[m] {
					where[id] = p.MergedInto
				}
				members[p.MergedInto] = append(members[p.MergedInto], members[m]...)
				delete(members, m)
			}
			where[a.ID] = p.IncidentID
			members[p.IncidentID] = append(members[p.IncidentID], a.ID)
			if n := len(members[p.IncidentID]); n > cfg.MaxIncidentAlerts {
				t.Fatalf("round %d (%s): incident %d has %d alerts", round, cfg, p.IncidentID, n)
			}
			if p.MergedInto != 0 && len(members[p.MergedInto]) > cfg.MaxIncidentAlerts {
				t.Fatalf("round %d (%s): a merge made incident %d of %d alerts", round, cfg, p.MergedInto, len(members[p.MergedInto]))
			}
		}
		n := 0
		for id, ids := range members {
			for _, a := range ids {
				if where[a] != id {
					t.Fatalf("alert %s listed in incident %d but placed in %d", a, id, where[a])
				}
			}
			n += len(ids)
		}
		if n != len(alerts) || len(where) != len(alerts) {
			t.Fatalf("round %d: %d alerts in incidents, %d placed, of %d", round, n, len(where), len(alerts))
		}
	}
}

// TestHubNeverJoinsAttacks holds design §4.3: attacks that share nothing but
// a hub (a domain controller every sign-in names, seen with many users
// before they start) stay apart, whatever order their alerts arrive in,
// while each attack stays whole. (Links an identity made before it was seen
// to be a hub stay: docs/correlation.md §6.)
func TestHubNeverJoinsAttacks(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for round := range 20 {
		var alerts []*weft.Alert
		// The hub becomes one: benign sign-ins of many users over the hour
		// before.
		for i := range 30 {
			alerts = append(alerts, detAt("", "logon", weft.SeverityLow, time.Duration(i)*2*time.Minute,
				device("dc01"), user(fmt.Sprintf("r%d-user%d", round, i))))
		}
		attacks := 2 + r.IntN(4)
		want := map[string]int{} // alert → attack
		for k := range attacks {
			host, victim := device(fmt.Sprintf("r%d-ws%d", round, k)), user(fmt.Sprintf("r%d-victim%d", round, k))
			start := time.Hour + time.Duration(r.IntN(120))*time.Minute
			for step := range 3 + r.IntN(4) {
				a := detAt("", fmt.Sprintf("step%d", step), weft.SeverityHigh, start+time.Duration(step)*10*time.Minute, host, victim, device("dc01"))
				want[a.ID] = k
				alerts = append(alerts, a)
			}
		}
		shuffled := append([]*weft.Alert(nil), alerts...)
		tail := shuffled[30:] // the attacks' alerts, after the hub's
		r.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
		for _, order := range [][]*weft.Alert{alerts, shuffled} {
			e := newEngine(t, nil)
			got := map[string]int64{}
			placeTracked(e, order, got)
			incOf := map[int]int64{}
			attackOf := map[int64]int{}
			for id, k := range want {
				inc := got[id]
				if prev, ok := incOf[k]; ok && prev != inc {
					t.Fatalf("round %d: attack %d split over incidents %d and %d", round, k, prev, inc)
				}
				incOf[k] = inc
				if other, ok := attackOf[inc]; ok && other != k {
					t.Fatalf("round %d: attacks %d and %d joined in incident %d through the hub", round, other, k, inc)
				}
				attackOf[inc] = k
			}
		}
	}
}
