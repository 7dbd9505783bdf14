package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/storetest"
)

// TestIncidentAggregates stores the same streams through stores that compute
// incident aggregates in each of their ways — incrementally where they can
// (addJoined), always from all the alerts (refreshIncident), and from the
// alerts read for Options.Describe (aggregatesOf) — and checks that the
// incidents tables come out byte for byte the same.
func TestIncidentAggregates(t *testing.T) {
	for name, stream := range map[string]func(n int) [][]*weft.Alert{
		// Alerts in event-time order: joins come after the incident's
		// alerts, and addJoined applies.
		"InOrder": func(n int) [][]*weft.Alert {
			rng := rand.New(rand.NewPCG(1, 2))
			var batches [][]*weft.Alert
			for i := 0; i < n; {
				size := 1 + rng.IntN(40)
				var b []*weft.Alert
				for j := i; j < min(i+size, n); j++ {
					b = append(b, storetest.NewAlert(j))
				}
				batches = append(batches, b)
				i += size
			}
			return batches
		},
		// Copies of the same alerts, batch after batch, as the benchmark
		// stores them: joins tie with or come before stored alerts.
		"Repeated": func(n int) [][]*weft.Alert {
			var batches [][]*weft.Alert
			for k := range 6 {
				var b []*weft.Alert
				for i := range n / 6 {
					a := storetest.NewAlert(i)
					a.ProviderAlertID += "-" + strconv.Itoa(k)
					a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
					b = append(b, a)
				}
				batches = append(batches, b)
			}
			return batches
		},
		// Shuffled batches with repeats, some of them updates.
		"ShuffledWithUpdates": func(n int) [][]*weft.Alert {
			rng := rand.New(rand.NewPCG(3, 4))
			var batches [][]*weft.Alert
			for i := 0; i < n; {
				size := 1 + rng.IntN(60)
				var b []*weft.Alert
				for j := i; j < min(i+size, n); j++ {
					b = append(b, storetest.NewAlert(j))
				}
				if i > 0 && rng.IntN(2) == 0 {
					a := storetest.NewAlert(rng.IntN(i))
					v := a.ProviderLastUpdateDateTime.Add(time.Hour)
					a.ProviderLastUpdateDateTime = &v
					a.Severity = weft.SeverityHigh
					b = append(b, a)
				}
				rng.Shuffle(len(b), func(x, y int) { b[x], b[y] = b[y], b[x] })
				batches = append(batches, b)
				i += size
			}
			return batches
		},
	} {
		t.Run(name, func(t *testing.T) {
			batches := stream(600)
			incremental := openAggregates(t, Options{}, false)
			full := openAggregates(t, Options{}, true)
			describe := openAggregates(t, Options{Describe: func(DescribeInput) (string, *int, []weft.PriorityFactor) {
				return "", nil, nil // leaves the name, no score: as without Describe
			}}, false)
			// What Describe is given must not depend on the alert cache:
			// the name records a digest of every field of every alert.
			digest := func(in DescribeInput) (string, *int, []weft.PriorityFactor) {
				b, err := json.Marshal(in.Alerts)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				n := len(in.Alerts)
				return hex.EncodeToString(sum[:8]), &n, nil
			}
			cached := openAggregates(t, Options{Describe: digest}, false)
			uncached := openAggregates(t, Options{Describe: digest}, false)
			uncached.cache = newAlertCache(0)
			for _, s := range []*Store{incremental, full, describe, cached, uncached} {
				for i, b := range batches {
					if _, err := s.StoreAlerts(context.Background(), b); err != nil {
						t.Fatalf("batch %d: %v", i, err)
					}
				}
			}
			want := dumpIncidents(t, full)
			if got := dumpIncidents(t, incremental); !reflect.DeepEqual(got, want) {
				t.Errorf("incremental: got incidents\n%v\nwant\n%v", got, want)
			}
			if got := dumpIncidents(t, describe); !reflect.DeepEqual(got, want) {
				t.Errorf("with Describe: got incidents\n%v\nwant\n%v", got, want)
			}
			if got, want := dumpIncidents(t, cached), dumpIncidents(t, uncached); !reflect.DeepEqual(got, want) {
				t.Errorf("with the alert cache: got incidents\n%v\nwant\n%v", got, want)
			}
			if cached.cache.hits == 0 {
				t.Error("the alert cache was never used")
			}
			t.Logf("%d alert cache hits", cached.cache.hits)
			if name == "InOrder" && incremental.incremental == 0 {
				t.Error("got no incremental update, want some")
			}
			t.Logf("%d incremental updates", incremental.incremental)
		})
	}
}

// openAggregates opens a store with the correlation engine and a fixed
// clock, so that two stores given the same batches write the same rows.
func openAggregates(t *testing.T, opts Options, noIncremental bool) *Store {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	opts.Correlator = e
	opts.Now = func() time.Time { return storetest.Base.Add(48 * time.Hour) }
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.noIncremental = noIncremental
	return s
}

// dumpIncidents returns every column of every incident, one string per row.
func dumpIncidents(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read.Query(`SELECT * FROM incidents ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := ""
		for i, v := range vals {
			row += fmt.Sprintf("%s=%q ", cols[i], v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
