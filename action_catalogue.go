package weft

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// The action catalogue (docs/respond.md, "Actions"): every response action
// weft knows, the entity types it applies to, its inverse, its parameters,
// how long it may wait before it expires, and the containment state it
// leaves its target in.

// Containment states a succeeded action leaves its target in (see
// ContainmentState). The inverse action clears the state again.
const (
	ContainmentIsolated    ContainmentState = "isolated"    // device
	ContainmentRestricted  ContainmentState = "restricted"  // device: app execution restricted
	ContainmentDisabled    ContainmentState = "disabled"    // user
	ContainmentDeleted     ContainmentState = "deleted"     // email: soft-deleted
	ContainmentJunked      ContainmentState = "junked"      // email
	ContainmentQuarantined ContainmentState = "quarantined" // email, file
	ContainmentBlocked     ContainmentState = "blocked"     // file, IP, URL, domain: block indicator
	ContainmentAllowed     ContainmentState = "allowed"     // file, IP, URL, domain: allow indicator
)

// Action TTLs: how long an action that has not reached a final status may
// wait for approval, dispatch and retries before it expires (invariant 4).
const (
	DefaultActionTTL = 24 * time.Hour
	// IsolationActionTTL is the TTL of device isolation, as in Defender.
	IsolationActionTTL = 3 * 24 * time.Hour
)

// MaxActionParamBytes bounds a parameter value; MaxActionTargetBytes the
// target key.
const (
	MaxActionParamBytes  = 256
	MaxActionTargetBytes = MaxEntityIDBytes
)

// ActionParam is one parameter of an action: its name, the values it may
// take, and the value it has when the request leaves it out.
type ActionParam struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
	// Default is the value a request without the parameter gets; "" makes
	// the parameter required.
	Default     string `json:"default,omitempty"`
	Description string `json:"description"`
	// Contains maps a value to the containment state a success leaves the
	// target in, for the parameter named by ActionDefinition.ContainsBy.
	Contains map[string]ContainmentState `json:"contains,omitempty"`
}

// ActionDefinition is one action of the catalogue.
type ActionDefinition struct {
	// Type is the action's Graph-style name ("isolate", "disable", ...).
	Type        string       `json:"type"`
	EntityTypes []EntityType `json:"entityTypes"`
	// Inverse is the action that undoes this one, "" when none does
	// (invariant 5).
	Inverse string `json:"inverse,omitempty"`
	// Role is the role a person needs to request, approve or undo it.
	Role Role `json:"role"`
	// TTL is how long it may take to reach a final status before it
	// expires.
	TTL    time.Duration `json:"-"`
	Params []ActionParam `json:"parameters"`
	// Contains is the containment state a success leaves the target in,
	// "" when the action does not contain. When ContainsBy names a
	// parameter, that parameter's value picks the state (ActionParam.Contains).
	Contains    ContainmentState `json:"contains,omitempty"`
	ContainsBy  string           `json:"containsBy,omitempty"`
	Description string           `json:"description"`
	// TTLSeconds is TTL for the API.
	TTLSeconds int64 `json:"ttlSeconds"`
}

