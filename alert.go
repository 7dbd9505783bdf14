package weft

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
)

// Alert is one detection raised by a security product, as weft stores it. The
// JSON form is weft's native alert format (docs/formats.md): the Graph
// security alert's property names, with evidence as weft Evidence records.
//
// An alert is identified within its tenant by (Source, ProviderAlertID); ID is
// derived from those three (see AlertID), so the same alert sent twice, or to
// two weft nodes, gets the same ID.
type Alert struct {
	ID              string `json:"id"`
	TenantID        string `json:"tenantId"`
	Source          string `json:"source"`
	ProviderAlertID string `json:"providerAlertId"`
	IncidentID      int64  `json:"incidentId,omitzero,string"`

	Title              string      `json:"title"`
	Description        string      `json:"description,omitempty"`
	RecommendedActions string      `json:"recommendedActions,omitempty"`
	Category           string      `json:"category,omitempty"`
	MitreTechniques    []string    `json:"mitreTechniques,omitempty"`
	Severity           Severity    `json:"severity"`
	Status             AlertStatus `json:"status"`

	Classification Classification `json:"classification,omitempty"`
	Determination  Determination  `json:"determination,omitempty"`
	AssignedTo     string         `json:"assignedTo,omitempty"`

	ServiceSource     string `json:"serviceSource,omitempty"`
	DetectionSource   string `json:"detectionSource,omitempty"`
	ProductName       string `json:"productName,omitempty"`
	DetectorID        string `json:"detectorId,omitempty"`
	AlertPolicyID     string `json:"alertPolicyId,omitempty"`
	ActorDisplayName  string `json:"actorDisplayName,omitempty"`
	ThreatDisplayName string `json:"threatDisplayName,omitempty"`
	ThreatFamilyName  string `json:"threatFamilyName,omitempty"`
	AlertWebURL       string `json:"alertWebUrl,omitempty"`

	// FirstActivityDateTime and LastActivityDateTime are event time: when the
	// activity happened, as the source says. Correlation windows use them.
	FirstActivityDateTime time.Time `json:"firstActivityDateTime"`
	LastActivityDateTime  time.Time `json:"lastActivityDateTime"`
	// CreatedDateTime is when weft first stored the alert; LastUpdateDateTime
	// when weft last changed it.
	CreatedDateTime    time.Time  `json:"createdDateTime"`
	LastUpdateDateTime time.Time  `json:"lastUpdateDateTime"`
	ResolvedDateTime   *time.Time `json:"resolvedDateTime,omitempty"`
	// ProviderCreatedDateTime and ProviderLastUpdateDateTime are the source's
	// own times. A repeat of an alert with a later ProviderLastUpdateDateTime
	// is a newer version and replaces the stored one.
	ProviderCreatedDateTime    *time.Time `json:"providerCreatedDateTime,omitempty"`
	ProviderLastUpdateDateTime *time.Time `json:"providerLastUpdateDateTime,omitempty"`

	Comments   []Comment  `json:"comments,omitempty"`
	Evidence   []Evidence `json:"evidence,omitempty"`
	SystemTags []string   `json:"systemTags,omitempty"`

	// CorrelationReasons says why the alert is in its incident (Graph
	// correlationReason values) and Correlation says it in words.
	CorrelationReasons []string `json:"correlationReasons,omitempty"`
	Correlation        string   `json:"correlation,omitempty"`

	// AdditionalData keeps the source's custom details as a JSON object.
	AdditionalData json.RawMessage `json:"additionalData,omitempty"`
	// Raw is the record as the source sent it (cut to MaxRawBytes), returned
	// only when an alert is read by its id.
	Raw json.RawMessage `json:"raw,omitempty"`

	// Import is the incident of another system that the alert was exported
	// with (a Graph incident export), set by the decoder: the store puts the
	// alert in the weft incident that stands for it instead of correlating
	// it (see IncidentImport). Nil for an alert sent on its own. It is not
	// part of the alert's content, is never serialized and is not stored
	// with the alert.
	Import *IncidentImport `json:"-"`
}

// Comment is the Graph alertComment.
type Comment struct {
	Comment              string    `json:"comment"`
	CreatedByDisplayName string    `json:"createdByDisplayName"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
}

// Entities returns the distinct entities that the alert's evidence refers to,
// in evidence order, keyed by Evidence.Key. Evidence without an identifier is
// left out.
func (a *Alert) Entities() []EntityRef {
	refs := make([]EntityRef, 0, len(a.Evidence))
	seen := make(map[string]bool, len(a.Evidence))
	for i := range a.Evidence {
		e := &a.Evidence[i]
		k := e.Key()
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		refs = append(refs, EntityRef{Type: e.EntityType, Key: k, Name: e.Name()})
	}
	return refs
}

// EntityRef names one entity: its type, its key (its preferred identifier, see
// Evidence.Key) and a readable name.
type EntityRef struct {
	Type EntityType `json:"entityType"`
	Key  string     `json:"key"`
	Name string     `json:"name"`
}

// AlertID derives the weft id of an alert from its tenant, source and provider
// id: "wa" followed by 26 base32 characters of their SHA-256.
func AlertID(tenantID, source, providerAlertID string) string {
	h := sha256.New()
	h.Write([]byte(tenantID))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(source)))
	h.Write([]byte{0})
	h.Write([]byte(providerAlertID))
	sum := h.Sum(nil)
	return "wa" + strings.ToLower(alertIDEncoding.EncodeToString(sum[:16]))[:26]
}

var alertIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
