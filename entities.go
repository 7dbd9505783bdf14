package weft

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Entity pages (design §6): a device, user, mailbox or any other entity with
// all its alerts and incidents over time, and a search over the entities a
// tenant's alerts have named.

// Limits of the entity pages.
const (
	// MaxEntityIDBytes bounds the id of an entity page request.
	MaxEntityIDBytes = 1024
	// MaxEntityAliases bounds EntityView.Aliases: the first ones in sort
	// order are kept, AliasCount says how many there were.
	MaxEntityAliases = 64
	// MaxEntityIncidents bounds EntityView.Incidents: the most recently
	// active ones are listed, IncidentCount says how many there are.
	MaxEntityIncidents = 50
	// MaxEntityIncidentAlerts bounds EntityIncident.AlertIDs: the earliest
	// ones are listed, EntityIncident.AlertCount says how many there are.
	MaxEntityIncidentAlerts = 20
	// DefaultEntitySearch and MaxEntitySearch bound EntitySearch.Top.
	DefaultEntitySearch = 20
	MaxEntitySearch     = 100
)

// ContainmentState says whether a response action has contained an entity.
type ContainmentState string

// ContainmentNone is the state of an entity no succeeded response action
// (design §8, docs/respond.md) contains: none ever did, or the inverse of the
// last one undid it. The other states ("isolated" or "restricted" for a
// device, "disabled" for a user, ...) are in action_catalogue.go, with the
// actions that leave an entity in them.
const ContainmentNone ContainmentState = "none"

// EntityView is one entity page: an entity as identity resolution sees it
// (every name its evidence and the asset inventory give it), with its alerts
// newest first, one page at a time, and its incidents.
//
// An entity's evidence records reach the store under different keys (a
// device named by its MDE id in one alert and by its FQDN alone in another);
// the view merges the records that identity resolution would (see
// EntityStore.FindEntity), so that counts and lists cover all of them.
type EntityView struct {
	EntityType EntityType `json:"entityType"`
	// Key is the entity's canonical key: its most preferred identifier
	// (the one an evidence record carrying all its names would be keyed
	// by), "kind:value".
	Key string `json:"key"`
	// Name is the readable name of its most recent sighting.
	Name string `json:"name"`
	// Aliases are the other names it is known by: the other identifiers
	// ("kind:value") its evidence records carried with it, the keys it was
	// stored under, and the display name of the asset that matches it;
	// sorted, without Key, at most MaxEntityAliases (the first in sort
	// order). AliasCount is how many there are in all.
	Aliases    []string `json:"aliases"`
	AliasCount int      `json:"aliasCount"`
	// IdentityTruncated says that identity resolution stopped at the
	// store's bounds before it had followed every name of the entity (see
	// the store's FindEntity): names, alerts and incidents of the entity
	// may be missing. Omitted when false.
	IdentityTruncated bool `json:"identityTruncated,omitzero"`
	// Criticality (0–MaxCriticality) and DeviceGroup come from the asset
	// inventory, looked up as the incident graph and the priority score do;
	// 0 and empty when no asset names the entity. AssetID names the asset
	// DeviceGroup comes from.
	Criticality int    `json:"criticality"`
	DeviceGroup string `json:"deviceGroup,omitempty"`
	AssetID     string `json:"assetId,omitempty"`
	// FirstSeen and LastSeen are the event-time range of its alerts.
	FirstSeen time.Time `json:"firstSeenDateTime"`
	LastSeen  time.Time `json:"lastSeenDateTime"`
	// AlertCount and IncidentCount count all its alerts and the incidents
	// they are in, not only the page.
	AlertCount    int64 `json:"alertCount"`
	IncidentCount int64 `json:"incidentCount"`
	// ContainmentState is the state the last succeeded containing action
	// that was not undone left the entity in, ContainmentNone when there
	// is none (see ActionService.Containment).
	ContainmentState ContainmentState `json:"containmentState"`
	// Containment is the action behind ContainmentState and since when it
	// holds; nil when ContainmentState is ContainmentNone.
	Containment *Containment `json:"containment,omitempty"`
	// Alerts is the requested page of its alerts, by first activity, newest
	// first (ties: the alert stored last first); MoreAlerts says another
	// page follows.
	Alerts     []EntityAlert `json:"alerts"`
	MoreAlerts bool          `json:"-"`
	// Incidents are the incidents its alerts are in, those it was most
	// recently seen in first (by the first activity of its newest alert in
	// each; ties: highest id first), at most MaxEntityIncidents.
	Incidents []EntityIncident `json:"incidents"`
}

