package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReplayRules: weft replay --rules evaluates rules on the replayed
// incidents and says per rule what they would have done; a rule that does
// not compile is refused with its position.
func TestReplayRules(t *testing.T) {
	dir := t.TempDir()
	alerts := filepath.Join(dir, "a.ndjson")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gen", "--users", "500", "--attacks", "6", "--noise", "300", "--days", "2", alerts}, &out, &errb); err != nil {
		t.Fatalf("gen: %v %s", err, errb.String())
	}
	rules := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(rules, []byte(`[
		{"name": "high", "condition": "severity == 'high'", "actions": [{"type": "addTag", "value": "hot"}]},
		{"name": "never", "condition": "alertCount > 100000", "actions": [{"type": "assign", "value": "alice"}]}
	]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"replay", "--rules", rules, alerts}, &out, &errb); err != nil {
		t.Fatalf("replay: %v %s", err, errb.String())
	}
	m := regexp.MustCompile(`rule "high": would match (\d+) incidents\n    incident \d+ \(high, .*: add tag hot\n`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("replay output lacks the matches of rule high:\n%s", out.String())
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Errorf("rule high matched no incident")
	}
	if !strings.Contains(out.String(), `rule "never": would match 0 incidents`) {
		t.Errorf("replay output lacks rule never:\n%s", out.String())
	}

	if err := os.WriteFile(rules, []byte(`[{"name": "bad", "condition": "sevrity == 'high'", "actions": [{"type": "addTag", "value": "x"}]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"replay", "--rules", rules, alerts}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `rule 0 ("bad"): condition: 1:1: undeclared reference to 'sevrity'`) {
		t.Fatalf("replay with a bad rule: %v; want the rule and the position", err)
	}
}
