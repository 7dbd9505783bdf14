package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/eval"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/sqlite"
)

const evalHelp = `
Score predicted incidents against ground truth: pairwise precision, recall
and F1, adjusted Rand index, B-cubed precision, recall and F1, the largest
incident and the compression (alerts per incident).

TRUTH and PRED are CSV files "alertId,incidentKey" (as weft gen writes the
truth). Instead of PRED, --data scores the incidents that weft has formed in a
data directory (the alerts of every tenant, keyed by their provider id, the
id the truth uses). With --alerts, the alerts themselves are read too and
three baselines are scored beside: all singletons; the same detector on the
same device within 1 h; the union of any shared identifier within 24 h.
Records of the alerts file that weft rejects are skipped: the output says how
many, and standard error names the first few.
`

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "[flags] TRUTH [PRED]", evalHelp, stderr)
	alertsFile := fs.String("alerts", "", "alerts `file` (NDJSON, Graph or weft format) to score the baselines on")
	data := fs.String("data", "", "score the incidents stored in this data `directory` instead of a PRED file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hasPred := fs.NArg() == 2
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		fs.Usage()
		return errors.New("eval needs TRUTH and at most one PRED")
	case hasPred && *data != "":
		return errors.New("give PRED or --data, not both")
	case !hasPred && *data == "" && *alertsFile == "":
		return errors.New("nothing to score: give PRED, --data or --alerts")
	}
	truth, err := readPartitionFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var rows []eval.NamedScores
	switch {
	case hasPred:
		pred, err := readPartitionFile(fs.Arg(1))
		if err != nil {
			return err
		}
		rows = append(rows, eval.NamedScores{Name: "prediction", Scores: eval.Score(truth, pred)})
	case *data != "":
		pred, err := storedPartition(ctx, *data)
		if err != nil {
			return err
		}
		rows = append(rows, eval.NamedScores{Name: "weft", Scores: eval.Score(truth, pred)})
	}
	if *alertsFile != "" {
		alerts, skipped, err := readAlertsFile(*alertsFile, stderr)
		if err != nil {
			return err
		}
		// Said before the table: the baselines are scored on fewer alerts
		// than the file holds, which their "missing" row shows.
		skippedNote(stdout, *alertsFile, len(alerts), skipped)
		for _, b := range eval.Baselines(alerts) {
			rows = append(rows, eval.NamedScores{Name: b.Name, Scores: eval.Score(truth, b.Partition)})
		}
	}
	return eval.WriteTable(stdout, rows)
}

func readPartitionFile(path string) (eval.Partition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := eval.ReadPartition(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, weft.ErrorMessage(err))
	}
	return p, nil
}

// maxReportedRejects is how many rejected records readAlertsFile names on
// standard error; the rest are only counted.
const maxReportedRejects = 5

// readAlertsFile decodes the records of an alerts file. A record the decoder
// rejects is skipped, not fatal: one bad line in a long export should not
// cost the run. The skipped records are reported on stderr, their count and
// the first maxReportedRejects with where they are and why, and their number
// returned so that the caller's output can say that its alerts are fewer
// than the file's records. It returns an error when the file cannot be read
// or split into records (a body-level error), or when every record is
// rejected.
func readAlertsFile(path string, stderr io.Writer) (alerts []*weft.Alert, skipped int, err error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	recs, err := ingest.Decode(body, false, ingest.FormatAuto, ingest.Limits{MaxRecords: 1 << 30}, time.Now())
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %s", path, weft.ErrorMessage(err))
	}
	alerts = make([]*weft.Alert, 0, len(recs))
	var rejects []*ingest.RecordError
	for _, r := range recs {
		if r.Err != nil {
			rejects = append(rejects, r.Err)
			continue
		}
		alerts = append(alerts, r.Alert)
	}
	if len(rejects) == 0 {
		return alerts, 0, nil
	}
	if len(alerts) == 0 {
		return nil, len(rejects), fmt.Errorf("%s: all %d records were rejected; the first: %v", path, len(rejects), rejects[0])
	}
	fmt.Fprintf(stderr, "%s: %d of %d records rejected and skipped:\n", path, len(rejects), len(recs))
	for _, e := range rejects[:min(len(rejects), maxReportedRejects)] {
		fmt.Fprintf(stderr, "  %v\n", e)
	}
	if n := len(rejects) - maxReportedRejects; n > 0 {
		fmt.Fprintf(stderr, "  … and %d more\n", n)
	}
	return alerts, len(rejects), nil
}

// skippedNote says on a command's output that its alerts are fewer than the
// file's records; nothing when none was skipped.
func skippedNote(w io.Writer, path string, alerts, skipped int) {
	if skipped > 0 {
		fmt.Fprintf(w, "%s: %d alerts read; %d rejected records skipped (listed on standard error)\n", path, alerts, skipped)
	}
}

// storedPartition labels every alert of every tenant in a data directory
// with its incident. Incident ids are unique across tenants, so a label is
// the id alone. It only reads, so it opens the store without the correlation
// engine.
func storedPartition(ctx context.Context, dir string) (eval.Partition, error) {
	store, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	tenants, err := store.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	p := make(eval.Partition)
	for _, t := range tenants {
		for skip := 0; ; skip += weft.MaxPageSize {
			page, err := store.ListAlerts(ctx, weft.AlertQuery{TenantID: t.ID, Top: weft.MaxPageSize, Skip: skip})
			if err != nil {
				return nil, err
			}
			for _, a := range page.Alerts {
				p[eval.AlertKey(a)] = fmt.Sprint(a.IncidentID)
			}
			if !page.More {
				break
			}
		}
	}
	return p, nil
}
