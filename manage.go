package weft

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Managing incidents and alerts (design §7): the changes analysts make —
// status, assignment, classification and determination, tags, name,
// severity, comments — each checked here, applied by an IncidentManager in
// one transaction and logged on the incident's activity log.

// IncidentManager applies analysts' changes to incidents and alerts.
// Implementations are safe for concurrent use; changes to one incident are
// serialized, so that a version check (ifMatch) and the change it guards are
// atomic.
type IncidentManager interface {
	// UpdateIncident applies a patch to an incident on behalf of actor and
	// returns the incident as it is afterwards. With ifMatch > 0 the
	// incident must be at that Version, else nothing changes and a
	// *StaleVersionError (code EPRECONDITION) carrying the current incident
	// is returned; ifMatch 0 applies the patch to whatever version is
	// current. Each property that changes is logged as one
	// ActivityIncidentUpdated entry with its value before and after, and
	// the Version increases by one; a patch that changes nothing changes
	// neither. Resolving an incident resolves its alerts that are not
	// resolved yet (one ActivityAlertsResolved entry); assigning it assigns
	// its alerts. A display name set here is never replaced by correlation.
	//
	// It returns EINVALID for a patch that breaks a rule (see
	// IncidentPatch.Normalize and CheckDetermination, which the store applies
	// to the incident as it would be after the patch), ENOTFOUND when the
	// tenant has no such incident, and ECONFLICT for an incident merged into
	// another (status redirected).
	UpdateIncident(ctx context.Context, tenantID string, id int64, patch IncidentPatch, actor string, ifMatch int64) (*Incident, error)

	// AddIncidentComment appends a comment by actor to an incident's
	// comments and logs it (ActivityCommentAdded); ifMatch is as in
	// UpdateIncident. It returns the comment as stored and the incident's
	// new version. The text is checked with CheckCommentText (EINVALID).
	AddIncidentComment(ctx context.Context, tenantID string, id int64, text, actor string, ifMatch int64) (Comment, int64, error)

	// UpdateAlert applies a patch to an alert on behalf of actor and returns
	// the alert afterwards (without its raw original). Each property that
	// changes is logged on the alert's incident as one ActivityAlertUpdated
	// entry naming the alert, and the incident's Version increases. It
	// returns EINVALID for a patch that breaks a rule, ENOTFOUND when the
	// tenant has no such alert.
	UpdateAlert(ctx context.Context, tenantID, alertID string, patch AlertPatch, actor string) (*Alert, error)
}

// IncidentPatch is a change to an incident: a nil field is left as it is.
// AssignedTo "" unassigns; CustomTags of length 0 removes all tags.
type IncidentPatch struct {
	Status           *IncidentStatus
	AssignedTo       *string
	Classification   *Classification
	Determination    *Determination
	CustomTags       *[]string
	DisplayName      *string
	Severity         *Severity
	ResolvingComment *string
}

// AlertPatch is a change to an alert: a nil field is left as it is.
type AlertPatch struct {
	Status         *AlertStatus
	AssignedTo     *string
	Classification *Classification
	Determination  *Determination
}

// Limits of what analysts may set.
const (
	MaxDisplayNameBytes = MaxTitleBytes // an incident's name
	MaxAssigneeBytes    = 256           // a user or group name (UPN)
	MaxCustomTags       = 50            // custom tags per incident
	MaxTagBytes         = 128           // one custom tag
	MaxCommentRunes     = 30_000        // a comment or resolving comment, as in Defender
	MaxActorBytes       = 256           // the name of whoever makes a change
	MaxComments         = 1000          // comments per incident
)

// Activity types of the changes analysts make.
const (
	// ActivityIncidentUpdated is logged once per changed property of an
	// incident; Before and After are JSON objects with that one property,
	// e.g. {"status":"active"} and {"status":"resolved"}.
	ActivityIncidentUpdated = "incidentUpdated"
	// ActivityAlertsResolved is logged when resolving an incident resolved
	// alerts of it.
	ActivityAlertsResolved = "alertsResolved"
	// ActivityCommentAdded is logged for a comment; After holds its text.
	ActivityCommentAdded = "commentAdded"
)

// ActorAPI is the actor of changes made through the API by a client that
// does not name itself.
const ActorAPI = "api"

