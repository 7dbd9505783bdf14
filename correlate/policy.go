package correlate

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	cfg := DefaultConfig()
	var f policyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return cfg, weft.Errorf(weft.EINVALID, "correlation policy: %v", err)
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
