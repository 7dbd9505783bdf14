package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// StoreAlerts stores a batch of normalized alerts in one transaction and
// returns one result per alert, in order, after the transaction has committed
// (and, with synchronous=FULL, has been synced to disk). On error nothing of
// the batch is stored. It does not modify the alerts.
//
// The outcome of a repeat of a stored alert (same TenantID, Source and
// ProviderAlertID, hence the same ID) is decided by ProviderLastUpdateDateTime
// (the version) and the content hash (every field except the ingest times,
// IncidentID and Raw; see contentHash):
//
//	stored version  repeat version  outcome
//	v               later than v    updated
//	v               v               duplicate (same version; the first copy is kept)
//	v               earlier than v  stale
//	v               none            stale (it cannot be shown to be newer)
//	none            v               updated (the alert gained a version)
//	none            none            duplicate if the content is the same, else updated
//
// Repeats within one batch follow the same rule in batch order. An updated
// alert keeps its CreatedDateTime and incident.
//
// Without a Correlator (Options.Correlator), every new alert forms an
// incident of its own, in the same transaction: named after the alert, with
// its severity, activity times, category, sources and entities, and an
// incidentCreated activity by weft correlation. With one, the Correlator
// places each new alert, in batch order, and the placement is applied in the
// same transaction (see place): a new incident as above, or the alert joins
// an incident, or incidents are merged. An update recomputes the aggregates
// of the alert's incident (severity is the highest of its alerts) and logs
// an alertUpdated activity; it keeps the alert's placement (incident and
// correlation reasons) and does not consult the Correlator.
//
// An alert with an Import (an incident export, weft.IncidentImport) is not
// placed by the Correlator: it goes into the incident that stands for its
// source incident, which the first such alert creates with the imported
// state, and the Correlator is told with Restore and SetIncident (see
// importAlert). A repeat keeps its incident, and its import's state is
// applied to the incident that stands for the source incident (see
// importStored).
//
// A tenant that an alert names and that does not exist yet is created, with
// its id as its name: alerts are accepted for any valid tenant id, and which
// tenants a sender may write to is the business of the ingest edge. The
// entities the alerts refer to are recorded (entities, alert_entities) with
// the event-time range in which they were seen. New alerts are also counted
// per tenant, detector and day of ingest (detector_counts, one upsert per
// detector and batch) for the prevalence Describe is given
// (DescribeInput.Prevalence).
//
// A tenant that is disabled (weft.Tenant.Disabled) takes no alerts, whatever
// path they come by (the API, weft ingest --data, an import): StoreAlerts
// refuses the batch with EINVALID naming the first alert of that tenant and
// the tenant, read in the batch's own transaction so that a tenant disabled
// while the batch waited for the write lock is refused too.
//
// StoreAlerts returns EINVALID for an alert that is not normalized (see
// weft.Alert.Normalize) or whose tenant id breaks the tenant id rule, the
// context's error when it is done before the commit, and EUNAVAILABLE after
// Close. It is safe for concurrent use: batches are written one at a time.
//
// # How it is fast
//
// The work is split in two. Encoding (validation, JSON, hashing, entity keys)
// runs on other goroutines, a chunk ahead of the writer (see encoding). The
// writer, holding the write lock, looks up all the batch's alerts with one
// query per tenant, allocates alert and incident ids itself (it is the only
// writer), resolves entity ids from an in-memory cache (see entityCache), and
// runs only prepared inserts: per new alert one row each in alerts,
// incidents, activities, plus one small all-integer alert_entities row per
// entity and an entities write per entity whose seen range grew. The inserts
// are written a chunk of rows per statement (see insertBuffer), the
// alert_entities rows of the batch in key order. With a Correlator, an alert
// that joins an incident adds only its own rows too; the incident's
// aggregates are recomputed from its alerts once per batch, and a merge (rare)
// flushes the buffers and moves the merged incident's alerts with one
// statement. An alert row is about half
// its JSON size, as its large values are compressed (see blob.go); what the
// writer pays per alert grows with the bytes it writes.
func (s *Store) StoreAlerts(ctx context.Context, alerts []*weft.Alert) ([]weft.StoreResult, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if len(alerts) == 0 {
		return []weft.StoreResult{}, nil
	}
	for i, a := range alerts {
		if a == nil {
			return nil, weft.Errorf(weft.EINVALID, "alert %d: is nil", i)
		}
		if err := validTenantID(a.TenantID); err != nil {
			return nil, weft.Errorf(weft.EINVALID, "alert %d: %s", i, weft.ErrorMessage(err))
		}
		// Checked again by the encoders, but checking first refuses an
		// invalid batch before the Correlator places any of it, which
		// would leave the Correlator to be rebuilt (see place). It costs a
		// hash of the id per alert.
		if err := checkNormalized(a); err != nil {
			return nil, weft.Errorf(weft.EINVALID, "alert %d: %s", i, err)
		}
		if a.Import != nil {
			if err := a.Import.Check(); err != nil {
				return nil, weft.Errorf(weft.EINVALID, "alert %d: incident import: %s", i, err)
			}
		}
	}
	enc := encodeAlerts(alerts)
	defer enc.wait()

	if err := s.lockWriter(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: store alerts: %w", err)
	}
	defer s.unlockWriter()
	if s.corr != nil && s.corrStale {
		if err := s.rebuild(ctx); err != nil {
			return nil, err
		}
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: store alerts: begin: %w", err)
	}
	defer tx.Rollback()
	if s.corr != nil {
		// The transaction holds the write lock, so no other process can
		// commit from here on; if one did since our last batch, the
		// Correlator is behind the file and is rebuilt first.
		var dv int64
		if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
			return nil, fmt.Errorf("sqlite: store alerts: read data version: %w", err)
		}
		if dv != s.dataVersion {
			if err := s.rebuild(ctx); err != nil {
				return nil, err
			}
			s.dataVersion = dv
		}
	}
	w := &batchWriter{
		stmts:   s.bind(ctx, tx),
		now:     s.now().UTC().UnixNano(),
		known:   make(map[string]*storedAlert, len(alerts)),
		results: make([]weft.StoreResult, len(alerts)),
		tx:      tx,

		prunedDay: s.countsDay,

		// Imported alerts join incidents without a Correlator too.
		changed: map[int64]string{}, refresh: map[int64]bool{}, redirect: map[int64]int64{},
		joined: map[int64][]joinedAlert{}, full: map[int64]bool{}, cacheStage: map[cacheKey][]*weft.Alert{},
		noIncremental: s.noIncremental, incremental: &s.incremental,
	}
	if s.corr != nil {
		w.corr, w.describe, w.assets, w.corrStale = s.corr, s.describe, s.assets, &s.corrStale
		w.cache = s.cache
	}
	w.entities.init(&s.entities)
	st := w.stmts
	w.incidents = newInsertBuffer("incidents", st.insertIncident, st.insertIncidents, incidentParams, chunkIncidents)
	w.alertRows = newInsertBuffer("alerts", st.insertAlert, st.insertAlerts, alertParams, chunkAlerts)
	w.activities = newInsertBuffer("activities", st.insertActivity, st.insertActivities, activityParams, chunkActivities)
	w.alertEntityRows = newInsertBuffer("alert_entities", st.insertAlertEntity, st.insertAlertEntities, alertEntityParams, chunkAlertEntities)
	if err := w.write(ctx, alerts, enc); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: store alerts: commit: %w", err)
	}
	for k, alerts := range w.cacheStage { // committed: the cache may follow (alertcache.go)
		s.cache.put(k, alerts)
	}
	s.corrStale = false
	// A Correlator whose state has outgrown its windows (identifier tables
	// keep every alias ever seen) is rebuilt from the store before the next
	// batch, which frees what the windows no longer need.
	if nr, ok := s.corr.(interface{ NeedsRebuild() bool }); ok && nr.NeedsRebuild() {
		s.corrStale = true
	}
	s.countsDay = w.prunedDay
	w.entities.commit()
	s.ckpt.committed()
	return w.results, nil
}

