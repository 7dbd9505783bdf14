package eval_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/eval"
	"github.com/weftxdr/weft/gen"
	"github.com/weftxdr/weft/ingest"
)

// TestBaselinesOnGeneratedScenario scores the design's baselines against the
// truth of the generator's evaluation scenario and logs the table (run with
// -v to see it). It asserts only what must hold for any sane scenario: the
// numbers are weft's to beat, not to pin.
func TestBaselinesOnGeneratedScenario(t *testing.T) {
	opts := gen.DefaultOptions()
	// Alerts must not be in the future, so the scenario ends a minute ago at
	// the latest; moving it by whole weeks keeps the weekdays and office hours
	// the generator follows, and so the numbers, from one run to the next.
	const week = 7 * 24 * time.Hour
	opts.Start = opts.Start.Add(time.Now().UTC().Add(-time.Minute).Sub(opts.Start).Truncate(week))
	if testing.Short() {
		opts.Users, opts.Devices, opts.NoiseAlerts, opts.Attacks = 2000, 2100, 2400, 10
	}
	var body, truthCSV bytes.Buffer
	st, err := gen.Generate(opts, &body, &truthCSV)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := eval.ReadPartition(&truthCSV)
	if err != nil {
		t.Fatalf("reading the truth: %v", err)
	}
	recs, err := ingest.Decode(body.Bytes(), true, ingest.FormatGraph, ingest.Limits{MaxRecords: 1 << 30}, opts.Start)
	if err != nil {
		t.Fatal(err)
	}
	alerts := make([]*weft.Alert, 0, len(recs))
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("decoding generated alert: %v", r.Err)
		}
		alerts = append(alerts, r.Alert)
	}
	if len(alerts) != st.Alerts || len(truth) != st.Alerts {
		t.Fatalf("%d alerts decoded, %d in the truth; the generator wrote %d", len(alerts), len(truth), st.Alerts)
	}

	var rows []eval.NamedScores
	scores := make(map[string]eval.Scores)
	for _, b := range eval.Baselines(alerts) {
		s := eval.Score(truth, b.Partition)
		rows = append(rows, eval.NamedScores{Name: b.Name, Scores: s})
		scores[b.Name] = s
	}
	var table strings.Builder
	if err := eval.WriteTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d alerts, %d true incidents (largest %s, %d alerts)\n%s",
		st.Alerts, st.Incidents, st.LargestIncident, st.LargestIncidentAlerts, table.String())

	for name, s := range scores {
		if s.Items != st.Alerts || s.Missing != 0 || s.Extra != 0 {
			t.Errorf("%s: %d items, %d missing, %d extra; want %d, 0, 0 — baselines must key alerts as the truth does",
				name, s.Items, s.Missing, s.Extra, st.Alerts)
		}
		if s.TrueClusters != st.Incidents || s.LargestTrue != st.LargestIncidentAlerts {
			t.Errorf("%s: truth has %d incidents, largest %d; the generator says %d, largest %d",
				name, s.TrueClusters, s.LargestTrue, st.Incidents, st.LargestIncidentAlerts)
		}
	}
	single := scores["singletons"]
	if single.PairRecall != 0 || single.PairPrecision != 1 || single.PredClusters != st.Alerts {
		t.Errorf("singletons: pair precision %v, recall %v, %d incidents; want 1, 0 (the truth has pairs), %d",
			single.PairPrecision, single.PairRecall, single.PredClusters, st.Alerts)
	}
	det := scores["same-detector-device-1h"]
	if det.PairRecall <= 0 || det.PredClusters >= st.Alerts {
		t.Errorf("same detector on the same device joined nothing: %+v", det)
	}
	union := scores["shared-identifier-24h"]
	// The hub problem: with no hub guard, the union of shared entities grows
	// a giant component far larger than any true incident.
	if union.LargestPred < 10*union.LargestTrue {
		t.Errorf("union's largest incident has %d alerts, the truth's %d; want the giant component (≥ 10×)",
			union.LargestPred, union.LargestTrue)
	}
	if union.PairPrecision >= det.PairPrecision {
		t.Errorf("union pair precision %v ≥ same-detector's %v; the giant component should ruin it",
			union.PairPrecision, det.PairPrecision)
	}
}
