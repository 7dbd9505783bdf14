package weft

import (
	"context"
	"encoding/json"
	"time"
)

// StoreOutcome says what storing one alert did.
type StoreOutcome string

// Store outcomes.
const (
	// OutcomeStored: a new alert, stored and placed in an incident.
	OutcomeStored StoreOutcome = "stored"
	// OutcomeUpdated: a newer version of a stored alert replaced it.
	OutcomeUpdated StoreOutcome = "updated"
	// OutcomeDuplicate: the same alert was already stored; nothing changed.
	OutcomeDuplicate StoreOutcome = "duplicate"
	// OutcomeStale: an older version of a stored alert; nothing changed.
	OutcomeStale StoreOutcome = "stale"
)

// StoreResult is the outcome of storing one alert of a batch.
type StoreResult struct {
	Outcome    StoreOutcome
	AlertID    string
	IncidentID int64
}

// AlertStore stores and reads alerts. Implementations are safe for concurrent
// use.
type AlertStore interface {
	// StoreAlerts stores a batch of normalized alerts in one transaction and
	// returns one result per alert, in order. It returns only after the batch
	// is durably committed; on error nothing of the batch is stored.
	//
	// An alert is identified by (TenantID, Source, ProviderAlertID). A repeat
	// is stored once: it replaces the stored alert when its
	// ProviderLastUpdateDateTime is later, or when neither has one and its
	// content differs; otherwise it is a duplicate (same content) or stale
	// (older version). Repeats within one batch follow the same rule in batch
	// order. A new alert is placed in an incident in the same transaction.
	// A batch with an alert of a disabled tenant is refused as a whole
	// (EINVALID naming the alert and the tenant).
	StoreAlerts(ctx context.Context, alerts []*Alert) ([]StoreResult, error)

	// FindAlert returns one alert with its raw original. It returns an
	// ENOTFOUND error when the tenant has no alert with that id.
	FindAlert(ctx context.Context, tenantID, id string) (*Alert, error)

	// ListAlerts returns a page of a tenant's alerts, newest first.
	ListAlerts(ctx context.Context, q AlertQuery) (AlertPage, error)
}

// AlertQuery selects alerts of one tenant.
type AlertQuery struct {
	TenantID   string
	IncidentID int64 // 0: any
	// IncidentFilter, when set, keeps only the alerts whose incident it
	// matches (as the incident queue's $filter would); the API uses it to
	// hold a principal limited to device groups to their incidents.
	IncidentFilter *IncidentFilter
	Top, Skip      int  // Top 0 means the default page size
	Count          bool // also count all matches
}

// AlertPage is one page of alerts. Count is the total number of matches when
// asked for, else -1. More says whether there are more after this page.
type AlertPage struct {
	Alerts []*Alert
	Count  int64
	More   bool
}

// IncidentStore reads incidents and their activity. Implementations are safe
// for concurrent use.
type IncidentStore interface {
	// FindIncident returns one incident, with its alerts when expandAlerts is
	// set. It returns an ENOTFOUND error when the tenant has none with that id.
	FindIncident(ctx context.Context, tenantID string, id int64, expandAlerts bool) (*Incident, error)

	// ListIncidents returns a page of a tenant's incidents, most recently
	// updated first.
	ListIncidents(ctx context.Context, q IncidentQuery) (IncidentPage, error)

	// ListActivities returns an incident's activity log, oldest first.
	ListActivities(ctx context.Context, tenantID string, incidentID int64) ([]*Activity, error)
}

