package sqlite

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// DescribeInput is what Options.Describe is given to name and score one
// incident: its alerts, and what the store knows that priority needs besides
// them (design §5: asset criticality, detector rarity, recency).
type DescribeInput struct {
	TenantID string
	// Alerts are the incident's alerts, ordered by first activity.
	Alerts []*weft.Alert
	// Now is the time of the batch on the store's clock (Options.Now).
	Now time.Time
	// Criticality returns the asset criticality (0 none to 3 highest) of a
	// device, user or mailbox the alerts' evidence names, by its key
	// (weft.EntityRef.Key, the evidence's preferred identifier): the
	// highest of the tenant's assets that any identifier of that evidence
	// names; a short host name or a bare account name counts only when one
	// asset alone carries it and the evidence gives none of that asset's
	// single-valued names (FQDN, SID, UPN, …) another value. Nil when the
	// tenant has no assets.
	Criticality func(weft.EntityRef) int
	// Prevalence returns the share (0–1) of a tenant's alerts ingested in
	// the last PrevalenceDays days, this batch's included, that the detector
	// with the given key raised. The key is priority.DetectorKey's: the
	// lower-case source, "/", and the detector id, or "title:" and the
	// title; so Prevalence is priority.Input.DetectorPrevalence as it is.
	// It returns NaN when the tenant has fewer than MinPrevalenceAlerts
	// alerts in that window, too few to judge.
	Prevalence func(tenantID, detectorKey string) float64
}

// The window and floor of DescribeInput.Prevalence.
const (
	PrevalenceDays      = 7
	MinPrevalenceAlerts = 100
)

const dayNanos = int64(24 * time.Hour)

// detectorCount is one row of a batch's counts: a tenant's detector (its
// source and detector id, or source and title when it has no id), or with
// all three empty the tenant's total. The key is made only when the counts
// are written, so counting an alert allocates nothing.
type detectorCount struct {
	tenant, source, detectorID, title string
}

// key names the detector as priority.DetectorKey does (the store does not
// depend on the priority package; migration 0005 computes the same key in
// SQL): the lower-case source, "/", and the detector id, or "title:" and the
// title. It is "" for a tenant's total.
func (c detectorCount) key() string {
	switch {
	case c.source == "" && c.detectorID == "" && c.title == "":
		return ""
	case c.detectorID != "":
		return strings.ToLower(c.source) + "/" + c.detectorID
	}
	return strings.ToLower(c.source) + "/title:" + c.title
}

// countDetector counts a new alert of the batch for its detector and tenant.
func (w *batchWriter) countDetector(a *weft.Alert) {
	if w.counts == nil {
		w.counts = make(map[detectorCount]int64, 16)
	}
	c := detectorCount{tenant: a.TenantID, source: a.Source, detectorID: a.DetectorID}
	if c.detectorID == "" {
		c.title = a.Title
	}
	w.counts[c]++
	w.counts[detectorCount{tenant: a.TenantID}]++
}

// writeCounts adds the batch's detector counts to today's rows, one upsert
// per detector and tenant, and on the first batch of a day deletes the rows
// that left the prevalence window.
func (w *batchWriter) writeCounts() error {
	day := w.now / dayNanos
	if w.prunedDay != day {
		if _, err := w.tx.ExecContext(bg, `DELETE FROM detector_counts WHERE day < ?`, day-PrevalenceDays); err != nil {
			return fmt.Errorf("prune detector counts: %w", err)
		}
		w.prunedDay = day
	}
	// Detectors that differ only in the case of their source are one.
	rows := make(map[[2]string]int64, len(w.counts))
	for c, n := range w.counts {
		rows[[2]string{c.tenant, c.key()}] += n
	}
	for k, n := range rows {
		if _, err := w.stmts.countDetector.ExecContext(bg, k[0], k[1], day, n); err != nil {
			return fmt.Errorf("count detectors: %w", err)
		}
	}
	return nil
}

// tenantCounts caches, for one batch, what Prevalence read of a tenant.
type tenantCounts struct {
	total  int64
	shares map[string]float64 // by detector key
}

// prevalence is DescribeInput.Prevalence. It reads the counts in the
// batch's transaction, so they include the batch, once per tenant and
// detector per batch. A read error is kept in w.countErr (the function
// cannot return it) and fails the batch after Describe.
func (w *batchWriter) prevalence(tenant, key string) float64 {
	from := w.now/dayNanos - (PrevalenceDays - 1)
	read := func(detector string) int64 {
		var n int64
		if err := w.stmts.detectorAlerts.QueryRowContext(bg, tenant, detector, from).Scan(&n); err != nil && w.countErr == nil {
			w.countErr = fmt.Errorf("read detector counts: %w", err)
		}
		return n
	}
	if w.shares == nil {
		w.shares = map[string]*tenantCounts{}
	}
	tc := w.shares[tenant]
	if tc == nil {
		tc = &tenantCounts{total: read(""), shares: map[string]float64{}}
		w.shares[tenant] = tc
	}
	if tc.total < MinPrevalenceAlerts || key == "" {
		return math.NaN()
	}
	p, ok := tc.shares[key]
	if !ok {
		p = float64(read(key)) / float64(tc.total)
		tc.shares[key] = p
	}
	return p
}
