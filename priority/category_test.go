package priority

import "testing"

func TestParseCategory(t *testing.T) {
	tests := []struct {
		in         string
		name       string
		tactic     string // short name, "" for none
		highImpact bool
		ok         bool
	}{
		{"InitialAccess", "InitialAccess", "initial-access", false, true},
		{"Initial access", "InitialAccess", "initial-access", false, true},
		{"initial-access", "InitialAccess", "initial-access", false, true},
		{"CredentialAccess", "CredentialAccess", "credential-access", true, true},
		{"credential-access", "CredentialAccess", "credential-access", true, true},
		{"Exfiltration", "Exfiltration", "exfiltration", true, true},
		{"LateralMovement", "LateralMovement", "lateral-movement", false, true},
		{"CommandAndControl", "CommandAndControl", "command-and-control", false, true},
		{"Command and control", "CommandAndControl", "command-and-control", false, true},
		{"COMMAND_AND_CONTROL", "CommandAndControl", "command-and-control", false, true},
		{"Impact", "Impact", "impact", true, true},
		{"PrivilegeEscalation", "PrivilegeEscalation", "privilege-escalation", false, true},
		{"Ransomware", "Ransomware", "", true, true},
		{"Malware", "Malware", "", false, true},
		{"SuspiciousActivity", "SuspiciousActivity", "", false, true},
		{"Unwanted software", "UnwantedSoftware", "", false, true},
		{"Exploit", "Exploit", "", false, true},
		{"", "", "", false, false},
		{"Phishing", "", "", false, false},
		{"Initial access and more text that is far too long to be a category", "", "", false, false},
	}
	for _, tt := range tests {
		c, ok := ParseCategory(tt.in)
		if ok != tt.ok || c.Name != tt.name || c.Tactic.ShortName != tt.tactic || c.HighImpact() != tt.highImpact || c.IsTactic() != (tt.tactic != "") {
			t.Errorf("ParseCategory(%q): got %+v (tactic %v, high impact %v), %v; want %s %s %v %v",
				tt.in, c, c.IsTactic(), c.HighImpact(), ok, tt.name, tt.tactic, tt.highImpact, tt.ok)
		}
		tc, ok := TacticOfCategory(tt.in)
		if ok != (tt.tactic != "") || tc.ShortName != tt.tactic {
			t.Errorf("TacticOfCategory(%q): got %s, %v; want %q", tt.in, tc.ShortName, ok, tt.tactic)
		}
	}
}