// IncidentQuery selects and orders incidents of one tenant (or, with
// TenantIDs, of several): the incident queue. Every condition set must hold.
type IncidentQuery struct {
	TenantID string
	// TenantIDs, when not empty, replaces TenantID: the query runs over the
	// incidents of all these tenants at once (an MSSP's merged queue), in
	// one order, each incident labelled with its TenantID. Every condition
	// stays within each incident's own tenant (an entity or a device group
	// of one tenant never selects another's incidents). At most
	// MaxQueueTenants; EINVALID beyond.
	TenantIDs []string
	Status    []IncidentStatus // empty: any
	// Filter is a parsed $filter (ParseIncidentFilter); nil: no condition.
	// Redirected incidents match no filter; without one (and without
	// Status) they are listed as any other.
	Filter *IncidentFilter
	// Search keeps incidents whose name contains it (case-insensitively for
	// ASCII) or whose id it is; empty: no condition.
	Search string
	// OrderBy orders the page; ties are broken by id, descending, so that
	// paging is stable. Empty: most recently updated first.
	OrderBy      []IncidentOrder
	Top, Skip    int
	Count        bool
	ExpandAlerts bool
}

// IncidentPage is one page of incidents; see AlertPage.
type IncidentPage struct {
	Incidents []*Incident
	Count     int64
	More      bool
}

// TenantStore manages tenants. The default tenant always exists.
type TenantStore interface {
	// CreateTenant adds a tenant; ECONFLICT if the id is taken, EINVALID if
	// the id is not 1–64 characters of [a-zA-Z0-9._-].
	CreateTenant(ctx context.Context, t *Tenant) error
	// FindTenant returns a tenant or an ENOTFOUND error.
	FindTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants returns all tenants ordered by id.
	ListTenants(ctx context.Context) ([]*Tenant, error)
	// UpdateTenant changes a tenant's display name and disabled flag (nil:
	// unchanged) and returns the tenant as stored. ENOTFOUND for an unknown
	// tenant; EINVALID for an empty or over-long display name, and for
	// disabling the default tenant (requests that name no tenant act in
	// it, so it cannot be turned off).
	UpdateTenant(ctx context.Context, id string, displayName *string, disabled *bool) (*Tenant, error)
}

// MaxTenantDisplayName bounds a tenant's display name, in bytes.
const MaxTenantDisplayName = 200

// MaxQueueTenants bounds IncidentQuery.TenantIDs: the tenants of one
// merged queue.
const MaxQueueTenants = 1000

// PolicyStore keeps tenants' correlation policies set through the API. A
// policy is JSON in the form of a correlation policy file (docs/correlation.md
// §7); settings it leaves out keep the default policy's values.
type PolicyStore interface {
	// TenantPolicy returns the policy the correlator applies to a tenant
	// and where it comes from.
	TenantPolicy(ctx context.Context, tenantID string) (*TenantPolicy, error)
	// SetTenantPolicy validates a tenant's policy (EINVALID naming the
	// setting), stores it and applies it from the tenant's next alert.
	SetTenantPolicy(ctx context.Context, tenantID string, policy []byte) (*TenantPolicy, error)
	// DeleteTenantPolicy drops the policy set through the API; the tenant
	// goes back to its configuration file's policy, or the default.
	DeleteTenantPolicy(ctx context.Context, tenantID string) (*TenantPolicy, error)
}

// AssetStore keeps the tenants' asset inventory (Asset). An asset's names
// join identity resolution from the tenant's next alert, and its criticality
// counts in the priority of incidents scored after it was stored.
// Implementations are safe for concurrent use.
type AssetStore interface {
	// PutAssets normalizes (Asset.Normalize) and stores a batch of assets in
	// one transaction, replacing stored assets with the same tenant and id,
	// and returns one result per asset, in order; a repeat within the batch
	// replaces the earlier one. It does not modify the assets. When one is
	// invalid it returns an EINVALID error naming its index and field, and
	// stores nothing.
	PutAssets(ctx context.Context, assets []*Asset) ([]AssetResult, error)
	// FindAsset returns one asset, or an ENOTFOUND error.
	FindAsset(ctx context.Context, tenantID, id string) (*Asset, error)
	// ListAssets returns a page of a tenant's assets, ordered by id.
	ListAssets(ctx context.Context, q AssetQuery) (AssetPage, error)
	// DeleteAsset removes an asset, or returns an ENOTFOUND error.
	DeleteAsset(ctx context.Context, tenantID, id string) error
}

