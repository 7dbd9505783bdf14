package priority

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Input is what Score needs to know about an incident.
type Input struct {
	// Alerts are the incident's alerts, in any order.
	Alerts []*weft.Alert
	// Criticality returns the asset criticality (0 none to 3 highest) of a
	// device, user or mailbox, from the asset inventory. Nil means there is
	// no inventory, and the factor is left out.
	Criticality func(weft.EntityRef) int
	// DetectorPrevalence returns the fraction (0–1) of the tenant's alerts in
	// a recent window that came from the detector with the given key (see
	// DetectorKey). It should return NaN or a negative number when it cannot
	// tell, e.g. when the window holds too few alerts to judge. Nil means
	// unknown for every detector, and the factor is left out.
	DetectorPrevalence func(tenantID, detectorKey string) float64
	// Now is the time the score is computed at; the zero time leaves the
	// recency factor out (a replay that should not depend on the clock).
	Now time.Time
}

// Factor names, as PriorityFactor.Name carries them.
const (
	FactorSeverity    = "severity"
	FactorTactics     = "attackTactics"
	FactorSources     = "sources"
	FactorAsset       = "assetCriticality"
	FactorHighImpact  = "highImpact"
	FactorRarity      = "detectorRarity"
	FactorRecency     = "recency"
	maxScore          = 100
	maxDetailNameSize = 80
)

// Weights; the package documentation explains them.
var severityPoints = map[weft.Severity]int{
	weft.SeverityInformational: 2,
	weft.SeverityLow:           6,
	weft.SeverityMedium:        18,
	weft.SeverityHigh:          30,
}

const (
	maxTacticPoints     = 20
	pointsPerDomain     = 7 // for each domain after the first
	maxDomainPoints     = 14
	pointsPerSource     = 2 // for each detection source after the first
	maxSourcePoints     = 4
	ransomwarePoints    = 12
	impactPoints        = 8
	exfiltrationPoints  = 8
	credentialPoints    = 6
	maxHighImpactPoints = 20
)

// assetPoints is indexed by criticality 0–3.
var assetPoints = [...]int{0, 4, 10, 18}

// stagePoints weighs a tactic by how far along the kill chain it is: the later
// the stage, the more of the attack has already succeeded.
func stagePoints(t tacticSet) int {
	switch t {
	case tReconnaissance, tResourceDevelopment:
		return 1
	case tInitialAccess, tExecution, tDefenseEvasion, tDiscovery:
		return 2
	case tPersistence, tPrivilegeEscalation, tCollection:
		return 3
	case tCredentialAccess, tCommandAndControl:
		return 4
	case tLateralMovement, tExfiltration, tImpact:
		return 5
	}
	return 0
}

// rarityPoints turns a detector's prevalence into points; ok is false when the
// prevalence is unknown.
func rarityPoints(p float64) (points int, ok bool) {
	switch {
	case math.IsNaN(p) || p < 0:
		return 0, false
	case p < 0.001:
		return 8, true
	case p < 0.01:
		return 4, true
	case p >= 0.2:
		return -8, true
	case p >= 0.05:
		return -4, true
	}
	return 0, true
}

// recencyPoints turns the age of an incident's last activity into points.
func recencyPoints(age time.Duration) int {
	switch {
	case age < time.Hour:
		return 5
	case age < 6*time.Hour:
		return 3
	case age < 24*time.Hour:
		return 1
	case age >= 30*24*time.Hour:
		return -10
	case age >= 7*24*time.Hour:
		return -5
	}
	return 0
}

// Band returns the queue band of a score: "top" above 85, "low" below 15,
// "medium" otherwise — Defender's bands.
func Band(score int) string {
	switch {
	case score > 85:
		return "top"
	case score < 15:
		return "low"
	}
	return "medium"
}

// DetectorKey names the detector that raised an alert, for
// Input.DetectorPrevalence: the lower-case source, "/", and the detector id,
// or "title:" and the title when the alert has no detector id. Whoever counts
// prevalence must use the same key.
func DetectorKey(a *weft.Alert) string {
	if a.DetectorID != "" {
		return strings.ToLower(a.Source) + "/" + a.DetectorID
	}
	return strings.ToLower(a.Source) + "/title:" + a.Title
}

