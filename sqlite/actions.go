package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Response actions (weft.ActionStore, docs/respond.md). Every change is one
// write transaction under the write lock (manageAll): it reads the action,
// checks its version and the state machine's arrow, writes the new state,
// appends the action log entry and, when the action has an incident, the
// incident's activity entry, which the event stream then carries (manageAll
// signals the commit). A check that fails rolls everything back.
//
// Deduplication (invariant 1) rests on the unique partial index actions_once
// (migration 0014): CreateAction looks for the open action with the same key
// inside its write transaction, which every writer takes at BEGIN
// (_txlock=immediate), so two requests, even from two processes, see each
// other; the index makes a bug here an error instead of a duplicate.

var _ weft.ActionStore = (*Store)(nil)

// openStatuses are the statuses that are not final, as SQL.
const openStatuses = `('requested', 'pendingApproval', 'approved', 'dispatched')`

const actionColumns = `id, tenant_id, type, entity_type, target, target_name, parameters, incident_id, comment,
	dedupe_key, status, version, requested_by, decided_by, connector, attempt, not_before, lease_until, expires,
	external_id, message, undo_of, undone_by, contains, created, updated`

// CreateAction implements weft.ActionStore.
func (s *Store) CreateAction(ctx context.Context, a *weft.Action) (*weft.Action, bool, error) {
	if a.ActionStatus != weft.ActionPendingApproval && a.ActionStatus != weft.ActionApproved {
		return nil, false, weft.Errorf(weft.EINVALID, "status: a new action is pendingApproval or approved, not %q", a.ActionStatus)
	}
	if a.TenantID == "" || a.Type == "" || a.Target == "" || a.DedupeKey == "" || a.Created.IsZero() || a.ExpiresAt.IsZero() {
		return nil, false, weft.Errorf(weft.EINVALID, "action: tenant, type, target, dedupe key, created and expiry are required")
	}
	params, err := json.Marshal(orEmpty(a.Parameters))
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: create action: encode parameters: %w", err)
	}
	by, err := json.Marshal(a.RequestedBy)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: create action: encode actor: %w", err)
	}
	var out *weft.Action
	var existed bool
	err = s.manageAll(ctx, "create action", func(tx *sql.Tx, _ int64) (managed, error) {
		cur, err := queryActions(ctx, tx, `SELECT `+actionColumns+` FROM actions
			WHERE tenant_id = ? AND type = ? AND target = ? AND dedupe_key = ? AND status IN `+openStatuses,
			a.TenantID, a.Type, a.Target, a.DedupeKey)
		if err != nil {
			return managed{}, err
		}
		if len(cur) > 0 {
			out, existed = cur[0], true
			return managed{}, nil
		}
		if a.IncidentID != 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM incidents WHERE tenant_id = ? AND id = ?`, a.TenantID, a.IncidentID).Scan(&one)
			if errNotFound(err) {
				return managed{}, weft.Errorf(weft.ENOTFOUND, "incidentId: incident %d not found", a.IncidentID)
			} else if err != nil {
				return managed{}, fmt.Errorf("read incident %d: %w", a.IncidentID, err)
			}
		}
		if a.UndoOf != 0 {
			if _, err := readAction(ctx, tx, a.TenantID, a.UndoOf); err != nil {
				return managed{}, err
			}
		}
		now := nanos(a.Created)
		res, err := tx.ExecContext(ctx, `INSERT INTO actions (tenant_id, type, entity_type, target, target_name,
			parameters, incident_id, comment, dedupe_key, status, version, requested_by, connector, attempt,
			not_before, lease_until, expires, undo_of, contains, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 0, ?, 0, ?, ?, ?, ?, ?)`,
			a.TenantID, a.Type, string(a.EntityType), a.Target, a.TargetName, string(params), a.IncidentID,
			a.Comment, a.DedupeKey, string(a.ActionStatus), string(by), a.Connector, zeroNanos(a.NotBefore),
			nanos(a.ExpiresAt), a.UndoOf, string(a.Contains), now, now)
		if err != nil {
			return managed{}, fmt.Errorf("insert action: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return managed{}, fmt.Errorf("insert action: %w", err)
		}
		created, err := readAction(ctx, tx, a.TenantID, id)
		if err != nil {
			return managed{}, err
		}
		decision := "the tenant's approval policy needs no approval"
		if a.ActionStatus == weft.ActionPendingApproval {
			decision = "the tenant's approval policy needs another responder's approval"
		}
		system := weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"}
		if err := appendActionLog(ctx, tx, created, now, a.RequestedBy, "", weft.ActionRequested, a.Comment); err != nil {
			return managed{}, err
		}
		if err := appendActionLog(ctx, tx, created, now, system, weft.ActionRequested, a.ActionStatus, decision); err != nil {
			return managed{}, err
		}
		msg := fmt.Sprintf("%s requested by %s; %s", describeAction(created), a.RequestedBy, decision)
		if a.Comment != "" {
			msg += ": " + a.Comment
		}
		if err := appendActionActivity(ctx, tx, created, now, a.RequestedBy, weft.ActivityActionRequested, msg); err != nil {
			return managed{}, err
		}
		out = created
		return managed{}, nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, existed, nil
}

// FindAction implements weft.ActionStore.
func (s *Store) FindAction(ctx context.Context, tenantID string, id int64) (*weft.Action, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	as, err := queryActions(ctx, s.read, `SELECT `+actionColumns+` FROM actions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if len(as) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "action %d not found", id)
	}
	return as[0], nil
}