var catalogue = func() []ActionDefinition {
	device := []EntityType{EntityDevice}
	user := []EntityType{EntityUser}
	email := []EntityType{EntityEmailMessage}
	indicators := []EntityType{EntityFile, EntityIP, EntityURL, EntityDomain}
	defs := []ActionDefinition{
		{Type: "isolate", EntityTypes: device, Inverse: "release", TTL: IsolationActionTTL, Contains: ContainmentIsolated,
			Params: []ActionParam{{Name: "isolationType", Values: []string{"full", "selective"}, Default: "full",
				Description: "full cuts every connection but the EDR's; selective keeps Outlook, Teams and Skype"}},
			Description: "Isolate the device from the network."},
		{Type: "release", EntityTypes: device,
			Description: "Release the device from isolation."},
		{Type: "restrictAppExecution", EntityTypes: device, Inverse: "removeAppRestriction", Contains: ContainmentRestricted,
			Description: "Let the device run only applications signed by a trusted publisher."},
		{Type: "removeAppRestriction", EntityTypes: device,
			Description: "Remove the app execution restriction from the device."},
		{Type: "runAntivirusScan", EntityTypes: device,
			Params: []ActionParam{{Name: "scanType", Values: []string{"quick", "full"}, Default: "quick",
				Description: "quick scans the usual malware locations; full scans every file"}},
			Description: "Run an antivirus scan on the device."},
		{Type: "collectInvestigationPackage", EntityTypes: device,
			Description: "Collect the device's investigation package (forensic snapshot)."},

		{Type: "disable", EntityTypes: user, Inverse: "enable", Contains: ContainmentDisabled,
			Description: "Disable the user's account."},
		{Type: "enable", EntityTypes: user,
			Description: "Enable the user's account again."},
		{Type: "forcePasswordReset", EntityTypes: user,
			Description: "Make the user change their password at the next sign-in."},
		{Type: "revokeSessions", EntityTypes: user,
			Description: "Revoke the user's sign-in sessions and refresh tokens."},
		{Type: "confirmCompromised", EntityTypes: user,
			Description: "Mark the user as compromised in the identity provider."},

		{Type: "softDelete", EntityTypes: email, Inverse: "moveToInbox", Contains: ContainmentDeleted,
			Description: "Move the message to the mailbox's Recoverable Items folder."},
		{Type: "moveToJunk", EntityTypes: email, Inverse: "moveToInbox", Contains: ContainmentJunked,
			Description: "Move the message to the Junk Email folder."},
		{Type: "quarantine", EntityTypes: email, Inverse: "releaseFromQuarantine", Contains: ContainmentQuarantined,
			Description: "Quarantine the message."},
		{Type: "moveToInbox", EntityTypes: email,
			Description: "Move the message back to the inbox."},
		{Type: "releaseFromQuarantine", EntityTypes: []EntityType{EntityEmailMessage, EntityFile},
			Description: "Release the message or file from quarantine."},

		{Type: "stopAndQuarantine", EntityTypes: []EntityType{EntityFile}, Inverse: "releaseFromQuarantine", Contains: ContainmentQuarantined,
			Description: "Stop the file's processes and quarantine it on every device."},

		{Type: "addIndicator", EntityTypes: indicators, Inverse: "removeIndicator", ContainsBy: "indicatorAction",
			Params: []ActionParam{{Name: "indicatorAction", Values: []string{"block", "allow"},
				Description: "block stops the file, address, URL or domain everywhere; allow exempts it from detection",
				Contains:    map[string]ContainmentState{"block": ContainmentBlocked, "allow": ContainmentAllowed}}},
			Description: "Add a block or allow indicator for the file, IP address, URL or domain."},
		{Type: "removeIndicator", EntityTypes: indicators,
			Description: "Remove the indicator for the file, IP address, URL or domain."},
	}
	for i := range defs {
		d := &defs[i]
		d.Role = RoleResponder
		if d.TTL == 0 {
			d.TTL = DefaultActionTTL
		}
		d.TTLSeconds = int64(d.TTL / time.Second)
		if d.Params == nil {
			d.Params = []ActionParam{}
		}
	}
	return defs
}()

// ActionDefinitions returns the catalogue: every action weft can run, in
// the order of docs/respond.md's table. The slice is a copy; its elements
// share their slices and maps with the catalogue and must not be modified.
func ActionDefinitions() []ActionDefinition { return slices.Clone(catalogue) }

// LookupAction returns the definition of the action typ; ok is false when
// the catalogue has none.
func LookupAction(typ string) (ActionDefinition, bool) {
	for _, d := range catalogue {
		if d.Type == typ {
			return d, true
		}
	}
	return ActionDefinition{}, false
}

// ActionTypes returns the names of the catalogue's actions, sorted.
func ActionTypes() []string {
	out := make([]string, len(catalogue))
	for i, d := range catalogue {
		out[i] = d.Type
	}
	sort.Strings(out)
	return out
}

// CheckActionType returns the definition of typ, or EINVALID naming the
// action types that exist.
func CheckActionType(typ string) (ActionDefinition, error) {
	if d, ok := LookupAction(typ); ok {
		return d, nil
	}
	return ActionDefinition{}, Errorf(EINVALID, "type: action %q does not exist; allowed: %s", truncate(typ, 64), strings.Join(ActionTypes(), ", "))
}

// InverseOf returns the types of the actions that typ undoes: those whose
// Inverse is typ (for "moveToInbox": softDelete and moveToJunk).
func InverseOf(typ string) []string {
	var out []string
	for _, d := range catalogue {
		if d.Inverse == typ && typ != "" {
			out = append(out, d.Type)
		}
	}
	return out
}

