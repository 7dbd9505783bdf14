package weft

import (
	"strings"
)

// The enumerations below use the Microsoft Graph security API v1.0 values on
// the wire. Each has a Parse function that accepts those values
// case-insensitively plus the legacy spellings listed in
// docs/reference (e.g. "Clean" for notMalicious), and rejects anything else
// with an EINVALID error that names the allowed values.

// Severity is the Graph alertSeverity.
type Severity string

// Severity values, ordered from lowest to highest by Rank.
const (
	SeverityUnknown       Severity = "unknown"
	SeverityInformational Severity = "informational"
	SeverityLow           Severity = "low"
	SeverityMedium        Severity = "medium"
	SeverityHigh          Severity = "high"
)

// Severities lists the valid severities from lowest to highest.
var Severities = []Severity{SeverityUnknown, SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh}

// Rank orders severities: unknown 0, informational 1, low 2, medium 3, high 4.
// An unrecognised value ranks as unknown.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return 0
}

// MaxSeverity returns the higher of a and b.
func MaxSeverity(a, b Severity) Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// ParseSeverity parses a Graph alertSeverity (also the legacy "UnSpecified",
// which means unknown).
func ParseSeverity(s string) (Severity, error) {
	if strings.EqualFold(s, "unspecified") {
		return SeverityUnknown, nil
	}
	return parseEnum("severity", s, Severities, nil)
}

// AlertStatus is the Graph alertStatus.
type AlertStatus string

// AlertStatus values.
const (
	AlertStatusUnknown    AlertStatus = "unknown"
	AlertStatusNew        AlertStatus = "new"
	AlertStatusInProgress AlertStatus = "inProgress"
	AlertStatusResolved   AlertStatus = "resolved"
)

// AlertStatuses lists the valid alert statuses.
var AlertStatuses = []AlertStatus{AlertStatusUnknown, AlertStatusNew, AlertStatusInProgress, AlertStatusResolved}

// ParseAlertStatus parses a Graph alertStatus.
func ParseAlertStatus(s string) (AlertStatus, error) {
	return parseEnum("status", s, AlertStatuses, nil)
}

// IncidentStatus is the Graph incidentStatus.
type IncidentStatus string

// IncidentStatus values. Redirected marks an incident merged into another.
const (
	IncidentStatusActive         IncidentStatus = "active"
	IncidentStatusInProgress     IncidentStatus = "inProgress"
	IncidentStatusResolved       IncidentStatus = "resolved"
	IncidentStatusRedirected     IncidentStatus = "redirected"
	IncidentStatusAwaitingAction IncidentStatus = "awaitingAction"
)

// IncidentStatuses lists the valid incident statuses.
var IncidentStatuses = []IncidentStatus{IncidentStatusActive, IncidentStatusInProgress, IncidentStatusResolved, IncidentStatusRedirected, IncidentStatusAwaitingAction}

// ParseIncidentStatus parses a Graph incidentStatus (also the legacy UI name
// "New", which means active).
func ParseIncidentStatus(s string) (IncidentStatus, error) {
	return parseEnum("status", s, IncidentStatuses, map[string]IncidentStatus{"new": IncidentStatusActive})
}

// Classification is the Graph alertClassification.
type Classification string

// Classification values.
const (
	ClassificationUnknown                       Classification = "unknown"
	ClassificationFalsePositive                 Classification = "falsePositive"
	ClassificationTruePositive                  Classification = "truePositive"
	ClassificationInformationalExpectedActivity Classification = "informationalExpectedActivity"
)

// Classifications lists the valid classifications.
var Classifications = []Classification{ClassificationUnknown, ClassificationFalsePositive, ClassificationTruePositive, ClassificationInformationalExpectedActivity}

// ParseClassification parses a Graph alertClassification (also the legacy
// "BenignPositive", which means informationalExpectedActivity).
func ParseClassification(s string) (Classification, error) {
	return parseEnum("classification", s, Classifications, map[string]Classification{
		"benignpositive": ClassificationInformationalExpectedActivity,
		"notset":         ClassificationUnknown,
	})
}

// Determination is the Graph alertDetermination.
type Determination string

