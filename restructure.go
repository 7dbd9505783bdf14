package weft

import (
	"context"
	"strings"
)

// Restructuring incidents (design §7, §4.4 and §4.7): an analyst moves
// alerts to another or a new incident, merges incidents, or splits alerts
// off into a new incident. These are Graph's moveAlerts and mergeIncidents
// (docs/reference/defender-incidents.md §2.2, §2.3). What an analyst
// separates stays separated: correlation never merges the incidents again
// and links later alerts to where the analyst put the moved ones
// ("analysts win").

// IncidentRestructurer moves alerts between incidents and merges incidents
// on behalf of an analyst. Implementations are safe for concurrent use. Each
// operation is atomic: it changes everything it says or, on any error,
// nothing.
//
// Every incident involved logs the operation on its activity log (naming
// the alerts, where they came from and went to, the actor and the comment),
// gets Version+1, a new last update time and actor as last modifier, and
// has its aggregates (alert count, severity, times, sources, categories,
// impacted assets), name (unless an analyst set it) and priority
// recomputed from the alerts it holds afterwards. Each moved alert's
// correlation reasons become the analyst's reasons (none when none are
// given) and its correlation explanation "Moved by <actor>: <comment>"
// ("Merged by …" for the alerts of merged incidents).
type IncidentRestructurer interface {
	// MoveAlerts moves alerts to incident req.IncidentID, or to a new
	// incident when it is 0, and returns the incident they are in
	// afterwards. The alerts may come from several incidents. An incident
	// that a move leaves without alerts is redirected to the target
	// (status redirected, redirectIncidentId), as a merged one is, and
	// logs it (ActivityIncidentRedirected); any other source and the
	// target are kept apart from then on.
	//
	// It returns EINVALID for a request that breaks a rule (see
	// MoveAlertsRequest.Normalize) or names an alert already in the target
	// ("already in incident N"), ENOTFOUND naming the first alert or the
	// target incident the tenant does not have, and ECONFLICT when the
	// target is redirected or resolved, or would pass the tenant's size
	// cap.
	MoveAlerts(ctx context.Context, tenantID string, req MoveAlertsRequest, actor string) (targetIncidentID int64, err error)

	// MergeIncidents merges incidents into one of them (req.TargetIncidentID,
	// by default the oldest, the lowest id) and returns it. The others
	// become redirected to it (status redirected, redirectIncidentId, a
	// "Redirected" system tag); their alerts and custom tags move to the
	// target. The target logs ActivityIncidentMerged once per source, each
	// source ActivityIncidentRedirected.
	//
	// It returns EINVALID for a request that breaks a rule (see
	// MergeIncidentsRequest.Normalize), ENOTFOUND naming the first incident
	// the tenant does not have, and ECONFLICT naming the incident and the
	// blocker when one holds: an incident is redirected or resolved, two
	// have different assignees, classifications or determinations (an empty
	// or unknown value matches any), or the merged incident would have more
	// alerts than the tenant's size cap.
	MergeIncidents(ctx context.Context, tenantID string, req MergeIncidentsRequest, actor string) (targetIncidentID int64, err error)

	// SplitIncident moves alertIDs, which must all be in incident
	// incidentID and must not be all of its alerts, to a new incident, and
	// returns that incident. The two are kept apart from then on. The
	// source logs ActivityIncidentSplit, the new incident
	// ActivityIncidentCreated. It returns EINVALID for a request that
	// breaks a rule (see NormalizeSplit), names an alert of another
	// incident or all the incident's alerts, ENOTFOUND for an unknown
	// incident or alert, and ECONFLICT when the incident is redirected.
	SplitIncident(ctx context.Context, tenantID string, incidentID int64, alertIDs []string, comment, actor string) (newIncidentID int64, err error)
}

// Limits of one restructuring request.
const (
	// MaxMoveAlerts is the most alerts one move or split names.
	MaxMoveAlerts = 100
	// MaxMergeIncidents is the most incidents one merge names: Defender's
	// manual merge takes up to 5 incidents at a time
	// (docs/reference/defender-incidents.md §2.2).
	MaxMergeIncidents = 5
	// MaxAlertIDBytes bounds one alert id of a request.
	MaxAlertIDBytes = 1024
)

