package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
)

var _ weft.EntityStore = (*Store)(nil)

// FindEntity returns the entity page of an entity of a tenant (see
// weft.EntityStore), read in one read transaction. It is safe for
// concurrent use and never waits for the writer.
//
// The store keeps an entity under the key of each evidence record
// (weft.Evidence.Key, table entities): a device named by its MDE id and FQDN
// is stored under its MDE id, and named by its FQDN alone under its FQDN.
// Every other identifier a record carried is in entity_identifiers under
// the row of the record's key (written by the write path, and for alerts
// stored before migration 0010 by the backfill at Open). FindEntity
// resolves the request into one identity as correlation's identity
// resolution does (correlate/identity.go), from that index
// (entities_resolve.go):
//
//  1. Seeds: the rows keyed by an identifier that id may be
//     (weft.EntityIdentifiers) and the rows whose records carried a strong
//     one; the rows whose readable name is id or the value of such an
//     identifier (ASCII case-insensitively); and the assets of the tenant
//     whose id, display name or an identifier is id.
//  2. Names: the strong identifiers of the rows found (their keys and the
//     identifiers their records carried) and of the assets found lead to
//     the rows keyed by them or whose records carried them, and to the
//     assets that carry them, and those rows' identifiers in turn: at most
//     resolveRounds rounds and resolveRows rows, after which the page says
//     IdentityTruncated. The identifiers found are then partitioned as
//     the engine partitions them: a row's key with each strong identifier
//     its records carried, an asset's identifiers, a UPN with the mail
//     address of the same value (rules 1 and 5), refusing a union that
//     would give an identity two values of a single-valued kind (rule 3:
//     two MDE ids, FQDNs, SIDs, UPNs…), and never across entity classes
//     (rule 4). Assets are applied first and rows in the order they were
//     first stored, so that a contested identifier goes to the identity of
//     the earliest row that carried it; the engine gives it to the
//     identity of the first record it observed (within its windows), so
//     the two may differ for such an identifier, and only for one.
//  3. Choice: the identity that contains a strong identifier id may be
//     (several: ambiguous, EINVALID naming them). Otherwise the identities
//     of the rows and assets id named (by readable name or asset) and the
//     identities the weak names id may be (a short host name, a bare
//     account name) were seen with: the rows whose records carried them.
//     One is the answer; several are ambiguous; none leaves the rows keyed
//     by those weak names, if any (else ENOTFOUND). A request that is a
//     weak key itself ("device.hostname:srv-1") names its row: it gets the
//     identity only when there is exactly one, and its row otherwise.
//  4. Weak names: a weak name belongs to the identity (with its row) when
//     every row whose records carried it is of the identity (rule 2) and
//     at most resolveWeakRows rows did.
//
// The lookups are index searches: entities by (tenant, key), (tenant,
// name) and id, entity_identifiers by (tenant, identifier) and by entity;
// only the assets are walked (per tenant, as criticalityLookup does).
//
// The page then reads, for the identity's rows: the counts (alerts
// from alert_entities; incidents from the alerts' rows, one rowid lookup
// per alert, nothing loaded), the requested page of alerts (each row's
// newest skip+top+1 from alert_entities, merged), and the
// MaxEntityIncidents incidents it was most recently seen in (see
// incidents).
func (s *Store) FindEntity(ctx context.Context, tenantID string, typ weft.EntityType, id string, q weft.EntityAlertQuery) (*weft.EntityView, error) {
	id, err := weft.CheckEntityRequest(typ, id)
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(q.Top, q.Skip)
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: find entity: %w", err)
	}
	defer tx.Rollback()
	r := newResolver(ctx, tx, tenantID, typ)
	ident, err := r.resolve(id)
	if err != nil {
		return nil, wrapEntityErr(err)
	}
	v, err := r.view(ident, q.Skip, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find entity %s %q: %w", typ, truncate(id, 80), err)
	}
	return v, nil
}

func wrapEntityErr(err error) error {
	if weft.ErrorCode(err) != weft.EINTERNAL {
		return err
	}
	return fmt.Errorf("sqlite: find entity: %w", err)
}