// EntityAlert is one alert of an entity page.
type EntityAlert struct {
	ID                    string      `json:"id"`
	Title                 string      `json:"title"`
	Severity              Severity    `json:"severity"`
	Status                AlertStatus `json:"status"`
	FirstActivityDateTime time.Time   `json:"firstActivityDateTime"`
	// IncidentID is omitted while the alert awaits correlation.
	IncidentID int64 `json:"incidentId,omitzero,string"`
	// Roles are the roles the entity has in the alert's evidence, sorted.
	Roles []EvidenceRole `json:"roles"`
}

// EntityIncident is one incident of an entity page.
type EntityIncident struct {
	ID                    int64          `json:"id,string"`
	DisplayName           string         `json:"displayName"`
	Status                IncidentStatus `json:"status"`
	Severity              Severity       `json:"severity"`
	PriorityScore         *int           `json:"priorityScore"`
	FirstActivityDateTime time.Time      `json:"firstActivityDateTime"`
	LastActivityDateTime  time.Time      `json:"lastActivityDateTime"`
	// AlertCount is the number of the entity's alerts in the incident;
	// AlertIDs the earliest of them (first activity, then storage order),
	// at most MaxEntityIncidentAlerts.
	AlertCount int      `json:"alertCount"`
	AlertIDs   []string `json:"alertIds"`
}

// EntityAlertQuery selects the page of alerts of an entity page. Top 0
// means DefaultPageSize; a Top above MaxPageSize is cut to it.
type EntityAlertQuery struct {
	Top, Skip int
}

// EntitySearch selects entities by name or identifier.
type EntitySearch struct {
	// Text is matched, case-insensitively, as a prefix of the entities'
	// readable names and of the values of their keys (a host name, a UPN,
	// a hash, an address, or a whole key "kind:value").
	Text string
	// Type, when set, restricts the search to one entity type (a user
	// search also finds mailboxes and the reverse, as identity resolution
	// treats them as one class).
	Type EntityType
	// Top is the number of results: 0 means DefaultEntitySearch; at most
	// MaxEntitySearch.
	Top int
}

// EntitySummary is one search result: an entity as the store keeps it,
// under one key. Several results may be one entity to identity resolution
// (a device under its MDE id and under its FQDN); each leads to the same
// page.
type EntitySummary struct {
	EntityType EntityType `json:"entityType"`
	Key        string     `json:"key"`
	Name       string     `json:"name"`
	LastSeen   time.Time  `json:"lastSeenDateTime"`
	AlertCount int64      `json:"alertCount"`
}

// EntityStore reads entity pages. Implementations are safe for concurrent
// use.
type EntityStore interface {
	// FindEntity returns the entity page of an entity of a tenant. id is
	// the entity's key ("kind:value") or any of its names, canonicalized
	// as identity resolution does for typ (EntityIdentifiers): a short
	// host name or an FQDN for a device, a UPN, SID, DOMAIN\sam or object
	// id for a user, a hash for a file, and so on; or the readable name it
	// was stored with, or the id or display name of the asset that names
	// it. It returns EINVALID for a bad type or id (CheckEntityRequest),
	// or for a name that is ambiguous (a short host name two devices
	// share), and ENOTFOUND, naming the type and id, when the tenant has no
	// such entity.
	FindEntity(ctx context.Context, tenantID string, typ EntityType, id string, q EntityAlertQuery) (*EntityView, error)
	// SearchEntities returns the tenant's entities that match q, ordered
	// by name (case-insensitively), then key. It returns EINVALID for an
	// empty or oversized text, an unknown type, or a Top out of range.
	SearchEntities(ctx context.Context, tenantID string, q EntitySearch) ([]EntitySummary, error)
}

