package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/storetest"
)

// cancelOnPlace is a Correlator that cancels a batch's context as it places
// an alert.
type cancelOnPlace struct {
	*correlate.Engine
	cancel func()
}

func (c cancelOnPlace) Place(a *weft.Alert, newIncidentID func() int64) weft.Placement {
	c.cancel()
	return c.Engine.Place(a, newIncidentID)
}

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkEntities verifies the derived tables against the stored alerts: every
// alert has exactly one alert_entities row per entity of its evidence (with
// its first activity and roles), every row names an entity of the alert's
// tenant, and every entity's seen range covers its alerts.
func checkEntities(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	type row struct {
		key   string
		first int64
		roles int64
	}
	got := map[int64][]row{} // by alert seq
	rows, err := s.read.QueryContext(ctx, `SELECT ae.alert_seq, e.entity_key, ae.first_activity, ae.roles, ae.tenant_id, e.tenant_id
		FROM alert_entities ae LEFT JOIN entities e ON e.id = ae.entity_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		var r row
		var tenant string
		var entityTenant *string
		var key *string
		if err := rows.Scan(&seq, &key, &r.first, &r.roles, &tenant, &entityTenant); err != nil {
			t.Fatal(err)
		}
		if key == nil || entityTenant == nil || *entityTenant != tenant {
			t.Fatalf("alert_entities row of alert seq %d names no entity of its tenant %q", seq, tenant)
		}
		r.key = *key
		got[seq] = append(got[seq], r)
	}
	rows.Close()

	arows, err := s.read.QueryContext(ctx, `SELECT seq, tenant_id, id FROM alerts`)
	if err != nil {
		t.Fatal(err)
	}
	type ref struct {
		seq        int64
		tenant, id string
	}
	var alerts []ref
	for arows.Next() {
		var r ref
		if err := arows.Scan(&r.seq, &r.tenant, &r.id); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, r)
	}
	arows.Close()
	for _, r := range alerts {
		a, err := s.FindAlert(ctx, r.tenant, r.id)
		if err != nil {
			t.Fatal(err)
		}
		var want []row
		for _, e := range alertEntities(a) {
			want = append(want, row{e.Key, nanos(a.FirstActivityDateTime), e.roles})
		}
		have := got[r.seq]
		cmp := func(x, y row) int {
			if x.key < y.key {
				return -1
			} else if x.key > y.key {
				return 1
			}
			return 0
		}
		slices.SortFunc(have, cmp)
		slices.SortFunc(want, cmp)
		if !slices.Equal(have, want) {
			t.Errorf("alert %s: alert_entities\n got %v\nwant %v", r.id, have, want)
		}
		for _, e := range a.Entities() {
			var first, last int64
			if err := s.read.QueryRowContext(ctx, `SELECT first_seen, last_seen FROM entities WHERE tenant_id = ? AND entity_key = ?`,
				r.tenant, e.Key).Scan(&first, &last); err != nil {
				t.Fatalf("entity %s of alert %s: %v", e.Key, r.id, err)
			}
			if first > nanos(a.FirstActivityDateTime) || last < nanos(a.LastActivityDateTime) {
				t.Errorf("entity %s: seen [%d, %d] does not cover alert %s [%d, %d]", e.Key, first, last, r.id,
					nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime))
			}
		}
	}
}

func TestEntities(t *testing.T) {
	ctx := context.Background()

	t.Run("ConsistentAfterBatches", func(t *testing.T) {
		s := openInternal(t)
		for b := range 3 {
			batch := make([]*weft.Alert, 100)
			for i := range batch {
				batch[i] = storetest.NewAlert(b*70 + i) // overlapping batches: repeats and shared entities
			}
			if _, err := s.StoreAlerts(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		checkEntities(t, s)
	})

	t.Run("UpdateReplacesEntities", func(t *testing.T) {
		s := openInternal(t)
		a := storetest.NewAlert(3)
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{a}); err != nil {
			t.Fatal(err)
		}
		// A new version with other evidence and later times, once in a
		// later batch and once again within one batch.
		b := storetest.NewAlert(3)
		b.Evidence = storetest.NewAlert(4).Evidence
		b.FirstActivityDateTime = b.FirstActivityDateTime.Add(time.Minute)
		b.LastActivityDateTime = b.LastActivityDateTime.Add(time.Hour)
		v := b.ProviderLastUpdateDateTime.Add(time.Minute)
		b.ProviderLastUpdateDateTime = &v
		c := storetest.NewAlert(3)
		c.Evidence = storetest.NewAlert(5).Evidence
		v2 := v.Add(time.Minute)
		c.ProviderLastUpdateDateTime = &v2
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{b}); err != nil {
			t.Fatal(err)
		}
		checkEntities(t, s)
		d := storetest.NewAlert(6)
		res, err := s.StoreAlerts(ctx, []*weft.Alert{d, c, storetest.NewAlert(6)})
		if err != nil {
			t.Fatal(err)
		}
		if res[1].Outcome != weft.OutcomeUpdated {
			t.Fatalf("got %+v, want updated", res[1])
		}
		checkEntities(t, s)
	})

	t.Run("FailedBatchLeavesNoTrace", func(t *testing.T) {
		// The batch is cancelled once the writer has begun: the entities
		// of the alerts before the writer notices are written, then
		// rolled back, and the entity cache must not remember them. (An
		// invalid alert would be refused before the writer begins.)
		e, err := correlate.New(correlate.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{Correlator: cancelOnPlace{e, cancel}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		batch := make([]*weft.Alert, 100)
		for i := range batch {
			batch[i] = storetest.NewAlert(i)
		}
		if _, err := s.StoreAlerts(cctx, batch); err == nil {
			t.Fatal("got no error, want the context's")
		}
		s.corr = e
		if _, err := s.StoreAlerts(ctx, batch[:99]); err != nil {
			t.Fatal(err)
		}
		checkEntities(t, s)
	})

	t.Run("RolesRoundTrip", func(t *testing.T) {
		for _, roles := range [][]weft.EvidenceRole{nil, {"compromised"}, weft.EvidenceRoles} {
			if got := rolesOf(roleBits(roles)); !slices.Equal(got, roles) {
				t.Errorf("got %v, want %v", got, roles)
			}
		}
	})
}
