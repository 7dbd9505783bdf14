package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
	"github.com/weftxdr/weft/ingest"
)

const benchHelp = `
Measure durable ingest: generate Graph-format alerts with the scenario
generator, cut them into NDJSON batches, and

  1. decode every batch without storing it — on one goroutine, then on
     --clients goroutines (the ceiling: the rate at which this process can
     merely decode the input);
  2. send the same batches over HTTP with --clients concurrent clients to a
     weft server on a fresh embedded store, each batch acknowledged only
     once committed.

It prints alerts/s for each and the ratio of durable ingest to the decode
ceiling. The figures in docs/benchmarks.md come from this command.

Two more measurements are subcommands with their own flags:

  weft bench latency   alert-to-incident latency at a fixed offered rate
  weft bench restart   time from starting a server on a stored data
                       directory until it is ready
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "latency":
			return runBenchLatency(ctx, args[1:], stdout, stderr)
		case "restart":
			return runBenchRestart(ctx, args[1:], stdout, stderr)
		}
	}
	fs := newFlagSet("bench", "[latency | restart] [flags]", benchHelp, stderr)
	n := fs.Int("alerts", 200_000, "number of alerts to send")
	batch := fs.Int("batch", 1000, "alerts per NDJSON request")
	clients := fs.Int("clients", 4, "concurrent HTTP clients (and decode goroutines for the ceiling)")
	syncMode := fs.String("sync", "full", "SQLite synchronous mode of the server: full or normal")
	seed := fs.Int64("seed", 1, "generator seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown bench mode %q: give latency, restart or none", fs.Arg(0))
	}
	if *n < 1 || *batch < 1 || *clients < 1 {
		return fmt.Errorf("--alerts, --batch and --clients must be positive")
	}

	genStart := time.Now()
	batches, bytesTotal, err := benchInput(*seed, *n, *batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "input: %d alerts in %d NDJSON batches of %d, %.1f MB (%.1f KB/alert), generated in %s\n",
		*n, len(batches), *batch, float64(bytesTotal)/1e6, float64(bytesTotal)/float64(*n)/1e3, time.Since(genStart).Round(time.Millisecond))
	fmt.Fprintf(stdout, "machine: %d CPUs, GOMAXPROCS %d, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())

	dec1, err := benchDecode(batches, 1, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "decode only, 1 goroutine:      %9.0f alerts/s  %6.1f MB/s\n", dec1, dec1*float64(bytesTotal)/float64(*n)/1e6)
	decN, err := benchDecode(batches, *clients, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "decode only, %d goroutines:     %9.0f alerts/s  %6.1f MB/s  (ceiling)\n", *clients, decN, decN*float64(bytesTotal)/float64(*n)/1e6)

	dir, err := os.MkdirTemp("", "weft-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: *syncMode, RateLimit: unlimited, RateBurst: unlimited})
	if err != nil {
		return err
	}
	defer func() { _ = rs.Shutdown(context.Background()) }()
	token, err := rs.adminToken(ctx, "bench")
	if err != nil {
		return err
	}

	start := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		sum   ingestSummary
		first error
		next  = make(chan []byte)
	)
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine ingestSummary
			for b := range next {
				if err := postChunk(ctx, rs.URL, "", token, ingest.FormatGraph, b, true, 1, &mine, io.Discard); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			sum.Received += mine.Received
			sum.Stored += mine.Stored
			sum.Rejected += mine.Rejected
			sum.Duplicate += mine.Duplicate
			mu.Unlock()
		}()
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return fmt.Errorf("sending: %w", first)
	}
	e2e := float64(sum.Stored) / elapsed.Seconds()
	fmt.Fprintf(stdout, "HTTP NDJSON → SQLite (sync=%s, %d clients): %9.0f alerts/s  (%d stored, %d duplicate, %d rejected in %s)\n",
		*syncMode, *clients, e2e, sum.Stored, sum.Duplicate, sum.Rejected, elapsed.Round(time.Millisecond))
	fmt.Fprintf(stdout, "ratio durable ingest / decode ceiling: %.0f %%\n", 100*e2e/decN)

	page, err := rs.store.ListAlerts(ctx, weft.AlertQuery{TenantID: weft.DefaultTenantID, Top: 1, Count: true})
	if err != nil {
		return err
	}
	if page.Count != int64(sum.Stored) {
		return fmt.Errorf("the store holds %d alerts, but %d were acknowledged as stored", page.Count, sum.Stored)
	}
	if fi, err := os.Stat(dir + "/" + dbFile); err == nil {
		fmt.Fprintf(stdout, "database: %.1f MB (%.2f KB/alert, WAL not included)\n", float64(fi.Size())/1e6, float64(fi.Size())/float64(sum.Stored)/1e3)
	}
	return nil
}

// benchInput generates at least n alerts, keeps the first n and cuts them into
// NDJSON batches of size batch.
func benchInput(seed int64, n, batch int) ([][]byte, int, error) {
	opts := gen.DefaultOptions()
	opts.Seed = seed
	opts.Start = time.Now().UTC().Add(-time.Minute)
	var buf bytes.Buffer
	for {
		buf.Reset()
		st, err := gen.Generate(opts, &buf, io.Discard)
		if err != nil {
			return nil, 0, err
		}
		if st.Alerts >= n {
			break
		}
		k := n/max(st.Alerts, 1) + 1
		opts.Attacks *= k
		opts.NoiseAlerts *= k
	}
	// Keep the first n alerts (the generator writes one per line) and cut
	// them as weft ingest does.
	data := buf.Bytes()
	end := 0
	for range n {
		nl := bytes.IndexByte(data[end:], '\n')
		if nl < 0 {
			end = len(data)
			break
		}
		end += nl + 1
	}
	var batches [][]byte
	total := 0
	err := forEachChunk(data[:end], batch, func(chunk []byte, _ bool, _ int) error {
		batches = append(batches, bytes.Clone(chunk)) // forEachChunk reuses its buffer
		total += len(chunk)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return batches, total, nil
}

// benchDecode decodes all batches on g goroutines and returns alerts/s. It
// starts from a collected heap, so that garbage left by generating the input
// is not charged to decoding.
func benchDecode(batches [][]byte, g, n int) (float64, error) {
	runtime.GC()
	now := time.Now()
	start := time.Now()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		next = make(chan []byte)
	)
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				recs, err := ingest.Decode(b, true, ingest.FormatGraph, ingest.Limits{}, now)
				if err == nil {
					for _, r := range recs {
						if r.Err != nil {
							err = r.Err
							break
						}
					}
				}
				if err != nil {
					mu.Lock()
					errs = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, b := range batches {
		next <- b
	}
	close(next)
	wg.Wait()
	if errs != nil {
		return 0, fmt.Errorf("decoding the generated input: %w", errs)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