// CheckEntityRequest checks the type and id of an entity page request and
// returns the id trimmed of surrounding space. It returns EINVALID for a
// type that is not one of EntityTypes (naming them) and for an empty,
// oversized or non-UTF-8 id.
func CheckEntityRequest(typ EntityType, id string) (string, error) {
	if err := checkEntityType(typ); err != nil {
		return "", err
	}
	return checkEntityText("id", id)
}

func checkEntityType(typ EntityType) error {
	if slices.Contains(EntityTypes, typ) {
		return nil
	}
	names := make([]string, len(EntityTypes))
	for i, t := range EntityTypes {
		names[i] = string(t)
	}
	return Errorf(EINVALID, "entity type %q is not valid; allowed: %s", truncate(string(typ), 64), strings.Join(names, ", "))
}

// CheckEntitySearch checks an entity search and returns it with Text trimmed
// and Top defaulted. It returns EINVALID naming the field that is wrong.
func CheckEntitySearch(q EntitySearch) (EntitySearch, error) {
	var err error
	if q.Text, err = checkEntityText("search", q.Text); err != nil {
		return q, err
	}
	if q.Type != "" {
		if err := checkEntityType(q.Type); err != nil {
			return q, err
		}
	}
	switch {
	case q.Top < 0 || q.Top > MaxEntitySearch:
		return q, Errorf(EINVALID, "top must be from 1 to %d, not %d", MaxEntitySearch, q.Top)
	case q.Top == 0:
		q.Top = DefaultEntitySearch
	}
	return q, nil
}

func checkEntityText(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Errorf(EINVALID, "%s is empty; give an entity key or name", field)
	case len(s) > MaxEntityIDBytes:
		return "", Errorf(EINVALID, "%s is %d bytes long; at most %d", field, len(s), MaxEntityIDBytes)
	case !utf8.ValidString(s):
		return "", Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	return s, nil
}

// EntityClass returns the entity types that identity resolution treats as
// one class with t (rule 4 of correlate's identity resolution): a user and a
// mailbox share their identifiers, and so do the two kinds of application.
func EntityClass(t EntityType) []EntityType {
	switch t {
	case EntityUser, EntityMailbox:
		return []EntityType{EntityUser, EntityMailbox}
	case EntityCloudApplication, EntityOAuthApplication:
		return []EntityType{EntityCloudApplication, EntityOAuthApplication}
	}
	return []EntityType{t}
}

// identifierKinds lists the identifier kinds in order of preference (the
// order of the constants), which is the order in which Identifiers returns
// them and so decides which one an entity is keyed by.
var identifierKinds = []IdentifierKind{
	IDDeviceMde, IDDeviceAad, IDDeviceFQDN, IDDeviceHost,
	IDUserAad, IDUserSid, IDUserUPN, IDUserEmail, IDUserDomainSam, IDUserSam,
	IDMessageNetwork, IDMessageInternet, IDMailCluster, IDIP, IDURL, IDDomain,
	IDFileSha256, IDFileSha1, IDFileMd5, IDFilePath, IDProcess,
	IDRegistryKey, IDRegistryValue, IDApp, IDSecurityGroup, IDCloudResource, IDGeneric,
}

// IdentifierRank returns the preference of identifier kind k: lower is more
// preferred; an unknown kind ranks last.
func IdentifierRank(k IdentifierKind) int {
	if i := slices.Index(identifierKinds, k); i >= 0 {
		return i
	}
	return len(identifierKinds)
}

// WeakIdentifier reports whether identifiers of kind k are short names
// that different devices or users share across domains (a short host name,
// a bare account name): such a name never ties two records into one entity
// on its own.
func WeakIdentifier(k IdentifierKind) bool { return weakIdentifier(k) }

// ParseIdentifier parses an entity key, "kind:value", with one of the
// identifier kinds; ok is false for any other string.
func ParseIdentifier(key string) (id Identifier, ok bool) {
	kind, v, found := strings.Cut(key, ":")
	if !found || v == "" || !slices.Contains(identifierKinds, IdentifierKind(kind)) {
		return Identifier{}, false
	}
	return Identifier{IdentifierKind(kind), v}, true
}

