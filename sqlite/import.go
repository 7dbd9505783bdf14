package sqlite

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// This file imports incidents from another system with their alerts
// (weft.IncidentImport, carried by Alert.Import: a Microsoft Graph incident
// export). The source decided the grouping, so an imported alert is not
// placed by the Correlator: it goes into the weft incident that stands for
// its source incident (table incident_imports), and the Correlator is told
// with Restore, as at start-up, and with SetIncident for the imported state,
// so that live alerts correlate with imported incidents afterwards (and a
// resolved one is never reopened).
//
// The rules, which make a re-import of the same export change nothing:
//
//   - The weft incident of a source incident is made by the first of its
//     alerts that the store sees new, with the imported state (status,
//     classification, determination, assignee, tags, comments, name,
//     description, resolving comment; its created time is the source's), or,
//     when an alert of it is already stored, it is that alert's incident
//     (adopted: the imported state is then applied to it).
//   - A stored alert never moves: a repeat keeps its incident, whatever
//     incident the export now puts it in. When the source moved an alert or
//     merged incidents since an earlier import, the alert stays where weft
//     put it, and a source incident seen for the first time adopts the
//     incident of its first stored alert; moving alerts is an analyst's
//     action in weft, as in Defender.
//   - The state is applied again to a mapped incident only when the import's
//     LastUpdateDateTime is later than at the last import; a field the import
//     leaves empty keeps the stored value. Comments are merged on every
//     import; one with the same time, author and text is kept once.
//   - A mapped incident that weft merged into another since is followed to
//     the incident it was merged into.

// importState is what a batch knows of one source incident: the weft
// incident that stands for it and the version of the state last applied.
type importState struct {
	incident int64  // 0 until known or made
	mapped   bool   // incident_imports has its row
	version  *int64 // source_last_update of that row
	// applied is the import whose state this batch applied last: the alerts
	// of one exported incident share one.
	applied *weft.IncidentImport
}

func importKey(a *weft.Alert) string { return a.TenantID + "\x00" + a.Import.Key() }

// prepareImports finds, for every source incident the batch's alerts were
// imported with, the weft incident that stands for it (following merges),
// and for one that has none, the incident of the first of its alerts in
// batch order that is already stored. It runs before the batch writes.
func (w *batchWriter) prepareImports(alerts []*weft.Alert) error {
	for _, a := range alerts {
		if a.Import == nil {
			continue
		}
		k := importKey(a)
		st := w.imports[k]
		if st == nil {
			st = &importState{}
			if w.imports == nil {
				w.imports = map[string]*importState{}
			}
			w.imports[k] = st
			var version sql.NullInt64
			err := w.tx.QueryRowContext(bg, `SELECT incident_id, source_last_update FROM incident_imports
				WHERE tenant_id = ? AND source_key = ?`, a.TenantID, a.Import.Key()).Scan(&st.incident, &version)
			switch {
			case err == nil:
				st.mapped = true
				if version.Valid {
					st.version = &version.Int64
				}
			case !errNotFound(err):
				return fmt.Errorf("read incident import %q: %w", a.Import.Key(), err)
			}
		}
		if st.incident == 0 {
			if old := w.known[a.TenantID+"\x00"+a.ID]; old != nil {
				st.incident = old.incidentID
			}
		}
	}
	for k, st := range w.imports {
		if st.incident == 0 {
			continue
		}
		tenant, _, _ := strings.Cut(k, "\x00")
		live, err := w.storedLive(tenant, st.incident)
		if err != nil {
			return err
		}
		st.incident = live
	}
	return nil
}

// storedLive follows a stored incident's redirects (merges) to the incident
// that holds its alerts now.
func (w *batchWriter) storedLive(tenant string, id int64) (int64, error) {
	for range 1000 { // a redirect never points back; the bound only guards a damaged file
		var status string
		var redirect sql.NullInt64
		err := w.tx.QueryRowContext(bg, `SELECT status, redirect_incident_id FROM incidents WHERE tenant_id = ? AND id = ?`,
			tenant, id).Scan(&status, &redirect)
		if err != nil {
			return 0, fmt.Errorf("read incident %d: %w", id, err)
		}
		if status != string(weft.IncidentStatusRedirected) || !redirect.Valid {
			return id, nil
		}
		id = redirect.Int64
	}
	return id, nil
}

// follow follows the merges this batch made.
func (w *batchWriter) follow(id int64) int64 {
	for {
		to, ok := w.redirect[id]
		if !ok {
			return id
		}
		id = to
	}
}

