package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/eval"
	"github.com/weftxdr/weft/ingest"
)

const evalHelp = `
Score predicted incidents against ground truth: pairwise precision, recall
and F1, adjusted Rand index, B-cubed precision, recall and F1, the largest
incident and the compression (alerts per incident).

TRUTH and PRED are CSV files "alertId,incidentKey" (as weft gen writes the
truth). Instead of PRED, --data scores the incidents that weft has formed in a
data directory (alerts keyed by their provider id, the id the truth uses).
With --alerts, the alerts themselves are read too and three baselines are
scored beside: all singletons; the same detector on the same device within
1 h; the union of any shared identifier within 24 h.
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
		alerts, err := readAlertsFile(*alertsFile)
		if err != nil {
			return err
		}
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

// readAlertsFile decodes every record of an alerts file; a rejected record is
// an error, since the baselines would be scored on a different set.
func readAlertsFile(path string) ([]*weft.Alert, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, err := ingest.Decode(body, false, ingest.FormatAuto, ingest.Limits{MaxRecords: 1 << 30}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %s", path, weft.ErrorMessage(err))
	}
	alerts := make([]*weft.Alert, 0, len(recs))
	for _, r := range recs {
		if r.Err != nil {
			return nil, fmt.Errorf("%s: %v", path, r.Err)
		}
		alerts = append(alerts, r.Alert)
	}
	return alerts, nil
}

// storedPartition labels every alert of the default tenant in a data
// directory with its incident.
func storedPartition(ctx context.Context, dir string) (eval.Partition, error) {
	alerts, err := storedAlerts(ctx, dir)
	if err != nil {
		return nil, err
	}
	p := make(eval.Partition, len(alerts))
	for _, a := range alerts {
		p[eval.AlertKey(a)] = fmt.Sprint(a.IncidentID)
	}
	return p, nil
}
