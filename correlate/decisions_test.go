package correlate

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
)

// decisionsDigest is the SHA-256 of what writeDecisions writes: every field
// of every placement the engine makes over its scenarios. A change to the
// engine that is meant to decide exactly as before (a faster data layout, a
// refactoring) must leave it as it is; a change that is meant to decide
// differently updates it, and says so in its commit, after the quality
// figures of docs/correlation.md were measured again.
//
// To see what changed: WEFT_DECISIONS=before.txt go test -run TestDecisions
// ./correlate/ on the old code and again on the new, then diff the files.
const decisionsDigest = "d6f173733a9c71a17ccb72af568f60ba75889098b736ffb46091a86d04bae66e"

// TestDecisions holds the engine's decisions byte for byte (decisionsDigest).
func TestDecisions(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds nothing to a check of determinism, and is slow here")
	}
	h := sha256.New()
	var w io.Writer = h
	if path := os.Getenv("WEFT_DECISIONS"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := bufio.NewWriter(f)
		defer b.Flush()
		w = io.MultiWriter(h, b)
	}
	writeDecisions(t, w)
	if got := hex.EncodeToString(h.Sum(nil)); got != decisionsDigest {
		t.Errorf("the engine's decisions changed: digest %s, want %s (see decisionsDigest)", got, decisionsDigest)
	}
}

// writeDecisions places several scenarios and writes every placement to w:
// the default scenario twice over (the second time shifted past the
// windows, so that pruning runs), one tenant and three with a policy change
// in the middle (a small cap and a low hub threshold, so that continuations
// and hubs occur), analysts' splits, resolved and assigned incidents, and a
// second engine that restores half of each scenario before placing the
// rest; and a small organization with a small cap.
func writeDecisions(t *testing.T, w io.Writer) {
	var n int64
	alloc := func() int64 { n++; return n }
	run := func(name string, opts gen.Options, tenants int, cfg Config, change *Config) {
		alerts, _ := scenario(t, opts)
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		span := alerts[len(alerts)-1].LastActivityDateTime.Sub(alerts[0].FirstActivityDateTime) + 48*time.Hour
		for round := range 2 {
			d := time.Duration(round) * span
			for i, src := range alerts {
				a := *src
				a.ID = src.ID + "-" + d.String()
				a.FirstActivityDateTime = src.FirstActivityDateTime.Add(d)
				a.LastActivityDateTime = src.LastActivityDateTime.Add(d)
				if tenants > 1 {
					a.TenantID = fmt.Sprint("t", i%tenants)
				}
				if change != nil && round == 1 && i == len(alerts)/3 {
					if err := e.SetPolicy("t1", change); err != nil {
						t.Fatal(err)
					}
				}
				p := e.Place(&a, alloc)
				fmt.Fprintf(w, "%s %+v\n", name, p)
				if i%97 == 0 && p.IncidentID > 3 {
					e.KeepApart(a.TenantID, p.IncidentID, p.IncidentID-3)
				}
				if i%131 == 0 {
					e.SetIncident(a.TenantID, IncidentState{ID: p.IncidentID, Status: weft.IncidentStatusResolved})
				}
				if i%173 == 0 {
					e.SetIncident(a.TenantID, IncidentState{ID: p.IncidentID, AssignedTo: "analyst@example.com"})
				}
			}
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if change != nil {
				if err := r.SetPolicy("t1", change); err != nil {
					t.Fatal(err)
				}
			}
			half := len(alerts) / 2
			for i, src := range alerts {
				a := *src
				a.ID = src.ID + "-r" + d.String()
				if tenants > 1 {
					a.TenantID = fmt.Sprint("t", i%tenants)
				}
				if i < half {
					r.Restore(&a, int64(1000000+i/3))
					continue
				}
				fmt.Fprintf(w, "%s-restored %+v\n", name, r.Place(&a, alloc))
			}
		}
	}
	o := gen.DefaultOptions()
	o.Seed = 1
	run("seed1", o, 1, DefaultConfig(), nil)
	o.Seed = 2
	change := DefaultConfig()
	change.MaxIncidentAlerts = 4
	change.HubThreshold = 3
	run("seed2", o, 3, DefaultConfig(), &change)
	o = gen.DefaultOptions()
	o.Attacks, o.NoiseAlerts, o.Users, o.Devices, o.Duration, o.Showcase = 6, 1500, 600, 600, 24*time.Hour, false
	small := DefaultConfig()
	small.MaxIncidentAlerts = 10
	run("small", o, 1, small, nil)
}
