package correlate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/weftxdr/weft"
)

// policyFile is the JSON form of a Config: durations as Go duration strings
// ("24h", "90m"); any setting left out keeps its default.
type policyFile struct {
	StrongWindow         *string `json:"strongWindow"`
	MediumWindow         *string `json:"mediumWindow"`
	WeakWindow           *string `json:"weakWindow"`
	RepeatWindow         *string `json:"repeatWindow"`
	BenignWindow         *string `json:"benignWindow"`
	MediumSeverityWindow *string `json:"mediumSeverityWindow"`
	HubThreshold         *int    `json:"hubThreshold"`
	NoisyThreshold       *int    `json:"noisyThreshold"`
	WeakMaxPrincipals    *int    `json:"weakMaxPrincipals"`
	MaxIncidentAlerts    *int    `json:"maxIncidentAlerts"`
	// Exclusions replace the default list; AddExclusions extend it.
	Exclusions    *[]string `json:"exclusions,omitempty"`
	AddExclusions []string  `json:"addExclusions,omitempty"`
}

// ParseConfig reads a correlation policy from JSON, e.g.
//
//	{"strongWindow": "12h", "hubThreshold": 12, "addExclusions": ["user:svc-*"]}
//
// Settings left out keep DefaultConfig's values; "exclusions" replaces the
// default exclusions and "addExclusions" adds to them. Unknown settings, malformed
// durations and values out of range are refused with an EINVALID error that
// names the setting.
func ParseConfig(data []byte) (Config, error) {
	return parseOnto(DefaultConfig(), data)
}

// parseOnto reads a policy whose settings left out keep base's values.
func parseOnto(base Config, data []byte) (Config, error) {
	cfg := base
	cfg.Exclusions = slices.Clone(base.Exclusions)
	var f policyFile
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) == 0 || t[0] != '{' {
		return cfg, weft.Errorf(weft.EINVALID, "correlation policy: want a JSON object such as {\"hubThreshold\": 12}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return cfg, weft.Errorf(weft.EINVALID, "correlation policy: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return cfg, weft.Errorf(weft.EINVALID, "correlation policy: unexpected data after the policy object (at byte %d)", dec.InputOffset())
	}
	for _, d := range []struct {
		name string
		src  *string
		dst  *time.Duration
	}{{"strongWindow", f.StrongWindow, &cfg.StrongWindow}, {"mediumWindow", f.MediumWindow, &cfg.MediumWindow}, {"weakWindow", f.WeakWindow, &cfg.WeakWindow}, {"repeatWindow", f.RepeatWindow, &cfg.RepeatWindow}, {"benignWindow", f.BenignWindow, &cfg.BenignWindow}, {"mediumSeverityWindow", f.MediumSeverityWindow, &cfg.MediumSeverityWindow}} {
		if d.src == nil {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil {
			return cfg, weft.Errorf(weft.EINVALID, "correlation policy: %s: %q is not a duration such as \"24h\" or \"90m\"", d.name, *d.src)
		}
		*d.dst = v
	}
	for _, n := range []struct {
		src *int
		dst *int
	}{{f.HubThreshold, &cfg.HubThreshold}, {f.NoisyThreshold, &cfg.NoisyThreshold}, {f.WeakMaxPrincipals, &cfg.WeakMaxPrincipals}, {f.MaxIncidentAlerts, &cfg.MaxIncidentAlerts}} {
		if n.src != nil {
			*n.dst = *n.src
		}
	}
	if f.Exclusions != nil {
		cfg.Exclusions = slices.Clone(*f.Exclusions)
	}
	cfg.Exclusions = append(cfg.Exclusions, f.AddExclusions...)
	if err := cfg.Validate(); err != nil {
		return cfg, weft.Errorf(weft.EINVALID, "correlation policy: %s", weft.ErrorMessage(err))
	}
	return cfg, nil
}

// MarshalPolicy writes cfg in the form ParseConfig reads.
func MarshalPolicy(cfg Config) []byte {
	s := func(d time.Duration) *string { v := d.String(); return &v }
	xs := slices.Clone(cfg.Exclusions)
	if xs == nil {
		xs = []string{}
	}
	i := func(n int) *int { return &n }
	b, err := json.MarshalIndent(policyFile{
		StrongWindow: s(cfg.StrongWindow), MediumWindow: s(cfg.MediumWindow), WeakWindow: s(cfg.WeakWindow), RepeatWindow: s(cfg.RepeatWindow), BenignWindow: s(cfg.BenignWindow), MediumSeverityWindow: s(cfg.MediumSeverityWindow),
		HubThreshold: i(cfg.HubThreshold), NoisyThreshold: i(cfg.NoisyThreshold),
		WeakMaxPrincipals: i(cfg.WeakMaxPrincipals), MaxIncidentAlerts: i(cfg.MaxIncidentAlerts),
		Exclusions: &xs,
	}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("correlate: marshal policy: %v", err)) // cannot happen: plain types
	}
	return b
}

