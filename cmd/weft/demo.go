package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
	"github.com/weftxdr/weft/ingest"
)

const demoHelp = `
Start a weft server on an embedded store in a temporary directory (or --data)
and feed it a realistic stream generated in Go: a multi-stage attack that
crosses email, identity and endpoint sources, a few smaller attacks, and
benign noise — sent over HTTP as any source would. Then print where to look.

The server keeps running until Ctrl-C (or exits at once with --exit); a
temporary directory is removed on exit.
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[flags]", demoHelp, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; if it is taken, a free port is used")
	data := fs.String("data", "", "data `directory` to keep (default: a temporary one, removed on exit)")
	seed := fs.Int64("seed", 1, "scenario `seed`: the same seed gives the same alerts")
	exit := fs.Bool("exit", false, "exit after feeding the alerts and printing the summary")
	logLevel := fs.String("log-level", "warn", "log `level`: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "weft-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	rs, err := startServer(serverConfig{Addr: *addr, DataDir: dir, Synchronous: "normal", Logger: logger})
	if isAddrInUse(err) {
		fmt.Fprintf(stderr, "%s is taken; using a free port instead\n", *addr)
		rs, err = startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: "normal", Logger: logger})
	}
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rs.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "err", err)
		}
	}()

	opts := gen.DemoOptions()
	opts.Seed = *seed
	opts.Start = time.Now().UTC().Add(-time.Minute)
	var alerts bytes.Buffer
	stats, err := gen.Generate(opts, &alerts, io.Discard)
	if err != nil {
		return fmt.Errorf("generating the demo stream: %w", err)
	}
	fmt.Fprintf(stdout, "weft demo: feeding %d alerts (%d attacks amid benign noise) to %s\n", stats.Alerts, stats.Attacks, rs.URL)

	var sum ingestSummary
	start := time.Now()
	err = forEachChunk(alerts.Bytes(), 200, func(chunk []byte, ndjson bool, firstLine int) error {
		return postChunk(ctx, rs.URL, "", ingest.FormatGraph, chunk, ndjson, firstLine, &sum, stderr)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  %d alerts stored in %s (%d rejected)\n", sum.Stored+sum.Updated, time.Since(start).Round(time.Millisecond), sum.Rejected)

	if err := printDemoSummary(ctx, stdout, rs); err != nil {
		return err
	}
	if *exit {
		return nil
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// printDemoSummary lists the most severe incidents and the URLs to explore.
func printDemoSummary(ctx context.Context, w io.Writer, rs *runningServer) error {
	page, err := rs.store.ListIncidents(ctx, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Top: weft.MaxPageSize, Count: true})
	if err != nil {
		return err
	}
	var incs []*weft.Incident
	for _, inc := range page.Incidents {
		if inc.Status != weft.IncidentStatusRedirected {
			incs = append(incs, inc)
		}
	}
	score := func(inc *weft.Incident) int {
		if inc.PriorityScore == nil {
			return -1
		}
		return *inc.PriorityScore
	}
	sort.SliceStable(incs, func(i, j int) bool {
		a, b := incs[i], incs[j]
		if score(a) != score(b) {
			return score(a) > score(b)
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		return a.AlertCount > b.AlertCount
	})
	fmt.Fprintf(w, "  %d incidents\n\nTop of the queue (priority score, severity, alerts, name):\n", len(incs))
	for i, inc := range incs {
		if i == 5 {
			break
		}
		fmt.Fprintf(w, "  #%-5d %3d  %-13s %3d alerts  %s\n", inc.ID, score(inc), inc.Severity, inc.AlertCount, inc.DisplayName)
	}
	fmt.Fprintf(w, "\nWhere to look:\n")
	fmt.Fprintf(w, "  incident queue   %s/api/v1/incidents\n", rs.URL)
	if len(incs) > 0 {
		fmt.Fprintf(w, "  top incident     %s/api/v1/incidents/%d?$expand=alerts\n", rs.URL, incs[0].ID)
		fmt.Fprintf(w, "  its activity     %s/api/v1/incidents/%d/activity\n", rs.URL, incs[0].ID)
	}
	fmt.Fprintf(w, "  alerts           %s/api/v1/alerts?$top=20&$count=true\n", rs.URL)
	fmt.Fprintf(w, "  metrics          %s/metrics\n", rs.URL)
	return nil
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
