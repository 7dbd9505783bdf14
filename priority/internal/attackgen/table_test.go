package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedTableUpToDate regenerates attack_table.go from the ATT&CK CSVs
// and checks that the committed file matches. It is skipped when the data
// directory is not next to the repository (the build never needs it).
func TestGeneratedTableUpToDate(t *testing.T) {
	data := filepath.Join("..", "..", "..", "..", "shared", "data", "attack")
	if _, err := os.Stat(filepath.Join(data, "enterprise_techniques.csv")); err != nil {
		t.Skipf("no ATT&CK data: %v", err)
	}
	tab, err := load(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tab.render()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "attack_table.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("attack_table.go is out of date: run go generate ./priority/")
	}
	lic, err := os.ReadFile(filepath.Join("..", "..", "ATTACK_LICENSE.txt"))
	if err != nil || !bytes.Equal(lic, tab.license) {
		t.Errorf("ATTACK_LICENSE.txt is not a copy of the ATT&CK licence (%v)", err)
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"Command and Control": "Command and control",
		"Initial Access":      "Initial access",
		"Impact":              "Impact",
	} {
		if got := displayName(in); got != want {
			t.Errorf("displayName(%q): got %q, want %q", in, got, want)
		}
	}
}
