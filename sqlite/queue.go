package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// This file translates the incident queue's query (weft.IncidentQuery: a
// parsed $filter, $search, $orderby) into SQL. User text only ever reaches
// the database as a bound parameter. Enumeration values (status,
// classification, determination, severity ranks) are written into the SQL as
// literals: they are canonical values checked against weft's fixed lists by
// the parser (and again here), and SQLite uses a partial index only for a
// query whose WHERE repeats the index's terms literally (the default view's
// indexes in migration 0007).

// queueCollections number the collections in incident_terms.field.
var queueCollections = map[string]int{
	"customTags":       1,
	"systemTags":       2,
	"categories":       3,
	"serviceSources":   4,
	"detectionSources": 5,
}

// queueColumns are the incidents columns of the scalar queue fields.
var queueColumns = map[string]string{
	"status":                "status",
	"severity":              "severity",
	"classification":        "classification",
	"determination":         "determination",
	"assignedTo":            "assigned_to",
	"priorityScore":         "priority_score",
	"alertCount":            "alert_count",
	"createdDateTime":       "created",
	"lastUpdateDateTime":    "last_update",
	"firstActivityDateTime": "first_activity",
	"lastActivityDateTime":  "last_activity",
	// More than one service source: service_sources is a distinct list
	// (sqlite/aggregate.go). A predicate on the row, not an index: it
	// narrows what the other terms and the order's index select.
	"multipleSources": "(coalesce(json_array_length(service_sources), 0) > 1)",
}

// queueOrderColumns are the columns of the sortable fields.
var queueOrderColumns = map[string]string{
	"priorityScore":      "priority_score",
	"lastUpdateDateTime": "last_update",
	"createdDateTime":    "created",
	"severity":           "severity",
	"alertCount":         "alert_count",
}

var sqlOps = map[weft.FilterOp]string{
	weft.FilterEq: "=", weft.FilterNe: "<>", weft.FilterGt: ">", weft.FilterGe: ">=", weft.FilterLt: "<", weft.FilterLe: "<=",
}

// incidentWhere returns the WHERE clause (without the keyword) of q and its
// arguments, for a page or, with count, for counting the matches. The tenant
// is always the first term: tenant_id = ? for one tenant (the plan of the
// single-tenant queue), tenant_id IN (…) for the tenants of a merged queue
// (q.TenantIDs), and every sub-query is held to the same tenants. An invalid
// status or a filter the parser would not produce is EINVALID.
func incidentWhere(q weft.IncidentQuery, count bool) (string, []any, error) {
	tenants := []string{q.TenantID}
	if len(q.TenantIDs) > 0 {
		if len(q.TenantIDs) > weft.MaxQueueTenants {
			return "", nil, weft.Errorf(weft.EINVALID, "a merged queue covers at most %d tenants, not %d", weft.MaxQueueTenants, len(q.TenantIDs))
		}
		tenants = q.TenantIDs
	}
	var b strings.Builder
	args := writeTenantTerm(&b, nil, "tenant_id", tenants)
	if len(q.Status) > 0 {
		for _, st := range q.Status {
			if !validStatus(st) {
				return "", nil, weft.Errorf(weft.EINVALID, "status %q is not one of %v", truncate(string(st), 64), weft.IncidentStatuses)
			}
			args = append(args, string(st))
		}
		b.WriteString(" AND status IN (?" + repeatParams(len(q.Status)-1) + ")")
	}
	if q.Filter != nil {
		// Redirected incidents were merged into others: no filter lists
		// them, whatever it says about status.
		b.WriteString(" AND status <> 'redirected' AND ")
		var err error
		if args, err = writeFilter(&b, args, tenants, q.Filter, count); err != nil {
			return "", nil, err
		}
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		b.WriteString(" AND (")
		args = writeNameMatch(&b, args, s)
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			b.WriteString(" OR id = ?")
			args = append(args, id)
		}
		// An impacted asset: the incidents whose alerts name the entity.
		b.WriteString(" OR ")
		args = writeEntityMatch(&b, args, tenants, []string{s})
		b.WriteString(")")
	}
	return b.String(), args, nil
}