// Policies is a configuration file's correlation policies: the default one
// and tenants' own.
type Policies struct {
	Default Config
	Tenants map[string]Config
}

// ParsePolicies reads a policy file. It is either one policy (ParseConfig),
// which becomes the default, or
//
//	{"default": {"hubThreshold": 12},
//	 "tenants": {"fabrikam": {"addExclusions": ["user:svc-*"]}}}
//
// where settings a tenant's policy leaves out keep the file's default policy
// and settings the default leaves out keep DefaultConfig's. Errors name the
// tenant and the setting.
func ParsePolicies(data []byte) (Policies, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return Policies{}, weft.Errorf(weft.EINVALID, "correlation policy: %v", err)
	}
	_, hasDefault := probe["default"]
	_, hasTenants := probe["tenants"]
	if !hasDefault && !hasTenants {
		cfg, err := ParseConfig(data)
		return Policies{Default: cfg}, err
	}
	for k := range probe {
		if k != "default" && k != "tenants" {
			return Policies{}, weft.Errorf(weft.EINVALID, "correlation policy: unknown key %q beside \"default\" and \"tenants\"", k)
		}
	}
	ps := Policies{Default: DefaultConfig()}
	if raw, ok := probe["default"]; ok {
		cfg, err := ParseConfig(raw)
		if err != nil {
			return Policies{}, weft.Errorf(weft.EINVALID, "default: %s", weft.ErrorMessage(err))
		}
		ps.Default = cfg
	}
	if raw, ok := probe["tenants"]; ok {
		var tenants map[string]json.RawMessage
		if err := json.Unmarshal(raw, &tenants); err != nil {
			return Policies{}, weft.Errorf(weft.EINVALID, "correlation policy: tenants: %v", err)
		}
		ps.Tenants = map[string]Config{}
		for id, raw := range tenants {
			if err := weft.ValidateTenantID(id); err != nil {
				return Policies{}, weft.Errorf(weft.EINVALID, "tenants: %s", weft.ErrorMessage(err))
			}
			cfg, err := parseOnto(ps.Default, raw)
			if err != nil {
				return Policies{}, weft.Errorf(weft.EINVALID, "tenants: %s: %s", id, weft.ErrorMessage(err))
			}
			ps.Tenants[id] = cfg
		}
	}
	return ps, nil
}

// ApplyPolicy sets a tenant's own policy from JSON in the form ParseConfig
// reads, settings left out keeping the engine's default policy; nil returns
// the tenant to the default policy. The store calls it for policies set
// through the API.
func (e *Engine) ApplyPolicy(tenantID string, policy []byte) error {
	if policy == nil {
		return e.SetPolicy(tenantID, nil)
	}
	cfg, err := parseOnto(e.def.cfg, policy)
	if err != nil {
		return err
	}
	return e.SetPolicy(tenantID, &cfg)
}

// PolicyJSON returns the policy the engine applies to a tenant, in the form
// ParseConfig reads.
func (e *Engine) PolicyJSON(tenantID string) []byte { return MarshalPolicy(e.Policy(tenantID)) }