// Activity types of restructuring. A merge logs ActivityIncidentMerged on
// the target and ActivityIncidentRedirected on each source, as the
// correlator's merges do, and an incident a move or split creates logs
// ActivityIncidentCreated.
const (
	// ActivityAlertsMoved is logged on the incident alerts were moved out
	// of and on the one they were moved to.
	ActivityAlertsMoved = "alertsMoved"
	// ActivityIncidentSplit is logged on the incident alerts were split
	// off from.
	ActivityIncidentSplit = "incidentSplit"
)

// CorrelationReasons are the Graph correlationReason values an analyst may
// give as the reasons of a move or merge (Graph's unknownFutureValue
// aside). The correlator gives sameAsset, sameActor, sharedIndicators,
// eventSequence, lateralMovementPath and temporalProximity.
var CorrelationReasons = []string{
	"repeatedAlertOccurrence", "sameGeography", "similarArtifacts", "sameTargetedAsset",
	"sameNetworkSegment", "eventSequence", "timeFrame", "sameThreatSource", "similarTTPsOrBehavior",
	"sameActor", "sameCampaign", "sharedIndicators", "sameAsset", "networkProximity",
	"eventCasualSequence", "temporalProximity", "lateralMovementPath",
}

// MoveAlertsRequest is Graph's moveAlerts: alerts to move, and where.
type MoveAlertsRequest struct {
	// AlertIDs are the alerts to move: 1 to MaxMoveAlerts, no repeats.
	AlertIDs []string
	// IncidentID is the incident to move them to; 0 creates a new one.
	IncidentID int64
	// Comment says why (required, as in Defender).
	Comment string
	// Reasons are CorrelationReasons values; none is allowed.
	Reasons []string
}

// Normalize checks a move and brings it into the form the store keeps:
// alert ids trimmed, 1 to MaxMoveAlerts of them, none empty, repeated or
// longer than MaxAlertIDBytes; IncidentID not negative; the comment as
// CheckCommentText wants (field "alertComment"); reasons CorrelationReasons
// values, matched without case and kept in weft's spelling, repeats
// dropped. It returns an EINVALID error naming the field and the reason.
func (r *MoveAlertsRequest) Normalize() error {
	ids, err := normalizeAlertIDs("alertIds", r.AlertIDs)
	if err != nil {
		return err
	}
	r.AlertIDs = ids
	if r.IncidentID < 0 {
		return Errorf(EINVALID, "incidentId: %d is not an incident id; give a positive id, or none for a new incident", r.IncidentID)
	}
	if r.Comment, err = checkComment("alertComment", r.Comment); err != nil {
		return err
	}
	r.Reasons, err = normalizeReasons("newCorrelationReasons", r.Reasons)
	return err
}

// MergeIncidentsRequest is Graph's mergeIncidents: incidents to merge, and
// into which.
type MergeIncidentsRequest struct {
	// IncidentIDs are the incidents to merge: 2 to MaxMergeIncidents, no
	// repeats.
	IncidentIDs []int64
	// TargetIncidentID is the one they merge into, one of IncidentIDs; 0
	// means the oldest (lowest id), which keeps the most information.
	TargetIncidentID int64
	// Comment says why (required, as in Defender).
	Comment string
	// Reasons are CorrelationReasons values; none is allowed.
	Reasons []string
}

// Normalize checks a merge: 2 to MaxMergeIncidents positive incident ids
// without repeats, a target among them (0 becomes the lowest id), the
// comment as CheckCommentText wants (field "incidentComment") and reasons
// as in MoveAlertsRequest.Normalize (field "mergeReasons"). It returns an
// EINVALID error naming the field and the reason.
func (r *MergeIncidentsRequest) Normalize() error {
	n := len(r.IncidentIDs)
	if n < 2 || n > MaxMergeIncidents {
		return Errorf(EINVALID, "incidentIds: %d incidents; merge 2 to %d at a time", n, MaxMergeIncidents)
	}
	seen := map[int64]bool{}
	low := r.IncidentIDs[0]
	for i, id := range r.IncidentIDs {
		if id <= 0 {
			return Errorf(EINVALID, "incidentIds[%d]: %d is not an incident id", i, id)
		}
		if seen[id] {
			return Errorf(EINVALID, "incidentIds[%d]: incident %d is named twice", i, id)
		}
		seen[id] = true
		low = min(low, id)
	}
	switch {
	case r.TargetIncidentID == 0:
		r.TargetIncidentID = low
	case !seen[r.TargetIncidentID]:
		return Errorf(EINVALID, "targetIncidentId: incident %d is not one of incidentIds", r.TargetIncidentID)
	}
	var err error
	if r.Comment, err = checkComment("incidentComment", r.Comment); err != nil {
		return err
	}
	r.Reasons, err = normalizeReasons("mergeReasons", r.Reasons)
	return err
}