// Page sizes of ListActions.
const (
	defaultActionPage = 50
	maxActionPage     = 1000
)

// ListActions implements weft.ActionStore. Top is defaulted to 50 and
// bounded by 1000.
func (s *Store) ListActions(ctx context.Context, q weft.ActionQuery) (weft.ActionPage, error) {
	if q.Top <= 0 {
		q.Top = defaultActionPage
	}
	q.Top = min(q.Top, maxActionPage)
	q.Skip = max(q.Skip, 0)
	where := []string{"tenant_id = ?"}
	args := []any{q.TenantID}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	statuses := make([]string, len(q.ActionStatus))
	for i, st := range q.ActionStatus {
		statuses[i] = string(st)
	}
	in("status", statuses)
	in("type", q.Type)
	if q.EntityType != "" {
		where, args = append(where, "entity_type = ?"), append(args, string(q.EntityType))
	}
	if q.Target != "" {
		where, args = append(where, "target = ?"), append(args, q.Target)
	}
	if q.IncidentID != 0 {
		where, args = append(where, "incident_id = ?"), append(args, q.IncidentID)
	}
	if q.RequestedBy != "" {
		// Names compare ignoring (ASCII) case, as the action service
		// compares them.
		where, args = append(where, "json_extract(requested_by, '$.name') = ? COLLATE NOCASE"), append(args, q.RequestedBy)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "created >= ?"), append(args, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "created < ?"), append(args, nanos(q.Until))
	}
	cond := strings.Join(where, " AND ")
	if err := s.enter(); err != nil {
		return weft.ActionPage{}, err
	}
	defer s.leave()
	page := weft.ActionPage{Count: -1}
	as, err := queryActions(ctx, s.read, `SELECT `+actionColumns+` FROM actions WHERE `+cond+
		` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, q.Top+1, q.Skip)...)
	if err != nil {
		return weft.ActionPage{}, fmt.Errorf("sqlite: list actions: %w", err)
	}
	if len(as) > q.Top {
		as, page.More = as[:q.Top], true
	}
	page.Actions = as
	if q.Count {
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM actions WHERE `+cond, args...).Scan(&page.Count); err != nil {
			return weft.ActionPage{}, fmt.Errorf("sqlite: count actions: %w", err)
		}
	}
	return page, nil
}