// Score computes an incident's priority score, 0–100, and the factors that
// produced it, in a fixed order (severity, tactics, sources, asset, high
// impact, rarity, recency); factors worth no points are left out. The weights
// are in the package documentation.
//
// The score never decreases when an alert is added to Input.Alerts: every
// factor is a maximum, a union or a capped count over the alerts. It depends
// only on its input, so it is deterministic; it is safe for concurrent use
// when the Input functions are. Details quote alert titles and entity names,
// which are attacker-controlled text: escape them wherever they are shown.
func Score(in Input) (score int, factors []weft.PriorityFactor) {
	factors = make([]weft.PriorityFactor, 0, 7)
	add := func(name string, points int, detail string) {
		if points != 0 {
			factors = append(factors, weft.PriorityFactor{Name: name, Points: points, Detail: detail})
			score += points
		}
	}

	var (
		sev          = weft.SeverityUnknown
		tset         tacticSet
		ransomware   bool
		domains      [len(domainNames)]bool
		sources      = make(map[string]struct{}, 4)
		lastActivity time.Time
	)
	for _, a := range in.Alerts {
		sev = weft.MaxSeverity(sev, a.Severity)
		tset |= alertTactics(a)
		ransomware = ransomware || isRansomware(a)
		domains[DomainOf(a)] = true
		sources[sourceKey(a)] = struct{}{}
		lastActivity = latest(lastActivity, a.LastActivityDateTime, a.FirstActivityDateTime)
		if a.LastActivityDateTime.IsZero() && a.FirstActivityDateTime.IsZero() {
			lastActivity = latest(lastActivity, a.CreatedDateTime)
		}
	}

	add(FactorSeverity, severityPoints[sev], "Highest alert severity is "+string(sev)+".")
	add(tacticFactor(tset))
	add(sourcesFactor(domains, len(sources)))
	if in.Criticality != nil {
		add(assetFactor(in.Alerts, in.Criticality))
	}
	add(highImpactFactor(tset, ransomware))
	if in.DetectorPrevalence != nil {
		add(rarityFactor(in.Alerts, in.DetectorPrevalence))
	}
	if !in.Now.IsZero() && !lastActivity.IsZero() {
		age := max(in.Now.Sub(lastActivity), 0)
		add(FactorRecency, recencyPoints(age), "Last activity "+ago(age)+".")
	}
	return min(max(score, 0), maxScore), factors
}

// alertTactics returns the ATT&CK tactics an alert shows: the tactic of its
// category, and those of its techniques. A technique that ATT&CK files under
// several tactics (T1078 Valid Accounts is under four) counts only for the
// category's tactic when it is one of them, and not at all when the alert's
// category is another tactic: the category says which use the detector saw.
// Without a tactic category, all its tactics count.
func alertTactics(a *weft.Alert) tacticSet {
	var cat tacticSet
	if c, ok := ParseCategory(a.Category); ok && c.IsTactic() {
		cat = 1 << c.index
	}
	set := cat
	for _, id := range a.MitreTechniques {
		ts := techniqueTactics(id)
		switch {
		case ts.len() <= 1 || cat == 0:
			set |= ts
		case ts&cat != 0:
			set |= cat
		}
	}
	return set
}

func isRansomware(a *weft.Alert) bool {
	if c, ok := ParseCategory(a.Category); ok && c.Name == "Ransomware" {
		return true
	}
	for _, id := range a.MitreTechniques {
		if n := normalizeTechniqueID(id); n == "T1486" || strings.HasPrefix(n, "T1486.") {
			return true
		}
	}
	return containsFold(a.ThreatFamilyName, "ransom") || containsFold(a.ThreatDisplayName, "ransom")
}

func tacticFactor(s tacticSet) (string, int, string) {
	if s == 0 {
		return FactorTactics, 0, ""
	}
	points := 0
	names := make([]string, 0, s.len())
	for i := range tactics {
		if s.has(i) {
			points += stagePoints(1 << i)
			names = append(names, tactics[i].DisplayName)
		}
	}
	detail := fmt.Sprintf("1 ATT&CK tactic: %s.", names[0])
	if len(names) > 1 {
		detail = fmt.Sprintf("%d ATT&CK tactics, from %s to %s: %s.", len(names), names[0], names[len(names)-1], strings.Join(names, ", "))
	}
	return FactorTactics, min(points, maxTacticPoints), detail
}

func sourcesFactor(domains [len(domainNames)]bool, nsources int) (string, int, string) {
	var names []string
	for d := DomainEndpoint; int(d) < len(domains); d++ {
		if domains[d] {
			names = append(names, d.String())
		}
	}
	points := min(pointsPerDomain*max(len(names)-1, 0), maxDomainPoints) +
		min(pointsPerSource*max(nsources-1, 0), maxSourcePoints)
	if points == 0 {
		return FactorSources, 0, ""
	}
	d := "domain"
	if len(names) != 1 {
		d = "domains"
	}
	s := "detection source"
	if nsources != 1 {
		s = "detection sources"
	}
	list := ""
	if len(names) > 0 {
		list = " (" + strings.Join(names, ", ") + ")"
	}
	return FactorSources, points, fmt.Sprintf("Alerts from %d %s%s and %d %s.", len(names), d, list, nsources, s)
}

