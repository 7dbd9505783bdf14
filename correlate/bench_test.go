package correlate

import (
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
)

// BenchmarkPlace places the default generated scenario (about 24,500 Graph
// alerts with 3–6 evidence records each, in event-time order) again and
// again, shifted in time each round so that the engine is at steady state
// (its windows full, pruning running), and reports alerts/s on one core.
func BenchmarkPlace(b *testing.B) {
	alerts, _ := scenario(b, gen.DefaultOptions())
	span := alerts[len(alerts)-1].LastActivityDateTime.Sub(alerts[0].FirstActivityDateTime) + 48*time.Hour
	e, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	alloc := func() int64 { n++; return n }
	shifted := make([]weft.Alert, len(alerts))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := &shifted[i%len(alerts)]
		if i%len(alerts) == 0 {
			b.StopTimer()
			round := time.Duration(i/len(alerts)) * span
			for j, src := range alerts {
				shifted[j] = *src
				shifted[j].ID = src.ID + "-" + round.String()
				shifted[j].FirstActivityDateTime = src.FirstActivityDateTime.Add(round)
				shifted[j].LastActivityDateTime = src.LastActivityDateTime.Add(round)
			}
			b.StartTimer()
		}
		e.Place(a, alloc)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