// ActionTargetType returns the entity type that the target key names, from
// its identifier kind: "device.*" a device, "user.*" a user, "message.*" an
// email message, "file.sha256", "file.sha1" or "file.md5" a file, and "ip",
// "url" or "domain" an indicator of that type. It returns EINVALID for a
// target that is not such a key (a response action needs a stable
// identifier: a file path or a process is not one).
func ActionTargetType(target string) (EntityType, error) {
	switch {
	case strings.TrimSpace(target) == "":
		return "", Errorf(EINVALID, "target: must not be empty; give an entity key, \"kind:value\"")
	case len(target) > MaxActionTargetBytes:
		return "", Errorf(EINVALID, "target: is %d bytes long; at most %d", len(target), MaxActionTargetBytes)
	case target != strings.TrimSpace(target):
		return "", Errorf(EINVALID, "target: %q has surrounding space", truncate(target, 64))
	}
	id, ok := ParseIdentifier(target)
	if !ok {
		return "", Errorf(EINVALID, "target: %q is not an entity key, \"kind:value\" (such as \"device.fqdn:host.example.com\")", truncate(target, 64))
	}
	switch id.Kind {
	case IDDeviceMde, IDDeviceAad, IDDeviceFQDN, IDDeviceHost:
		return EntityDevice, nil
	case IDUserAad, IDUserSid, IDUserUPN, IDUserEmail, IDUserDomainSam, IDUserSam:
		return EntityUser, nil
	case IDMessageNetwork, IDMessageInternet:
		return EntityEmailMessage, nil
	case IDFileSha256, IDFileSha1, IDFileMd5:
		return EntityFile, nil
	case IDIP:
		return EntityIP, nil
	case IDURL:
		return EntityURL, nil
	case IDDomain:
		return EntityDomain, nil
	}
	return "", Errorf(EINVALID, "target: no response action applies to a %q key; give a device, user, email message, file hash, IP, URL or domain key", id.Kind)
}

// Validate checks that the action applies to entityType and that params
// names only the action's parameters, each with one of its values; a
// parameter without a default must be present. It returns EINVALID naming
// the entity type or the parameter that is wrong, and the allowed values.
func (d ActionDefinition) Validate(entityType EntityType, params map[string]string) error {
	if !slices.Contains(d.EntityTypes, entityType) {
		return Errorf(EINVALID, "type: action %q does not apply to a %s; it applies to: %s", d.Type, entityType, joinTypes(d.EntityTypes))
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.ContainsFunc(d.Params, func(p ActionParam) bool { return p.Name == name }) {
			if len(d.Params) == 0 {
				return Errorf(EINVALID, "parameters.%s: action %q takes no parameters", truncate(name, 64), d.Type)
			}
			return Errorf(EINVALID, "parameters.%s: action %q has no such parameter; allowed: %s", truncate(name, 64), d.Type, d.paramNames())
		}
	}
	for _, p := range d.Params {
		v, ok := params[p.Name]
		switch {
		case !ok && p.Default == "":
			return Errorf(EINVALID, "parameters.%s: required by action %q; one of: %s", p.Name, d.Type, strings.Join(p.Values, ", "))
		case ok && !slices.Contains(p.Values, v):
			return Errorf(EINVALID, "parameters.%s: %q is not allowed; one of: %s", p.Name, truncate(v, MaxActionParamBytes), strings.Join(p.Values, ", "))
		}
	}
	return nil
}

// WithDefaults returns a copy of params with every parameter the request
// left out set to its default, so that two requests that mean the same
// action carry the same parameters (and so the same dedupe key).
func (d ActionDefinition) WithDefaults(params map[string]string) map[string]string {
	out := make(map[string]string, len(params)+len(d.Params))
	for k, v := range params {
		out[k] = v
	}
	for _, p := range d.Params {
		if _, ok := out[p.Name]; !ok && p.Default != "" {
			out[p.Name] = p.Default
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ContainmentOf returns the containment state a success of the action with
// params leaves its target in, "" when it contains nothing.
func (d ActionDefinition) ContainmentOf(params map[string]string) ContainmentState {
	if d.ContainsBy == "" {
		return d.Contains
	}
	for _, p := range d.Params {
		if p.Name == d.ContainsBy {
			return p.Contains[params[p.Name]]
		}
	}
	return ""
}

func (d ActionDefinition) paramNames() string {
	names := make([]string, len(d.Params))
	for i, p := range d.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func joinTypes(ts []EntityType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// String names the definition for logs and errors.
func (d ActionDefinition) String() string {
	return fmt.Sprintf("%s (%s)", d.Type, joinTypes(d.EntityTypes))
}