// entityRow is one row of entities.
func (r *resolver) view(ident *identity, skip, limit int) (*weft.EntityView, error) {
	v := &weft.EntityView{EntityType: r.typ, Key: canonicalKey(r.strongOf(ident.ids)), ContainmentState: weft.ContainmentNone,
		Aliases: []string{}, Alerts: []weft.EntityAlert{}, Incidents: []weft.EntityIncident{}}
	if v.Key == "" {
		v.Key = canonicalKey(ident.ids)
	}
	slices.SortFunc(ident.rows, func(a, b *entityRow) int { return cmp.Compare(a.id, b.id) })
	latest := ident.rows[0]
	for _, row := range ident.rows {
		if row.last > latest.last {
			latest = row
		}
	}
	v.Name = latest.name
	v.IdentityTruncated = r.truncated
	first, last := ident.rows[0].first, ident.rows[0].last
	aliases := map[string]bool{}
	for _, row := range ident.rows {
		first, last = min(first, row.first), max(last, row.last)
		aliases[row.key] = true
	}
	v.FirstSeen, v.LastSeen = fromNanos(first), fromNanos(last)
	for _, x := range ident.ids {
		aliases[x.String()] = true
	}

	// Criticality as the incident graph computes it, over every name.
	if len(ident.assets) > 0 {
		index := assetIndex{}
		for _, a := range ident.assets {
			index.put(r.tenant, a.ID, a.Criticality, a.Identifiers)
		}
		v.Criticality = index[r.tenant].criticality(ident.ids)
		best := ident.assets[0]
		for _, a := range ident.assets[1:] {
			if a.Criticality > best.Criticality {
				best = a
			}
		}
		v.AssetID, v.DeviceGroup = best.ID, best.DeviceGroup
		for _, a := range ident.assets {
			aliases[a.DisplayName] = true
		}
	}
	delete(aliases, v.Key)
	delete(aliases, "")
	for a := range aliases {
		v.Aliases = append(v.Aliases, a)
	}
	slices.Sort(v.Aliases)
	v.AliasCount = len(v.Aliases)
	if len(v.Aliases) > weft.MaxEntityAliases {
		v.Aliases = v.Aliases[:weft.MaxEntityAliases]
	}

	ids := make([]any, len(ident.rows))
	for i, row := range ident.rows {
		ids[i] = row.id
	}
	in := `(?` + repeatParams(len(ids)-1) + `)`
	count := `SELECT count(*) FROM alert_entities WHERE entity_id = ?`
	if len(ids) > 1 {
		count = `SELECT count(*) FROM (SELECT DISTINCT alert_seq FROM alert_entities WHERE entity_id IN ` + in + `)`
	}
	if err := r.tx.QueryRowContext(r.ctx, count, ids...).Scan(&v.AlertCount); err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	var err error
	if v.Alerts, v.MoreAlerts, err = r.alertPage(ident.rows, skip, limit); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if v.Incidents, v.IncidentCount, err = r.incidents(ident.rows, ids, in); err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return v, nil
}

// pageEntry is one alert of an entity row, as alert_entities holds it.
type pageEntry struct {
	first, seq, roles int64
}

// alertPage reads the alerts skip to skip+limit of the rows, newest first:
// each row's newest skip+limit+1 from alert_entities (an index walk from
// the end of the row's range), merged, without repeats (an alert whose
// evidence names two of the rows), then their columns by rowid.
func (r *resolver) alertPage(rows []*entityRow, skip, limit int) ([]weft.EntityAlert, bool, error) {
	want := skip + limit + 1
	bySeq := map[int64]*pageEntry{}
	var all []*pageEntry
	for _, row := range rows {
		rs, err := r.tx.QueryContext(r.ctx, `SELECT first_activity, alert_seq, roles FROM alert_entities
			WHERE entity_id = ? ORDER BY first_activity DESC, alert_seq DESC LIMIT ?`, row.id, want)
		if err != nil {
			return nil, false, err
		}
		for rs.Next() {
			var e pageEntry
			if err := rs.Scan(&e.first, &e.seq, &e.roles); err != nil {
				rs.Close()
				return nil, false, err
			}
			if old := bySeq[e.seq]; old != nil {
				old.roles |= e.roles
				continue
			}
			bySeq[e.seq] = &e
			all = append(all, &e)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, false, err
		}
	}
	slices.SortFunc(all, func(a, b *pageEntry) int { return cmp.Or(cmp.Compare(b.first, a.first), cmp.Compare(b.seq, a.seq)) })
	if skip >= len(all) {
		return []weft.EntityAlert{}, false, nil
	}
	all = all[skip:]
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	seqs := make([]any, 0, len(all)+1)
	seqs = append(seqs, r.tenant)
	for _, e := range all {
		seqs = append(seqs, e.seq)
	}
	rs, err := r.tx.QueryContext(r.ctx, `SELECT seq, id, title, severity, status, first_activity, incident_id
		FROM alerts WHERE tenant_id = ? AND seq IN (?`+repeatParams(len(all)-1)+`)`, seqs...)
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	found := map[int64]weft.EntityAlert{}
	for rs.Next() {
		var seq, severity, first int64
		var status string
		var incident sql.NullInt64
		var a weft.EntityAlert
		if err := rs.Scan(&seq, &a.ID, &a.Title, &severity, &status, &first, &incident); err != nil {
			return nil, false, err
		}
		a.Severity, a.Status, a.FirstActivityDateTime, a.IncidentID = severityOf(severity), weft.AlertStatus(status), fromNanos(first), incident.Int64
		found[seq] = a
	}
	if err := rs.Err(); err != nil {
		return nil, false, err
	}
	out := make([]weft.EntityAlert, 0, len(all))
	for _, e := range all {
		a, ok := found[e.seq]
		if !ok {
			continue // not of this tenant: cannot happen, entity ids are per tenant
		}
		a.Roles = rolesOf(e.roles)
		if a.Roles == nil {
			a.Roles = []weft.EvidenceRole{}
		}
		slices.Sort(a.Roles)
		out = append(out, a)
	}
	return out, more, nil
}

