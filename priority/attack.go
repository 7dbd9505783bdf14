package priority

import (
	"math/bits"
	"strings"
)

//go:generate go run ./internal/attackgen -data ../../shared/data/attack -out attack_table.go -license ATTACK_LICENSE.txt

// Tactic is a MITRE ATT&CK Enterprise tactic.
type Tactic struct {
	ID          string // "TA0001"
	ShortName   string // "initial-access", ATT&CK's machine name
	Name        string // "Initial Access", as ATT&CK writes it
	DisplayName string // "Initial access", as Defender writes it in incident names
	Order       int    // position in the Enterprise matrix, 0 for Reconnaissance
}

// Technique is a MITRE ATT&CK Enterprise technique or sub-technique.
type Technique struct {
	ID         string // "T1566" or "T1566.001"
	Name       string
	Tactics    []Tactic // in matrix order
	Deprecated bool     // deprecated by MITRE; kept because old alerts still name it
}

// tacticSet is a set of tactics, bit i standing for tactics[i]. The matrix has
// 14 tactics, so 16 bits are enough; the generator refuses more.
type tacticSet uint16

// technique is one row of the generated technique table.
type technique struct {
	name       string
	tactics    tacticSet
	deprecated bool
}

// Tactics returns the ATT&CK Enterprise tactics in matrix (kill-chain) order,
// from Reconnaissance to Impact. The slice is a fresh copy.
func Tactics() []Tactic {
	return append([]Tactic(nil), tactics[:]...)
}

// TacticsOfTechnique returns the tactics of an ATT&CK technique id such as
// "T1566" or "t1566.001", in matrix order. A sub-technique the table does not
// know falls back to its parent technique. An unknown or malformed id yields
// nil. It is safe for concurrent use.
func TacticsOfTechnique(id string) []Tactic {
	return tacticSlice(techniqueTactics(id))
}

// LookupTechnique returns an ATT&CK technique by id (case-insensitive). Unlike
// TacticsOfTechnique it does not fall back to the parent of an unknown
// sub-technique.
func LookupTechnique(id string) (Technique, bool) {
	id = normalizeTechniqueID(id)
	t, ok := techniques[id]
	if !ok {
		return Technique{}, false
	}
	return Technique{ID: id, Name: t.name, Tactics: tacticSlice(t.tactics), Deprecated: t.deprecated}, true
}

// techniqueTactics is TacticsOfTechnique as a set, without allocating for ids
// that are already upper-case.
func techniqueTactics(id string) tacticSet {
	id = normalizeTechniqueID(id)
	if t, ok := techniques[id]; ok {
		return t.tactics
	}
	if parent, _, ok := strings.Cut(id, "."); ok {
		return techniques[parent].tactics
	}
	return 0
}

func normalizeTechniqueID(id string) string {
	id = strings.TrimSpace(id)
	for i := 0; i < len(id); i++ {
		if c := id[i]; 'a' <= c && c <= 'z' {
			return strings.ToUpper(id)
		}
	}
	return id
}

func tacticSlice(s tacticSet) []Tactic {
	if s == 0 {
		return nil
	}
	out := make([]Tactic, 0, bits.OnesCount16(uint16(s)))
	for i := range tactics {
		if s.has(i) {
			out = append(out, tactics[i])
		}
	}
	return out
}

func (s tacticSet) has(i int) bool { return s&(1<<i) != 0 }

func (s tacticSet) len() int { return bits.OnesCount16(uint16(s)) }

// first and last return the index of the earliest and latest tactic in
// matrix order; s must not be empty.
func (s tacticSet) first() int { return bits.TrailingZeros16(uint16(s)) }
func (s tacticSet) last() int  { return 15 - bits.LeadingZeros16(uint16(s)) }
