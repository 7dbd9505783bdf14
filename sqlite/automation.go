package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftxdr/weft"
)

// Automation rules, their run log, notification rules, their deliveries and
// the event-log cursors (migration/0015_automation.sql). Rules are stored as
// JSON beside the columns their queries need. Writes take the write lock
// (lockWriter) like every write of the store; reads use the read pool.

var (
	_ weft.AutomationStore   = (*Store)(nil)
	_ weft.NotificationStore = (*Store)(nil)
)

// automationTx runs fn in a write transaction under the write lock: the
// write path of incident management (manageAll), with nothing for the
// Correlator or the alert cache to learn, since these tables hold rules,
// runs and deliveries only.
func (s *Store) automationTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	return s.manageAll(ctx, what, func(tx *sql.Tx, _ int64) (managed, error) { return managed{}, fn(tx) })
}

// startCursor starts consumer's cursor in a tenant at the end of the event
// log, unless it has one.
func startCursor(ctx context.Context, tx *sql.Tx, tenantID, consumer string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO event_cursors (tenant_id, consumer, after)
		VALUES (?, ?, (SELECT coalesce(max(id), 0) FROM activities)) ON CONFLICT DO NOTHING`, tenantID, consumer)
	return err
}

// ruleTable names the table of a kind of rule.
type ruleTable struct {
	table, what string
	ordered     bool // has an ord column
}

var (
	automationRules   = ruleTable{"automation_rules", "automation rule", true}
	notificationRules = ruleTable{"notification_rules", "notification rule", false}
)

func (s *Store) readRules(ctx context.Context, t ruleTable, tenantID string, id int64) ([][]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	q := `SELECT body FROM ` + t.table + ` WHERE tenant_id = ?`
	args := []any{tenantID}
	if id != 0 {
		q += ` AND id = ?`
		args = append(args, id)
	}
	if t.ordered {
		q += ` ORDER BY ord, id`
	} else {
		q += ` ORDER BY id`
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %ss: %w", t.what, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: read %ss: %w", t.what, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read %ss: %w", t.what, err)
	}
	if id != 0 && len(out) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "%s %d not found", t.what, id)
	}
	return out, nil
}

// putRule inserts (id 0) or replaces a rule. body gets the id and version it
// is stored with through set.
func (s *Store) putRule(ctx context.Context, t ruleTable, tenantID string, id, ifMatch int64, ord int,
	set func(id, version int64, created time.Time) any) error {
	if err := validTenantID(tenantID); err != nil {
		return err
	}
	return s.automationTx(ctx, "put "+t.what, func(tx *sql.Tx) error {
		version := int64(1)
		created := s.now().UTC()
		if id == 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t.table+` WHERE tenant_id = ?`, tenantID).Scan(&n); err != nil {
				return err
			}
			if n >= weft.MaxRulesPerTenant {
				return weft.Errorf(weft.ETOOLARGE, "the tenant has %d %ss; at most %d", n, t.what, weft.MaxRulesPerTenant)
			}
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+t.table).Scan(&id); err != nil {
				return err
			}
			consumer := weft.ConsumerAutomation
			if t == notificationRules {
				consumer = weft.ConsumerNotifications
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (tenant_id, display_name, disabled, created)
				VALUES (?1, ?1, 0, ?2) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, nanos(created)); err != nil {
				return err
			}
			if err := startCursor(ctx, tx, tenantID, consumer); err != nil {
				return err
			}
		} else {
			var cur int64
			var body []byte
			err := tx.QueryRowContext(ctx, `SELECT version, body FROM `+t.table+` WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&cur, &body)
			if errors.Is(err, sql.ErrNoRows) {
				return weft.Errorf(weft.ENOTFOUND, "%s %d not found", t.what, id)
			}
			if err != nil {
				return err
			}
			if ifMatch > 0 && ifMatch != cur {
				return weft.Errorf(weft.EPRECONDITION, "%s %d is at version %d, not %d: read it again and redo the change", t.what, id, cur, ifMatch)
			}
			var old struct {
				Created time.Time `json:"createdDateTime"`
			}
			if err := json.Unmarshal(body, &old); err == nil && !old.Created.IsZero() {
				created = old.Created
			}
			version = cur + 1
		}
		b, err := json.Marshal(set(id, version, created))
		if err != nil {
			return err
		}
		if t.ordered {
			_, err = tx.ExecContext(ctx, `INSERT INTO `+t.table+` (id, tenant_id, ord, version, body) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET ord = excluded.ord, version = excluded.version, body = excluded.body`,
				id, tenantID, ord, version, string(b))
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO `+t.table+` (id, tenant_id, version, body) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body`,
				id, tenantID, version, string(b))
		}
		return err
	})
}

// findRule reads rule id of table t; ENOTFOUND when the tenant has none.
func findRule[T any](s *Store, ctx context.Context, t ruleTable, tenantID string, id int64) (*T, error) {
	rs, err := decodeRules[T](s.readRules(ctx, t, tenantID, id))
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// ruleToUpdate checks the id of a rule to update.
func ruleToUpdate(id int64) error {
	if id <= 0 {
		return weft.Errorf(weft.EINVALID, "id: the rule to update is required")
	}
	return nil
}

// putRuleCopy normalizes a copy of r and stores it as rule id of table t
// (id 0: a new rule), in tenantID at order ord; stamp sets the copy's id,
// version, times and author as stored. r itself is left as it was.
func putRuleCopy[T any, P interface {
	*T
	Normalize() error
}](s *Store, ctx context.Context, t ruleTable, r P, tenantID string, ord int, id, ifMatch int64,
	stamp func(c P, id, version int64, created, updated time.Time)) (P, error) {
	c := *r
	if err := P(&c).Normalize(); err != nil {
		return nil, err
	}
	var out T
	err := s.putRule(ctx, t, tenantID, id, ifMatch, ord, func(id, version int64, created time.Time) any {
		stamp(&c, id, version, created, s.now().UTC())
		out = c
		return &c
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Store) deleteRule(ctx context.Context, t ruleTable, tenantID string, id, ifMatch int64) error {
	return s.automationTx(ctx, "delete "+t.what, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM `+t.table+` WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return weft.Errorf(weft.ENOTFOUND, "%s %d not found", t.what, id)
		}
		if err != nil {
			return err
		}
		if ifMatch > 0 && ifMatch != cur {
			return weft.Errorf(weft.EPRECONDITION, "%s %d is at version %d, not %d", t.what, id, cur, ifMatch)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE id = ?`, id)
		return err
	})
}