// ActionLog implements weft.ActionStore.
func (s *Store) ActionLog(ctx context.Context, tenantID string, id int64) ([]weft.ActionLogEntry, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM actions WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&one)
	if errNotFound(err) {
		return nil, weft.Errorf(weft.ENOTFOUND, "action %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: read action log: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, time, actor, from_status, to_status, attempt, message
		FROM action_log WHERE tenant_id = ? AND action_id = ? ORDER BY id`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read action log: %w", err)
	}
	defer rows.Close()
	out := []weft.ActionLogEntry{}
	for rows.Next() {
		e := weft.ActionLogEntry{ActionID: id}
		var t int64
		var actor, from, to string
		if err := rows.Scan(&e.ID, &t, &actor, &from, &to, &e.Attempt, &e.Message); err != nil {
			return nil, fmt.Errorf("sqlite: read action log: %w", err)
		}
		if err := json.Unmarshal([]byte(actor), &e.Actor); err != nil {
			return nil, fmt.Errorf("sqlite: read action log %d: actor: %w", e.ID, err)
		}
		e.Time, e.From, e.To = fromNanos(t), weft.ActionStatus(from), weft.ActionStatus(to)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read action log: %w", err)
	}
	return out, nil
}

// TransitionAction implements weft.ActionStore.
func (s *Store) TransitionAction(ctx context.Context, t weft.ActionTransition) (*weft.Action, error) {
	if t.Now.IsZero() {
		return nil, weft.Errorf(weft.EINVALID, "transition: the time is required")
	}
	var out *weft.Action
	err := s.manageAll(ctx, "transition action", func(tx *sql.Tx, _ int64) (managed, error) {
		cur, err := readAction(ctx, tx, t.TenantID, t.ID)
		if err != nil {
			return managed{}, err
		}
		out, err = transitionTx(ctx, tx, cur, t, false)
		return managed{}, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The conditions of ClaimDue and ExpireDue, on ?1 = now. Both are indexed
// by actions_status.
const (
	claimableWhere = `(status = 'approved' AND not_before <= ?1 AND expires > ?1
		OR status = 'dispatched' AND lease_until < ?1 AND expires > ?1)`
	expirableWhere = `(status IN ('pendingApproval', 'approved') AND expires <= ?1
		OR status = 'dispatched' AND expires <= ?1 AND lease_until <= ?1)`
)

// ClaimDue implements weft.ActionStore. The candidates are read first, so
// that a round with nothing due writes nothing (no empty commit wakes the
// event stream); each claim is then its own transaction, which checks again
// that the action is due (another worker may have claimed it), so that a
// crash after the first claim leaves it claimed and the rest approved.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*weft.Action, error) {
	if lease <= 0 {
		return nil, weft.Errorf(weft.EINVALID, "lease: must be positive, got %v", lease)
	}
	return s.dueEach(ctx, "claim action", claimableWhere, now, limit, func(tx *sql.Tx, cur *weft.Action) (*weft.Action, error) {
		msg := fmt.Sprintf("attempt %d", cur.Attempt+1)
		if cur.ActionStatus == weft.ActionDispatched {
			msg = fmt.Sprintf("attempt %d: no answer to attempt %d before its lease ran out; sent again with the same idempotency key", cur.Attempt+1, cur.Attempt)
		}
		return transitionTx(ctx, tx, cur, weft.ActionTransition{TenantID: cur.TenantID, ID: cur.ID,
			Version: cur.Version, To: weft.ActionDispatched, By: weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"},
			Message: msg, Now: now, LeaseUntil: now.Add(lease)}, true)
	})
}

// ExpireDue implements weft.ActionStore, as ClaimDue does its claims.
func (s *Store) ExpireDue(ctx context.Context, now time.Time, limit int) ([]*weft.Action, error) {
	return s.dueEach(ctx, "expire action", expirableWhere, now, limit, func(tx *sql.Tx, cur *weft.Action) (*weft.Action, error) {
		msg := fmt.Sprintf("not done within its time to live; it expired at %s", cur.ExpiresAt.Format(time.RFC3339))
		if cur.Message != "" && cur.Attempt > 0 {
			msg += "; last outcome: " + cur.Message
		}
		return transitionTx(ctx, tx, cur, weft.ActionTransition{TenantID: cur.TenantID, ID: cur.ID,
			Version: cur.Version, To: weft.ActionExpired, By: weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"},
			Message: msg, Now: now}, false)
	})
}

// dueEach reads up to limit actions that match where (on ?1 = now), oldest
// first, and applies op to each that still matches, in a transaction of
// its own.
func (s *Store) dueEach(ctx context.Context, what, where string, now time.Time, limit int, op func(tx *sql.Tx, cur *weft.Action) (*weft.Action, error)) ([]*weft.Action, error) {
	if limit <= 0 {
		return nil, nil
	}
	n := nanos(now)
	ids, err := s.dueIDs(ctx, where, n, limit)
	if err != nil {
		return nil, err
	}
	var out []*weft.Action
	for _, id := range ids {
		var done *weft.Action
		err := s.manageAll(ctx, what, func(tx *sql.Tx, _ int64) (managed, error) {
			as, err := queryActions(ctx, tx, `SELECT `+actionColumns+` FROM actions WHERE id = ?2 AND `+where, n, id)
			if err != nil || len(as) == 0 {
				return managed{}, err // gone: another worker took it
			}
			done, err = op(tx, as[0])
			return managed{}, err
		})
		if err != nil {
			return out, err
		}
		if done != nil {
			out = append(out, done)
		}
	}
	return out, nil
}

func (s *Store) dueIDs(ctx context.Context, where string, now int64, limit int) ([]int64, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM actions WHERE `+where+` ORDER BY id LIMIT ?2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due actions: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: due actions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: due actions: %w", err)
	}
	return ids, nil
}

// NextDue implements weft.ActionStore.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.enter(); err != nil {
		return time.Time{}, false, err
	}
	defer s.leave()
	var next sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT min(t) FROM (
		SELECT min(CASE WHEN not_before = 0 THEN updated ELSE not_before END) AS t FROM actions WHERE status = 'approved'
		UNION ALL SELECT min(lease_until) FROM actions WHERE status = 'dispatched'
		UNION ALL SELECT min(expires) FROM actions WHERE status IN ('pendingApproval', 'approved', 'dispatched'))`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next due action: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(next.Int64), true, nil
}

// Containment implements weft.ActionStore.
func (s *Store) Containment(ctx context.Context, tenantID string, keys []string) (map[string]weft.Containment, error) {
	out := map[string]weft.Containment{}
	if len(keys) == 0 {
		return out, nil
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	// In chunks: SQLite bounds the number of parameters.
	for start := 0; start < len(keys); start += 500 {
		chunk := keys[start:min(start+500, len(keys))]
		args := []any{tenantID}
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT target, contains, id, updated FROM actions
			WHERE tenant_id = ? AND target IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)
			AND status = 'succeeded' AND contains != '' ORDER BY updated, id`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read containment: %w", err)
		}
		for rows.Next() {
			var target, state string
			var c weft.Containment
			var t int64
			if err := rows.Scan(&target, &state, &c.ActionID, &t); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: read containment: %w", err)
			}
			c.State, c.Since = weft.ContainmentState(state), fromNanos(t)
			out[target] = c // the latest wins
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: read containment: %w", err)
		}
	}
	return out, nil
}

// GetResponsePolicy implements weft.ActionStore.
func (s *Store) GetResponsePolicy(ctx context.Context, tenantID string) (weft.ResponsePolicy, error) {
	if err := s.enter(); err != nil {
		return weft.ResponsePolicy{}, err
	}
	defer s.leave()
	var p weft.ResponsePolicy
	var req string
	err := s.read.QueryRowContext(ctx, `SELECT require_approval, automation_requires_approval FROM response_policies
		WHERE tenant_id = ?`, tenantID).Scan(&req, &p.AutomationRequiresApproval)
	if errNotFound(err) {
		return p, weft.Errorf(weft.ENOTFOUND, "tenant %q has no response policy", truncate(tenantID, 80))
	} else if err != nil {
		return p, fmt.Errorf("sqlite: read response policy: %w", err)
	}
	if err := json.Unmarshal([]byte(req), &p.RequireApproval); err != nil {
		return p, fmt.Errorf("sqlite: read response policy: %w", err)
	}
	return p, nil
}

// PutResponsePolicy implements weft.ActionStore.
func (s *Store) PutResponsePolicy(ctx context.Context, tenantID string, p weft.ResponsePolicy) error {
	req, err := json.Marshal(orEmptyList(p.RequireApproval))
	if err != nil {
		return fmt.Errorf("sqlite: put response policy: %w", err)
	}
	return s.manageAll(ctx, "put response policy", func(tx *sql.Tx, now int64) (managed, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO response_policies (tenant_id, require_approval,
			automation_requires_approval, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET require_approval = excluded.require_approval,
			automation_requires_approval = excluded.automation_requires_approval, updated = excluded.updated`,
			tenantID, string(req), p.AutomationRequiresApproval, now)
		if err != nil {
			return managed{}, fmt.Errorf("write response policy: %w", err)
		}
		return managed{}, nil
	})
}