// importAlert writes a new imported alert into the incident that stands for
// its source incident, creating that incident first if there is none, and
// tells the Correlator (Restore) instead of asking it.
func (w *batchWriter) importAlert(e *encodedAlert, key string) error {
	a := e.a
	st := w.imports[importKey(a)]
	w.countDetector(a)
	seq := w.nextSeq
	w.nextSeq++
	if w.corr != nil {
		// As in place: until the commit the Correlator may hold what is not
		// stored.
		*w.corrStale = true
	}
	explanation := "imported with its incident " + a.Import.Key()
	incident := w.follow(st.incident)
	created := incident == 0
	if created {
		incident = w.allocIncident()
		st.incident = incident
		if err := w.createImported(e, incident); err != nil {
			return err
		}
	} else {
		if err := w.activities.add(a.TenantID, incident, w.now, weft.ActorImport, weft.ActivityAlertAdded,
			"Alert "+a.ID+" "+explanation+": "+truncate(a.Title, 256), a.ID); err != nil {
			return err
		}
		w.refresh[incident] = true
		w.joined[incident] = append(w.joined[incident], joinedAlert{e: e, seq: seq, stored: storedForm(a, incident, nil, explanation)})
	}
	w.changed[incident] = a.TenantID

	w.args = append(w.args[:0], seq, a.TenantID, a.ID, e.idHash, a.Source, a.ProviderAlertID, incident, nanos(a.CreatedDateTime))
	w.args = append(w.args, e.cols...)
	w.args[8+colReasons], w.args[8+colCorrelation] = nil, explanation
	if err := w.alertRows.add(w.args...); err != nil {
		return err
	}
	ids, err := w.insertEntities(e, seq)
	if err != nil {
		return err
	}
	w.known[key] = &storedAlert{seq: seq, incidentID: incident, hash: e.hash, version: versionOf(a),
		created: nanos(a.CreatedDateTime), firstActivity: nanos(a.FirstActivityDateTime), entityIDs: ids}
	if w.corr != nil {
		w.corr.Restore(a, incident)
	}
	return w.applyImport(a, st, incident, created)
}

// importStored applies the import of a repeat of a stored alert, which keeps
// its incident: a source incident without a weft incident adopts the
// alert's.
func (w *batchWriter) importStored(a *weft.Alert, old *storedAlert) error {
	st := w.imports[importKey(a)]
	if st.incident == 0 {
		st.incident = old.incidentID
	}
	if st.incident == 0 {
		return nil // an alert stored before incidents existed: nothing to adopt
	}
	if w.corr != nil {
		*w.corrStale = true
	}
	return w.applyImport(a, st, w.follow(st.incident), false)
}

// createImported inserts the incident that a source incident's first new
// alert makes, with the imported state and the alert's aggregates, and logs
// its creation.
func (w *batchWriter) createImported(e *encodedAlert, incident int64) error {
	a, imp := e.a, e.a.Import
	name, locked := imp.DisplayName, true
	if name == "" {
		name, locked = a.Title, false
	}
	s := importedState(imp)
	tags := [2]any{}
	for i, l := range [][]string{imp.CustomTags, imp.SystemTags} {
		b, err := marshalList(l)
		if err != nil {
			return fmt.Errorf("encode tags of incident %d: %w", incident, err)
		}
		tags[i] = jsonText(b)
	}
	comments, _ := mergeComments(nil, imp.Comments)
	cjs, err := marshalComments(comments)
	if err != nil {
		return fmt.Errorf("encode comments of incident %d: %w", incident, err)
	}
	created := w.now
	if t := imp.CreatedDateTime; t != nil && !t.IsZero() && t.UnixNano() < w.now {
		created = t.UnixNano()
	}
	if _, err := w.tx.ExecContext(bg, `INSERT INTO incidents (id, tenant_id, display_name, name_locked, description,
		severity, status, classification, determination, assigned_to, custom_tags, system_tags, comments, resolving_comment,
		created, last_update, first_activity, last_activity, alert_count, categories, service_sources, detection_sources,
		impacted_entities, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 1)`,
		incident, a.TenantID, name, locked, imp.Description, e.severity, string(s.Status), string(s.Classification),
		string(s.Determination), s.AssignedTo, tags[0], tags[1], cjs, imp.ResolvingComment, created, w.now,
		nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime), jsonText(e.categories), jsonText(e.serviceSources),
		jsonText(e.detectionSources), jsonText(e.impacted)); err != nil {
		return fmt.Errorf("insert imported incident %d: %w", incident, err)
	}
	return w.activities.add(a.TenantID, incident, w.now, weft.ActorImport, weft.ActivityIncidentCreated,
		"Incident imported from "+truncate(imp.Key(), 256)+" ("+truncate(name, 256)+") with alert "+a.ID+": "+truncate(a.Title, 256), a.ID)
}

