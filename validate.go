package weft

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on one alert. Larger records are rejected by the decoders (a record
// is at most MaxRecordBytes); within that, over-long fields are cut.
const (
	MaxRecordBytes   = 1 << 20  // one alert as sent
	MaxRawBytes      = 64 << 10 // the raw original kept with an alert
	MaxFieldBytes    = 64 << 10 // any one string (command lines included)
	MaxTitleBytes    = 1024
	MaxEvidence      = 1000 // evidence records per alert
	MaxListItems     = 1000 // items of any list field (techniques, tags, URLs…)
	MaxClockSkew     = 10 * time.Minute
	MaxProviderIDLen = 512
)

// Epoch is the earliest event time weft accepts.
var Epoch = time.Unix(0, 0).UTC()

// FieldError says which field of a record is wrong and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ParseTime parses an RFC 3339 timestamp with a time zone offset ("Z" or
// "+02:00"), with any number of fractional digits, and returns it in UTC. A
// timestamp without an offset is refused: it would mean a different instant
// on every machine.
func ParseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if _, err2 := time.Parse(layout, s); err2 == nil {
			return time.Time{}, &FieldError{field, fmt.Sprintf("timestamp %q has no time zone offset; send RFC 3339 with Z or ±hh:mm, e.g. 2026-11-28T21:00:00Z", truncate(s, 64))}
		}
	}
	return time.Time{}, &FieldError{field, fmt.Sprintf("%q is not an RFC 3339 timestamp (e.g. 2026-11-28T21:00:00Z)", truncate(s, 64))}
}

// Normalize checks an alert a decoder produced and brings it into the form
// weft stores, at ingest time now. It returns warnings for what it repaired,
// and a *FieldError for what it cannot accept. The rules (docs/formats.md):
//
//   - tenantId defaults to DefaultTenantID; source, providerAlertId and title
//     are required; ID is derived with AlertID.
//   - severity defaults to unknown, status to new; enum values were checked by
//     the decoder.
//   - event times: a missing first or last activity time takes the other; both
//     missing take the provider's created time, else the ingest time. A time
//     before 1970 or more than MaxClockSkew after now is refused, and so is a
//     last activity before the first.
//   - strings longer than MaxFieldBytes are cut (with a warning), invalid UTF-8
//     is replaced by U+FFFD; more than MaxEvidence evidence records are refused.
//   - createdDateTime and lastUpdateDateTime are set to now.
func (a *Alert) Normalize(now time.Time) (warnings []string, err error) {
	now = now.UTC()
	if a.TenantID == "" {
		a.TenantID = DefaultTenantID
	}
	switch {
	case strings.TrimSpace(a.Source) == "":
		return nil, &FieldError{"source", "is required (the product that raised the alert, e.g. microsoftDefenderForEndpoint)"}
	case strings.TrimSpace(a.ProviderAlertID) == "":
		return nil, &FieldError{"providerAlertId", "is required (the alert's id in its source)"}
	case len(a.ProviderAlertID) > MaxProviderIDLen:
		return nil, &FieldError{"providerAlertId", fmt.Sprintf("is %d bytes long; at most %d", len(a.ProviderAlertID), MaxProviderIDLen)}
	case strings.TrimSpace(a.Title) == "":
		return nil, &FieldError{"title", "is required"}
	case len(a.Evidence) > MaxEvidence:
		return nil, &FieldError{"evidence", fmt.Sprintf("has %d records; at most %d per alert", len(a.Evidence), MaxEvidence)}
	}
	if err := ValidateTenantID(a.TenantID); err != nil {
		return nil, &FieldError{"tenantId", ErrorMessage(err)}
	}
	if a.Severity == "" {
		a.Severity = SeverityUnknown
	}
	if a.Status == "" {
		a.Status = AlertStatusNew
	}
	if a.Classification == "" {
		a.Classification = ClassificationUnknown
	}
	if a.Determination == "" {
		a.Determination = DeterminationUnknown
	}

	first, last := a.FirstActivityDateTime, a.LastActivityDateTime
	switch {
	case first.IsZero() && last.IsZero():
		if a.ProviderCreatedDateTime != nil && !a.ProviderCreatedDateTime.IsZero() {
			first = *a.ProviderCreatedDateTime
		} else {
			first = now
			warnings = append(warnings, "no activity time given: the ingest time is used")
		}
		last = first
	case first.IsZero():
		first = last
	case last.IsZero():
		last = first
	}
	for _, t := range []struct {
		field string
		v     time.Time
	}{{"firstActivityDateTime", first}, {"lastActivityDateTime", last}} {
		if t.v.Before(Epoch) {
			return nil, &FieldError{t.field, fmt.Sprintf("%s is before 1970-01-01", t.v.Format(time.RFC3339))}
		}
		if t.v.After(now.Add(MaxClockSkew)) {
			return nil, &FieldError{t.field, fmt.Sprintf("%s is %s in the future (more than the allowed clock skew of %s)", t.v.Format(time.RFC3339), t.v.Sub(now).Round(time.Second), MaxClockSkew)}
		}
	}
	if last.Before(first) {
		return nil, &FieldError{"lastActivityDateTime", fmt.Sprintf("%s is before firstActivityDateTime %s", last.Format(time.RFC3339), first.Format(time.RFC3339))}
	}
	a.FirstActivityDateTime, a.LastActivityDateTime = first.UTC(), last.UTC()
	a.CreatedDateTime, a.LastUpdateDateTime = now, now

	var f fixer
	fix := f.str
	fix(&a.Title, MaxTitleBytes)
	for _, s := range []*string{&a.Source, &a.ProviderAlertID, &a.TenantID, &a.Description, &a.RecommendedActions, &a.Category,
		&a.AssignedTo, &a.ServiceSource, &a.DetectionSource, &a.ProductName, &a.DetectorID, &a.AlertPolicyID,
		&a.ActorDisplayName, &a.ThreatDisplayName, &a.ThreatFamilyName, &a.AlertWebURL} {
		fix(s, MaxFieldBytes)
	}
	for i := range a.Evidence {
		e := &a.Evidence[i]
		e.eachString(func(s *string) { fix(s, MaxFieldBytes) })
		for _, t := range []*time.Time{e.CreatedDateTime, e.ReceivedDateTime, e.ProcessCreationDateTime, e.ParentProcessCreationDateTime} {
			if t != nil {
				*t = t.UTC()
			}
		}
	}
	for _, l := range []*[]string{&a.MitreTechniques, &a.SystemTags, &a.CorrelationReasons} {
		if f.list(l) {
			warnings = append(warnings, fmt.Sprintf("lists longer than %d items were cut", MaxListItems))
		}
	}
	if f.comments(&a.Comments) {
		warnings = append(warnings, fmt.Sprintf("lists longer than %d items were cut", MaxListItems))
	}
	for _, t := range []*time.Time{a.ResolvedDateTime, a.ProviderCreatedDateTime, a.ProviderLastUpdateDateTime} {
		if t != nil {
			*t = t.UTC()
		}
	}
	if f.cut {
		warnings = append(warnings, fmt.Sprintf("fields longer than %d bytes were cut", MaxFieldBytes))
	}
	if len(a.Raw) > MaxRawBytes {
		a.Raw = nil
		warnings = append(warnings, fmt.Sprintf("the raw record is larger than %d bytes and is not kept", MaxRawBytes))
	}
	a.ID = AlertID(a.TenantID, a.Source, a.ProviderAlertID)
	a.Identify()
	return warnings, nil
}