// NormalizeSplit checks the alert ids and comment of a split as
// MoveAlertsRequest.Normalize does (fields "alertIds" and "comment") and
// returns them normalized.
func NormalizeSplit(alertIDs []string, comment string) ([]string, string, error) {
	ids, err := normalizeAlertIDs("alertIds", alertIDs)
	if err != nil {
		return nil, "", err
	}
	comment, err = checkComment("comment", comment)
	return ids, comment, err
}

// MergedTags returns the custom tags of incidents merged into one: the
// target's tags, then each source's, trimmed, repeats (case aside) dropped
// with the first spelling kept. More than MaxCustomTags is an EINVALID
// error.
func MergedTags(tags ...[]string) ([]string, error) {
	var all []string
	for _, l := range tags {
		all = append(all, l...)
	}
	return normalizeTags(all)
}

func normalizeAlertIDs(field string, ids []string) ([]string, error) {
	if len(ids) == 0 || len(ids) > MaxMoveAlerts {
		return nil, Errorf(EINVALID, "%s: %d alerts; give 1 to %d", field, len(ids), MaxMoveAlerts)
	}
	out := make([]string, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		v, err := cleanText(field, id, MaxAlertIDBytes)
		if err != nil {
			return nil, Errorf(EINVALID, "%s[%d]: %s", field, i, strings.TrimPrefix(ErrorMessage(err), field+": "))
		}
		if v == "" {
			return nil, Errorf(EINVALID, "%s[%d]: must not be empty", field, i)
		}
		if seen[v] {
			return nil, Errorf(EINVALID, "%s[%d]: alert %q is named twice", field, i, truncate(v, 80))
		}
		seen[v] = true
		out[i] = v
	}
	return out, nil
}

func checkComment(field, text string) (string, error) {
	v, err := CheckCommentText(text)
	if err != nil {
		return "", Errorf(EINVALID, "%s: %s", field, strings.TrimPrefix(ErrorMessage(err), "comment: "))
	}
	return v, nil
}

func normalizeReasons(field string, reasons []string) ([]string, error) {
	var out []string
	for i, r := range reasons {
		v := strings.TrimSpace(r)
		k := -1
		for j, known := range CorrelationReasons {
			if strings.EqualFold(v, known) {
				k = j
				break
			}
		}
		if k < 0 {
			return nil, Errorf(EINVALID, "%s[%d]: %q is not a correlation reason; allowed: %s",
				field, i, truncate(v, 64), strings.Join(CorrelationReasons, ", "))
		}
		if !member(CorrelationReasons[k], out) {
			out = append(out, CorrelationReasons[k])
		}
	}
	return out, nil
}

// Restructurer is what a Correlator that follows analysts' restructuring
// implements besides weft.Correlator (correlate.Engine does). A store tells
// it what an operation did after the operation commits; a Correlator
// without it is rebuilt from the store instead, which hands the analysts'
// separations back through IncidentState.Apart.
type Restructurer interface {
	// MoveAlert records that an analyst moved an alert from incident from
	// to incident to: alerts sharing its entities link to to from then
	// on, and the two incidents are kept apart.
	MoveAlert(tenantID, alertID string, from, to int64)
	// KeepApart records that incidents a and b are never to be merged.
	KeepApart(tenantID string, a, b int64)
	// MergeIncidents records that incidents from were merged into into:
	// alerts that linked to them link to into.
	MergeIncidents(tenantID string, into int64, from []int64)
	// MaxIncidentAlerts is the tenant's size cap: the most alerts an
	// incident may hold.
	MaxIncidentAlerts(tenantID string) int
}
