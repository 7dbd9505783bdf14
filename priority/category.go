package priority

import "strings"

// Category is an alert category as Defender uses it: either an ATT&CK tactic
// ("InitialAccess", "CommandAndControl") or one of the attack components that
// are not tactics ("Malware", "Ransomware", "SuspiciousActivity",
// "UnwantedSoftware", "Exploit").
type Category struct {
	// Name is the canonical Defender spelling, e.g. "CredentialAccess".
	Name string
	// Tactic is the ATT&CK tactic; the zero Tactic for a category that is
	// not one (check IsTactic).
	Tactic Tactic
	// index is the tactic's position in the matrix, -1 for a non-tactic.
	index int
}

// IsTactic reports whether the category is an ATT&CK tactic.
func (c Category) IsTactic() bool { return c.index >= 0 }

// HighImpact reports whether the category marks an outcome that costs the
// most when missed: ransomware, credential access, exfiltration, impact.
func (c Category) HighImpact() bool {
	switch c.Name {
	case "Ransomware", "CredentialAccess", "Exfiltration", "Impact":
		return true
	}
	return false
}

// nonTacticCategories are Defender's categories that name an attack component
// rather than a tactic, keyed by their folded spelling.
var nonTacticCategories = map[string]string{
	"malware":            "Malware",
	"ransomware":         "Ransomware",
	"suspiciousactivity": "SuspiciousActivity",
	"unwantedsoftware":   "UnwantedSoftware",
	"exploit":            "Exploit",
}

// tacticAliases are folded spellings of tactics that are not ATT&CK's own
// name or short name.
var tacticAliases = map[string]string{
	"commandcontrol": "command-and-control",
	"c2":             "command-and-control",
	"privesc":        "privilege-escalation",
}

// tacticCategoryNames are the tactics as Defender writes categories:
// "command-and-control" is "CommandAndControl".
var tacticCategoryNames = func() (names [len(tactics)]string) {
	for i, t := range tactics {
		for p := range strings.SplitSeq(t.ShortName, "-") {
			if p != "" {
				names[i] += strings.ToUpper(p[:1]) + p[1:]
			}
		}
	}
	return names
}()

// ParseCategory recognises an alert category, ignoring case, spaces, hyphens
// and underscores: "InitialAccess", "Initial access", "initial-access" and
// "INITIAL_ACCESS" are the same category. It reports false for a category it
// does not know; such a category carries no tactic and no weight.
func ParseCategory(s string) (Category, bool) {
	var buf [40]byte
	k := fold(buf[:0], s)
	if k == "" {
		return Category{index: -1}, false
	}
	if n, ok := nonTacticCategories[k]; ok {
		return Category{Name: n, index: -1}, true
	}
	if a, ok := tacticAliases[k]; ok {
		k = strings.ReplaceAll(a, "-", "")
	}
	for i := range tactics {
		if foldEqual(tactics[i].ShortName, k) {
			return Category{Name: tacticCategoryNames[i], Tactic: tactics[i], index: i}, true
		}
	}
	return Category{index: -1}, false
}

// TacticOfCategory returns the ATT&CK tactic an alert category names
// ("CredentialAccess", "Credential access", "credential-access"). It reports
// false for categories that are not tactics, known ("Malware") or not.
func TacticOfCategory(category string) (Tactic, bool) {
	c, ok := ParseCategory(category)
	if !ok || !c.IsTactic() {
		return Tactic{}, false
	}
	return c.Tactic, true
}

// fold appends the lower-case letters and digits of s to dst and returns them
// as a string; anything longer than 40 bytes is no category and folds to "".
func fold(dst []byte, s string) string {
	if len(s) > 40 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			dst = append(dst, c)
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		}
	}
	return string(dst)
}

// foldEqual reports whether the ATT&CK short name (lower-case, hyphenated)
// equals the folded k.
func foldEqual(short, k string) bool {
	j := 0
	for i := 0; i < len(short); i++ {
		if short[i] == '-' {
			continue
		}
		if j >= len(k) || short[i] != k[j] {
			return false
		}
		j++
	}
	return j == len(k)
}