// eachString calls f with a pointer to every free-text string of the
// evidence, so that limits and UTF-8 repair apply to all of them.
func (e *Evidence) eachString(f func(*string)) {
	for _, s := range []*string{&e.OdataType, &e.RemediationStatusDetails, &e.DetectionStatus,
		&e.MdeDeviceID, &e.AzureAdDeviceID, &e.DeviceDNSName, &e.HostName, &e.NtDomain, &e.DNSDomain,
		&e.OsPlatform, &e.RbacGroupName, &e.HealthStatus, &e.RiskScore, &e.DisplayName, &e.PrimaryAddress,
		&e.NetworkMessageID, &e.InternetMessageID, &e.Subject, &e.SenderIP, &e.SenderAddress,
		&e.RecipientEmailAddress, &e.DeliveryAction, &e.DeliveryLocation, &e.AntiSpamDirection,
		&e.ClusterBy, &e.ClusterByValue, &e.IPAddress, &e.CountryLetterCode, &e.URL, &e.DomainName,
		&e.ProcessCommandLine, &e.RegistryHive, &e.RegistryKey, &e.RegistryValueName, &e.RegistryValue,
		&e.RegistryValueType, &e.AppID, &e.InstanceName, &e.Publisher, &e.ObjectID, &e.SecurityGroupID,
		&e.ResourceID, &e.ResourceName, &e.ResourceType} {
		f(s)
	}
	for _, l := range [][]string{e.DetailedRoles, e.Tags, e.IPInterfaces, e.URLs, e.Threats, e.NetworkMessageIDs} {
		for i := range l {
			f(&l[i])
		}
	}
	if a := e.UserAccount; a != nil {
		for _, s := range []*string{&a.AccountName, &a.DomainName, &a.UserPrincipalName, &a.UserSid, &a.AzureAdUserID, &a.DisplayName} {
			f(s)
		}
	}
	for _, fd := range []*FileDetails{e.FileDetails, e.ImageFile, e.ParentProcessImageFile} {
		if fd != nil {
			for _, s := range []*string{&fd.FileName, &fd.FilePath, &fd.FilePublisher, &fd.Issuer, &fd.Signer, &fd.Md5, &fd.Sha1, &fd.Sha256} {
				f(s)
			}
		}
	}
}

// fixer brings strings into the form weft stores: invalid UTF-8 replaced by
// U+FFFD and overlong ones cut. cut says whether any string was cut.
type fixer struct{ cut bool }

// str fixes *s, cutting it to max bytes.
func (f *fixer) str(s *string, max int) {
	if !utf8.ValidString(*s) {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
	}
	if len(*s) > max {
		*s = truncate(*s, max)
		f.cut = true
	}
}

// list cuts *l to MaxListItems and fixes its strings; it reports whether
// the list was cut.
func (f *fixer) list(l *[]string) bool {
	long := len(*l) > MaxListItems
	if long {
		*l = (*l)[:MaxListItems]
	}
	for i := range *l {
		f.str(&(*l)[i], MaxFieldBytes)
	}
	return long
}

// comments cuts *cs to MaxListItems, fixes their strings and puts their
// times in UTC; it reports whether the list was cut.
func (f *fixer) comments(cs *[]Comment) bool {
	long := len(*cs) > MaxListItems
	if long {
		*cs = (*cs)[:MaxListItems]
	}
	for i := range *cs {
		c := &(*cs)[i]
		f.str(&c.Comment, MaxFieldBytes)
		f.str(&c.CreatedByDisplayName, MaxFieldBytes)
		c.CreatedDateTime = c.CreatedDateTime.UTC()
	}
	return long
}