// transitionTx makes t on cur, read in tx: it checks the version and the
// arrow, writes the action, its log entry and its incident's activity, and
// for a success, undoes what the action is the inverse of. claim also
// counts an attempt.
func transitionTx(ctx context.Context, tx *sql.Tx, cur *weft.Action, t weft.ActionTransition, claim bool) (*weft.Action, error) {
	if cur.Version != t.Version {
		return nil, weft.Errorf(weft.ECONFLICT, "action %d changed: it is at version %d (%s), not %d", cur.ID, cur.Version, cur.ActionStatus, t.Version)
	}
	if !weft.CanTransitionAction(cur.ActionStatus, t.To) {
		return nil, weft.Errorf(weft.ECONFLICT, "action %d is %s; it cannot become %s", cur.ID, cur.ActionStatus, t.To)
	}
	now := nanos(t.Now)
	var decided any
	if cur.ActionStatus == weft.ActionPendingApproval && (t.To == weft.ActionApproved || t.To == weft.ActionRejected) {
		b, err := json.Marshal(t.By)
		if err != nil {
			return nil, fmt.Errorf("encode actor: %w", err)
		}
		decided = string(b)
	}
	attempt := cur.Attempt
	if claim {
		attempt++
	}
	if _, err := tx.ExecContext(ctx, `UPDATE actions SET status = ?, version = version + 1, updated = ?,
		not_before = ?, lease_until = ?, attempt = ?, external_id = coalesce(nullif(?, ''), external_id),
		message = ?, decided_by = coalesce(?, decided_by) WHERE tenant_id = ? AND id = ? AND version = ?`,
		string(t.To), now, zeroNanos(t.NotBefore), zeroNanos(t.LeaseUntil), attempt, t.ExternalID,
		t.Message, decided, cur.TenantID, cur.ID, cur.Version); err != nil {
		return nil, fmt.Errorf("update action %d: %w", cur.ID, err)
	}
	out, err := readAction(ctx, tx, cur.TenantID, cur.ID)
	if err != nil {
		return nil, err
	}
	if err := appendActionLog(ctx, tx, out, now, t.By, cur.ActionStatus, t.To, t.Message); err != nil {
		return nil, err
	}
	typ := weft.ActionActivityType(t.To)
	if cur.ActionStatus == weft.ActionDispatched && t.To == weft.ActionApproved {
		typ = weft.ActivityActionRetrying
	}
	msg := fmt.Sprintf("%s: %s → %s by %s", describeAction(out), cur.ActionStatus, t.To, t.By)
	if t.To == weft.ActionDispatched {
		msg += fmt.Sprintf(" (attempt %d)", attempt)
	}
	if t.Message != "" {
		msg += ": " + t.Message
	}
	if err := appendActionActivity(ctx, tx, out, now, t.By, typ, msg); err != nil {
		return nil, err
	}
	if t.To == weft.ActionSucceeded {
		if err := undoOriginals(ctx, tx, out, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// undoOriginals moves to undone what the succeeded inverse action inv
// undoes: the action it was requested to undo, and every other succeeded
// action on its target whose inverse it is (a release undoes every
// isolation of the device, whoever asked for it).
func undoOriginals(ctx context.Context, tx *sql.Tx, inv *weft.Action, t weft.ActionTransition) error {
	var originals []*weft.Action
	if inv.UndoOf != 0 {
		o, err := readAction(ctx, tx, inv.TenantID, inv.UndoOf)
		if err != nil {
			return err
		}
		if o.ActionStatus == weft.ActionSucceeded {
			originals = append(originals, o)
		}
	}
	if len(t.Undoes) > 0 {
		args := []any{inv.TenantID, inv.Target, inv.UndoOf}
		for _, typ := range t.Undoes {
			args = append(args, typ)
		}
		more, err := queryActions(ctx, tx, `SELECT `+actionColumns+` FROM actions
			WHERE tenant_id = ? AND target = ? AND status = 'succeeded' AND id != ? AND type IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(t.Undoes)), ", ")+`) ORDER BY id`, args...)
		if err != nil {
			return err
		}
		originals = append(originals, more...)
	}
	now := nanos(t.Now)
	for _, o := range originals {
		msg := fmt.Sprintf("undone by action %d (%s)", inv.ID, inv.Type)
		if _, err := tx.ExecContext(ctx, `UPDATE actions SET status = 'undone', undone_by = ?, version = version + 1,
			updated = ? WHERE tenant_id = ? AND id = ?`, inv.ID, now, o.TenantID, o.ID); err != nil {
			return fmt.Errorf("undo action %d: %w", o.ID, err)
		}
		if err := appendActionLog(ctx, tx, o, now, t.By, weft.ActionSucceeded, weft.ActionUndone, msg); err != nil {
			return err
		}
		if err := appendActionActivity(ctx, tx, o, now, t.By, weft.ActivityActionUndone,
			fmt.Sprintf("%s: succeeded → undone by %s: %s", describeAction(o), t.By, msg)); err != nil {
			return err
		}
	}
	return nil
}

func appendActionLog(ctx context.Context, tx *sql.Tx, a *weft.Action, now int64, by weft.ActionActor, from, to weft.ActionStatus, msg string) error {
	actor, err := json.Marshal(by)
	if err != nil {
		return fmt.Errorf("encode actor: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO action_log (tenant_id, action_id, time, actor, from_status,
		to_status, attempt, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.TenantID, a.ID, now, string(actor), string(from), string(to), a.Attempt, msg); err != nil {
		return fmt.Errorf("log action %d: %w", a.ID, err)
	}
	return nil
}

// appendActionActivity logs a change of an action on its incident, when it
// has one.
func appendActionActivity(ctx context.Context, tx *sql.Tx, a *weft.Action, now int64, by weft.ActionActor, typ, msg string) error {
	if a.IncidentID == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message)
		VALUES (?, ?, ?, ?, ?, ?)`, a.TenantID, a.IncidentID, now, truncate(by.String(), 256), typ, msg); err != nil {
		return fmt.Errorf("log incident %d: %w", a.IncidentID, err)
	}
	return nil
}

// describeAction names an action in the incident's activity log:
// "Action 12 isolate (isolationType=full) on device.fqdn:ws1.contoso.com".
func describeAction(a *weft.Action) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Action %d %s", a.ID, a.Type)
	if len(a.Parameters) > 0 {
		keys := make([]string, 0, len(a.Parameters))
		for k := range a.Parameters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + a.Parameters[k])
		}
		b.WriteString(")")
	}
	b.WriteString(" on ")
	if a.TargetName != "" && a.TargetName != a.Target {
		b.WriteString(a.TargetName + " (" + a.Target + ")")
	} else {
		b.WriteString(a.Target)
	}
	return b.String()
}

