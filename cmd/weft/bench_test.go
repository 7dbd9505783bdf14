package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestBenchLatency runs the latency bench briefly at a low rate and checks
// its counts, never its timings.
func TestBenchLatency(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"bench", "latency", "--rate", "500", "--duration", "2s", "--sync", "normal"}, &out, &errb)
	if err != nil {
		t.Fatalf("bench latency: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	s := out.String()
	// 500 alerts/s in batches of 100 for 2 s: 10 batches, 1,000 alerts.
	// A machine too busy to keep up leaves some batches never sent (the
	// bench says so); every batch sent must be acknowledged, stored and
	// probed, whatever the machine's speed.
	got := reportInts(t, s, `sent: (\d+) of (\d+) batches \((\d+) alerts\); (\d+) batches never sent`)
	if len(got) != 4 || got[0] < 1 || got[1] != 10 || got[2] != 100*got[0] || got[0]+got[3] != 10 {
		t.Fatalf("sent line: got %v, want [n 10 100n 10-n] with n ≥ 1\n%s", got, s)
	}
	sent := got[0]
	if got := reportInts(t, s, `\((\d+) alerts acked, (\d+) stored`); !slices.Equal(got, []int{100 * sent, 100 * sent}) {
		t.Errorf("achieved line: got %v, want [%d %d]\n%s", got, 100*sent, 100*sent, s)
	}
	if got := reportInts(t, s, `incident visible: (\d+) of (\d+) sampled alerts \((\d+) probe errors\)`); !slices.Equal(got, []int{sent, sent, 0}) {
		t.Errorf("incident line: got %v, want [%d %d 0]\n%s", got, sent, sent, s)
	}
	for _, want := range []string{"ack latency (send → ack)", "alert-to-incident (ack → visible)", "alert-to-incident (send → visible)"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

// TestBenchRestart loads a small data directory, restarts a server on it in
// this process, then again on the kept directory, and checks the counts.
func TestBenchRestart(t *testing.T) {
	dir := t.TempDir() + "/data"
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"bench", "restart", "--alerts", "2000", "--data", dir, "--runs", "2", "--in-process"}, &out, &errb)
	if err != nil {
		t.Fatalf("bench restart: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	s := out.String()
	if got := reportInts(t, s, `: (\d+) stored, (\d+) duplicate, (\d+) rejected`); !slices.Equal(got, []int{2000, 0, 0}) {
		t.Errorf("load line: got %v, want [2000 0 0]\n%s", got, s)
	}
	if got := reportInts(t, s, `stored alerts: (\d+)`); !slices.Equal(got, []int{2000}) {
		t.Errorf("stored alerts: got %v, want 2000\n%s", got, s)
	}
	if n := strings.Count(s, "ready in"); n != 2 {
		t.Errorf("%d restarts reported, want 2:\n%s", n, s)
	}

	// The second time the directory exists: nothing is loaded.
	out.Reset()
	if err := run(context.Background(), []string{"bench", "restart", "--data", dir, "--runs", "1", "--in-process"}, &out, &errb); err != nil {
		t.Fatalf("bench restart --data: %v\nstderr: %s", err, errb.String())
	}
	if strings.Contains(out.String(), "loaded into") || !strings.Contains(out.String(), "stored alerts: 2000 ") {
		t.Errorf("reusing the directory: want no load and 2000 stored alerts:\n%s", out.String())
	}
}

// reportInts returns the integers that the groups of pattern match in s.
func reportInts(t *testing.T, s, pattern string) []int {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("the report has no line matching %q:\n%s", pattern, s)
	}
	var out []int
	for _, g := range m[1:] {
		n, err := strconv.Atoi(g)
		if err != nil {
			t.Fatalf("%q: %v", g, err)
		}
		out = append(out, n)
	}
	return out
}