// AutomationRules implements weft.AutomationStore.
func (s *Store) AutomationRules(ctx context.Context, tenantID string) ([]*weft.AutomationRule, error) {
	bodies, err := s.readRules(ctx, automationRules, tenantID, 0)
	return decodeRules[weft.AutomationRule](bodies, err)
}

// FindAutomationRule implements weft.AutomationStore.
func (s *Store) FindAutomationRule(ctx context.Context, tenantID string, id int64) (*weft.AutomationRule, error) {
	return findRule[weft.AutomationRule](s, ctx, automationRules, tenantID, id)
}

// CreateAutomationRule implements weft.AutomationStore.
func (s *Store) CreateAutomationRule(ctx context.Context, r *weft.AutomationRule, actor string) (*weft.AutomationRule, error) {
	return s.putAutomationRule(ctx, r, actor, 0, 0)
}

// UpdateAutomationRule implements weft.AutomationStore.
func (s *Store) UpdateAutomationRule(ctx context.Context, r *weft.AutomationRule, actor string, ifMatch int64) (*weft.AutomationRule, error) {
	if err := ruleToUpdate(r.ID); err != nil {
		return nil, err
	}
	return s.putAutomationRule(ctx, r, actor, r.ID, ifMatch)
}

func (s *Store) putAutomationRule(ctx context.Context, r *weft.AutomationRule, actor string, id, ifMatch int64) (*weft.AutomationRule, error) {
	return putRuleCopy(s, ctx, automationRules, r, r.TenantID, r.Order, id, ifMatch,
		func(c *weft.AutomationRule, id, version int64, created, updated time.Time) {
			c.ID, c.Version, c.Created, c.Updated, c.UpdatedBy = id, version, created, updated, actor
		})
}

// DeleteAutomationRule implements weft.AutomationStore. Its runs stay in
// the log.
func (s *Store) DeleteAutomationRule(ctx context.Context, tenantID string, id, ifMatch int64) error {
	return s.deleteRule(ctx, automationRules, tenantID, id, ifMatch)
}