// PolicySource says where a tenant's correlation policy comes from.
type PolicySource string

// Policy sources.
const (
	PolicyDefault PolicySource = "default" // the server's default policy
	PolicyFile    PolicySource = "file"    // the tenant's entry in the policy file
	PolicyAPI     PolicySource = "api"     // set through the API
)

// TenantPolicy is the correlation policy applied to one tenant.
type TenantPolicy struct {
	TenantID string       `json:"tenantId"`
	Source   PolicySource `json:"source"`
	// UpdatedAt is when the policy was set through the API.
	UpdatedAt *time.Time `json:"updatedDateTime,omitempty"`
	// Policy is the complete effective policy, every setting spelt out.
	Policy json.RawMessage `json:"policy"`
}

// Store is everything a weft store provides.
type Store interface {
	AlertStore
	IncidentStore
	TenantStore
	// Ping checks that the store can serve requests.
	Ping(ctx context.Context) error
	// Close finishes in-flight work and releases the store.
	Close() error
}

// DefaultPageSize and MaxPageSize bound $top.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Clock returns the current time; stores and services take one so that tests
// control time.
type Clock func() time.Time

// Correlator decides which incident a new alert joins: the correlation
// engine (correlate.Engine), consulted by a store inside the transaction that
// stores the alert, so that an alert and its placement are committed
// together. A Correlator is a cache of what the store holds; it is not safe
// for concurrent use (the store's single writer owns it).
type Correlator interface {
	// Place decides the incident of a new, normalized alert; newIncidentID
	// allocates the id of an incident it creates.
	Place(a *Alert, newIncidentID func() int64) Placement
	// Restore indexes a stored alert in its incident without deciding, to
	// rebuild the state at start-up or after a failed commit.
	Restore(a *Alert, incidentID int64)
	// SetIncident records an incident's state that blockers depend on.
	SetIncident(tenantID string, s IncidentState)
	// Window is how far back in event time, from the newest alert, the
	// stored alerts must be restored for the Correlator to decide as an
	// uninterrupted run would.
	Window() time.Duration
	// Reset forgets everything, before a rebuild.
	Reset()
}

// ReadAhead is implemented by a Correlator that can prepare for the alerts
// it will be asked to place next: the store names a batch's alerts, in the
// order it will place them, before it does, and nil after. It is a hint,
// which changes no decision.
type ReadAhead interface {
	Ahead(next []*Alert)
}

// Placement is where a Correlator put one alert, and why.
type Placement struct {
	AlertID    string
	IncidentID int64
	// New is set when the incident was created for this alert; Continues
	// then names the full incident it continues, if any.
	New       bool
	Continues int64
	// Merged lists incidents merged by this alert into MergedInto: they are
	// to be redirected to it, with their alerts moved. MergedInto is
	// IncidentID unless the merged incident was full and the alert went on
	// to a continuation.
	Merged     []int64
	MergedInto int64
	// Related lists incidents the alert links to but was not put in:
	// resolved ones, and ones a blocker kept apart.
	Related []int64
	// Reasons are Graph correlationReason values (shared between
	// placements: read them, do not modify them); Explanation says the
	// strongest link in words.
	Reasons     []string
	Explanation string
	// LinkedAlert is the other alert of the strongest link, and LinkedEntity
	// the entity they share ("device:ws-042.contoso.com"); empty for a new
	// incident.
	LinkedAlert  string
	LinkedEntity string
}

// IncidentState is what a Correlator's blockers depend on.
type IncidentState struct {
	ID             int64
	Status         IncidentStatus
	AssignedTo     string
	Classification Classification
	Determination  Determination
	// AlertCount is the incident's number of alerts when known (> 0), so
	// that the size cap holds after a restart even for alerts outside the
	// windows.
	AlertCount int
	// Apart lists incidents an analyst split from this one or moved an
	// alert between: the correlator never merges them with it.
	Apart []int64
}