// importedState is the state a new incident gets from an import: what the
// import says, else weft's defaults.
func importedState(imp *weft.IncidentImport) weft.IncidentState {
	s := weft.IncidentState{Status: imp.Status, Classification: imp.Classification,
		Determination: imp.Determination, AssignedTo: imp.AssignedTo}
	if s.Status == "" {
		s.Status = weft.IncidentStatusActive
	}
	if s.Classification == "" {
		s.Classification = weft.ClassificationUnknown
	}
	if s.Determination == "" {
		s.Determination = weft.DeterminationUnknown
	}
	return s
}

// applyImport records the source incident's weft incident (incident_imports)
// the first time, and applies the import's state to incident when it is
// newer than the state applied before (see the rules at the top of this
// file), or, for a new incident, tells the Correlator the state it was
// created with.
func (w *batchWriter) applyImport(a *weft.Alert, st *importState, incident int64, created bool) error {
	imp := a.Import
	if st.applied == imp {
		return nil
	}
	st.applied = imp
	var version any
	newer := false
	if t := imp.LastUpdateDateTime; t != nil && !t.IsZero() {
		v := t.UnixNano()
		version, newer = v, st.version == nil || v > *st.version
	}
	var state *weft.IncidentState
	switch {
	case created:
		s := importedState(imp)
		state = &s
	default:
		var err error
		if state, err = w.setImported(a.TenantID, incident, imp, !st.mapped || newer); err != nil {
			return err
		}
	}
	switch {
	case !st.mapped:
		if _, err := w.tx.ExecContext(bg, `INSERT INTO incident_imports (tenant_id, source_key, incident_id, source_last_update, created)
			VALUES (?, ?, ?, ?, ?)`, a.TenantID, imp.Key(), incident, version, w.now); err != nil {
			return fmt.Errorf("record incident import %q: %w", imp.Key(), err)
		}
		st.mapped = true
	case newer:
		if _, err := w.tx.ExecContext(bg, `UPDATE incident_imports SET source_last_update = ? WHERE tenant_id = ? AND source_key = ?`,
			version, a.TenantID, imp.Key()); err != nil {
			return fmt.Errorf("record incident import %q: %w", imp.Key(), err)
		}
	}
	if newer {
		v := version.(int64)
		st.version = &v
	}
	if state != nil && w.corr != nil {
		state.ID = incident
		w.corr.SetIncident(a.TenantID, *state)
	}
	return nil
}

// setImported applies an import to a stored incident: with withState its
// state (a field the import leaves empty keeps the stored value), and in any
// case its comments, merged. It writes and logs only what changes, and
// returns the incident's state when withState is set.
func (w *batchWriter) setImported(tenant string, id int64, imp *weft.IncidentImport, withState bool) (*weft.IncidentState, error) {
	// The incident and its activities may be waiting in the insert buffers.
	if err := w.flush(); err != nil {
		return nil, err
	}
	var (
		before, after                         weft.Incident
		status, classification, determination string
		customTags, systemTags, commentsJS    sql.NullString
		locked                                bool
	)
	if err := w.tx.QueryRowContext(bg, `SELECT display_name, name_locked, description, status, classification,
		determination, assigned_to, custom_tags, system_tags, comments, resolving_comment
		FROM incidents WHERE id = ? AND tenant_id = ?`, id, tenant).Scan(&before.DisplayName, &locked, &before.Description,
		&status, &classification, &determination, &before.AssignedTo, &customTags, &systemTags, &commentsJS,
		&before.ResolvingComment); err != nil {
		return nil, fmt.Errorf("read incident %d: %w", id, err)
	}
	before.Status, before.Classification, before.Determination = weft.IncidentStatus(status), weft.Classification(classification), weft.Determination(determination)
	for _, c := range []struct {
		js  sql.NullString
		dst any
	}{{customTags, &before.CustomTags}, {systemTags, &before.SystemTags}, {commentsJS, &before.Comments}} {
		if err := unmarshalNonEmpty([]byte(c.js.String), c.dst); err != nil {
			return nil, fmt.Errorf("read incident %d: %w", id, err)
		}
	}
	after = before
	var changed []string
	set := func(name string, dst *string, v string) {
		if v != "" && v != *dst {
			*dst = v
			changed = append(changed, name)
		}
	}
	if withState {
		set("displayName", &after.DisplayName, imp.DisplayName)
		set("description", &after.Description, imp.Description)
		set("status", (*string)(&after.Status), string(imp.Status))
		set("classification", (*string)(&after.Classification), string(imp.Classification))
		set("determination", (*string)(&after.Determination), string(imp.Determination))
		set("assignedTo", &after.AssignedTo, imp.AssignedTo)
		set("resolvingComment", &after.ResolvingComment, imp.ResolvingComment)
		for _, l := range []struct {
			name string
			dst  *[]string
			v    []string
		}{{"customTags", &after.CustomTags, imp.CustomTags}, {"systemTags", &after.SystemTags, imp.SystemTags}} {
			if len(l.v) > 0 && !slices.Equal(*l.dst, l.v) {
				*l.dst = l.v
				changed = append(changed, l.name)
			}
		}
	}
	var added int
	after.Comments, added = mergeComments(before.Comments, imp.Comments)
	if added > 0 {
		changed = append(changed, strconv.Itoa(added)+" comments added")
	}
	if len(changed) > 0 {
		if err := w.writeImported(tenant, id, imp, &before, &after, changed, locked || after.DisplayName != before.DisplayName); err != nil {
			return nil, err
		}
	}
	if !withState {
		return nil, nil
	}
	return &weft.IncidentState{Status: after.Status, AssignedTo: after.AssignedTo,
		Classification: after.Classification, Determination: after.Determination}, nil
}