// Normalize checks a patch and brings it into the form the store keeps:
// enum values must be weft's (parse wire values with the Parse functions
// first, which accept both Graph spellings), the display name is trimmed,
// non-empty and at most MaxDisplayNameBytes, the assignee trimmed and at
// most MaxAssigneeBytes, tags trimmed, emptied ones dropped, repeats (case
// aside) dropped, at most MaxCustomTags of at most MaxTagBytes each, and a
// resolving comment at most MaxCommentRunes and only with status resolved
// (checked against the incident by the store when the patch leaves status
// out). Status may be set to active, inProgress or resolved; severity to
// informational, low, medium or high. It returns an EINVALID error naming
// the field and the reason.
func (p *IncidentPatch) Normalize() error {
	if p.Status != nil {
		switch *p.Status {
		case IncidentStatusActive, IncidentStatusInProgress, IncidentStatusResolved:
		case IncidentStatusRedirected:
			return Errorf(EINVALID, "status: redirected is set by merging incidents, not by an update")
		case IncidentStatusAwaitingAction:
			return Errorf(EINVALID, "status: awaitingAction is set only by a managed service; allowed: active, inProgress, resolved")
		default:
			return Errorf(EINVALID, "status: %q is not a valid value; allowed: active, inProgress, resolved", truncate(string(*p.Status), 64))
		}
	}
	if p.Severity != nil {
		switch *p.Severity {
		case SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh:
		default:
			return Errorf(EINVALID, "severity: %q cannot be set; allowed: informational, low, medium, high", truncate(string(*p.Severity), 64))
		}
	}
	if err := checkClassification(p.Classification, p.Determination); err != nil {
		return err
	}
	if p.AssignedTo != nil {
		v, err := cleanText("assignedTo", *p.AssignedTo, MaxAssigneeBytes)
		if err != nil {
			return err
		}
		p.AssignedTo = &v
	}
	if p.DisplayName != nil {
		v, err := cleanText("displayName", *p.DisplayName, MaxDisplayNameBytes)
		if err != nil {
			return err
		}
		if v == "" {
			return Errorf(EINVALID, "displayName: must not be empty")
		}
		p.DisplayName = &v
	}
	if p.CustomTags != nil {
		tags, err := normalizeTags(*p.CustomTags)
		if err != nil {
			return err
		}
		p.CustomTags = &tags
	}
	if p.ResolvingComment != nil {
		v := strings.TrimSpace(*p.ResolvingComment)
		if !utf8.ValidString(v) {
			return Errorf(EINVALID, "resolvingComment: is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(v); n > MaxCommentRunes {
			return Errorf(EINVALID, "resolvingComment: is %d characters; at most %d", n, MaxCommentRunes)
		}
		if v != "" && p.Status != nil && *p.Status != IncidentStatusResolved {
			return Errorf(EINVALID, "resolvingComment: may be set only when resolving the incident (status resolved), not with status %s", *p.Status)
		}
		p.ResolvingComment = &v
	}
	return nil
}

// Empty reports whether the patch changes nothing.
func (p *IncidentPatch) Empty() bool {
	return p.Status == nil && p.AssignedTo == nil && p.Classification == nil && p.Determination == nil &&
		p.CustomTags == nil && p.DisplayName == nil && p.Severity == nil && p.ResolvingComment == nil
}

// Normalize checks an alert patch as IncidentPatch.Normalize does: status
// new, inProgress or resolved, enum values weft's, the assignee trimmed and
// bounded. It returns an EINVALID error naming the field and the reason.
func (p *AlertPatch) Normalize() error {
	if p.Status != nil {
		switch *p.Status {
		case AlertStatusNew, AlertStatusInProgress, AlertStatusResolved:
		default:
			return Errorf(EINVALID, "status: %q cannot be set; allowed: new, inProgress, resolved", truncate(string(*p.Status), 64))
		}
	}
	if err := checkClassification(p.Classification, p.Determination); err != nil {
		return err
	}
	if p.AssignedTo != nil {
		v, err := cleanText("assignedTo", *p.AssignedTo, MaxAssigneeBytes)
		if err != nil {
			return err
		}
		p.AssignedTo = &v
	}
	return nil
}

// Empty reports whether the patch changes nothing.
func (p *AlertPatch) Empty() bool {
	return p.Status == nil && p.AssignedTo == nil && p.Classification == nil && p.Determination == nil
}

func checkClassification(c *Classification, d *Determination) error {
	if c != nil && !member(*c, Classifications) {
		return Errorf(EINVALID, "classification: %q is not a valid value", truncate(string(*c), 64))
	}
	if d != nil && !member(*d, Determinations) {
		return Errorf(EINVALID, "determination: %q is not a valid value", truncate(string(*d), 64))
	}
	return nil
}

func member[T comparable](v T, l []T) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// determinationsOf lists the determinations that fit each classification,
// after Defender's Manage incident pane (docs/reference/defender-incidents.md
// §4.3), with the deprecated apt and securityPersonnel where they belonged.
// unknown fits every classification.
var determinationsOf = map[Classification][]Determination{
	ClassificationUnknown: {DeterminationUnknown},
	ClassificationTruePositive: {DeterminationUnknown, DeterminationMultiStagedAttack, DeterminationMaliciousUserActivity,
		DeterminationCompromisedAccount, DeterminationMalware, DeterminationPhishing, DeterminationUnwantedSoftware,
		DeterminationOther, DeterminationApt},
	ClassificationInformationalExpectedActivity: {DeterminationUnknown, DeterminationSecurityTesting,
		DeterminationLineOfBusinessApplication, DeterminationConfirmedActivity, DeterminationOther,
		DeterminationSecurityPersonnel},
	ClassificationFalsePositive: {DeterminationUnknown, DeterminationNotMalicious, DeterminationNotEnoughDataToValidate,
		DeterminationOther},
}

// DeterminationsFor returns the determinations that fit a classification.
func DeterminationsFor(c Classification) []Determination {
	if c == "" {
		c = ClassificationUnknown
	}
	return determinationsOf[c]
}

// CheckDetermination returns an EINVALID error when determination d does
// not fit classification c, naming the determinations that do.
func CheckDetermination(c Classification, d Determination) error {
	if d == "" || d == DeterminationUnknown {
		return nil
	}
	allowed := DeterminationsFor(c)
	if member(d, allowed) {
		return nil
	}
	if c == "" || c == ClassificationUnknown {
		return Errorf(EINVALID, "determination: %s needs a classification; set classification too", d)
	}
	names := make([]string, len(allowed))
	for i, v := range allowed {
		names[i] = string(v)
	}
	return Errorf(EINVALID, "determination: %s does not fit classification %s; allowed: %s", d, c, strings.Join(names, ", "))
}

// CheckCommentText trims a comment and checks it: non-empty, valid UTF-8, at
// most MaxCommentRunes characters. It returns an EINVALID error naming the
// field "comment".
func CheckCommentText(text string) (string, error) {
	v := strings.TrimSpace(text)
	if !utf8.ValidString(v) {
		return "", Errorf(EINVALID, "comment: is not valid UTF-8")
	}
	if v == "" {
		return "", Errorf(EINVALID, "comment: must not be empty")
	}
	if n := utf8.RuneCountInString(v); n > MaxCommentRunes {
		return "", Errorf(EINVALID, "comment: is %d characters; at most %d", n, MaxCommentRunes)
	}
	return v, nil
}

// CheckActor trims the name of whoever makes a change and checks it: valid
// UTF-8, no control characters, at most MaxActorBytes. An empty name is
// ActorAPI. It returns an EINVALID error naming the field "actor".
func CheckActor(actor string) (string, error) {
	v, err := cleanText("actor", actor, MaxActorBytes)
	if err != nil {
		return "", err
	}
	if v == "" {
		return ActorAPI, nil
	}
	return v, nil
}

// cleanText trims s and checks that it is valid UTF-8 without control
// characters and at most max bytes.
func cleanText(field, s string, max int) (string, error) {
	v := strings.TrimSpace(s)
	if !utf8.ValidString(v) {
		return "", Errorf(EINVALID, "%s: is not valid UTF-8", field)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", Errorf(EINVALID, "%s: must not contain control characters", field)
	}
	if len(v) > max {
		return "", Errorf(EINVALID, "%s: is %d bytes; at most %d", field, len(v), max)
	}
	return v, nil
}

// normalizeTags trims tags, drops empty ones and repeats (compared without
// case; the first spelling is kept) and checks the bounds.
func normalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for i, t := range tags {
		v, err := cleanText("customTags", t, MaxTagBytes)
		if err != nil {
			return nil, Errorf(EINVALID, "customTags[%d]: %s", i, strings.TrimPrefix(ErrorMessage(err), "customTags: "))
		}
		k := strings.ToLower(v)
		if v == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	if len(out) > MaxCustomTags {
		return nil, Errorf(EINVALID, "customTags: %d tags; at most %d", len(out), MaxCustomTags)
	}
	return out, nil
}

// StaleVersionError is the error of a change made with a version (If-Match)
// that is no longer the incident's: Current is the incident as it is now.
// Its code is EPRECONDITION.
type StaleVersionError struct {
	Current *Incident
	Err     *Error
}

// Error implements the error interface.
func (e *StaleVersionError) Error() string { return e.Err.Error() }

// Unwrap returns the *Error, so that ErrorCode and ErrorMessage see it.
func (e *StaleVersionError) Unwrap() error { return e.Err }
