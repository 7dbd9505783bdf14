package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

// Tenants (docs/security.md, "Tenants and the merged queue").
//
// An admin of every tenant (a "*" admin grant) creates, reads, renames,
// disables and enables tenants; GET /api/v1/tenants lists, for anyone, the
// tenants they hold a grant in (auth.go). A tenant is also still created
// the first time an alert names it (sqlite.Store.StoreAlerts): only a
// principal with the analyst role in that tenant may send such an alert
// (ingest.go), so first use creates nothing a grant did not already allow.
//
// A disabled tenant keeps its records, but nothing of it is read or
// changed through the API: every tenant route answers 403 for it (authorize,
// checkEnabled), except that an admin of every tenant may still read it;
// its alerts are refused at ingest, record by record, naming the tenant;
// the merged queue leaves it out for everyone but an admin of every
// tenant. The 403 (not 404) is deliberate: the route check has already
// told the principal that it holds a grant in the tenant, so the tenant's
// existence is no secret to it, and "disabled" says what to do about it.
// The default tenant cannot be disabled: requests that name no tenant act
// in it.

// tenantChange audits a change of a tenant, naming it both as the entry's
// tenant and as its target, a failure with the error's code.
func (s *Server) tenantChange(r *http.Request, action, id, detail string, err error) {
	p := authOf(r).principal
	e := weft.AuditEntry{Actor: p.Name, Kind: p.Kind, TenantID: truncateForMessage(id), Action: action,
		Target: truncateForMessage(id), RemoteAddr: remoteHost(r), Outcome: "success", Detail: detail}
	if err != nil {
		e.Outcome, e.Detail = "failure", weft.ErrorCode(err)
	}
	s.audit(context.WithoutCancel(r.Context()), e)
}

// handleCreateTenant serves POST /api/v1/tenants {"id","displayName"}:
// 201 with the tenant, ECONFLICT (409) when the id is taken, EINVALID
// (400) naming the rule for a bad id or display name.
func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request) {
	var b struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := checkTenantBody(b.ID, b.DisplayName)
	t := &weft.Tenant{ID: b.ID, DisplayName: b.DisplayName}
	if err == nil {
		err = s.store.CreateTenant(context.WithoutCancel(r.Context()), t)
	}
	s.tenantChange(r, "tenant.create", b.ID, "", err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tenants/"+t.ID)
	s.writeJSON(w, http.StatusCreated, t)
}

// checkTenantBody checks a new tenant's id (weft.ValidateTenantID, and not
// "*", which names every tenant) and display name (at most
// weft.MaxTenantDisplayName bytes; empty: the id).
func checkTenantBody(id, displayName string) error {
	if id == weft.AllTenants {
		return weft.Errorf(weft.EINVALID, "id: %q names every tenant in grants and in %s; it cannot be a tenant's id", weft.AllTenants, TenantHeader)
	}
	if err := weft.ValidateTenantID(id); err != nil {
		return weft.Errorf(weft.EINVALID, "id: %s", weft.ErrorMessage(err))
	}
	if len(displayName) > weft.MaxTenantDisplayName {
		return weft.Errorf(weft.EINVALID, "displayName: must be at most %d bytes long", weft.MaxTenantDisplayName)
	}
	return nil
}

// handleGetTenant serves GET /api/v1/tenants/{id}, disabled or not.
func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request) {
	t, err := s.store.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, t)
}

// handlePatchTenant serves PATCH /api/v1/tenants/{id} {"displayName",
// "disabled"}: a member left out is unchanged; an empty body changes
// nothing and answers the tenant.
func (s *Server) handlePatchTenant(w http.ResponseWriter, r *http.Request) {
	var b struct {
		DisplayName *string `json:"displayName"`
		Disabled    *bool   `json:"disabled"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	var detail []string
	if b.DisplayName != nil {
		detail = append(detail, "displayName")
	}
	if b.Disabled != nil {
		detail = append(detail, "disabled="+strconv.FormatBool(*b.Disabled))
	}
	t, err := s.store.UpdateTenant(context.WithoutCancel(r.Context()), id, b.DisplayName, b.Disabled)
	s.tenantChange(r, "tenant.update", id, strings.Join(detail, " "), err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, t)
}

// isServerAdmin reports whether p is an admin of every tenant.
func isServerAdmin(p *weft.Principal) bool {
	a, ok := p.AccessIn(weft.AllTenants)
	return ok && a.Role == weft.RoleAdmin
}

// checkEnabled refuses (403) a request in a disabled tenant, but for an
// admin of every tenant who reads it. A tenant that does not exist yet is
// not disabled: it has no records, and the first alert creates it.
func (s *Server) checkEnabled(r *http.Request, p *weft.Principal, tenant string) error {
	t, err := s.store.FindTenant(r.Context(), tenant)
	if weft.ErrorCode(err) == weft.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !t.Disabled || (isServerAdmin(p) && !stateChanging(r.Method)) {
		return nil
	}
	return errTenantDisabled(tenant)
}

func errTenantDisabled(tenant string) error {
	return weft.Errorf(weft.EFORBIDDEN, "tenant %q is disabled: nothing of it is read or changed, and its alerts are refused, until an admin of every tenant enables it again (PATCH /api/v1/tenants/{id})", truncateForMessage(tenant))
}

// mergedTenants returns the tenants of the merged queue (Weft-Tenant: *)
// for p: every tenant, in id order, in which p holds need, leaving out
// disabled tenants for all but an admin of every tenant. A grant limited
// to device groups in one of them is refused (403) rather than applied:
// the limit of one tenant would have to be held to that tenant's rows
// alone, which the merged query does not do yet; the tenant's own queue
// applies it.
func (s *Server) mergedTenants(ctx context.Context, p *weft.Principal, need weft.Role) ([]string, error) {
	all, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	admin := isServerAdmin(p)
	ids := []string{}
	for _, t := range all {
		a, ok := p.AccessIn(t.ID)
		if !ok || !a.Role.Includes(need) || (t.Disabled && !admin) {
			continue
		}
		if len(a.DeviceGroups) > 0 {
			return nil, weft.Errorf(weft.EFORBIDDEN, "%s: %q: the merged queue cannot yet apply a device-group limit, and the grant in tenant %q is limited to %s; list that tenant's queue with %s: %s",
				TenantHeader, weft.AllTenants, truncateForMessage(t.ID), strings.Join(a.DeviceGroups, ", "), TenantHeader, truncateForMessage(t.ID))
		}
		ids = append(ids, t.ID)
	}
	if len(ids) > weft.MaxQueueTenants {
		return nil, weft.Errorf(weft.EINVALID, "%s: %q covers %d tenants; the merged queue covers at most %d", TenantHeader, weft.AllTenants, len(ids), weft.MaxQueueTenants)
	}
	return ids, nil
}