// assetFactor scores the most critical device, user or mailbox the alerts
// touch, except those that only played the attacker: an attacker's machine
// being "critical" says nothing about what is at stake.
func assetFactor(alerts []*weft.Alert, criticality func(weft.EntityRef) int) (string, int, string) {
	best, bestRef := 0, weft.EntityRef{}
	seen := make(map[string]struct{}, 8)
	for _, a := range alerts {
		for i := range a.Evidence {
			e := &a.Evidence[i]
			switch e.EntityType {
			case weft.EntityDevice, weft.EntityUser, weft.EntityMailbox:
			default:
				continue
			}
			if onlyAttacker(e.Roles) {
				continue
			}
			k := e.Key()
			if k == "" {
				continue
			}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			ref := weft.EntityRef{Type: e.EntityType, Key: k}
			c := min(max(criticality(ref), 0), len(assetPoints)-1)
			if c > best {
				ref.Name = e.Name()
				best, bestRef = c, ref
			}
		}
	}
	if best == 0 {
		return FactorAsset, 0, ""
	}
	kind := string(bestRef.Type)
	return FactorAsset, assetPoints[best], fmt.Sprintf("Impacted %s %s has asset criticality %d of 3.", kind, clip(bestRef.Name), best)
}

func onlyAttacker(roles []weft.EvidenceRole) bool {
	if len(roles) == 0 {
		return false
	}
	for _, r := range roles {
		if r != "attacker" {
			return false
		}
	}
	return true
}

func highImpactFactor(s tacticSet, ransomware bool) (string, int, string) {
	points := 0
	var what []string
	if ransomware {
		points += ransomwarePoints
		what = append(what, "ransomware")
	}
	for _, x := range []struct {
		t      tacticSet
		points int
	}{{tCredentialAccess, credentialPoints}, {tExfiltration, exfiltrationPoints}, {tImpact, impactPoints}} {
		if s&x.t != 0 {
			points += x.points
			what = append(what, strings.ToLower(tactics[x.t.first()].DisplayName))
		}
	}
	if points == 0 {
		return FactorHighImpact, 0, ""
	}
	return FactorHighImpact, min(points, maxHighImpactPoints), "High-impact activity: " + joinAnd(what) + "."
}

// rarityFactor scores the rarest detector of the incident whose prevalence is
// known: one rare detection is worth a look even among common ones, and only
// an incident made entirely of very common detections loses points.
func rarityFactor(alerts []*weft.Alert, prevalence func(string, string) float64) (string, int, string) {
	type seenKey struct{ tenant, key string }
	seen := make(map[seenKey]struct{}, len(alerts))
	var (
		best     = math.MinInt
		bestP    float64
		bestName string
	)
	for _, a := range alerts {
		k := seenKey{a.TenantID, DetectorKey(a)}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		p := prevalence(k.tenant, k.key)
		pts, ok := rarityPoints(p)
		if !ok {
			continue
		}
		if pts > best || pts == best && p < bestP {
			best, bestP, bestName = pts, p, a.Title
		}
	}
	if best == math.MinInt || best == 0 {
		return FactorRarity, 0, ""
	}
	pct := strconvPercent(bestP)
	if best > 0 {
		return FactorRarity, best, fmt.Sprintf("Detector %q is rare in this tenant: %s of recent alerts.", clip(bestName), pct)
	}
	return FactorRarity, best, fmt.Sprintf("Every detector is common in this tenant; the rarest, %q, raised %s of recent alerts.", clip(bestName), pct)
}

func strconvPercent(p float64) string {
	switch {
	case p == 0:
		return "none"
	case p < 0.001:
		return fmt.Sprintf("%.3f%%", p*100)
	case p < 0.1:
		return fmt.Sprintf("%.1f%%", p*100)
	}
	return fmt.Sprintf("%.0f%%", p*100)
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, x := range ts {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// ago says how long ago, roughly, for a tooltip.
func ago(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return "just now"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// sourceKey names an alert's detection source for counting: the detection
// source, else the service source, the product name or the weft source.
func sourceKey(a *weft.Alert) string {
	for _, s := range [...]string{a.DetectionSource, a.ServiceSource, a.ProductName} {
		if s != "" && !strings.EqualFold(s, "unknown") && !strings.EqualFold(s, "unknownFutureValue") {
			return strings.ToLower(s)
		}
	}
	return strings.ToLower(a.Source)
}

func containsFold(s, sub string) bool {
	if len(s) < len(sub) {
		return false
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// clip shortens attacker-controlled text for a detail sentence.
func clip(s string) string {
	if len(s) <= maxDetailNameSize {
		return s
	}
	n := maxDetailNameSize
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// joinAnd joins words as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(w []string) string {
	if len(w) <= 1 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}
