package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genWithBadLines generates a scenario and breaks the alerts file's lines
// bad (counted from 1): it returns the alerts file, the truth file and how
// many records the file holds.
func genWithBadLines(t *testing.T, bad ...int) (alerts, truth string, records int) {
	t.Helper()
	dir := t.TempDir()
	alerts, truth = filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "a.truth.csv")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--users", "200", "--attacks", "2", "--noise", "40", "--days", "1", alerts}, &out, &errb); err != nil {
		t.Fatalf("gen: %v %s", err, errb.String())
	}
	b, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, n := range bad {
		lines[n-1] = `{"source":"gen","title":"no provider id"}`
	}
	if err := os.WriteFile(alerts, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return alerts, truth, len(lines)
}

// TestEvalAlertsSkipsRejected checks that eval --alerts scores the good
// records of a file with one bad record, says on its output how many were
// skipped, and names the bad one on standard error.
func TestEvalAlertsSkipsRejected(t *testing.T) {
	alerts, truth, n := genWithBadLines(t, 3)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"eval", "--alerts", alerts, truth}, &out, &errb); err != nil {
		t.Fatalf("eval: %v %s", err, errb.String())
	}
	if want := fmt.Sprintf("%s: %d alerts read; 1 rejected records skipped", alerts, n-1); !strings.Contains(out.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, out.String())
	}
	if want := fmt.Sprintf("%s: 1 of %d records rejected and skipped:\n  record 3 (line 3): providerAlertId: is required", alerts, n); !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
	// The baselines are scored on the good alerts: the bad one is the one
	// missing.
	if got := tableRow(t, out.String(), "missing"); len(got) != 3 || got[0] != "1" {
		t.Errorf("missing: %v, want 1 for each of the 3 baselines\n%s", got, out.String())
	}
}

// TestReplaySkipsRejected checks that replay runs on the good records of a
// file with bad ones, says how many it skipped, and lists only the first few
// on standard error.
func TestReplaySkipsRejected(t *testing.T) {
	alerts, _, n := genWithBadLines(t, 2, 4, 6, 8, 10, 12, 14)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"replay", alerts}, &out, &errb); err != nil {
		t.Fatalf("replay: %v %s", err, errb.String())
	}
	for _, want := range []string{
		fmt.Sprintf("%s: %d alerts read; 7 rejected records skipped", alerts, n-7),
		fmt.Sprintf("%d alerts → ", n-7),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{fmt.Sprintf("7 of %d records rejected and skipped", n), "record 2 (line 2)", "record 10 (line 10)", "… and 2 more"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(errb.String(), "record 12 (line 12)") {
		t.Errorf("stderr names more than %d rejects:\n%s", maxReportedRejects, errb.String())
	}
}

// TestReadAlertsFileAllRejected checks that a file of which no record is
// read is an error, and that a clean file says nothing about skipping.
func TestReadAlertsFileAllRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.ndjson")
	if err := os.WriteFile(path, []byte("{\"title\":\"x\"}\n{\"title\":\"y\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if _, _, err := readAlertsFile(path, &errb); err == nil || !strings.Contains(err.Error(), "all 2 records were rejected") {
		t.Fatalf("got %v, want all 2 records rejected", err)
	}

	alerts, _, _ := genWithBadLines(t)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"replay", alerts}, &out, &errb); err != nil {
		t.Fatalf("replay: %v %s", err, errb.String())
	}
	if strings.Contains(out.String(), "skipped") {
		t.Errorf("clean file: stdout mentions skipping:\n%s", out.String())
	}
}
