package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftxdr/weft"
)

// PolicyApplier is a Correlator that takes tenants' correlation policies as
// JSON (correlate.Engine is one). Without it the store keeps no policies.
type PolicyApplier interface {
	// ApplyPolicy sets a tenant's own policy; nil returns the tenant to
	// the default. An invalid policy is refused with EINVALID and changes
	// nothing.
	ApplyPolicy(tenantID string, policy []byte) error
	// PolicyJSON returns the complete policy applied to a tenant.
	PolicyJSON(tenantID string) []byte
}

var _ weft.PolicyStore = (*Store)(nil)

func (s *Store) policies() (PolicyApplier, error) {
	pa, ok := s.corr.(PolicyApplier)
	if !ok {
		return nil, weft.Errorf(weft.EUNSUPPORTED, "this server correlates without policies")
	}
	return pa, nil
}

// TenantPolicy returns the policy the Correlator applies to a tenant and
// where it comes from.
func (s *Store) TenantPolicy(ctx context.Context, tenantID string) (*weft.TenantPolicy, error) {
	return s.policyOp(ctx, tenantID, "tenant policy", s.tenantPolicy)
}

// policyOp runs op on tenantID's policy under the write lock, which guards
// the Correlator.
func (s *Store) policyOp(ctx context.Context, tenantID, what string,
	op func(ctx context.Context, pa PolicyApplier, tenantID string) (*weft.TenantPolicy, error)) (*weft.TenantPolicy, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	pa, err := s.policies()
	if err != nil {
		return nil, err
	}
	if err := validTenantID(tenantID); err != nil {
		return nil, err
	}
	if err := s.lockWriter(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer s.unlockWriter()
	return op(ctx, pa, tenantID)
}

func (s *Store) tenantPolicy(ctx context.Context, pa PolicyApplier, tenantID string) (*weft.TenantPolicy, error) {
	p := &weft.TenantPolicy{TenantID: tenantID, Source: weft.PolicyDefault, Policy: pa.PolicyJSON(tenantID)}
	var updated int64
	err := s.read.QueryRowContext(ctx, `SELECT updated FROM tenant_policies WHERE tenant_id = ?`, tenantID).Scan(&updated)
	switch {
	case err == nil && s.ownPolicy[tenantID]:
		t := time.Unix(0, updated).UTC()
		p.Source, p.UpdatedAt = weft.PolicyAPI, &t
	case err == nil || errors.Is(err, sql.ErrNoRows):
		// No stored policy, or one the engine refused when it was loaded
		// (PolicyProblems): the file's or the default applies.
		if _, ok := s.filePolicies[tenantID]; ok {
			p.Source = weft.PolicyFile
		}
	default:
		return nil, fmt.Errorf("sqlite: tenant policy: %w", err)
	}
	return p, nil
}

// SetTenantPolicy validates a tenant's policy, stores it and applies it from
// the tenant's next alert. The tenant is created if it does not exist yet,
// as ingest does. The Correlator is rebuilt from the store before the next
// batch, so that windows longer than before reach the stored past too.
func (s *Store) SetTenantPolicy(ctx context.Context, tenantID string, policy []byte) (*weft.TenantPolicy, error) {
	if policy == nil {
		policy = []byte{}
	}
	return s.policyOp(ctx, tenantID, "set tenant policy", func(ctx context.Context, pa PolicyApplier, tenantID string) (*weft.TenantPolicy, error) {
		return s.setTenantPolicy(ctx, pa, tenantID, policy)
	})
}

func (s *Store) setTenantPolicy(ctx context.Context, pa PolicyApplier, tenantID string, policy []byte) (*weft.TenantPolicy, error) {
	// Write first, apply (which validates) inside the transaction, commit
	// last: an invalid policy rolls back with the engine unchanged, and a
	// failed commit leaves the engine to be rebuilt from what is stored.
	now := s.now()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: set tenant policy: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (tenant_id, display_name, disabled, created)
		VALUES (?1, ?1, 0, ?2) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, nanos(now)); err != nil {
		return nil, fmt.Errorf("sqlite: set tenant policy: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tenant_policies (tenant_id, policy, updated) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, updated = excluded.updated`,
		tenantID, string(policy), nanos(now)); err != nil {
		return nil, fmt.Errorf("sqlite: set tenant policy: %w", err)
	}
	if err := pa.ApplyPolicy(tenantID, policy); err != nil {
		return nil, err // EINVALID, naming the setting; nothing changed
	}
	if err := tx.Commit(); err != nil {
		s.corrStale = true // the rebuild applies what is stored
		s.restorePolicy(context.WithoutCancel(ctx), pa, tenantID)
		return nil, fmt.Errorf("sqlite: set tenant policy: %w", err)
	}
	s.ownPolicy[tenantID] = true
	// The tenant's windows may now reach further back than the engine
	// kept for it: rebuild it from the store before the next batch.
	s.corrStale = true
	return s.tenantPolicy(ctx, pa, tenantID)
}

// DeleteTenantPolicy drops the policy set through the API: the tenant goes
// back to its policy from the configuration file (Options.TenantPolicies),
// or the default.
func (s *Store) DeleteTenantPolicy(ctx context.Context, tenantID string) (*weft.TenantPolicy, error) {
	return s.policyOp(ctx, tenantID, "delete tenant policy", s.deleteTenantPolicy)
}

func (s *Store) deleteTenantPolicy(ctx context.Context, pa PolicyApplier, tenantID string) (*weft.TenantPolicy, error) {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM tenant_policies WHERE tenant_id = ?`, tenantID); err != nil {
		return nil, fmt.Errorf("sqlite: delete tenant policy: %w", err)
	}
	if err := pa.ApplyPolicy(tenantID, s.filePolicies[tenantID]); err != nil {
		return nil, fmt.Errorf("sqlite: delete tenant policy: the file's policy: %w", err)
	}
	delete(s.ownPolicy, tenantID)
	s.corrStale = true // as in SetTenantPolicy: the windows may have grown
	return s.tenantPolicy(ctx, pa, tenantID)
}

// restorePolicy applies what the store says a tenant's policy is, after an
// ApplyPolicy whose write failed.
func (s *Store) restorePolicy(ctx context.Context, pa PolicyApplier, tenantID string) {
	var js string
	err := s.read.QueryRowContext(ctx, `SELECT policy FROM tenant_policies WHERE tenant_id = ?`, tenantID).Scan(&js)
	if err == nil && pa.ApplyPolicy(tenantID, []byte(js)) == nil {
		return
	}
	if pa.ApplyPolicy(tenantID, s.filePolicies[tenantID]) != nil {
		_ = pa.ApplyPolicy(tenantID, nil)
	}
}

// loadPolicies applies the configuration file's tenant policies and then
// those stored through the API, which take precedence. A stored policy that
// no longer validates (a setting this version dropped) is skipped with the
// tenant on its file or default policy, and reported through the returned
// error list rather than failing Open.
func (s *Store) loadPolicies(ctx context.Context) ([]error, error) {
	pa, ok := s.corr.(PolicyApplier)
	if !ok {
		return nil, nil
	}
	var problems []error
	// A tenant given a policy before and now in neither source (another
	// process deleted its stored policy) goes back to the default.
	stored := map[string]bool{}
	for id := range s.ownPolicy {
		if _, ok := s.filePolicies[id]; !ok {
			stored[id] = false
		}
	}
	for id, js := range s.filePolicies {
		if err := pa.ApplyPolicy(id, js); err != nil {
			return nil, fmt.Errorf("sqlite: the policy file's policy of tenant %q: %w", id, err)
		}
	}
	rows, err := s.read.QueryContext(ctx, `SELECT tenant_id, policy FROM tenant_policies ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load tenant policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, js string
		if err := rows.Scan(&id, &js); err != nil {
			return nil, fmt.Errorf("sqlite: load tenant policies: %w", err)
		}
		if err := pa.ApplyPolicy(id, []byte(js)); err != nil {
			problems = append(problems, fmt.Errorf("tenant %q: stored correlation policy ignored: %w", id, err))
			continue
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: load tenant policies: %w", err)
	}
	own := map[string]bool{}
	for id, ok := range stored {
		if !ok {
			if err := pa.ApplyPolicy(id, nil); err != nil {
				return nil, fmt.Errorf("sqlite: tenant %q: back to the default policy: %w", id, err)
			}
			continue
		}
		own[id] = true
	}
	s.ownPolicy = own
	return problems, nil
}

// PolicyProblems returns the stored tenant policies that the Correlator
// refused when they were last loaded (at Open, or when another process
// changed the file): those tenants run on their file or default policy.
func (s *Store) PolicyProblems() []error {
	s.writer <- struct{}{}
	defer s.unlockWriter()
	return slices.Clone(s.policyProblems)
}
