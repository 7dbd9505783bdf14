package weft

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AssetKind says what an inventory asset is.
type AssetKind string

// Asset kinds.
const (
	AssetDevice AssetKind = "device"
	AssetUser   AssetKind = "user"
)

// Asset is an inventory record for a device or a user, imported by the user:
// how critical it is (0 none to 3 highest), tags such as "domain controller"
// or "executive", its device group, and the names it goes by. Assets feed
// identity resolution (the names of one asset are one identity, design §3)
// and priority (the criticality of an incident's impacted devices and users,
// design §5).
//
// The names are given in the fields evidence uses (Graph alertEvidence):
// deviceDnsName, hostName, mdeDeviceId and azureAdDeviceId for a device;
// userPrincipalName, userSid, azureAdUserId, accounts (DOMAIN\sam) and
// mailAddresses for a user. Normalize derives Identifiers from them with the
// rules of Evidence.Identifiers, so that they meet the identifiers alerts
// carry.
type Asset struct {
	TenantID    string    `json:"tenantId"`
	ID          string    `json:"id"`
	Kind        AssetKind `json:"kind"`
	DisplayName string    `json:"displayName"`
	Criticality int       `json:"criticality"`
	Tags        []string  `json:"tags"`
	DeviceGroup string    `json:"deviceGroup,omitempty"`

	// A device's names.
	DeviceDNSName   string `json:"deviceDnsName,omitempty"`
	HostName        string `json:"hostName,omitempty"`
	MdeDeviceID     string `json:"mdeDeviceId,omitempty"`
	AzureAdDeviceID string `json:"azureAdDeviceId,omitempty"`

	// A user's names. Accounts are "DOMAIN\sam" (a bare account name is a
	// weak alias: it names the user only while no other identity carries
	// it); mail addresses are the user's mailbox addresses.
	UserPrincipalName string   `json:"userPrincipalName,omitempty"`
	UserSid           string   `json:"userSid,omitempty"`
	AzureAdUserID     string   `json:"azureAdUserId,omitempty"`
	Accounts          []string `json:"accounts,omitempty"`
	MailAddresses     []string `json:"mailAddresses,omitempty"`

	// Identifiers are the normalized identifiers of the names above, most
	// preferred first; Normalize sets them, and they are ignored on input.
	Identifiers []Identifier `json:"identifiers"`

	// LastUpdateDateTime is when the asset was last stored with a change;
	// the store sets it.
	LastUpdateDateTime time.Time `json:"lastUpdateDateTime"`
}

// Limits on one asset.
const (
	MaxAssetIDBytes   = 256
	MaxAssetNameBytes = 256 // display name, device group, each name and tag
	MaxAssetTags      = 64
	MaxAssetAliases   = 64 // accounts, and mail addresses, each
	MaxCriticality    = 3
)

