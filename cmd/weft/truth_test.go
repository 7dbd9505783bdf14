package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const guideSample = "../../ingest/testdata/guide/GUIDE_Test.sample.head60.csv"

// tableRow returns the cells of the eval table row whose label is label.
func tableRow(t *testing.T, table, label string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if rest, ok := strings.CutPrefix(line, label+" "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("the table has no row %q:\n%s", label, table)
	return nil
}

// TestTruthGUIDERoundTrip runs the loop of an evaluation on GUIDE: write the
// truth from the sample, store the sample, score weft's incidents against
// the truth, and the baselines beside them.
func TestTruthGUIDERoundTrip(t *testing.T) {
	dir := t.TempDir()
	truth, data := filepath.Join(dir, "guide.truth.csv"), filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"truth", "--out", truth, guideSample}, &out, &errb); err != nil {
		t.Fatalf("truth: %v %s", err, errb.String())
	}
	// The sample's row at line 59 has 42 columns: its alert is left out.
	if !strings.Contains(errb.String(), "record 58 (line 59): the row has 42 columns; the header has 46 (left out)") ||
		!strings.Contains(errb.String(), "57 alerts in 57 incidents; 1 records rejected") {
		t.Errorf("truth stderr %q", errb.String())
	}
	b, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 58 || lines[0] != "alertId,incidentKey" || !strings.Contains(string(b), "\n657/87199,657/11767\n") {
		t.Fatalf("truth file (%d lines):\n%s", len(lines), b)
	}

	errb.Reset()
	err = run(context.Background(), []string{"ingest", "--data", data, guideSample}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "1 records rejected") || !strings.Contains(out.String(), "58 records: 57 stored") {
		t.Fatalf("ingest: %v; stdout %q; want 57 stored and 1 rejected", err, out.String())
	}

	// The baselines are scored on the alerts without the broken row, so
	// that every stored alert has its baselines (eval --alerts skips a
	// rejected record and says so).
	clean := filepath.Join(dir, "clean.csv")
	sample, err := os.ReadFile(guideSample)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.SplitAfter(string(sample), "\n")
	if err := os.WriteFile(clean, []byte(strings.Join(append(rows[:58:58], rows[59:]...), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"eval", "--alerts", clean, "--data", data, truth}, &out, &errb); err != nil {
		t.Fatalf("eval: %v %s", err, errb.String())
	}
	for _, label := range []string{"items", "missing", "extra", "pair F1", "ARI", "B-cubed F1"} {
		cells := tableRow(t, out.String(), label)
		if len(cells) != 4 {
			t.Fatalf("%s: %v; want weft and 3 baselines", label, cells)
		}
		want := map[string]string{"items": "57", "missing": "0", "extra": "0", "B-cubed F1": "1.0000"}[label]
		if want != "" && cells[0] != want {
			t.Errorf("%s: weft %s, want %s\n%s", label, cells[0], want, out.String())
		}
	}
}

// TestTruthGUIDELinks scores weft on a small GUIDE file whose incidents each
// hold two alerts sharing a device or a user, and whose alerts all share the
// absent constants: weft must find both incidents and merge nothing else.
func TestTruthGUIDELinks(t *testing.T) {
	dir := t.TempDir()
	file, truth, data := filepath.Join(dir, "g.csv"), filepath.Join(dir, "g.truth.csv"), filepath.Join(dir, "data")
	sample, err := os.ReadFile(guideSample)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(string(sample), "\n")
	machine, user := rows[2], rows[1] // Machine 1239 of org 3; User of org 657, AccountSid 2610
	body := rows[0] + "\n" +
		machine + "\n" +
		strings.Replace(strings.Replace(machine, "1400159342154,3,91158,632273,2024-06-03T12:58:26", "1,3,91158,632274,2024-06-03T13:20:00", 1), ",2,2,", ",7,9,", 1) + "\n" +
		user + "\n" +
		strings.Replace(user, "1245540519230,657,11767,87199,2024-06-04T22:56:27", "2,657,11767,87200,2024-06-04T23:30:00", 1) + "\n" +
		strings.Replace(user, "1245540519230,657,11767,87199,2024-06-04T22:56:27.000Z,524,563,LateralMovement,T1021;T1047;T1105;T1569.002,BenignPositive,,,User,Impacted,98799,138268,360606,160396,2610,3699,425863,863",
			"3,657,11800,87300,2024-06-04T23:00:00.000Z,524,563,LateralMovement,,BenignPositive,,,User,Impacted,98799,138268,360606,160396,441377,673934,425863,453297", 1) + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"truth", "--out", truth, file}, {"ingest", "--data", data, file}} {
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%s: %v %s", args[0], err, errb.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"eval", "--alerts", file, "--data", data, truth}, &out, &errb); err != nil {
		t.Fatalf("eval: %v %s", err, errb.String())
	}
	for label, want := range map[string]string{"items": "5", "missing": "0", "pair F1": "1.0000", "ARI": "1.0000"} {
		if got := tableRow(t, out.String(), label)[0]; got != want {
			t.Errorf("%s: weft %s, want %s\n%s", label, got, want, out.String())
		}
	}
}