// lockWriter takes the write lock, which serializes the write transactions of
// this Store and guards the state they share (the entity cache), waiting no
// longer than ctx allows.
func (s *Store) lockWriter(ctx context.Context) error {
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWriter() { <-s.writer }

// bind returns the write statements bound to tx.
func (s *Store) bind(ctx context.Context, tx *sql.Tx) *writeStmts {
	bound := &writeStmts{}
	src := s.stmts.all()
	for i, p := range bound.all() {
		*p = tx.StmtContext(ctx, *src[i])
	}
	return bound
}

// batchWriter writes one batch inside its transaction.
//
// Statements run with context.Background(): the driver starts a goroutine
// per statement to watch a cancellable context, which would cost more than
// most statements. Cancellation is instead checked between alerts, and the
// transaction (begun with the caller's context) is rolled back by
// database/sql when the context ends, so a cancelled batch stores nothing.
type batchWriter struct {
	stmts   *writeStmts
	now     int64
	results []weft.StoreResult

	// known holds, by tenant and alert id, the stored alerts that this batch
	// repeats (looked up once for the whole batch) and the alerts it wrote.
	known map[string]*storedAlert

	nextSeq, nextIncident int64
	entities              entityWriter
	args                  []any // reused for binding

	// tx runs the rarer statements. With a Correlator (see place), and for
	// imported alerts (see importAlert): changed holds the incidents whose alerts this batch changed (to their tenant),
	// refresh those of them whose aggregates must be recomputed, joined the
	// alerts that joined each of them, full those that cannot be updated
	// from their joined alerts alone (a merge moved alerts in, or an alert
	// was updated; see finishPlacements), and redirect the incidents the
	// batch merged into another. corrStale is the Store's: place sets it
	// before it consults the Correlator, and only a commit clears it.
	// noIncremental and incremental are the Store's.
	tx        *sql.Tx
	corr      weft.Correlator
	describe  func(DescribeInput) (string, *int, []weft.PriorityFactor)
	assets    assetIndex
	corrStale *bool
	changed   map[int64]string
	refresh   map[int64]bool
	joined    map[int64][]joinedAlert
	// cache is the store's alert cache; cacheStage what this batch will
	// put in it (nil: drop) once committed.
	cache         *alertCache
	cacheStage    map[cacheKey][]*weft.Alert
	full          map[int64]bool
	redirect      map[int64]int64
	noIncremental bool
	incremental   *int

	// imports are the source incidents the batch's alerts were imported
	// with, by tenant and key (see prepareImports).
	imports map[string]*importState

	// counts are the batch's new alerts by tenant and detector (see
	// countDetector), written to detector_counts before the incidents are
	// described; prunedDay is the Store's countsDay. shares caches what
	// Prevalence read, and countErr is its first read error.
	counts    map[detectorCount]int64
	prunedDay int64
	shares    map[string]*tenantCounts
	countErr  error

	// The rows this batch has yet to insert (see flush). The alert_entities
	// rows wait in alertEntities until flush sorts them.
	incidents, alertRows, activities, alertEntityRows insertBuffer
	alertEntities                                     []alertEntityRow
}

// alertEntityRow is one row of alert_entities.
type alertEntityRow struct {
	tenant                            string
	entity, firstActivity, seq, roles int64
}

// storedAlert is what deciding and applying a repeat needs of a stored alert.
type storedAlert struct {
	seq, incidentID, created, firstActivity int64
	hash                                    []byte
	version                                 *int64 // provider_last_update
	// entityIDs are the ids of the alert's entities when this batch wrote
	// it; nil for an alert stored before the batch (they are then derived
	// from its stored evidence when needed).
	entityIDs []int64
}

var bg = context.Background()

func (w *batchWriter) write(ctx context.Context, alerts []*weft.Alert, enc *encoding) error {
	if err := w.prepare(alerts); err != nil {
		if weft.ErrorCode(err) == weft.EINVALID { // a disabled tenant: the client's error
			return err
		}
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if err := w.prepareImports(alerts); err != nil {
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if ra, ok := w.corr.(weft.ReadAhead); ok {
		ra.Ahead(alerts)
		defer ra.Ahead(nil)
	}
	for i, a := range alerts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sqlite: store alerts: %w", err)
			}
		}
		e, err := enc.get(i)
		if err != nil {
			return err // EINVALID from validation, or an encoding failure
		}
		key := a.TenantID + "\x00" + a.ID
		res := weft.StoreResult{AlertID: a.ID}
		switch old := w.known[key]; {
		case old == nil && a.Import != nil:
			res.Outcome = weft.OutcomeStored
			err = w.importAlert(e, key)
		case old == nil && w.corr != nil:
			res.Outcome = weft.OutcomeStored
			err = w.place(e, key)
		case old == nil:
			res.Outcome = weft.OutcomeStored
			err = w.insert(e, key)
		default:
			res.Outcome = decide(old, e)
			if res.Outcome == weft.OutcomeUpdated {
				err = w.update(e, old)
			}
			if err == nil && a.Import != nil {
				err = w.importStored(a, old)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlite: store alerts: alert %d (%s): %w", i, a.ID, err)
		}
		res.IncidentID = w.known[key].incidentID
		w.results[i] = res
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if err := w.writeCounts(); err != nil {
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if err := w.entities.flush(w.stmts); err != nil {
		return fmt.Errorf("sqlite: store alerts: %w", err)
	}
	if w.corr != nil || len(w.changed) > 0 {
		if err := w.finishPlacements(); err != nil {
			return fmt.Errorf("sqlite: store alerts: %w", err)
		}
	}
	return nil
}

// prepare creates missing tenants, looks up the stored alerts the batch
// repeats (one query per tenant in the batch) and reads where alert and
// incident ids continue.
func (w *batchWriter) prepare(alerts []*weft.Alert) error {
	hashes := make(map[string][]int64, 1)
	var tenants []string
	for _, a := range alerts {
		if _, ok := hashes[a.TenantID]; !ok {
			tenants = append(tenants, a.TenantID)
		}
		hashes[a.TenantID] = append(hashes[a.TenantID], idHash(a.ID))
	}
	for _, t := range tenants {
		if _, err := w.stmts.ensureTenant.ExecContext(bg, t, t, w.now); err != nil {
			return fmt.Errorf("create tenant %q: %w", t, err)
		}
		if err := checkTenantEnabled(w.tx, t, alerts); err != nil {
			return err
		}
		list, err := jsonv2.Marshal(hashes[t], jsonOpts)
		if err != nil {
			return fmt.Errorf("encode ids: %w", err)
		}
		if err := w.lookup(t, string(list)); err != nil {
			return err
		}
	}
	if err := w.stmts.maxIDs.QueryRowContext(bg).Scan(&w.nextSeq, &w.nextIncident); err != nil {
		return fmt.Errorf("read ids: %w", err)
	}
	w.nextSeq++
	w.nextIncident++
	return nil
}

// lookup reads the stored alerts of a tenant whose id hashes are in list.
// A hash may match an alert the batch does not hold; such rows are noted
// under their own id and never consulted.
func (w *batchWriter) lookup(tenant, list string) error {
	rows, err := w.stmts.lookupAlerts.QueryContext(bg, tenant, list)
	if err != nil {
		return fmt.Errorf("look up alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var incident, version sql.NullInt64
		old := &storedAlert{}
		if err := rows.Scan(&id, &old.seq, &incident, &old.hash, &version, &old.created, &old.firstActivity); err != nil {
			return fmt.Errorf("look up alerts: %w", err)
		}
		old.incidentID = incident.Int64
		if version.Valid {
			old.version = &version.Int64
		}
		w.known[tenant+"\x00"+id] = old
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up alerts: %w", err)
	}
	return nil
}

// decide applies the repeat rule of StoreAlerts (see its table).
func decide(old *storedAlert, e *encodedAlert) weft.StoreOutcome {
	version := versionOf(e.a)
	switch {
	case old.version != nil && version != nil:
		switch {
		case *version > *old.version:
			return weft.OutcomeUpdated
		case *version < *old.version:
			return weft.OutcomeStale
		}
		return weft.OutcomeDuplicate
	case old.version != nil: // the repeat has no version
		return weft.OutcomeStale
	case bytes.Equal(old.hash, e.hash):
		return weft.OutcomeDuplicate
	}
	return weft.OutcomeUpdated
}

// insert writes a new alert, the incident it forms, the incident's first
// activity and the alert's entities.
func (w *batchWriter) insert(e *encodedAlert, key string) error {
	a := e.a
	w.countDetector(a)
	seq, incident := w.nextSeq, w.nextIncident
	w.nextSeq++
	w.nextIncident++
	first, last := nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime)
	if err := w.incidents.add(incident, a.TenantID, a.Title, e.severity,
		w.now, w.now, first, last, jsonText(e.categories), jsonText(e.serviceSources),
		jsonText(e.detectionSources), jsonText(e.impacted)); err != nil {
		return err
	}
	w.args = append(w.args[:0], seq, a.TenantID, a.ID, e.idHash, a.Source, a.ProviderAlertID, incident, nanos(a.CreatedDateTime))
	if err := w.alertRows.add(append(w.args, e.cols...)...); err != nil {
		return err
	}
	if err := w.activities.add(a.TenantID, incident, w.now, weft.ActorCorrelation,
		weft.ActivityIncidentCreated, "Incident created from alert "+a.ID+": "+truncate(a.Title, 256), a.ID); err != nil {
		return err
	}
	ids, err := w.insertEntities(e, seq)
	if err != nil {
		return err
	}
	w.known[key] = &storedAlert{seq: seq, incidentID: incident, hash: e.hash, version: versionOf(a),
		created: nanos(a.CreatedDateTime), firstActivity: first, entityIDs: ids}
	return nil
}

// update replaces a stored alert with a newer version and refreshes its
// incident.
func (w *batchWriter) update(e *encodedAlert, old *storedAlert) error {
	a := e.a
	// The alert, its incident and its entity rows may still be pending.
	if err := w.flush(); err != nil {
		return err
	}
	if old.entityIDs == nil {
		ids, err := w.storedEntityIDs(a.TenantID, old.seq)
		if err != nil {
			return err
		}
		old.entityIDs = ids
	}
	for _, id := range old.entityIDs {
		if _, err := w.stmts.deleteAlertEntity.ExecContext(bg, a.TenantID, id, old.firstActivity, old.seq); err != nil {
			return fmt.Errorf("delete alert entity: %w", err)
		}
	}
	w.args = append(w.args[:0], e.cols...)
	w.args = append(w.args, old.seq, a.TenantID)
	if w.corr != nil {
		// The placement's reasons stay with the alert.
		var reasons sql.NullString
		var correlation string
		if err := w.stmts.alertCorrelation.QueryRowContext(bg, old.seq, a.TenantID).Scan(&reasons, &correlation); err != nil {
			return fmt.Errorf("read alert correlation: %w", err)
		}
		w.args[colReasons], w.args[colCorrelation] = nil, correlation
		if reasons.Valid {
			w.args[colReasons] = reasons.String
		}
	}
	if _, err := w.stmts.updateAlert.ExecContext(bg, w.args...); err != nil {
		return fmt.Errorf("update alert: %w", err)
	}
	ids, err := w.insertEntities(e, old.seq)
	if err != nil {
		return err
	}
	old.hash, old.version, old.entityIDs = e.hash, versionOf(a), ids
	old.firstActivity = nanos(a.FirstActivityDateTime)
	if old.incidentID != 0 {
		if err := w.refreshIncident(a.TenantID, old.incidentID); err != nil {
			return err
		}
		if w.corr != nil {
			w.changed[old.incidentID] = a.TenantID
			// The stored aggregates now count the alerts that joined
			// the incident so far in this batch.
			w.full[old.incidentID] = true
		}
		if err := w.activities.add(a.TenantID, old.incidentID, w.now, weft.ActorCorrelation, weft.ActivityAlertUpdated,
			"Alert "+a.ID+" updated by its source: "+truncate(a.Title, 256), a.ID); err != nil {
			return err
		}
	}
	return nil
}

// storedEntityIDs returns the ids of a stored alert's entities, derived from
// its stored evidence by the function that derived its alert_entities rows.
// (Should the identity rules ever change, a migration must rebuild
// alert_entities.)
func (w *batchWriter) storedEntityIDs(tenant string, seq int64) ([]int64, error) {
	var format int64
	var evidence []byte
	if err := w.stmts.alertEvidence.QueryRowContext(bg, seq, tenant).Scan(&format, &evidence); err != nil {
		return nil, fmt.Errorf("read stored evidence: %w", err)
	}
	evidence, err := unpackBlob(format, evidence)
	if err != nil {
		return nil, fmt.Errorf("read stored evidence: %w", err)
	}
	var stored weft.Alert
	if err := unmarshalNonEmpty(evidence, &stored.Evidence); err != nil {
		return nil, fmt.Errorf("read stored evidence: %w", err)
	}
	ids := []int64{}
	keys := []string{}
	for _, r := range alertEntities(&stored) {
		keys = append(keys, r.Key)
	}
	// Registry keys and values were identified by their path alone before
	// the device became part of their identity (identity.go, onDevice):
	// alerts stored then have rows under the path-only key.
	for i := range stored.Evidence {
		e := &stored.Evidence[i]
		if (e.EntityType == weft.EntityRegistryKey || e.EntityType == weft.EntityRegistryValue) && e.MdeDeviceID != "" {
			// A new record of the path alone, so that no identifiers cached
			// for the device-scoped form answer for it.
			old := weft.Evidence{EntityType: e.EntityType, RegistryHive: e.RegistryHive, RegistryKey: e.RegistryKey, RegistryValueName: e.RegistryValueName}
			if k := old.Key(); k != "" {
				keys = append(keys, k)
			}
		}
	}
	for _, k := range keys {
		id, ok, err := w.entities.find(w.stmts, tenant, k)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// insertEntities records the alert's entities (see entityWriter) and writes
// its alert_entities rows. It returns the entities' ids.
func (w *batchWriter) insertEntities(e *encodedAlert, seq int64) ([]int64, error) {
	a := e.a
	first, last := nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime)
	ids := make([]int64, len(e.entities))
	for i := range e.entities {
		r := &e.entities[i]
		id, err := w.entities.sighting(w.stmts, a.TenantID, r.EntityRef, first, last)
		if err != nil {
			return nil, err
		}
		ids[i] = id
		w.alertEntities = append(w.alertEntities, alertEntityRow{a.TenantID, id, first, seq, r.roles})
	}
	// The identifiers each record carried besides its key, for the
	// identifier index (entity_identifiers; see FindEntity).
	for i := range a.Evidence {
		ev := &a.Evidence[i]
		xs := ev.Identifiers()
		if len(xs) < 2 {
			continue
		}
		for j := range e.entities {
			if k := e.entities[j].Key; isKeyOf(k, xs[0]) {
				w.entities.identifiers(a.TenantID, k, xs[1:], ev.IdentifierHashes()[1:])
				break
			}
		}
	}
	return ids, nil
}

// isKeyOf reports whether key is x.String(), without building it.
func isKeyOf(key string, x weft.Identifier) bool {
	return len(key) == len(x.Kind)+1+len(x.Value) && key[len(x.Kind)] == ':' &&
		key[:len(x.Kind)] == string(x.Kind) && key[len(x.Kind)+1:] == x.Value
}

// flush writes the rows the batch has inserted so far (see insertBuffer).
// The alert_entities rows are written last and in key order, as they go to
// places all over the b-tree: in order, consecutive rows mostly go to the
// same page.
func (w *batchWriter) flush() error {
	for _, b := range []*insertBuffer{&w.incidents, &w.alertRows, &w.activities} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	rows := w.alertEntities
	if len(rows) == 0 {
		return nil
	}
	w.alertEntities = rows[:0]
	slices.SortFunc(rows, func(x, y alertEntityRow) int {
		return cmp.Or(cmp.Compare(x.entity, y.entity), cmp.Compare(x.firstActivity, y.firstActivity), cmp.Compare(x.seq, y.seq))
	})
	for _, r := range rows {
		if err := w.alertEntityRows.add(r.tenant, r.entity, r.firstActivity, r.seq, r.roles); err != nil {
			return err
		}
	}
	return w.alertEntityRows.flush()
}

// alertArgs appends the values of alertColumns.
func alertArgs(args []any, e *encodedAlert) []any {
	a := e.a
	return append(args,
		a.Title, e.severity, string(a.Status), string(a.Classification), string(a.Determination), a.AssignedTo,
		a.Category, a.ServiceSource, a.DetectionSource, a.ProductName, a.DetectorID,
		nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime), nanos(a.LastUpdateDateTime),
		nullNanos(a.ResolvedDateTime), nullNanos(a.ProviderCreatedDateTime), nullNanos(a.ProviderLastUpdateDateTime),
		e.hash, a.AlertPolicyID, a.ActorDisplayName, a.ThreatDisplayName, a.ThreatFamilyName,
		a.AlertWebURL, jsonText(e.mitre), jsonText(e.systemTags), jsonText(e.reasons), a.Correlation, jsonText(e.comments),
		a.Description, a.RecommendedActions, blobFormatPacked,
		nullBytes(packBlob(a.AdditionalData)), nullBytes(packBlob(e.evidence)), nullBytes(packBlob(a.Raw)))
}

// nullBytes binds an empty value as NULL, so that it reads back as nil, and
// any other as a BLOB, kept byte for byte.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonText binds JSON as TEXT, NULL when empty. (A BLOB would be taken for
// SQLite's binary JSONB by the json functions.)
func jsonText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func versionOf(a *weft.Alert) *int64 {
	if t := a.ProviderLastUpdateDateTime; t != nil && !t.IsZero() {
		v := t.UnixNano()
		return &v
	}
	return nil
}