// EntityIdentifiers returns the identifiers that id may be for an entity of
// type t, normalized as Evidence.Identifiers normalizes what alerts carry
// (it builds the evidence records a source could have sent with id in each
// field that names such an entity, and asks them): for a device, id as a
// host name or FQDN (giving the FQDN and the short name), as an MDE id and
// as an Entra device id; for a user or mailbox, as a UPN, a SID, an Entra
// object id, an account name (DOMAIN\sam or a bare name) and a mail
// address; for a file, as a SHA-256, SHA-1 or MD5 hash; and so on. A key,
// "kind:value" with a kind of t's class, is also taken as that identifier,
// with its value normalized the same way. Most candidates name nothing; the
// store looks them all up.
func EntityIdentifiers(t EntityType, id string) []Identifier {
	id = strings.TrimSpace(id)
	var out []Identifier
	add := func(ids ...Identifier) {
		for _, x := range ids {
			if x.Value != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	class := EntityClass(t)
	if key, ok := ParseIdentifier(id); ok {
		for _, ct := range class {
			for _, c := range candidateEvidence(ct, key.Value) {
				for _, x := range c.Identifiers() {
					if x.Kind == key.Kind {
						add(x)
					}
				}
			}
		}
		// Composite values (a process, a registry key on a device) have
		// no single source field: the key is taken as it is, and lower
		// case as identity.go writes them.
		add(key, Identifier{key.Kind, strings.ToLower(key.Value)})
	}
	for _, ct := range class {
		for _, c := range candidateEvidence(ct, id) {
			add(c.Identifiers()...)
		}
	}
	return out
}

// candidateEvidence returns the evidence records of type t that carry s in
// each field that names such an entity.
func candidateEvidence(t EntityType, s string) []Evidence {
	e := func(ev Evidence) Evidence { ev.EntityType = t; return ev }
	switch t {
	case EntityDevice:
		return []Evidence{e(Evidence{HostName: s}), e(Evidence{MdeDeviceID: s}), e(Evidence{AzureAdDeviceID: s})}
	case EntityUser, EntityMailbox:
		return []Evidence{
			e(Evidence{UserAccount: &UserAccount{UserPrincipalName: s}}),
			e(Evidence{UserAccount: &UserAccount{UserSid: s}}),
			e(Evidence{UserAccount: &UserAccount{AzureAdUserID: s}}),
			e(Evidence{UserAccount: &UserAccount{AccountName: s}}),
			e(Evidence{PrimaryAddress: s}),
		}
	case EntityEmailMessage:
		return []Evidence{e(Evidence{NetworkMessageID: s}), e(Evidence{InternetMessageID: s})}
	case EntityMailCluster:
		if by, v, ok := strings.Cut(s, "="); ok {
			return []Evidence{e(Evidence{ClusterBy: by, ClusterByValue: v})}
		}
	case EntityIP:
		return []Evidence{e(Evidence{IPAddress: s})}
	case EntityURL:
		return []Evidence{e(Evidence{URL: s})}
	case EntityDomain:
		return []Evidence{e(Evidence{DomainName: s})}
	case EntityFile:
		return []Evidence{e(Evidence{FileDetails: &FileDetails{Sha256: s, Sha1: s, Md5: s}})}
	case EntityCloudApplication, EntityOAuthApplication:
		return []Evidence{e(Evidence{AppID: s})}
	case EntitySecurityGroup:
		return []Evidence{e(Evidence{SecurityGroupID: s})}
	case EntityCloudResource:
		return []Evidence{e(Evidence{ResourceID: s})}
	}
	return nil
}

// EntityNotFound returns the ENOTFOUND error of an entity page.
func EntityNotFound(typ EntityType, id string) error {
	return Errorf(ENOTFOUND, "%s %q not found", typ, truncate(id, 128))
}

// EntityAmbiguous returns the EINVALID error of a name that several
// entities share, naming some of their keys.
func EntityAmbiguous(typ EntityType, id string, keys []string) error {
	shown := keys
	if len(shown) > 5 {
		shown = shown[:5]
	}
	return Errorf(EINVALID, "%s %q is ambiguous: it names %d entities (%s); ask for one by its key",
		typ, truncate(id, 128), len(keys), strings.Join(shown, ", "))
}