// nameSearchMin is the shortest $search, in characters, that the trigram
// index incident_names (migration 0011) can answer: a shorter text has no
// trigram and would match nothing there.
const nameSearchMin = 3

// writeNameMatch appends to b the term "the incident's name contains s", case
// folded, and its parameter to args.
//
// A text of nameSearchMin characters or more is looked up in incident_names
// as a phrase (" doubled; the trigram tokenizer makes a phrase a substring).
// The tokenizer folds the case of non-ASCII letters too (É finds é; the
// Kelvin sign K finds k), LIKE only ASCII: for ASCII names both find the
// same incidents. A shorter text, or one that is not valid UTF-8, keeps LIKE
// ('%' and '_' literal).
//
// The index gives the set of matching ids, built once per statement in time
// proportional to the matches (in every tenant: the join by rowid holds them
// to the tenant), for a page as for a count. LIKE '%…%' read the name of
// every candidate: a count over the open incidents, or a page of a rare
// name, read them all. A probe of the index per candidate row (EXISTS …
// rowid = incidents.id) walks the phrase's trigram lists each time, about
// 0.3 ms a row at 200,000 incidents. The set's cost shows on a page of a
// common text (a quarter of all names: ~25 ms, where LIKE found a page in
// the first few hundred rows); a page that chose between the two by the
// number of matches (a CASE on a count of the index, LIMITed) made SQLite
// read every candidate's row and was slower for rare texts.
func writeNameMatch(b *strings.Builder, args []any, s string) []any {
	if utf8.RuneCountInString(s) < nameSearchMin || !utf8.ValidString(s) {
		b.WriteString(`display_name LIKE ? ESCAPE '\'`)
		return append(args, "%"+escapeLike(s)+"%")
	}
	b.WriteString("id IN (SELECT rowid FROM incident_names WHERE incident_names MATCH ?)")
	return append(args, `"`+strings.ReplaceAll(s, `"`, `""`)+`"`)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// writeFilter appends f as SQL to b and its parameters to args.
//
// set selects the form of collection terms: the set of the collection's
// matches, built once (for a count), rather than a probe per candidate row
// (for a page). The terms of an AND that also holds a time window (see
// timeWindow) are probed even in a count.
func writeFilter(b *strings.Builder, args []any, tenants []string, f *weft.IncidentFilter, set bool) ([]any, error) {
	switch f.Op {
	case weft.FilterAnd, weft.FilterOr:
		termSet := set && (f.Op == weft.FilterOr || !timeWindow(f.Terms))
		b.WriteByte('(')
		for i, t := range f.Terms {
			if i > 0 {
				b.WriteString(" " + strings.ToUpper(string(f.Op)) + " ")
			}
			var err error
			if args, err = writeFilter(b, args, tenants, t, termSet); err != nil {
				return nil, err
			}
		}
		b.WriteByte(')')
		return args, nil
	case weft.FilterAny:
		if f.Field == "entities" || f.Field == "deviceGroups" {
			vals := make([]string, len(f.Values))
			for i, v := range f.Values {
				s, ok := v.(string)
				if !ok {
					return nil, weft.Errorf(weft.EINVALID, "$filter: entities/any compares with strings")
				}
				vals[i] = s
			}
			if len(vals) == 0 {
				return nil, weft.Errorf(weft.EINVALID, "$filter: entities/any needs a value")
			}
			if f.Field == "deviceGroups" {
				return writeDeviceGroupMatches(b, args, tenants, vals), nil
			}
			return writeEntityMatch(b, args, tenants, vals), nil
		}
		field, ok := queueCollections[f.Field]
		if !ok {
			return nil, weft.Errorf(weft.EINVALID, "$filter: %s is not a collection", f.Field)
		}
		// A page stops after a few rows: an EXISTS probe per candidate row
		// costs little and nothing is built up front. A count visits every
		// candidate, and the set of the collection's matches, built once,
		// is cheaper when the values are selective (a tag) — unless a time
		// window narrows the candidates (writeFilter): a category or a
		// source is held by a large share of all incidents, and building
		// that set (120,000 ids at 200,000 incidents) cost more than
		// probing the week's few thousand candidates.
		if set {
			b.WriteString("id IN (SELECT incident_id FROM incident_terms WHERE ")
			args = writeTenantTerm(b, args, "tenant_id", tenants)
			b.WriteString(" AND field = " + strconv.Itoa(field))
		} else {
			b.WriteString("EXISTS (SELECT 1 FROM incident_terms WHERE ")
			args = writeTenantTerm(b, args, "incident_terms.tenant_id", tenants)
			b.WriteString(" AND field = " + strconv.Itoa(field) + " AND incident_id = incidents.id")
		}
		if len(f.Values) > 0 {
			b.WriteString(" AND value IN (?" + repeatParams(len(f.Values)-1) + ")")
			for _, v := range f.Values {
				s, ok := v.(string)
				if !ok {
					return nil, weft.Errorf(weft.EINVALID, "$filter: %s/any compares with strings", f.Field)
				}
				args = append(args, s)
			}
		}
		b.WriteByte(')')
		return args, nil
	}
	col, ok := queueColumns[f.Field]
	if !ok {
		return nil, weft.Errorf(weft.EINVALID, "$filter: field %q is not filterable", f.Field)
	}
	if len(f.Values) == 0 {
		return nil, weft.Errorf(weft.EINVALID, "$filter: %s %s has no value", f.Field, f.Op)
	}
	vals := make([]string, len(f.Values)) // SQL of each value
	hasNull := false
	for i, v := range f.Values {
		s, arg, err := sqlValue(f.Field, v)
		if err != nil {
			return nil, err
		}
		if s == "NULL" {
			hasNull = true
		}
		vals[i] = s
		if s == "?" {
			args = append(args, arg)
		}
	}
	switch f.Op {
	case weft.FilterIn:
		if hasNull {
			return nil, weft.Errorf(weft.EINVALID, "$filter: null cannot be in a list")
		}
		b.WriteString(col + " IN (" + strings.Join(vals, ", ") + ")")
	case weft.FilterEq, weft.FilterNe:
		switch {
		case hasNull && f.Op == weft.FilterEq:
			b.WriteString(col + " IS NULL")
		case hasNull:
			b.WriteString(col + " IS NOT NULL")
		case f.Op == weft.FilterNe && f.Field == "priorityScore":
			// null ne 5 is true in OData; in SQL it is null.
			b.WriteString(col + " IS NOT " + vals[0])
		default:
			b.WriteString(col + " " + sqlOps[f.Op] + " " + vals[0])
		}
	case weft.FilterGt, weft.FilterGe, weft.FilterLt, weft.FilterLe:
		if hasNull {
			return nil, weft.Errorf(weft.EINVALID, "$filter: null can only be compared with eq or ne")
		}
		b.WriteString(col + " " + sqlOps[f.Op] + " " + vals[0])
	default:
		return nil, weft.Errorf(weft.EINVALID, "$filter: operator %q is not supported", f.Op)
	}
	return args, nil
}

// timeWindow reports whether terms (of one AND) hold a comparison of
// createdDateTime or lastUpdateDateTime with a time: a range of an index
// ((tenant_id, created), (tenant_id, last_update)) that SQLite walks to find
// the candidates, usually a small part of the queue (the last week of
// months).
func timeWindow(terms []*weft.IncidentFilter) bool {
	for _, t := range terms {
		if t.Field != "createdDateTime" && t.Field != "lastUpdateDateTime" {
			continue
		}
		switch t.Op {
		case weft.FilterEq, weft.FilterGt, weft.FilterGe, weft.FilterLt, weft.FilterLe:
			return true
		}
	}
	return false
}

// sqlValue returns the SQL of one filter value: a literal for enumerations
// (checked against weft's lists, so never user text) and NULL, else "?" and
// the argument to bind. assignedTo's null is the empty string the store
// keeps for an unassigned incident.
func sqlValue(field string, v any) (string, any, error) {
	bad := func() (string, any, error) {
		return "", nil, weft.Errorf(weft.EINVALID, "$filter: %v is not a valid value of %s", v, field)
	}
	switch field {
	case "status":
		st, ok := v.(weft.IncidentStatus)
		if !ok || !validStatus(st) {
			return bad()
		}
		return "'" + string(st) + "'", nil, nil
	case "classification":
		c, ok := v.(weft.Classification)
		if !ok || !validEnum(c, weft.Classifications) {
			return bad()
		}
		return "'" + string(c) + "'", nil, nil
	case "determination":
		d, ok := v.(weft.Determination)
		if !ok || !validEnum(d, weft.Determinations) {
			return bad()
		}
		return "'" + string(d) + "'", nil, nil
	case "severity":
		s, ok := v.(weft.Severity)
		if !ok || !validEnum(s, weft.Severities) {
			return bad()
		}
		return strconv.Itoa(s.Rank()), nil, nil
	case "assignedTo":
		switch v := v.(type) {
		case nil:
			return "''", nil, nil
		case string:
			return "?", v, nil
		}
	case "multipleSources":
		if v, ok := v.(bool); ok {
			if v {
				return "1", nil, nil
			}
			return "0", nil, nil
		}
	case "priorityScore", "alertCount":
		switch v := v.(type) {
		case nil:
			return "NULL", nil, nil
		case int64:
			return "?", v, nil
		}
	case "createdDateTime", "lastUpdateDateTime", "firstActivityDateTime", "lastActivityDateTime":
		if t, ok := v.(time.Time); ok {
			return "?", nanos(t), nil
		}
	}
	return bad()
}

// entityKeyKinds are the identifier kinds an entity's key can have
// (weft.Evidence.Key is "kind:value" of its preferred identifier): a name
// given to the entity filter is tried as the value of each, so that an
// identifier finds its entity through the unique key index.
var entityKeyKinds = []weft.IdentifierKind{
	weft.IDDeviceMde, weft.IDDeviceAad, weft.IDDeviceFQDN, weft.IDDeviceHost,
	weft.IDUserAad, weft.IDUserSid, weft.IDUserUPN, weft.IDUserEmail, weft.IDUserDomainSam, weft.IDUserSam,
	weft.IDMessageNetwork, weft.IDMessageInternet, weft.IDMailCluster, weft.IDIP, weft.IDURL, weft.IDDomain,
	weft.IDFileSha256, weft.IDFileSha1, weft.IDFileMd5, weft.IDFilePath, weft.IDProcess,
	weft.IDRegistryKey, weft.IDRegistryValue, weft.IDApp, weft.IDSecurityGroup, weft.IDCloudResource, weft.IDGeneric,
}

// entityKeys returns the entity keys a name could be: the name as a whole
// key when it starts with a kind ("device.fqdn:ws-1.contoso.com", the kind
// in any case), and as the value of every identifier kind; values lower case
// as weft.Evidence.Identifiers normalizes them (upper case for a SID).
func entityKeys(name string) []string {
	value := func(k weft.IdentifierKind, v string) string {
		if k == weft.IDUserSid {
			return string(k) + ":" + strings.ToUpper(v)
		}
		return string(k) + ":" + strings.ToLower(v)
	}
	var keys []string
	if kind, v, ok := strings.Cut(name, ":"); ok {
		for _, k := range entityKeyKinds {
			if strings.EqualFold(string(k), kind) {
				keys = append(keys, value(k, v))
			}
		}
	}
	for _, k := range entityKeyKinds {
		keys = append(keys, value(k, name))
	}
	return keys
}

// writeEntityMatch appends to b the term "the incident's alerts name one of
// names": an entity whose key is, or whose name equals (ASCII
// case-insensitively), one of names; and its parameters to args.
//
// The set of incidents is built once from the entity indexes: the entities
// by key (entities_tenant_key) and, separately, by name
// (entities_tenant_name, migration 0008) — as one OR, SQLite would walk all
// of a tenant's entities —, their alerts by alert_entities' primary key
// (entity first), the alerts' incidents by rowid. Each table is held to the
// tenant.
func writeEntityMatch(b *strings.Builder, args []any, tenants []string, names []string) []any {
	var keys, trimmed []any
	for _, n := range names {
		n = strings.TrimSpace(n)
		for _, k := range entityKeys(n) {
			keys = append(keys, k)
		}
		trimmed = append(trimmed, n)
	}
	if len(tenants) == 1 {
		tenantID := tenants[0]
		b.WriteString(`id IN (SELECT a.incident_id FROM alert_entities ae JOIN alerts a ON a.seq = ae.alert_seq
		WHERE ae.entity_id IN (SELECT id FROM entities WHERE tenant_id = ? AND entity_key IN (?` + repeatParams(len(keys)-1) + `)
			UNION SELECT id FROM entities WHERE tenant_id = ? AND name COLLATE NOCASE IN (?` + repeatParams(len(trimmed)-1) + `))
		AND ae.tenant_id = ? AND a.tenant_id = ? AND a.incident_id IS NOT NULL)`)
		args = append(args, tenantID)
		args = append(args, keys...)
		args = append(args, tenantID)
		args = append(args, trimmed...)
		return append(args, tenantID, tenantID)
	}
	// Several tenants (a merged queue): entity, alert and incident ids are
	// global, and an alert's entities are of its own tenant, so holding
	// each table to the set of tenants keeps every match within one.
	b.WriteString(`id IN (SELECT a.incident_id FROM alert_entities ae JOIN alerts a ON a.seq = ae.alert_seq
		WHERE ae.entity_id IN (SELECT id FROM entities WHERE `)
	args = writeTenantTerm(b, args, "tenant_id", tenants)
	b.WriteString(` AND entity_key IN (?` + repeatParams(len(keys)-1) + `)
			UNION SELECT id FROM entities WHERE `)
	args = append(args, keys...)
	args = writeTenantTerm(b, args, "tenant_id", tenants)
	b.WriteString(` AND name COLLATE NOCASE IN (?` + repeatParams(len(trimmed)-1) + `))
		AND `)
	args = append(args, trimmed...)
	args = writeTenantTerm(b, args, "ae.tenant_id", tenants)
	b.WriteString(` AND `)
	args = writeTenantTerm(b, args, "a.tenant_id", tenants)
	b.WriteString(` AND a.incident_id IS NOT NULL)`)
	return args
}

// writeTenantTerm appends to b the term "col is one of tenants" (col = ?
// for one, so that a single tenant's query is what it always was) and the
// tenants to args.
func writeTenantTerm(b *strings.Builder, args []any, col string, tenants []string) []any {
	if len(tenants) == 1 {
		b.WriteString(col + " = ?")
	} else {
		b.WriteString(col + " IN (?" + repeatParams(len(tenants)-1) + ")")
	}
	for _, t := range tenants {
		args = append(args, t)
	}
	return args
}

// writeDeviceGroupMatches appends the device-group term for each tenant,
// ORed: a device group is defined by a tenant's own asset inventory, so
// the term is held to one tenant at a time (an asset of one tenant never
// puts another's device in a group).
func writeDeviceGroupMatches(b *strings.Builder, args []any, tenants []string, groups []string) []any {
	if len(tenants) == 1 {
		return writeDeviceGroupMatch(b, args, tenants[0], groups)
	}
	b.WriteByte('(')
	for i, t := range tenants {
		if i > 0 {
			b.WriteString(" OR ")
		}
		args = writeDeviceGroupMatch(b, args, t, groups)
	}
	b.WriteByte(')')
	return args
}

// writeDeviceGroupMatch appends to b the term "the incident's alerts name a
// device of one of groups": a device the asset inventory puts in the group
// (Asset.DeviceGroup, compared ASCII case-insensitively), met as the entity
// filter meets a name — an entity whose key is one of the asset's
// identifiers, or a device entity whose name is one of the asset's host
// names or FQDNs (an evidence record keyed by its EDR device id still names
// the host). The group is read from the assets at query time, so that a
// change of the inventory applies to every incident at once, as Defender's
// device-group filter does.
func writeDeviceGroupMatch(b *strings.Builder, args []any, tenantID string, groups []string) []any {
	list := make([]any, len(groups))
	for i, g := range groups {
		list[i] = strings.TrimSpace(g)
	}
	params := "?" + repeatParams(len(list)-1)
	assets := `FROM assets s, json_each(s.identifiers) j WHERE s.tenant_id = ? AND s.kind = 'device'
				AND (s.body ->> 'deviceGroup') COLLATE NOCASE IN (` + params + `)`
	b.WriteString(`id IN (SELECT a.incident_id FROM alert_entities ae JOIN alerts a ON a.seq = ae.alert_seq
		WHERE ae.entity_id IN (SELECT id FROM entities WHERE tenant_id = ? AND entity_key IN (
				SELECT (j.value ->> 'kind') || ':' || (j.value ->> 'value') ` + assets + `)
			UNION SELECT id FROM entities WHERE tenant_id = ? AND entity_type = 'device' AND name COLLATE NOCASE IN (
				SELECT j.value ->> 'value' ` + assets + ` AND (j.value ->> 'kind') IN ('device.fqdn', 'device.hostname')))
		AND ae.tenant_id = ? AND a.tenant_id = ? AND a.incident_id IS NOT NULL)`)
	args = append(args, tenantID, tenantID)
	args = append(args, list...)
	args = append(args, tenantID, tenantID)
	args = append(args, list...)
	return append(args, tenantID, tenantID)
}

func validEnum[T comparable](v T, allowed []T) bool {
	for _, x := range allowed {
		if x == v {
			return true
		}
	}
	return false
}

// incidentOrder returns the ORDER BY clause (without the keywords) of keys:
// each key's column, then id descending so that paging is stable. No keys:
// most recently updated first. NULL priority scores sort lowest (last when
// descending).
func incidentOrder(keys []weft.IncidentOrder) (string, error) {
	if len(keys) == 0 {
		return "last_update DESC, id DESC", nil
	}
	var parts []string
	for _, k := range keys {
		col, ok := queueOrderColumns[k.Field]
		if !ok {
			return "", weft.Errorf(weft.EINVALID, "$orderby: field %q is not sortable", truncate(k.Field, 64))
		}
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		parts = append(parts, col+dir)
	}
	return fmt.Sprint(strings.Join(parts, ", "), ", id DESC"), nil
}

// EachIncident calls fn with each of a tenant's incidents that match q (its
// Filter, Status, Search and OrderBy, as ListIncidents), in order, one row at
// a time: nothing is held but the current row, so that an export of a large
// queue costs no more memory than one incident. It skips q.Skip rows and
// stops after limit rows (no limit when limit is 0), or at the first error of
// fn, which it returns. q.Top, q.Count and q.ExpandAlerts are ignored.
//
// The rows are read in one read transaction, a consistent snapshot; while fn
// is slow (a slow client), that transaction holds back WAL checkpoints, which
// is why callers bound limit. It returns EINVALID for a query that
// ListIncidents would refuse, and EUNAVAILABLE when the store is closed. It is
// safe for concurrent use.
func (s *Store) EachIncident(ctx context.Context, q weft.IncidentQuery, limit int, fn func(*weft.Incident) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if limit < 0 || q.Skip < 0 {
		return weft.Errorf(weft.EINVALID, "limit and $skip must not be negative")
	}
	where, args, err := incidentWhere(q, false)
	if err != nil {
		return err
	}
	order, err := incidentOrder(q.OrderBy)
	if err != nil {
		return err
	}
	lim := int64(limit)
	if limit == 0 {
		lim = -1 // SQLite: no limit
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: each incident: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, incidentSelect+` WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, lim, q.Skip)...)
	if err != nil {
		return fmt.Errorf("sqlite: each incident: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return fmt.Errorf("sqlite: each incident: %w", err)
		}
		if err := fn(inc); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: each incident: %w", err)
	}
	return nil
}
