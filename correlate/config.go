package correlate

import (
	"fmt"
	"slices"
	"time"

	"github.com/weftxdr/weft"
)

// Strength is how much a shared entity says about two alerts belonging to one
// attack (design.md §4.2).
type Strength uint8

// Strength classes, weakest first.
const (
	Weak   Strength = iota + 1 // IP, URL, domain
	Medium                     // file hash, app, registry, group, cloud resource
	Strong                     // device, user, mailbox, email message, process
)

func (s Strength) String() string {
	switch s {
	case Weak:
		return "weak"
	case Medium:
		return "medium"
	case Strong:
		return "strong"
	}
	return "none"
}

// StrengthOf returns the strength class of an entity type, or 0 for types
// that never link (generic evidence, mail clusters).
func StrengthOf(t weft.EntityType) Strength {
	switch t {
	case weft.EntityDevice, weft.EntityUser, weft.EntityMailbox, weft.EntityEmailMessage, weft.EntityProcess:
		return Strong
	case weft.EntityFile, weft.EntityCloudApplication, weft.EntityOAuthApplication, weft.EntityRegistryKey,
		weft.EntityRegistryValue, weft.EntitySecurityGroup, weft.EntityCloudResource:
		return Medium
	case weft.EntityIP, weft.EntityURL, weft.EntityDomain:
		return Weak
	}
	return 0
}

// Config is a tenant's correlation policy. The zero value is not valid; start
// from DefaultConfig.
type Config struct {
	// Window is how far apart in event time two alerts sharing an entity
	// may be and still link, by strength class.
	StrongWindow, MediumWindow, WeakWindow time.Duration
	// HubThreshold: an identity seen with more than this many distinct
	// principals (devices and users) within its window stops linking: it is
	// a hub (a NAT address, a domain controller, a service account, a
	// common file).
	HubThreshold int
	// NoisyThreshold: an identity already seen in more than this many
	// alerts within its window stops linking: it is noise (a scanner, a
	// chatty detector on one server), and chaining through it would grow
	// one incident for days.
	NoisyThreshold int
	// WeakMaxPrincipals: a weak entity (IP, URL, domain) links only while it
	// has been seen with at most this many principals in its window.
	WeakMaxPrincipals int
	// RepeatWindow: alerts of one detector on one host (or, without a
	// host, one account) within this time of the first alert of their
	// repeat group are one finding and join one incident, whatever the
	// guards say (docs/correlation.md §3). Zero turns repeat groups off, and
	// with them the routine rule, which tells bursts apart by their group.
	RepeatWindow time.Duration
	// BenignWindow: an informational or low alert links to a more severe
	// one only when they share at least two identities (the same user on
	// the same device) and are at most this far apart; two benign alerts
	// link only as repeats.
	BenignWindow time.Duration
	// MediumSeverityWindow: two alerts of which the less severe is medium
	// link only this far apart, even when their shared entity's window is
	// longer (a pair is never linked beyond the entity's window either).
	MediumSeverityWindow time.Duration
	// Exclusions are entities that never link, as "type:pattern"
	// (exclude.go): a NAT range, service accounts, a domain controller,
	// system binaries. DefaultConfig starts from DefaultExclusions.
	Exclusions []string
	// MaxIncidentAlerts caps an incident; further linked alerts go to a
	// continuation incident.
	MaxIncidentAlerts int
}

// DefaultConfig returns the documented defaults (docs/correlation.md).
func DefaultConfig() Config {
	return Config{
		StrongWindow:         24 * time.Hour,
		MediumWindow:         6 * time.Hour,
		WeakWindow:           6 * time.Hour,
		HubThreshold:         8,
		NoisyThreshold:       8,
		WeakMaxPrincipals:    2,
		RepeatWindow:         time.Hour,
		BenignWindow:         2 * time.Hour,
		MediumSeverityWindow: 6 * time.Hour,
		Exclusions:           slices.Clone(DefaultExclusions),
		MaxIncidentAlerts:    500,
	}
}

// Validate reports the first invalid setting as an EINVALID error.
func (c Config) Validate() error {
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"strongWindow", c.StrongWindow}, {"mediumWindow", c.MediumWindow}, {"weakWindow", c.WeakWindow}} {
		if w.d <= 0 || w.d > 30*24*time.Hour {
			return weft.Errorf(weft.EINVALID, "%s must be between 1ns and 30 days, not %s", w.name, w.d)
		}
	}
	switch {
	case c.RepeatWindow < 0 || c.RepeatWindow > 24*time.Hour:
		return weft.Errorf(weft.EINVALID, "repeatWindow must be from 0 (no repeat groups) to 24h, not %s", c.RepeatWindow)
	case c.MediumSeverityWindow <= 0 || c.MediumSeverityWindow > 30*24*time.Hour:
		return weft.Errorf(weft.EINVALID, "mediumSeverityWindow must be between 1ns and 30 days, not %s", c.MediumSeverityWindow)
	case c.BenignWindow < 0 || c.BenignWindow > c.MediumSeverityWindow:
		return weft.Errorf(weft.EINVALID, "benignWindow must be from 0 (benign alerts link only as repeats) to mediumSeverityWindow (%s), not %s", c.MediumSeverityWindow, c.BenignWindow)
	case c.HubThreshold < 1 || c.HubThreshold > 10000:
		return weft.Errorf(weft.EINVALID, "hubThreshold must be from 1 to 10000, not %d", c.HubThreshold)
	case c.NoisyThreshold < 1 || c.NoisyThreshold > 100000:
		return weft.Errorf(weft.EINVALID, "noisyThreshold must be from 1 to 100000, not %d", c.NoisyThreshold)
	case c.WeakMaxPrincipals < 0 || c.WeakMaxPrincipals > c.HubThreshold:
		return weft.Errorf(weft.EINVALID, "weakMaxPrincipals must be from 0 to hubThreshold (%d), not %d", c.HubThreshold, c.WeakMaxPrincipals)
	case c.MaxIncidentAlerts < 2 || c.MaxIncidentAlerts > 100000:
		return weft.Errorf(weft.EINVALID, "maxIncidentAlerts must be from 2 to 100000, not %d", c.MaxIncidentAlerts)
	case len(c.Exclusions) > maxExclusions:
		return weft.Errorf(weft.EINVALID, "exclusions: at most %d, not %d", maxExclusions, len(c.Exclusions))
	}
	for i, x := range c.Exclusions {
		if _, err := parseExclusion(x); err != nil {
			return weft.Errorf(weft.EINVALID, "exclusions[%d]: %s", i, weft.ErrorMessage(err))
		}
	}
	return nil
}

// maxExclusions bounds a policy's exclusions: each is matched against the
// evidence of every alert.
const maxExclusions = 1000

func (c Config) window(s Strength) time.Duration {
	switch s {
	case Strong:
		return c.StrongWindow
	case Medium:
		return c.MediumWindow
	}
	return c.WeakWindow
}

func (c Config) maxWindow() time.Duration {
	return max(c.StrongWindow, c.MediumWindow, c.WeakWindow, c.RepeatWindow)
}

func (c Config) String() string {
	return fmt.Sprintf("windows %s/%s/%s, repeats %s, hub > %d principals or %d alerts, weak ≤ %d, %d exclusions, cap %d",
		c.StrongWindow, c.MediumWindow, c.WeakWindow, c.RepeatWindow, c.HubThreshold, c.NoisyThreshold, c.WeakMaxPrincipals, len(c.Exclusions), c.MaxIncidentAlerts)
}
