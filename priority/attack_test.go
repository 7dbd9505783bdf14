package priority

import (
	"slices"
	"testing"
)

func TestTactics(t *testing.T) {
	want := []string{
		"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
		"privilege-escalation", "defense-evasion", "credential-access", "discovery",
		"lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
	}
	got := Tactics()
	if len(got) != len(want) {
		t.Fatalf("got %d tactics, want %d", len(got), len(want))
	}
	for i, tc := range got {
		if tc.ShortName != want[i] || tc.Order != i {
			t.Errorf("tactic %d: got %s (order %d), want %s", i, tc.ShortName, tc.Order, want[i])
		}
		if stagePoints(1<<i) == 0 {
			t.Errorf("tactic %s has no stage weight", tc.ShortName)
		}
	}
	if got[2].ID != "TA0001" || got[11].DisplayName != "Command and control" || got[9].DisplayName != "Lateral movement" {
		t.Errorf("got %+v and %+v", got[2], got[11])
	}
	got[0].Name = "changed"
	if Tactics()[0].Name != "Reconnaissance" {
		t.Error("Tactics returned the table itself, not a copy")
	}
}

func TestTacticsOfTechnique(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"T1566", []string{"initial-access"}},
		{"T1566.001", []string{"initial-access"}},
		{"t1566.002", []string{"initial-access"}},
		{" T1003 ", []string{"credential-access"}},
		{"T1003.001", []string{"credential-access"}},
		{"T1078", []string{"initial-access", "persistence", "privilege-escalation", "defense-evasion"}},
		{"T1550.002", []string{"defense-evasion", "lateral-movement"}},
		{"T1566.999", []string{"initial-access"}},  // unknown sub-technique: its parent
		{"T1026", []string{"command-and-control"}}, // deprecated, still known
		{"T1002", nil}, // revoked
		{"T9999", nil},
		{"", nil},
		{"phishing", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, tc := range TacticsOfTechnique(tt.id) {
			got = append(got, tc.ShortName)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("TacticsOfTechnique(%q): got %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestLookupTechnique(t *testing.T) {
	tq, ok := LookupTechnique("t1003.001")
	if !ok || tq.ID != "T1003.001" || tq.Name != "LSASS Memory" || tq.Deprecated || len(tq.Tactics) != 1 {
		t.Errorf("got %+v, %v", tq, ok)
	}
	if tq, ok := LookupTechnique("T1026"); !ok || !tq.Deprecated {
		t.Errorf("T1026: got %+v, %v; want deprecated", tq, ok)
	}
	if _, ok := LookupTechnique("T1002"); ok {
		t.Error("revoked T1002 is in the table")
	}
	if _, ok := LookupTechnique("T1566.999"); ok {
		t.Error("LookupTechnique fell back to the parent")
	}
}