// AddAutomationRuns implements weft.AutomationStore.
func (s *Store) AddAutomationRuns(ctx context.Context, runs []*weft.AutomationRun) error {
	if len(runs) == 0 {
		return nil
	}
	return s.automationTx(ctx, "add automation runs", func(tx *sql.Tx) error {
		for _, r := range runs {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO automation_runs (tenant_id, rule_id, rule_version, incident_id, outcome, time, body)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, r.TenantID, r.RuleID, r.RuleVersion, r.IncidentID, string(r.Outcome), nanos(r.Time), string(b))
			if err != nil {
				return err
			}
			if r.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListAutomationRuns implements weft.AutomationStore: newest first.
func (s *Store) ListAutomationRuns(ctx context.Context, q weft.AutomationRunQuery) ([]*weft.AutomationRun, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	sqlq, args := logPage(`SELECT id, body FROM automation_runs`, q.TenantID, q.RuleID, q.IncidentID, q.Top, q.Skip)
	rows, err := s.read.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list automation runs: %w", err)
	}
	defer rows.Close()
	out := []*weft.AutomationRun{}
	for rows.Next() {
		var id int64
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, fmt.Errorf("sqlite: list automation runs: %w", err)
		}
		r := &weft.AutomationRun{}
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("sqlite: automation run %d: %w", id, err)
		}
		r.ID = id
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list automation runs: %w", err)
	}
	return out, nil
}

// logPage completes the query selectFrom of a run or delivery log: the
// tenant's entries, of one rule and one incident when those are not 0,
// newest first, one page of top (rulePageSize) after skip.
func logPage(selectFrom, tenantID string, ruleID, incidentID int64, top, skip int) (string, []any) {
	q := selectFrom + ` WHERE tenant_id = ?`
	args := []any{tenantID}
	if ruleID != 0 {
		q += ` AND rule_id = ?`
		args = append(args, ruleID)
	}
	if incidentID != 0 {
		q += ` AND incident_id = ?`
		args = append(args, incidentID)
	}
	return q + ` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, rulePageSize(top), max(skip, 0))
}

func rulePageSize(top int) int {
	switch {
	case top <= 0:
		return weft.DefaultPageSize
	case top > weft.MaxPageSize:
		return weft.MaxPageSize
	}
	return top
}

func decodeRules[T any](bodies [][]byte, err error) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(bodies))
	for _, b := range bodies {
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("sqlite: decode rule: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// EventCursor implements weft.EventCursorStore.
func (s *Store) EventCursor(ctx context.Context, tenantID, consumer string) (int64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var after int64
	err := s.read.QueryRowContext(ctx, `SELECT after FROM event_cursors WHERE tenant_id = ? AND consumer = ?`, tenantID, consumer).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, weft.Errorf(weft.ENOTFOUND, "no %s cursor in tenant %s", consumer, tenantID)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: read event cursor: %w", err)
	}
	return after, nil
}

// SetEventCursor implements weft.EventCursorStore; the cursor never moves
// back.
func (s *Store) SetEventCursor(ctx context.Context, tenantID, consumer string, after int64) error {
	return s.automationTx(ctx, "set event cursor", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO event_cursors (tenant_id, consumer, after) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, consumer) DO UPDATE SET after = max(after, excluded.after)`, tenantID, consumer, after)
		return err
	})
}