// incidents reads the incidents of the entity's alerts: their number, a
// count of the distinct incidents of all its alerts (one rowid lookup per
// alert, nothing loaded), and the MaxEntityIncidents in which it was most
// recently seen. Those are found by walking each row's alerts newest first
// (alert_entities) until it has named MaxEntityIncidents incidents: the
// union of the rows' walks holds the answer. Ordering by the incidents'
// own last activity instead would read every incident of the entity (an
// entity seen in 100,000 alerts may be in as many).
func (r *resolver) incidents(rows []*entityRow, ids []any, in string) ([]weft.EntityIncident, int64, error) {
	var total int64
	err := r.tx.QueryRowContext(r.ctx, `SELECT count(DISTINCT a.incident_id)
		FROM alert_entities AS ae CROSS JOIN alerts AS a ON a.seq = ae.alert_seq
		WHERE ae.entity_id IN `+in+` AND a.tenant_id = ?`, append(slices.Clone(ids), r.tenant)...).Scan(&total)
	if err != nil {
		return nil, 0, err
	}
	latest := map[int64]int64{} // incident → the entity's latest first activity in it
	for _, row := range rows {
		if err := r.walkIncidents(row, latest); err != nil {
			return nil, 0, err
		}
	}
	order := make([]int64, 0, len(latest))
	for id := range latest {
		order = append(order, id)
	}
	slices.SortFunc(order, func(a, b int64) int { return cmp.Or(cmp.Compare(latest[b], latest[a]), cmp.Compare(b, a)) })
	if len(order) > weft.MaxEntityIncidents {
		order = order[:weft.MaxEntityIncidents]
	}
	out := make([]weft.EntityIncident, 0, len(order))
	for _, id := range order {
		var inc weft.EntityIncident
		var status string
		var severity, first, last int64
		var score sql.NullInt64
		err := r.tx.QueryRowContext(r.ctx, `SELECT id, display_name, status, severity, priority_score, first_activity, last_activity
			FROM incidents WHERE tenant_id = ? AND id = ?`, r.tenant, id).
			Scan(&inc.ID, &inc.DisplayName, &status, &severity, &score, &first, &last)
		if errNotFound(err) {
			continue // cannot happen: an alert's incident exists in its tenant
		} else if err != nil {
			return nil, 0, err
		}
		inc.Status, inc.Severity = weft.IncidentStatus(status), severityOf(severity)
		inc.FirstActivityDateTime, inc.LastActivityDateTime = fromNanos(first), fromNanos(last)
		if score.Valid {
			n := int(score.Int64)
			inc.PriorityScore = &n
		}
		if inc.AlertIDs, inc.AlertCount, err = r.incidentAlerts(id, ids, in); err != nil {
			return nil, 0, err
		}
		out = append(out, inc)
	}
	return out, total, nil
}