// writeImported stores the state setImported computed and logs it.
func (w *batchWriter) writeImported(tenant string, id int64, imp *weft.IncidentImport, before, after *weft.Incident, changed []string, locked bool) error {
	vals := make([]any, 3)
	for i, l := range [][]string{after.CustomTags, after.SystemTags} {
		b, err := marshalList(l)
		if err != nil {
			return fmt.Errorf("encode tags of incident %d: %w", id, err)
		}
		vals[i] = jsonText(b)
	}
	cjs, err := marshalComments(after.Comments)
	if err != nil {
		return fmt.Errorf("encode comments of incident %d: %w", id, err)
	}
	vals[2] = cjs
	if _, err := w.tx.ExecContext(bg, `UPDATE incidents SET display_name = ?, name_locked = ?, description = ?, status = ?,
		classification = ?, determination = ?, assigned_to = ?, custom_tags = ?, system_tags = ?, comments = ?,
		resolving_comment = ?, last_update = ?, version = version + 1 WHERE id = ? AND tenant_id = ?`,
		after.DisplayName, locked, after.Description, string(after.Status), string(after.Classification),
		string(after.Determination), after.AssignedTo, vals[0], vals[1], vals[2], after.ResolvingComment,
		w.now, id, tenant); err != nil {
		return fmt.Errorf("update imported incident %d: %w", id, err)
	}
	msg := "Imported from " + truncate(imp.Key(), 256)
	if t := imp.LastUpdateDateTime; t != nil {
		msg += " (last updated there " + t.UTC().Format("2006-01-02T15:04:05Z07:00") + ")"
	}
	msg += ": " + strings.Join(changed, ", ")
	state := func(inc *weft.Incident) string {
		b, err := jsonv2.Marshal(map[string]string{"status": string(inc.Status), "classification": string(inc.Classification),
			"determination": string(inc.Determination), "assignedTo": inc.AssignedTo}, jsonOpts, jsonv2.Deterministic(true))
		if err != nil {
			return ""
		}
		return string(b)
	}
	if _, err := w.tx.ExecContext(bg, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message, before, after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tenant, id, w.now, weft.ActorImport, weft.ActivityIncidentImported, msg,
		state(before), state(after)); err != nil {
		return fmt.Errorf("log import of incident %d: %w", id, err)
	}
	w.changed[id] = tenant
	return nil
}

// mergeComments returns stored with the comments of imported that it does
// not hold yet (same time, author and text), in time order, and how many
// were added.
func mergeComments(stored, imported []weft.Comment) ([]weft.Comment, int) {
	out := slices.Clone(stored)
	added := 0
	for _, c := range imported {
		if !slices.ContainsFunc(out, func(x weft.Comment) bool {
			return x.CreatedDateTime.Equal(c.CreatedDateTime) && x.CreatedByDisplayName == c.CreatedByDisplayName && x.Comment == c.Comment
		}) {
			out = append(out, c)
			added++
		}
	}
	if added > 0 {
		slices.SortStableFunc(out, func(x, y weft.Comment) int { return x.CreatedDateTime.Compare(y.CreatedDateTime) })
	}
	return out, added
}

// marshalComments encodes comments as the incidents.comments column (NULL
// when there are none).
func marshalComments(l []weft.Comment) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := jsonv2.Marshal(l, jsonOpts)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
