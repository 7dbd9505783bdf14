package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/eval"
	"github.com/weftxdr/weft/sqlite"
)

const replayHelp = `
Run a correlation policy over past alerts — a file (ALERTS) or the alerts
stored in a data directory (--data) — in event-time order, without touching
any live incident, and report the incidents it would produce. This is how a
policy is tuned safely.

--policy names a JSON file of settings (any left out keep their defaults),
for example {"strongWindow": "12h", "hubThreshold": 12, "noisyThreshold": 8};
"weft replay --print-policy" prints the defaults in that form. --out writes
"alertId,incidentKey" (alerts keyed by their provider id, as weft eval reads
them). --compare runs a second policy over the same alerts and says what it
would change. --truth scores each policy against ground truth. Records of
ALERTS that weft rejects are skipped: the output says how many, and standard
error names the first few.

--rules names a JSON list of automation rules (docs/automation.md): after
the replay each rule (enabled or not) is evaluated, in order, on each
resulting incident as if it were new, and the output lists per rule the
incidents it would have matched and what it would have done. Nothing is
changed and no response action is requested. With --data, devices have the
criticality and device group of the data directory's asset inventory.
`

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", "[flags] (ALERTS | --data DIR)", replayHelp, stderr)
	data := fs.String("data", "", "replay the alerts stored in this data `directory`")
	policyFile := fs.String("policy", "", "correlation policy `file` (JSON; default: the built-in defaults)")
	compareFile := fs.String("compare", "", "a second policy `file` to compare with")
	out := fs.String("out", "", "write the partition as CSV to this `file`")
	truthFile := fs.String("truth", "", "ground-truth CSV `file` to score against")
	printPolicy := fs.Bool("print-policy", false, "print the default policy as JSON and exit")
	rulesFile := fs.String("rules", "", "automation rules `file` (JSON list) to evaluate on the resulting incidents")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printPolicy {
		fmt.Fprintf(stdout, "%s\n", correlate.MarshalPolicy(correlate.DefaultConfig()))
		return nil
	}
	if (fs.NArg() == 1) == (*data != "") || fs.NArg() > 1 {
		fs.Usage()
		return errors.New("replay needs one ALERTS file or --data, not both")
	}
	cfg, err := readPolicy(*policyFile)
	if err != nil {
		return err
	}
	var ruleEngine *automation.Engine
	var rules []*weft.AutomationRule
	if *rulesFile != "" {
		if ruleEngine, err = automation.NewEngine(); err != nil {
			return err
		}
		if rules, err = readReplayRules(*rulesFile, ruleEngine); err != nil {
			return err
		}
	}
	var alerts []*weft.Alert
	skipped := 0
	if *data != "" {
		alerts, err = storedAlerts(ctx, *data)
	} else {
		alerts, skipped, err = readAlertsFile(fs.Arg(0), stderr)
	}
	if err != nil {
		return err
	}
	skippedNote(stdout, fs.Arg(0), len(alerts), skipped)
	res, err := correlate.ReplayPolicies(cfg, alerts)
	if err != nil {
		return err
	}
	printReplay(stdout, "policy", cfg, res)
	if rules != nil {
		var entities weft.EntityStore
		if *data != "" {
			store, err := sqlite.Open(filepath.Join(*data, dbFile), sqlite.Options{})
			if err != nil {
				return err
			}
			defer store.Close()
			entities = store
		}
		subjects, err := replayIncidents(ctx, alerts, res, entities)
		if err != nil {
			return err
		}
		printRuleReplay(ctx, stdout, ruleEngine, rules, subjects)
	}
	part := replayPartition(alerts, res)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		if err := eval.WritePartition(f, part); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	var truth eval.Partition
	if *truthFile != "" {
		if truth, err = readPartitionFile(*truthFile); err != nil {
			return err
		}
	}
	rows := []eval.NamedScores{}
	if truth != nil {
		rows = append(rows, eval.NamedScores{Name: "policy", Scores: eval.Score(truth, part)})
	}
	if *compareFile != "" {
		cfg2, err := readPolicy(*compareFile)
		if err != nil {
			return err
		}
		res2, err := correlate.ReplayPolicies(cfg2, alerts)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout)
		printReplay(stdout, "compared policy", cfg2, res2)
		part2 := replayPartition(alerts, res2)
		agree := eval.Score(part, part2)
		fmt.Fprintf(stdout, "\nwhat the compared policy changes: %d of %d alerts are grouped with other alerts than before; agreement ARI %.4f, pair F1 %.4f (1 = the same incidents)\n",
			changedAlerts(part, part2), len(alerts), agree.ARI, agree.PairF1)
		if truth != nil {
			rows = append(rows, eval.NamedScores{Name: "compared", Scores: eval.Score(truth, part2)})
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(stdout)
		return eval.WriteTable(stdout, rows)
	}
	return nil
}

// readPolicy reads a policy file: one policy, or a default policy and
// tenants' own (correlate.ParsePolicies). No file means the defaults.
func readPolicy(path string) (correlate.Policies, error) {
	if path == "" {
		return correlate.Policies{Default: correlate.DefaultConfig()}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return correlate.Policies{}, err
	}
	ps, err := correlate.ParsePolicies(b)
	if err != nil {
		return ps, fmt.Errorf("%s: %s", path, weft.ErrorMessage(err))
	}
	return ps, nil
}

func printReplay(w io.Writer, name string, ps correlate.Policies, r correlate.ReplayResult) {
	tenants := ""
	if n := len(ps.Tenants); n > 0 {
		tenants = fmt.Sprintf("; %d tenants with their own", n)
	}
	fmt.Fprintf(w, "%s (%s%s):\n  %d alerts → %d incidents (%d with more than one alert; the largest has %d); %d merges, %d continuations, %d related links\n",
		name, ps.Default, tenants, r.Alerts, r.Incidents, r.MultiAlertIncidents, r.Largest, r.Merges, r.Continuations, r.RelatedLinks)
}

// replayPartition keys a replay's incidents by the alerts' provider ids, the
// ids a truth file uses.
func replayPartition(alerts []*weft.Alert, r correlate.ReplayResult) eval.Partition {
	p := make(eval.Partition, len(alerts))
	for _, a := range alerts {
		p[eval.AlertKey(a)] = fmt.Sprint(r.Incident[a.ID])
	}
	return p
}

// changedAlerts counts the alerts whose incident mates differ between two
// partitions of the same alerts.
func changedAlerts(a, b eval.Partition) int {
	mates := func(p eval.Partition) map[string][]string {
		by := map[string][]string{}
		for id, c := range p {
			by[c] = append(by[c], id)
		}
		m := map[string][]string{}
		for _, ids := range by {
			sort.Strings(ids)
			for _, id := range ids {
				m[id] = ids
			}
		}
		return m
	}
	ma, mb := mates(a), mates(b)
	n := 0
	for id, x := range ma {
		y := mb[id]
		if len(x) != len(y) {
			n++
			continue
		}
		for i := range x {
			if x[i] != y[i] {
				n++
				break
			}
		}
	}
	return n
}

// storedAlerts reads every alert of the default tenant in a data directory.
// It only reads, so it opens the store without the correlation engine,
// whose rebuild at open would be wasted work.
func storedAlerts(ctx context.Context, dir string) ([]*weft.Alert, error) {
	store, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	var out []*weft.Alert
	for skip := 0; ; skip += weft.MaxPageSize {
		page, err := store.ListAlerts(ctx, weft.AlertQuery{TenantID: weft.DefaultTenantID, Top: weft.MaxPageSize, Skip: skip})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Alerts...)
		if !page.More {
			return out, nil
		}
	}
}