// walkIncidents reads row's alerts newest first until they have named
// MaxEntityIncidents incidents, and records in latest the first activity
// of the newest alert of each.
func (r *resolver) walkIncidents(row *entityRow, latest map[int64]int64) error {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT a.incident_id, ae.first_activity
		FROM alert_entities AS ae CROSS JOIN alerts AS a ON a.seq = ae.alert_seq
		WHERE ae.entity_id = ? AND a.tenant_id = ? AND a.incident_id IS NOT NULL
		ORDER BY ae.first_activity DESC, ae.alert_seq DESC`, row.id, r.tenant)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := 0
	for seen < weft.MaxEntityIncidents && rows.Next() {
		var id, first int64
		if err := rows.Scan(&id, &first); err != nil {
			return err
		}
		if old, ok := latest[id]; !ok || first > old {
			if !ok {
				seen++
			}
			latest[id] = first
		}
	}
	return rows.Err()
}

// incidentAlerts returns the ids of the earliest MaxEntityIncidentAlerts
// of the entity's alerts in one incident, and how many there are: the
// incident's alerts in order (alerts_tenant_incident), each checked against
// alert_entities' primary key.
func (r *resolver) incidentAlerts(incident int64, ids []any, in string) ([]string, int, error) {
	args := append([]any{r.tenant, incident}, ids...)
	rows, err := r.tx.QueryContext(r.ctx, `SELECT a.id FROM alerts AS a INDEXED BY alerts_tenant_incident
		WHERE a.tenant_id = ? AND a.incident_id = ? AND EXISTS (SELECT 1 FROM alert_entities AS ae
			WHERE ae.entity_id IN `+in+` AND ae.first_activity = a.first_activity AND ae.alert_seq = a.seq)
		ORDER BY a.first_activity, a.seq`, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []string{}
	n := 0
	for rows.Next() {
		n++
		if len(out) == weft.MaxEntityIncidentAlerts {
			continue
		}
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		out = append(out, id)
	}
	return out, n, rows.Err()
}

// SearchEntities returns the tenant's entities whose readable name, or the
// value of whose key, starts with q.Text, case-insensitively (see
// weft.EntityStore), in one read transaction. It is safe for concurrent use.
//
// Names are matched by a range of entities_tenant_name (migration 0008),
// keys by a range of entities_tenant_key for each identifier kind the text
// may be a value of (normalized as queue's entity filter does); each range
// gives at most q.Top rows, and the union is ordered and cut. The alert
// count of each result is a count of its alert_entities range.
func (s *Store) SearchEntities(ctx context.Context, tenantID string, q weft.EntitySearch) ([]weft.EntitySummary, error) {
	q, err := weft.CheckEntitySearch(q)
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	defer tx.Rollback()

	typeTerm, typeArgs := "", []any{}
	if q.Type != "" {
		class := weft.EntityClass(q.Type)
		typeTerm = ` AND entity_type IN (?` + repeatParams(len(class)-1) + `)`
		for _, t := range class {
			typeArgs = append(typeArgs, string(t))
		}
	}
	// A prefix range: [p, p + U+10FFFF), checked exactly with substr, as
	// NOCASE folds only ASCII.
	const top = "\U0010FFFF"
	var parts []string
	var args []any
	parts = append(parts, `SELECT * FROM (SELECT id FROM entities WHERE tenant_id = ?
		AND name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?
		AND substr(name, 1, length(?)) = ? COLLATE NOCASE`+typeTerm+` LIMIT ?)`)
	args = append(args, tenantID, q.Text, q.Text+top, q.Text, q.Text)
	args = append(append(args, typeArgs...), q.Top)
	seen := map[string]bool{}
	for _, k := range entityKeys(q.Text) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if x, ok := weft.ParseIdentifier(k); ok && q.Type != "" && !kindOfClass(x.Kind, q.Type) {
			continue
		}
		parts = append(parts, `SELECT * FROM (SELECT id FROM entities WHERE tenant_id = ?
			AND entity_key >= ? AND entity_key < ?`+typeTerm+` LIMIT ?)`)
		args = append(args, tenantID, k, k+top)
		args = append(append(args, typeArgs...), q.Top)
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.entity_type, e.entity_key, e.name, e.last_seen,
			(SELECT count(*) FROM alert_entities AS ae WHERE ae.entity_id = e.id)
		FROM entities AS e WHERE e.id IN (`+strings.Join(parts, " UNION ")+`)
		ORDER BY e.name COLLATE NOCASE, e.entity_key LIMIT ?`, append(args, q.Top)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	defer rows.Close()
	out := []weft.EntitySummary{}
	for rows.Next() {
		var e weft.EntitySummary
		var last int64
		if err := rows.Scan(&e.EntityType, &e.Key, &e.Name, &last, &e.AlertCount); err != nil {
			return nil, fmt.Errorf("sqlite: search entities: %w", err)
		}
		e.LastSeen = fromNanos(last)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	return out, nil
}

// kindOfClass reports whether identifiers of kind k can name an entity of
// type t: whether some evidence of t's class yields that kind.
func kindOfClass(k weft.IdentifierKind, t weft.EntityType) bool {
	prefix, _, _ := strings.Cut(string(k), ".")
	switch t {
	case weft.EntityDevice:
		return prefix == "device"
	case weft.EntityUser, weft.EntityMailbox:
		return prefix == "user"
	case weft.EntityEmailMessage:
		return prefix == "message"
	case weft.EntityFile:
		return prefix == "file"
	case weft.EntityCloudApplication, weft.EntityOAuthApplication:
		return k == weft.IDApp
	}
	return string(k) == string(t)
}
