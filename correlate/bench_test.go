package correlate

import (
	"bytes"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
)

// BenchmarkPlace places the default generated scenario (about 24,500 Graph
// alerts with 3–6 evidence records each, decoded by package ingest, in
// event-time order) again and again, shifted in time each round, and
// reports alerts/s on one core. One untimed round warms the engine first,
// so that the timed alerts meet full windows and pruning running: the
// steady state. Each round's alerts are named to the engine before it
// places them (Engine.Ahead), as the store's writer names a batch's;
// BenchmarkPlaceNoAhead does without.
//
// It also reports cpu-ns/op, the process's CPU time per alert (the garbage
// collector's included, the copying between rounds not), steadier than ns/op on a shared machine, and
// retained-B/alert: the heap the engine holds after the warm round (after a
// GC, less the heap before the engine existed) divided by the alerts within
// the longest window of the newest one, the alerts the engine must remember.
// Identities, which keep every identifier seen (identity.go, rule 8), are
// most of it. The alerts' id strings are shared with the benchmark's copies
// and not counted.
func BenchmarkPlace(b *testing.B) { benchPlace(b, gen.DefaultOptions(), true) }

// BenchmarkPlaceNoAhead is BenchmarkPlace without telling the engine the
// alerts to come (Engine.Ahead), as a caller that has one alert at a time
// would use it.
func BenchmarkPlaceNoAhead(b *testing.B) { benchPlace(b, gen.DefaultOptions(), false) }

// BenchmarkPlaceCacheResident is BenchmarkPlace on a scenario small enough
// (about 350 alerts, 100 users, 100 devices over a day) that the alerts and
// the engine's state stay in the processor's caches: the engine's cost with
// no memory to wait for, the floor under BenchmarkPlace's figure.
func BenchmarkPlaceCacheResident(b *testing.B) {
	o := gen.DefaultOptions()
	o.Attacks, o.NoiseAlerts, o.Users, o.Devices, o.Duration, o.Showcase = 3, 150, 100, 100, 24*time.Hour, false
	benchPlace(b, o, true)
}

// benchPlace is BenchmarkPlace on the scenario opts generates; with ahead,
// each round's alerts are named to the engine before it places them
// (Engine.Ahead), as the store's writer names a batch's.
func benchPlace(b *testing.B, opts gen.Options, ahead bool) {
	alerts, _ := scenario(b, opts)
	span := alerts[len(alerts)-1].LastActivityDateTime.Sub(alerts[0].FirstActivityDateTime) + 48*time.Hour
	rounds := [2][]weft.Alert{make([]weft.Alert, len(alerts)), make([]weft.Alert, len(alerts))}
	ptrs := [2][]*weft.Alert{make([]*weft.Alert, len(alerts)), make([]*weft.Alert, len(alerts))}
	var e *Engine
	shift := func(round int) []weft.Alert {
		d := time.Duration(round) * span
		out := rounds[round%2]
		suffix := "-" + d.String()
		for j, src := range alerts {
			out[j] = *src
			out[j].ID = src.ID + suffix
			out[j].FirstActivityDateTime = src.FirstActivityDateTime.Add(d)
			out[j].LastActivityDateTime = src.LastActivityDateTime.Add(d)
			ptrs[round%2][j] = &out[j]
		}
		if ahead && e != nil {
			e.Ahead(ptrs[round%2])
		}
		return out
	}
	warm := shift(0)
	before := heapAfterGC()
	cfg := DefaultConfig()
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	alloc := func() int64 { n++; return n }
	if ahead {
		e.Ahead(ptrs[0])
	}
	for i := range warm {
		e.Place(&warm[i], alloc)
	}
	retained := heapAfterGC() - before
	shifted := shift(1)
	held := 0
	newest := warm[len(warm)-1].LastActivityDateTime
	for i := range warm {
		if !warm[i].LastActivityDateTime.Before(newest.Add(-cfg.maxWindow())) {
			held++
		}
	}
	timeRounds(b, len(alerts), func(round int) { shifted = shift(round) }, func(j int) { e.Place(&shifted[j], alloc) })
	b.ReportMetric(float64(retained)/float64(held), "retained-B/alert")
	runtime.KeepAlive(e)
}

// timeRounds times b.N calls of place, n to a round, calling next(round)
// untimed before each round after the first (round counts from 2, the warm
// round being 0 and the first timed one 1), and reports alerts/s and the
// process's CPU time per call (cpu-ns/op) without what next used.
func timeRounds(b *testing.B, n int, next func(round int), place func(j int)) {
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		if j == 0 && i > 0 {
			b.StopTimer()
			c := cpuTime()
			next(i/n + 1)
			cpu0 += cpuTime() - c
			b.StartTimer()
		}
		place(j)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time the process has used, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// heapAfterGC returns the bytes of live heap objects after a collection.
func heapAfterGC() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkPlaceFreshAlerts is BenchmarkPlace with each round's alerts
// decoded afresh from the scenario's NDJSON (untimed, followed by a
// collection), as production's alerts are: in BenchmarkPlace every round
// shares the warm round's evidence records, so an identifier's value is
// often the very string the identity index holds and comparing them costs
// nothing, and the records lie where they did the round before. Here every
// alert and string is new, as on a live server.
func BenchmarkPlaceFreshAlerts(b *testing.B) {
	opts := gen.DefaultOptions()
	var raw, truth bytes.Buffer
	if _, err := gen.Generate(opts, &raw, &truth); err != nil {
		b.Fatal(err)
	}
	decode := func(round int) []*weft.Alert {
		alerts := decodeAlerts(b, raw.Bytes(), opts)
		if round > 0 {
			d := time.Duration(round) * (alerts[len(alerts)-1].LastActivityDateTime.Sub(alerts[0].FirstActivityDateTime) + 48*time.Hour)
			for _, a := range alerts {
				a.ID += "-" + strconv.Itoa(round)
				a.FirstActivityDateTime = a.FirstActivityDateTime.Add(d)
				a.LastActivityDateTime = a.LastActivityDateTime.Add(d)
			}
		}
		return alerts
	}
	e, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	alloc := func() int64 { n++; return n }
	warm := decode(0)
	e.Ahead(warm)
	for _, a := range warm {
		e.Place(a, alloc)
	}
	alerts := decode(1)
	e.Ahead(alerts)
	runtime.GC()
	timeRounds(b, len(alerts), func(round int) {
		alerts = nil
		e.Ahead(nil)
		alerts = decode(round)
		e.Ahead(alerts)
		runtime.GC()
	}, func(j int) { e.Place(alerts[j], alloc) })
}