func readAction(ctx context.Context, tx *sql.Tx, tenantID string, id int64) (*weft.Action, error) {
	as, err := queryActions(ctx, tx, `SELECT `+actionColumns+` FROM actions WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "action %d not found", id)
	}
	return as[0], nil
}

func queryActions(ctx context.Context, q querier, query string, args ...any) ([]*weft.Action, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read actions: %w", err)
	}
	defer rows.Close()
	var out []*weft.Action
	for rows.Next() {
		a := &weft.Action{}
		var entityType, status, params, by, contains string
		var decided sql.NullString
		var notBefore, lease, expires, created, updated int64
		if err := rows.Scan(&a.ID, &a.TenantID, &a.Type, &entityType, &a.Target, &a.TargetName, &params,
			&a.IncidentID, &a.Comment, &a.DedupeKey, &status, &a.Version, &by, &decided, &a.Connector, &a.Attempt,
			&notBefore, &lease, &expires, &a.ExternalID, &a.Message, &a.UndoOf, &a.UndoneBy, &contains,
			&created, &updated); err != nil {
			return nil, fmt.Errorf("read actions: %w", err)
		}
		a.EntityType, a.ActionStatus, a.Contains = weft.EntityType(entityType), weft.ActionStatus(status), weft.ContainmentState(contains)
		if err := json.Unmarshal([]byte(params), &a.Parameters); err != nil {
			return nil, fmt.Errorf("read action %d: parameters: %w", a.ID, err)
		}
		if len(a.Parameters) == 0 {
			a.Parameters = nil
		}
		if err := json.Unmarshal([]byte(by), &a.RequestedBy); err != nil {
			return nil, fmt.Errorf("read action %d: requester: %w", a.ID, err)
		}
		if decided.Valid {
			a.DecidedBy = &weft.ActionActor{}
			if err := json.Unmarshal([]byte(decided.String), a.DecidedBy); err != nil {
				return nil, fmt.Errorf("read action %d: decider: %w", a.ID, err)
			}
		}
		a.NotBefore, a.LeaseUntil = fromZeroNanos(notBefore), fromZeroNanos(lease)
		a.ExpiresAt, a.Created, a.Updated = fromNanos(expires), fromNanos(created), fromNanos(updated)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read actions: %w", err)
	}
	return out, nil
}

// zeroNanos stores the zero time as 0, for the columns where 0 is "not set".
func zeroNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromZeroNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptyList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
