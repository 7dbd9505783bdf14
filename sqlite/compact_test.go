package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

// outgrownCorrelator says once that its state has outgrown its windows.
type outgrownCorrelator struct {
	countingCorrelator
	outgrown bool
}

func (c *outgrownCorrelator) NeedsRebuild() bool {
	o := c.outgrown
	c.outgrown = false
	return o
}

// TestStoreRebuildsAnOutgrownCorrelator: after a batch whose Correlator says
// it has outgrown its windows, the next batch rebuilds it first.
func TestStoreRebuildsAnOutgrownCorrelator(t *testing.T) {
	c := &outgrownCorrelator{countingCorrelator: countingCorrelator{Engine: newEngine(t)}}
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: c})
	mustStoreAlerts(t, s, storetest.NewAlert(1))
	if c.resets != 1 {
		t.Fatalf("got %d resets, want 1 (at Open)", c.resets)
	}
	c.outgrown = true
	mustStoreAlerts(t, s, storetest.NewAlert(2))
	mustStoreAlerts(t, s, storetest.NewAlert(3))
	if c.resets != 2 {
		t.Fatalf("got %d resets, want 2 (at Open, before the batch after the one that outgrew)", c.resets)
	}
}
