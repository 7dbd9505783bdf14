package weft

import (
	"slices"
	"time"
)

// Incident is a set of alerts that belong to one attack. Its JSON form is the
// Graph security incident with weft's additions (priority factors, impacted
// entities, sources, categories, alert count, version).
type Incident struct {
	ID                 int64          `json:"id,string"`
	TenantID           string         `json:"tenantId"`
	DisplayName        string         `json:"displayName"`
	Description        string         `json:"description,omitempty"`
	Severity           Severity       `json:"severity"`
	Status             IncidentStatus `json:"status"`
	Classification     Classification `json:"classification"`
	Determination      Determination  `json:"determination"`
	AssignedTo         string         `json:"assignedTo,omitempty"`
	CustomTags         []string       `json:"customTags"`
	SystemTags         []string       `json:"systemTags"`
	Comments           []Comment      `json:"comments"`
	ResolvingComment   string         `json:"resolvingComment,omitempty"`
	RedirectIncidentID int64          `json:"redirectIncidentId,omitzero,string"`

	// PriorityScore is 0–100; PriorityFactors say what produced it. Nil until
	// the score has been computed.
	PriorityScore   *int             `json:"priorityScore"`
	PriorityFactors []PriorityFactor `json:"priorityFactors,omitempty"`

	CreatedDateTime       time.Time `json:"createdDateTime"`
	LastUpdateDateTime    time.Time `json:"lastUpdateDateTime"`
	FirstActivityDateTime time.Time `json:"firstActivityDateTime"`
	LastActivityDateTime  time.Time `json:"lastActivityDateTime"`
	LastModifiedBy        string    `json:"lastModifiedBy,omitempty"`

	AlertCount       int         `json:"alertCount"`
	Categories       []string    `json:"categories"`
	ServiceSources   []string    `json:"serviceSources"`
	DetectionSources []string    `json:"detectionSources"`
	ImpactedEntities []EntityRef `json:"impactedEntities"`

	// Version increases with every change; it is the incident's ETag.
	Version int64 `json:"version"`

	// Alerts is filled only when asked for ($expand=alerts).
	Alerts []*Alert `json:"alerts,omitempty"`
}

// PriorityFactor is one reason for an incident's priority score, with the
// points it contributed.
type PriorityFactor struct {
	Name   string `json:"name"`
	Points int    `json:"points"`
	Detail string `json:"detail,omitempty"`
}

// Activity is one entry of an incident's append-only activity log: who did
// what, when, with the state before and after. Nothing that changes an
// incident bypasses it.
type Activity struct {
	ID         int64     `json:"id,string"`
	TenantID   string    `json:"tenantId"`
	IncidentID int64     `json:"incidentId,string"`
	Time       time.Time `json:"createdDateTime"`
	// Actor is a user name, an automation rule, or ActorCorrelation.
	Actor   string `json:"actor"`
	Type    string `json:"type"`
	Message string `json:"message"`
	AlertID string `json:"alertId,omitempty"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
}

// ActorCorrelation is the actor of changes made by the correlation engine.
const ActorCorrelation = "weft correlation"

// Activity types.
const (
	ActivityIncidentCreated = "incidentCreated"
	ActivityAlertAdded      = "alertAdded"
	ActivityAlertUpdated    = "alertUpdated"
	// ActivityIncidentMerged is logged on the incident that another was
	// merged into, ActivityIncidentRedirected on the one merged.
	ActivityIncidentMerged     = "incidentMerged"
	ActivityIncidentRedirected = "incidentRedirected"
)

// ActivityTypes lists every activity type weft logs, sorted; the activity
// log can be filtered by them.
func ActivityTypes() []string {
	types := []string{ActivityIncidentCreated, ActivityAlertAdded, ActivityAlertUpdated, ActivityIncidentMerged,
		ActivityIncidentRedirected, ActivityIncidentImported, ActivityIncidentUpdated, ActivityAlertsResolved,
		ActivityCommentAdded, ActivityAlertsMoved, ActivityIncidentSplit,
		ActivityActionRequested, ActivityActionApproved, ActivityActionRejected, ActivityActionCancelled,
		ActivityActionDispatched, ActivityActionSucceeded, ActivityActionFailed, ActivityActionExpired,
		ActivityActionUndone, ActivityActionRetrying}
	slices.Sort(types)
	return slices.Compact(types)
}
