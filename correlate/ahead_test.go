package correlate

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
)

// TestAheadChangesNothing holds the read-ahead's invariant (ahead.go): an
// engine told the alerts to come places them exactly as one that is not,
// and so does one given a wrong hint: alerts it never places, alerts left
// out, a list dropped and given again, tenants that do not exist yet.
func TestAheadChangesNothing(t *testing.T) {
	readAheadSmall(t)
	opts := gen.DefaultOptions()
	opts.Attacks, opts.NoiseAlerts = 12, 3000
	src, _ := scenario(t, opts)
	alerts := twoRounds(src)
	for j, a := range alerts {
		a.TenantID = fmt.Sprint("t", j%len(src)%3)
	}
	run := func(hint func(e *Engine, i int)) []string {
		e := newTestEngine(t, DefaultConfig()).Engine
		var n int64
		alloc := func() int64 { n++; return n }
		var out []string
		for i, a := range alerts {
			hint(e, i)
			out = append(out, fmt.Sprintf("%+v", e.Place(a, alloc)))
		}
		return out
	}
	want := run(func(*Engine, int) {})
	extra := &weft.Alert{ID: "never-placed", TenantID: "t9", Evidence: alerts[0].Evidence}
	for name, hint := range map[string]func(e *Engine, i int){
		"the alerts to come": func(e *Engine, i int) {
			if i == 0 {
				e.Ahead(alerts)
			}
		},
		"in batches, with alerts never placed among them": func(e *Engine, i int) {
			if i%100 == 0 {
				var batch []*weft.Alert
				for j, a := range alerts[i:min(i+100, len(alerts))] {
					if j%7 == 3 {
						batch = append(batch, extra)
					}
					batch = append(batch, a)
				}
				e.Ahead(batch)
			}
		},
		"with alerts left out and hints dropped": func(e *Engine, i int) {
			switch {
			case i%500 == 0:
				var batch []*weft.Alert
				for j, a := range alerts[i:min(i+500, len(alerts))] {
					if j%11 != 5 {
						batch = append(batch, a)
					}
				}
				e.Ahead(batch)
			case i%500 == 250:
				e.Ahead(nil)
			}
		},
		"wrong alerts only": func(e *Engine, i int) {
			if i%50 == 0 {
				e.Ahead(alerts[len(alerts)-50:])
			}
		},
	} {
		got := run(hint)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: alert %d placed as %s, want %s", name, i, got[i], want[i])
			}
		}
	}
}

// TestAheadFollows checks that the read-ahead follows a hinted queue, skipping
// the alerts never placed, rather than dropping it: what it reads ahead is
// the alert that comes next.
func TestAheadFollows(t *testing.T) {
	readAheadSmall(t)
	alerts, e, alloc := tinyScenario(t)
	extra := &weft.Alert{ID: "never-placed", TenantID: alerts[0].TenantID}
	var batch []*weft.Alert
	for i, a := range alerts {
		if i%5 == 2 {
			batch = append(batch, extra, extra)
		}
		batch = append(batch, a)
	}
	e.Ahead(batch)
	for i, a := range alerts {
		e.Place(a, alloc)
		if e.ahead.queue == nil {
			t.Fatalf("the hint was dropped at alert %d", i)
		}
		if next := e.ahead.pos; next < len(batch) && batch[next] != extra {
			s := e.ahead.slots[next%aheadDepth]
			if s.q != next || s.stage != aheadDepth {
				t.Fatalf("after alert %d, the next one (queue %d) is at stage %d of slot for %d, want %d", i, next, s.stage, s.q, aheadDepth)
			}
		}
	}
}

// readAheadSmall makes the engine read ahead for the small tenants of a
// test (aheadMinNodes), until the test ends.
func readAheadSmall(t *testing.T) {
	old := aheadMinNodes
	aheadMinNodes = 0
	t.Cleanup(func() { aheadMinNodes = old })
}

// TestAheadSkipsSmallTenants checks that a tenant whose state stays in the
// caches is placed without reading ahead, and one past aheadMinNodes with.
func TestAheadSkipsSmallTenants(t *testing.T) {
	alerts, e, alloc := tinyScenario(t)
	e.Ahead(alerts)
	e.Place(alerts[0], alloc) // the engine knows the tenant from then on
	noted := 0
	for _, a := range alerts[1:100] {
		e.Place(a, alloc)
		noted += int(e.ahead.n)
	}
	if noted != 0 {
		t.Fatalf("a small tenant's state was read ahead: %d addresses", noted)
	}
	readAheadSmall(t)
	for _, a := range alerts[100:200] {
		e.Place(a, alloc)
		noted += int(e.ahead.n)
	}
	if noted == 0 {
		t.Fatal("nothing was read ahead with aheadMinNodes at 0")
	}
}

// tinyScenario returns the alerts of a small generated scenario (about 200),
// an engine with the default policy, and an incident id allocator.
func tinyScenario(t *testing.T) ([]*weft.Alert, *Engine, func() int64) {
	opts := gen.DefaultOptions()
	opts.Attacks, opts.NoiseAlerts = 3, 200
	alerts, _ := scenario(t, opts)
	var n int64
	return alerts, newTestEngine(t, DefaultConfig()).Engine, func() int64 { n++; return n }
}

// TestEvidenceHead checks that the fields of weft.Evidence the engine reads
// (Identify's cached identifiers, hashes and name, and the type) lie within
// the evidenceHead bytes the read-ahead prefetches of each record.
func TestEvidenceHead(t *testing.T) {
	typ := reflect.TypeFor[weft.Evidence]()
	for _, name := range []string{"EntityType", "ids", "hashes", "identified", "name"} {
		f, ok := typ.FieldByName(name)
		if !ok {
			t.Fatalf("weft.Evidence has no field %s", name)
		}
		if end := f.Offset + f.Type.Size(); end > evidenceHead {
			t.Errorf("weft.Evidence.%s ends at byte %d, past the %d the read-ahead prefetches", name, end, evidenceHead)
		}
	}
}
