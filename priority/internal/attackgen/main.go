// Command attackgen writes priority/attack_table.go, the MITRE ATT&CK
// Enterprise tactics and techniques that the priority package embeds, from the
// CSV exports in shared/data/attack, and copies the ATT&CK licence next to it.
//
// It is run by go generate in priority/:
//
//	go run ./internal/attackgen -data ../../shared/data/attack -out attack_table.go -license ATTACK_LICENSE.txt
//
// The build never needs the CSVs: the generated file is committed.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
)

func main() {
	data := flag.String("data", "../../shared/data/attack", "directory with enterprise_tactics.csv, enterprise_techniques.csv and LICENSE.txt")
	out := flag.String("out", "attack_table.go", "Go file to write")
	license := flag.String("license", "ATTACK_LICENSE.txt", "where to copy LICENSE.txt (empty: do not copy)")
	flag.Parse()
	if err := run(*data, *out, *license); err != nil {
		log.SetFlags(0)
		log.Fatalf("attackgen: %v", err)
	}
}

func run(data, out, license string) error {
	tab, err := load(data)
	if err != nil {
		return err
	}
	src, err := tab.render()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		return err
	}
	if license != "" {
		if err := os.WriteFile(license, tab.license, 0o644); err != nil {
			return fmt.Errorf("copy licence: %w", err)
		}
	}
	return nil
}
