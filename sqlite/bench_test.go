package sqlite_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

const benchBatch = 1000

// benchAlerts returns the n-th batch of distinct alerts: copies of a fixed set
// of storetest.NewAlert alerts with provider ids (and so alert ids) of their
// own, so that every batch is new while its entities repeat, as in a real
// stream. Copies share evidence with the templates; the store does not
// modify alerts.
func benchAlerts(templates []*weft.Alert, n int) []*weft.Alert {
	batch := make([]*weft.Alert, len(templates))
	suffix := "-" + strconv.Itoa(n)
	for i, tmpl := range templates {
		a := *tmpl
		a.ProviderAlertID += suffix
		a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
		batch[i] = &a
	}
	return batch
}

func benchTemplates() []*weft.Alert {
	templates := make([]*weft.Alert, benchBatch)
	for i := range templates {
		templates[i] = storetest.NewAlert(i)
	}
	return templates
}

// BenchmarkStoreAlerts stores batches of 1,000 new, realistic alerts
// (storetest.NewAlert: about 2.7 KB of JSON with five evidence records, and a
// raw original of the same size) and reports alerts/s and the CPU time per
// alert. Every alert forms an incident, with an activity row and its
// entities, so this is the whole durable write path.
//
//	go test -run '^$' -bench BenchmarkStoreAlerts -benchtime 60x ./sqlite/
//
// alerts/s is wall time and suffers from any other load on the machine;
// cpu-µs/alert (all goroutines, user and system) does much less.
func BenchmarkStoreAlerts(b *testing.B) {
	for _, v := range []struct {
		name string
		opts sqlite.Options
	}{
		{"synchronous=full", sqlite.Options{}},
		{"synchronous=normal", sqlite.Options{Synchronous: "normal"}},
	} {
		b.Run(v.name, func(b *testing.B) { benchStoreAlerts(b, v.opts) })
	}
	// With the correlation engine, which places every alert: the batches
	// repeat the templates' event times and entities, so most alerts join
	// or merge incidents (and large ones reach the cap) rather than form
	// their own.
	b.Run("synchronous=full/correlate", func(b *testing.B) {
		benchStoreAlerts(b, sqlite.Options{Correlator: newEngine(b)})
	})
	// With the engine and the priority package naming and scoring every
	// incident a batch changed, with detector rarity from the store's
	// counts, as "weft serve" runs (on a fixed clock here).
	b.Run("synchronous=full/correlate+describe", func(b *testing.B) {
		now := storetest.Base.Add(24 * time.Hour)
		describe := func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			score, factors := priority.Score(priority.Input{Alerts: in.Alerts, Now: in.Now,
				Criticality: in.Criticality, DetectorPrevalence: in.Prevalence})
			return priority.Name(in.Alerts), &score, factors
		}
		benchStoreAlerts(b, sqlite.Options{Correlator: newEngine(b), Describe: describe, Now: func() time.Time { return now }})
	})
}

// benchStoreAlerts stores b.N batches of new alerts and reports alerts/s
// (wall time), the CPU time per alert (user and system, all goroutines,
// which load from other processes does not inflate) and the size of the
// database file per alert (db-B/alert), which is what the writer pays for.
func benchStoreAlerts(b *testing.B, opts sqlite.Options) {
	path := filepath.Join(b.TempDir(), "weft.db")
	s := mustOpen(b, path, opts)
	templates := benchTemplates()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for n := range b.N {
		b.StopTimer()
		batch := benchAlerts(templates, n)
		b.StartTimer()
		c0 := cpuTime()
		res, err := s.StoreAlerts(ctx, batch)
		cpu += cpuTime() - c0
		if err != nil {
			b.Fatal(err)
		}
		if res[len(res)-1].Outcome != weft.OutcomeStored {
			b.Fatalf("got %+v, want stored", res[len(res)-1])
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*benchBatch), "cpu-µs/alert")
	b.StopTimer()
	// Closing checkpoints the write-ahead log into the file, so the file
	// then holds everything written.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/float64(b.N*benchBatch), "db-B/alert")
}

// BenchmarkStoreAlertsDuplicate stores batches that were all stored before:
// the cost of a sender's retry.
func BenchmarkStoreAlertsDuplicate(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "weft.db"), sqlite.Options{})
	batch := benchTemplates()
	mustStoreAlerts(b, s, batch...)
	b.ResetTimer()
	for range b.N {
		res, err := s.StoreAlerts(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Outcome != weft.OutcomeDuplicate {
			b.Fatalf("got %+v, want duplicate", res[0])
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "alerts/s")
}
