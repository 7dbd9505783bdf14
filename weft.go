// Package weft holds the domain of the weft XDR incident engine: alerts and
// their evidence, the entities evidence refers to, incidents that group alerts,
// the activity log, tenants and assets, and the service interfaces that the
// adapters (sqlite/, http/, ingest/, …) implement or consume.
//
// The package imports only the standard library. Names and enum values follow
// the Microsoft Graph security API v1.0 (incident, alert, alertEvidence) so that
// people and tools that know that API feel at home; see docs/api.md.
package weft

import "time"

// DefaultTenantID is the tenant that every record belongs to when its sender
// names none. A single-tenant installation never has to think about tenants.
const DefaultTenantID = "default"

// Tenant is one customer or organisation. Every record belongs to exactly one
// tenant and no query crosses tenants unless an administrator of several asks
// for it explicitly.
type Tenant struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"createdDateTime"`
}

// Version is the weft release, set at build time with
// -ldflags "-X github.com/weftxdr/weft.Version=v1.2.3".
var Version = "dev"

// ValidateTenantID checks that id is 1–64 characters of [a-zA-Z0-9._-], the
// rule for every tenant id. It returns an EINVALID error otherwise.
func ValidateTenantID(id string) error {
	if id == "" || len(id) > 64 {
		return Errorf(EINVALID, "tenant id %q must be 1 to 64 characters long", truncate(id, 80))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return Errorf(EINVALID, "tenant id %q may contain only letters, digits, '.', '_' and '-'", truncate(id, 80))
		}
	}
	return nil
}
