package weft

import (
	"fmt"
	"strings"
	"time"
)

// IncidentImport is an incident of another system that an alert was exported
// with: a Microsoft Graph security incident listed with $expand=alerts
// (docs/formats.md, "Graph incident exports"). An alert that carries one
// (Alert.Import) is not correlated: the store puts it in the weft incident
// that stands for the source incident, creating that incident with the
// imported state the first time, so that an export can be brought over whole
// and live alerts correlate with what was imported.
//
// Source and ID identify the incident within a tenant (Key); the other fields
// are its state in the source. A zero field means that the source did not
// say: a new incident then gets weft's default, and a stored one keeps what
// it has. Severity is not imported: an incident's severity is the highest of
// its alerts, in weft as in Graph.
type IncidentImport struct {
	// Source names the system and kind of the id, e.g. "graph-incident".
	Source string
	// ID is the incident's id in Source.
	ID string

	DisplayName      string
	Description      string
	Status           IncidentStatus
	Classification   Classification
	Determination    Determination
	AssignedTo       string
	CustomTags       []string
	SystemTags       []string
	Comments         []Comment
	ResolvingComment string

	// CreatedDateTime is when the source created the incident, and
	// LastUpdateDateTime when it last changed it: the version of the state.
	// The state of a re-imported incident is applied again only when
	// LastUpdateDateTime is later than at the last import; comments are
	// merged every time (an equal comment is kept once).
	CreatedDateTime    *time.Time
	LastUpdateDateTime *time.Time
}

// ActorImport is the actor of the changes that an incident import makes.
const ActorImport = "weft import"

// ActivityIncidentImported is logged when an import changes the state of a
// stored incident (status, classification, tags, comments …).
const ActivityIncidentImported = "incidentImported"

// MaxImportKeyBytes bounds IncidentImport.Key.
const MaxImportKeyBytes = 600

// Key returns "Source/ID", which identifies the source incident within a
// tenant.
func (imp *IncidentImport) Key() string { return imp.Source + "/" + imp.ID }

// Normalize checks an incident import a decoder produced and brings it into
// the form the store keeps: strings valid UTF-8 and cut to MaxFieldBytes (the
// display name to MaxTitleBytes), lists to MaxListItems, times in UTC. It
// returns warnings for what it repaired and a *FieldError (see Check) for what
// it cannot accept; field names are the Graph incident's.
func (imp *IncidentImport) Normalize() (warnings []string, err error) {
	var f fixer
	f.str(&imp.DisplayName, MaxTitleBytes)
	for _, s := range []*string{&imp.Source, &imp.ID, &imp.Description, &imp.AssignedTo, &imp.ResolvingComment} {
		f.str(s, MaxFieldBytes)
	}
	for _, l := range []*[]string{&imp.CustomTags, &imp.SystemTags} {
		if f.list(l) {
			warnings = append(warnings, fmt.Sprintf("incident lists longer than %d items were cut", MaxListItems))
		}
	}
	if f.comments(&imp.Comments) {
		warnings = append(warnings, fmt.Sprintf("incident lists longer than %d items were cut", MaxListItems))
	}
	for _, t := range []*time.Time{imp.CreatedDateTime, imp.LastUpdateDateTime} {
		if t != nil {
			*t = t.UTC()
		}
	}
	if f.cut {
		warnings = append(warnings, fmt.Sprintf("incident fields longer than %d bytes were cut", MaxFieldBytes))
	}
	return warnings, imp.Check()
}

// Check reports, as a *FieldError, what makes an import unusable: no source
// or id, a key longer than MaxImportKeyBytes, an enumeration value that is not
// one of weft's, or the status redirected (a redirected incident's alerts
// belong to the incident it redirects to, which is what should be imported).
// It does not modify imp.
func (imp *IncidentImport) Check() error {
	switch {
	case strings.TrimSpace(imp.Source) == "":
		return &FieldError{"source", "is required (the system the incident comes from)"}
	case strings.TrimSpace(imp.ID) == "":
		return &FieldError{"id", "is required (the incident's id in its source)"}
	case len(imp.Key()) > MaxImportKeyBytes:
		return &FieldError{"id", fmt.Sprintf("is %d bytes long; at most %d", len(imp.ID), MaxImportKeyBytes-len(imp.Source)-1)}
	case imp.Status == IncidentStatusRedirected:
		return &FieldError{"status", "a redirected incident is imported as the incident it redirects to"}
	}
	for _, v := range []struct {
		field string
		ok    bool
	}{
		{"status", imp.Status == "" || validValue(imp.Status, IncidentStatuses)},
		{"classification", imp.Classification == "" || validValue(imp.Classification, Classifications)},
		{"determination", imp.Determination == "" || validValue(imp.Determination, Determinations)},
	} {
		if !v.ok {
			return &FieldError{v.field, "is not a value weft knows; parse it with its weft.Parse function"}
		}
	}
	return nil
}

func validValue[T comparable](v T, allowed []T) bool {
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}