// Normalize checks an asset and brings it into the form weft stores: names
// trimmed, tags trimmed and without duplicates, the tenant defaulted to
// DefaultTenantID, the display name defaulted to the asset's first name, and
// Identifiers derived from its names. It returns a *FieldError naming the
// first field it cannot accept. Normalizing a normalized asset changes
// nothing.
//
// The rules: id is 1–256 bytes of printable text without "/"; kind is device
// or user; criticality is 0–3; a device has at least one device name and no
// user names, and a user at least one user name and no device names;
// userPrincipalName and every mail address must look like name@domain; at
// most 64 tags, accounts and mail addresses; every string at most 256 bytes.
func (a *Asset) Normalize() error {
	if a.TenantID == "" {
		a.TenantID = DefaultTenantID
	}
	if err := ValidateTenantID(a.TenantID); err != nil {
		return &FieldError{"tenantId", ErrorMessage(err)}
	}
	a.ID = strings.TrimSpace(a.ID)
	switch {
	case a.ID == "":
		return &FieldError{"id", "is required (the asset's id in your inventory)"}
	case len(a.ID) > MaxAssetIDBytes:
		return &FieldError{"id", fmt.Sprintf("is %d bytes long; at most %d", len(a.ID), MaxAssetIDBytes)}
	case !utf8.ValidString(a.ID) || strings.ContainsFunc(a.ID, func(r rune) bool { return r == '/' || !unicode.IsPrint(r) }):
		return &FieldError{"id", fmt.Sprintf("%q may contain only printable characters other than \"/\"", truncate(a.ID, 80))}
	}
	a.Kind = AssetKind(strings.ToLower(strings.TrimSpace(string(a.Kind))))
	if a.Kind != AssetDevice && a.Kind != AssetUser {
		return &FieldError{"kind", fmt.Sprintf("must be %q or %q, not %q", AssetDevice, AssetUser, truncate(string(a.Kind), 40))}
	}
	if a.Criticality < 0 || a.Criticality > MaxCriticality {
		return &FieldError{"criticality", fmt.Sprintf("must be 0 (none) to %d (highest), not %d", MaxCriticality, a.Criticality)}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{
		{"displayName", &a.DisplayName}, {"deviceGroup", &a.DeviceGroup},
		{"deviceDnsName", &a.DeviceDNSName}, {"hostName", &a.HostName},
		{"mdeDeviceId", &a.MdeDeviceID}, {"azureAdDeviceId", &a.AzureAdDeviceID},
		{"userPrincipalName", &a.UserPrincipalName}, {"userSid", &a.UserSid}, {"azureAdUserId", &a.AzureAdUserID},
	} {
		if err := cleanAssetString(f.name, f.v); err != nil {
			return err
		}
	}
	var err error
	if a.Tags, err = cleanAssetList("tags", a.Tags, MaxAssetTags); err != nil {
		return err
	}
	if a.Accounts, err = cleanAssetList("accounts", a.Accounts, MaxAssetAliases); err != nil {
		return err
	}
	if a.MailAddresses, err = cleanAssetList("mailAddresses", a.MailAddresses, MaxAssetAliases); err != nil {
		return err
	}

	device := map[string]string{"deviceDnsName": a.DeviceDNSName, "hostName": a.HostName,
		"mdeDeviceId": a.MdeDeviceID, "azureAdDeviceId": a.AzureAdDeviceID}
	user := map[string]string{"userPrincipalName": a.UserPrincipalName, "userSid": a.UserSid,
		"azureAdUserId": a.AzureAdUserID, "accounts": strings.Join(a.Accounts, ","), "mailAddresses": strings.Join(a.MailAddresses, ",")}
	wrong, kind := user, "user"
	if a.Kind == AssetUser {
		wrong, kind = device, "device"
	}
	for _, name := range sortedKeys(wrong) {
		if wrong[name] != "" {
			return &FieldError{name, fmt.Sprintf("is a %s name; this asset is a %s", kind, a.Kind)}
		}
	}
	if a.UserPrincipalName != "" && NormalizeMail(a.UserPrincipalName) == "" {
		return &FieldError{"userPrincipalName", fmt.Sprintf("%q is not of the form name@domain", truncate(a.UserPrincipalName, 80))}
	}
	for i, m := range a.MailAddresses {
		if NormalizeMail(m) == "" {
			return &FieldError{fmt.Sprintf("mailAddresses[%d]", i), fmt.Sprintf("%q is not a mail address", truncate(m, 80))}
		}
	}
	for i, acct := range a.Accounts {
		if d, n, ok := strings.Cut(acct, `\`); ok && (d == "" || n == "" || strings.Contains(n, `\`)) {
			return &FieldError{fmt.Sprintf("accounts[%d]", i), fmt.Sprintf("%q is neither DOMAIN\\name nor a bare account name", truncate(acct, 80))}
		}
	}

	a.Identifiers = a.identifiers()
	if len(a.Identifiers) == 0 {
		if a.Kind == AssetDevice {
			return &FieldError{"deviceDnsName", "a device needs at least one name: deviceDnsName, hostName, mdeDeviceId or azureAdDeviceId"}
		}
		return &FieldError{"userPrincipalName", "a user needs at least one name: userPrincipalName, userSid, azureAdUserId, accounts or mailAddresses"}
	}
	if a.DisplayName == "" {
		a.DisplayName = a.firstName()
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	return nil
}

// identifiers derives the asset's identifiers by building the evidence
// records an alert would carry for its names, so that both are normalized
// alike: one record for the device, or one for the user's account ids and
// UPN and one per account and mail address.
func (a *Asset) identifiers() []Identifier {
	var evs []Evidence
	if a.Kind == AssetDevice {
		evs = append(evs, Evidence{EntityType: EntityDevice, MdeDeviceID: a.MdeDeviceID,
			AzureAdDeviceID: a.AzureAdDeviceID, DeviceDNSName: a.DeviceDNSName, HostName: a.HostName})
	} else {
		if a.AzureAdUserID+a.UserSid+a.UserPrincipalName != "" {
			evs = append(evs, Evidence{EntityType: EntityUser, UserAccount: &UserAccount{
				AzureAdUserID: a.AzureAdUserID, UserSid: a.UserSid, UserPrincipalName: a.UserPrincipalName}})
		}
		for _, acct := range a.Accounts {
			evs = append(evs, Evidence{EntityType: EntityUser, UserAccount: &UserAccount{AccountName: acct}})
		}
		for _, m := range a.MailAddresses {
			evs = append(evs, Evidence{EntityType: EntityMailbox, PrimaryAddress: m})
		}
	}
	var ids []Identifier
	for i := range evs {
		for _, id := range evs[i].Identifiers() {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// firstName is the name to show for an asset without a display name.
func (a *Asset) firstName() string {
	for _, n := range []string{a.DeviceDNSName, a.HostName, a.UserPrincipalName} {
		if n != "" {
			return n
		}
	}
	if len(a.Accounts) > 0 {
		return a.Accounts[0]
	}
	if len(a.MailAddresses) > 0 {
		return a.MailAddresses[0]
	}
	return a.ID
}

func cleanAssetString(field string, s *string) error {
	*s = strings.TrimSpace(*s)
	if len(*s) > MaxAssetNameBytes {
		return &FieldError{field, fmt.Sprintf("is %d bytes long; at most %d", len(*s), MaxAssetNameBytes)}
	}
	if !utf8.ValidString(*s) {
		return &FieldError{field, "is not valid UTF-8"}
	}
	return nil
}

// cleanAssetList trims a list's items and drops empty and repeated ones.
func cleanAssetList(field string, items []string, limit int) ([]string, error) {
	if len(items) > limit {
		return nil, &FieldError{field, fmt.Sprintf("has %d items; at most %d", len(items), limit)}
	}
	var out []string
	for i := range items {
		s := items[i]
		if err := cleanAssetString(fmt.Sprintf("%s[%d]", field, i), &s); err != nil {
			return nil, err
		}
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AssetOutcome says what storing one asset did.
type AssetOutcome string

// Asset outcomes.
const (
	AssetCreated   AssetOutcome = "created"
	AssetUpdated   AssetOutcome = "updated"
	AssetUnchanged AssetOutcome = "unchanged"
)

// AssetResult is the outcome of storing one asset of a batch.
type AssetResult struct {
	ID      string
	Outcome AssetOutcome
}

// AssetQuery selects assets of one tenant.
type AssetQuery struct {
	TenantID  string
	Top, Skip int // Top 0 means the default page size
	Count     bool
}

// AssetPage is one page of assets, ordered by id; see AlertPage.
type AssetPage struct {
	Assets []*Asset
	Count  int64
	More   bool
}
