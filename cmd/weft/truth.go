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

const truthHelp = `
Write the ground truth that an alerts file carries: the incident its source
put each alert in (GUIDE's IncidentId, scoped by its OrgId), as the CSV
"alertId,incidentKey" that weft eval and weft replay --truth read. Alerts are
keyed by their provider id, as weft eval keys the alerts it scores. FILE is
decoded as weft ingest decodes it (the format is told from the file); records
it rejects, and alerts whose source names no incident, are left out.

	weft truth --out guide.truth.csv GUIDE_Test.csv
	weft ingest --data ./weft-data GUIDE_Test.csv
	weft eval --data ./weft-data guide.truth.csv
`

func runTruth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("truth", "[--out FILE] FILE", truthHelp, stderr)
	out := fs.String("out", "", "write the truth to this `file` (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("truth needs exactly one FILE")
	}
	path := fs.Arg(0)
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	recs, err := ingest.Decode(body, false, ingest.FormatAuto, ingest.Limits{MaxRecords: 1 << 30}, time.Now())
	if err != nil {
		return fmt.Errorf("%s: %s", path, weft.ErrorMessage(err))
	}
	truth := make(eval.Partition, len(recs))
	rejected, unlabelled := 0, 0
	for _, r := range recs {
		switch {
		case r.Err != nil:
			rejected++
			fmt.Fprintf(stderr, "%s: %v (left out)\n", path, r.Err)
		case r.SourceIncident == "":
			unlabelled++
		default:
			key := eval.AlertKey(r.Alert)
			if inc, dup := truth[key]; dup && inc != r.SourceIncident {
				return fmt.Errorf("%s: line %d: alert %q is in incident %s here and in %s before", path, r.Line, key, r.SourceIncident, inc)
			}
			truth[key] = r.SourceIncident
		}
	}
	if len(truth) == 0 {
		return fmt.Errorf("%s: no alert names the incident its source put it in (weft truth reads GUIDE CSV)", path)
	}
	if *out == "" {
		err = eval.WritePartition(stdout, truth)
	} else {
		err = writeTruth(*out, truth)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d alerts in %d incidents; %d records rejected, %d alerts without an incident left out\n",
		path, len(truth), truth.Clusters(), rejected, unlabelled)
	return nil
}

// writeTruth writes a partition to a new file.
func writeTruth(path string, p eval.Partition) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := eval.WritePartition(f, p); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
