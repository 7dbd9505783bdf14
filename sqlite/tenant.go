package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/weftxdr/weft"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// validTenantID checks the rule of weft.TenantStore.CreateTenant.
// StoreAlerts applies it too, since it creates the tenants that alerts name.
func validTenantID(id string) error { return weft.ValidateTenantID(id) }

// CreateTenant adds a tenant. An empty DisplayName becomes the id, and a zero
// Created the current time; both are set on t. It returns ECONFLICT if the id
// is taken and EINVALID if it is not 1–64 characters of [a-zA-Z0-9._-].
func (s *Store) CreateTenant(ctx context.Context, t *weft.Tenant) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := validTenantID(t.ID); err != nil {
		return err
	}
	if t.DisplayName == "" {
		t.DisplayName = t.ID
	}
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	t.Created = t.Created.UTC()
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO tenants (tenant_id, display_name, disabled, created) VALUES (?, ?, ?, ?)`,
		t.ID, t.DisplayName, t.Disabled, nanos(t.Created))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return weft.Errorf(weft.ECONFLICT, "tenant %q already exists", t.ID)
	} else if err != nil {
		return fmt.Errorf("sqlite: create tenant: %w", err)
	}
	return nil
}

// FindTenant returns a tenant, or an ENOTFOUND error.
func (s *Store) FindTenant(ctx context.Context, id string) (*weft.Tenant, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var t weft.Tenant
	var created int64
	err := s.read.QueryRowContext(ctx,
		`SELECT tenant_id, display_name, disabled, created FROM tenants WHERE tenant_id = ?`, id).
		Scan(&t.ID, &t.DisplayName, &t.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENOTFOUND, "tenant %q not found", truncate(id, 80))
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: find tenant: %w", err)
	}
	t.Created = fromNanos(created)
	return &t, nil
}

// ListTenants returns all tenants ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]*weft.Tenant, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx,
		`SELECT tenant_id, display_name, disabled, created FROM tenants ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tenants: %w", err)
	}
	defer rows.Close()
	var ts []*weft.Tenant
	for rows.Next() {
		var t weft.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.DisplayName, &t.Disabled, &created); err != nil {
			return nil, fmt.Errorf("sqlite: list tenants: %w", err)
		}
		t.Created = fromNanos(created)
		ts = append(ts, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tenants: %w", err)
	}
	return ts, nil
}

// UpdateTenant changes a tenant's display name and disabled flag; nil
// leaves one as it is. See weft.TenantStore.UpdateTenant for its errors. A
// tenant that is disabled keeps its records: the API refuses its alerts and
// its routes (docs/security.md, "Tenants"), and StoreAlerts its alerts.
func (s *Store) UpdateTenant(ctx context.Context, id string, displayName *string, disabled *bool) (*weft.Tenant, error) {
	if displayName != nil && (*displayName == "" || len(*displayName) > weft.MaxTenantDisplayName) {
		return nil, weft.Errorf(weft.EINVALID, "displayName: must be 1 to %d bytes long", weft.MaxTenantDisplayName)
	}
	if disabled != nil && *disabled && id == weft.DefaultTenantID {
		return nil, weft.Errorf(weft.EINVALID, "disabled: the %q tenant cannot be disabled; requests that name no tenant act in it", weft.DefaultTenantID)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	res, err := s.write.ExecContext(ctx,
		`UPDATE tenants SET display_name = coalesce(?, display_name), disabled = coalesce(?, disabled) WHERE tenant_id = ?`,
		displayName, disabled, id)
	s.leave()
	if err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("sqlite: update tenant: %w", err)
	} else if n == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "tenant %q not found", truncate(id, 80))
	}
	return s.FindTenant(ctx, id)
}

// checkTenantEnabled returns EINVALID, naming the first of alerts in the
// tenant and the tenant, when the tenant is disabled; it reads the flag in
// tx, the batch's write transaction.
func checkTenantEnabled(tx *sql.Tx, tenant string, alerts []*weft.Alert) error {
	var disabled bool
	if err := tx.QueryRowContext(bg, `SELECT disabled FROM tenants WHERE tenant_id = ?`, tenant).Scan(&disabled); err != nil {
		return fmt.Errorf("read tenant %q: %w", tenant, err)
	}
	if !disabled {
		return nil
	}
	i := slices.IndexFunc(alerts, func(a *weft.Alert) bool { return a.TenantID == tenant })
	return weft.Errorf(weft.EINVALID, "alert %d: tenant %q is disabled: its alerts are refused until an admin of every tenant enables it again", i, truncate(tenant, 80))
}

// isConstraint reports whether err is the SQLite constraint violation with
// the given extended result code.
func isConstraint(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == code
}