// Determination values. Apt and SecurityPersonnel are deprecated by Microsoft
// but still accepted, since old exports carry them.
const (
	DeterminationUnknown                   Determination = "unknown"
	DeterminationApt                       Determination = "apt"
	DeterminationMalware                   Determination = "malware"
	DeterminationSecurityPersonnel         Determination = "securityPersonnel"
	DeterminationSecurityTesting           Determination = "securityTesting"
	DeterminationUnwantedSoftware          Determination = "unwantedSoftware"
	DeterminationOther                     Determination = "other"
	DeterminationMultiStagedAttack         Determination = "multiStagedAttack"
	DeterminationCompromisedAccount        Determination = "compromisedAccount"
	DeterminationPhishing                  Determination = "phishing"
	DeterminationMaliciousUserActivity     Determination = "maliciousUserActivity"
	DeterminationNotMalicious              Determination = "notMalicious"
	DeterminationNotEnoughDataToValidate   Determination = "notEnoughDataToValidate"
	DeterminationConfirmedActivity         Determination = "confirmedActivity"
	DeterminationLineOfBusinessApplication Determination = "lineOfBusinessApplication"
)

// Determinations lists the valid determinations.
var Determinations = []Determination{
	DeterminationUnknown, DeterminationApt, DeterminationMalware, DeterminationSecurityPersonnel,
	DeterminationSecurityTesting, DeterminationUnwantedSoftware, DeterminationOther,
	DeterminationMultiStagedAttack, DeterminationCompromisedAccount, DeterminationPhishing,
	DeterminationMaliciousUserActivity, DeterminationNotMalicious, DeterminationNotEnoughDataToValidate,
	DeterminationConfirmedActivity, DeterminationLineOfBusinessApplication,
}

// ParseDetermination parses a Graph alertDetermination, accepting both
// spellings that Microsoft's documentation uses (compromisedUser, clean,
// insufficientData, confirmedUserActivity are legacy names).
func ParseDetermination(s string) (Determination, error) {
	return parseEnum("determination", s, Determinations, map[string]Determination{
		"compromiseduser":       DeterminationCompromisedAccount,
		"clean":                 DeterminationNotMalicious,
		"insufficientdata":      DeterminationNotEnoughDataToValidate,
		"confirmeduseractivity": DeterminationConfirmedActivity,
		"notavailable":          DeterminationUnknown,
	})
}

// EvidenceRole is the Graph evidenceRole.
type EvidenceRole string

// EvidenceRoles lists the valid evidence roles.
var EvidenceRoles = []EvidenceRole{
	"unknown", "contextual", "scanned", "source", "destination", "created", "added",
	"compromised", "edited", "attacked", "attacker", "commandAndControl", "loaded",
	"suspicious", "policyViolator",
}

// ParseEvidenceRole parses a Graph evidenceRole. weft also accepts "impacted"
// and "related", the words analysts use, as compromised and contextual.
func ParseEvidenceRole(s string) (EvidenceRole, error) {
	return parseEnum("roles", s, EvidenceRoles, map[string]EvidenceRole{
		"impacted": "compromised",
		"related":  "contextual",
	})
}

// Verdict is the Graph evidenceVerdict.
type Verdict string

// Verdicts lists the valid verdicts.
var Verdicts = []Verdict{"unknown", "suspicious", "malicious", "noThreatsFound"}

// ParseVerdict parses a Graph evidenceVerdict (also "clean", as noThreatsFound).
func ParseVerdict(s string) (Verdict, error) {
	return parseEnum("verdict", s, Verdicts, map[string]Verdict{"clean": "noThreatsFound"})
}

// RemediationStatus is the Graph evidenceRemediationStatus.
type RemediationStatus string

// RemediationStatuses lists the valid remediation statuses.
var RemediationStatuses = []RemediationStatus{"none", "remediated", "prevented", "blocked", "notFound"}

// ParseRemediationStatus parses a Graph evidenceRemediationStatus.
func ParseRemediationStatus(s string) (RemediationStatus, error) {
	return parseEnum("remediationStatus", s, RemediationStatuses, nil)
}

// parseEnum matches s case-insensitively against the allowed values, then the
// legacy aliases (keys lower-case). An empty s yields the zero value.
func parseEnum[T ~string](field, s string, allowed []T, aliases map[string]T) (T, error) {
	if s == "" {
		return "", nil
	}
	for _, v := range allowed {
		if strings.EqualFold(string(v), s) {
			return v, nil
		}
	}
	if v, ok := aliases[strings.ToLower(s)]; ok {
		return v, nil
	}
	names := make([]string, len(allowed))
	for i, v := range allowed {
		names[i] = string(v)
	}
	return "", Errorf(EINVALID, "%s: %q is not a valid value; allowed: %s", field, truncate(s, 64), strings.Join(names, ", "))
}

// truncate shortens s to at most n bytes (on a rune boundary) for messages, so
// that an attacker-sized value never floods an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