// CursorTenants implements weft.EventCursorStore.
func (s *Store) CursorTenants(ctx context.Context, consumer string) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, `SELECT tenant_id FROM event_cursors WHERE consumer = ? ORDER BY tenant_id`, consumer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cursor tenants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("sqlite: cursor tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// NotificationRules implements weft.NotificationStore.
func (s *Store) NotificationRules(ctx context.Context, tenantID string) ([]*weft.NotificationRule, error) {
	return decodeRules[weft.NotificationRule](s.readRules(ctx, notificationRules, tenantID, 0))
}

// FindNotificationRule implements weft.NotificationStore.
func (s *Store) FindNotificationRule(ctx context.Context, tenantID string, id int64) (*weft.NotificationRule, error) {
	return findRule[weft.NotificationRule](s, ctx, notificationRules, tenantID, id)
}

// CreateNotificationRule implements weft.NotificationStore.
func (s *Store) CreateNotificationRule(ctx context.Context, r *weft.NotificationRule, actor string) (*weft.NotificationRule, error) {
	return s.putNotificationRule(ctx, r, actor, 0, 0)
}

// UpdateNotificationRule implements weft.NotificationStore.
func (s *Store) UpdateNotificationRule(ctx context.Context, r *weft.NotificationRule, actor string, ifMatch int64) (*weft.NotificationRule, error) {
	if err := ruleToUpdate(r.ID); err != nil {
		return nil, err
	}
	return s.putNotificationRule(ctx, r, actor, r.ID, ifMatch)
}

func (s *Store) putNotificationRule(ctx context.Context, r *weft.NotificationRule, actor string, id, ifMatch int64) (*weft.NotificationRule, error) {
	return putRuleCopy(s, ctx, notificationRules, r, r.TenantID, 0, id, ifMatch,
		func(c *weft.NotificationRule, id, version int64, created, updated time.Time) {
			c.ID, c.Version, c.Created, c.Updated, c.UpdatedBy = id, version, created, updated, actor
		})
}

// DeleteNotificationRule implements weft.NotificationStore; the rule's
// pending deliveries fail when they come due.
func (s *Store) DeleteNotificationRule(ctx context.Context, tenantID string, id, ifMatch int64) error {
	return s.deleteRule(ctx, notificationRules, tenantID, id, ifMatch)
}

// AddDelivery implements weft.NotificationStore.
func (s *Store) AddDelivery(ctx context.Context, d *weft.NotificationDelivery) (bool, error) {
	created := false
	err := s.automationTx(ctx, "add notification delivery", func(tx *sql.Tx) error {
		now := nanos(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO notification_deliveries (tenant_id, rule_id, rule_version, incident_id, kind,
			event_id, state, attempts, next_attempt, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
			ON CONFLICT (rule_id, incident_id, kind) DO NOTHING`,
			d.TenantID, d.RuleID, d.RuleVersion, d.IncidentID, d.Kind, d.EventID, string(weft.DeliveryPending), nanos(d.NextAttempt), now, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if created = n == 1; created {
			d.ID, err = res.LastInsertId()
		}
		return err
	})
	return created, err
}

const deliverySelect = `SELECT id, tenant_id, rule_id, rule_version, incident_id, kind, event_id, state, attempts,
	next_attempt, last_error, created, updated FROM notification_deliveries`

func (s *Store) queryDeliveries(ctx context.Context, q string, args ...any) ([]*weft.NotificationDelivery, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read notification deliveries: %w", err)
	}
	defer rows.Close()
	out := []*weft.NotificationDelivery{}
	for rows.Next() {
		d := &weft.NotificationDelivery{}
		var next, created, updated int64
		var state string
		if err := rows.Scan(&d.ID, &d.TenantID, &d.RuleID, &d.RuleVersion, &d.IncidentID, &d.Kind, &d.EventID, &state,
			&d.Attempts, &next, &d.LastError, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: read notification deliveries: %w", err)
		}
		d.State, d.Created, d.Updated = weft.DeliveryState(state), fromNanos(created), fromNanos(updated)
		if d.State == weft.DeliveryPending {
			d.NextAttempt = fromNanos(next)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueDeliveries implements weft.NotificationStore.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*weft.NotificationDelivery, error) {
	return s.queryDeliveries(ctx, deliverySelect+` WHERE state = ? AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`,
		string(weft.DeliveryPending), nanos(now), max(limit, 1))
}

// ClaimDelivery implements weft.NotificationStore.
func (s *Store) ClaimDelivery(ctx context.Context, id int64, now time.Time) (bool, error) {
	claimed := false
	err := s.automationTx(ctx, "claim notification delivery", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notification_deliveries SET state = ?, attempts = attempts + 1, updated = ?
			WHERE id = ? AND state = ?`, string(weft.DeliverySending), nanos(now), id, string(weft.DeliveryPending))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// FinishDelivery implements weft.NotificationStore.
func (s *Store) FinishDelivery(ctx context.Context, id int64, state weft.DeliveryState, next time.Time, lastError string, now time.Time) error {
	return s.automationTx(ctx, "finish notification delivery", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE notification_deliveries SET state = ?, next_attempt = ?, last_error = ?, updated = ?
			WHERE id = ? AND state = ?`, string(state), nanos(next), lastError, nanos(now), id, string(weft.DeliverySending))
		return err
	})
}

// AbandonSending implements weft.NotificationStore.
func (s *Store) AbandonSending(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.automationTx(ctx, "abandon notification deliveries", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notification_deliveries SET state = ?, updated = ?,
			last_error = 'interrupted while sending; not sent again (at most once)' WHERE state = ?`,
			string(weft.DeliveryFailed), nanos(now), string(weft.DeliverySending))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// ListDeliveries implements weft.NotificationStore: newest first.
func (s *Store) ListDeliveries(ctx context.Context, q weft.DeliveryQuery) ([]*weft.NotificationDelivery, error) {
	sqlq, args := logPage(deliverySelect, q.TenantID, q.RuleID, q.IncidentID, q.Top, q.Skip)
	return s.queryDeliveries(ctx, sqlq, args...)
}
