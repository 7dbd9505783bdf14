package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/gen"
	"github.com/weftxdr/weft/ingest"
)

const benchRestartHelp = `
Measure restart: the time from starting a weft server on an existing data
directory (opening the store: the migrations check and the rebuild of the
correlation engine from the stored alerts within its window) until /readyz
answers 200.

With --data DIR the directory is used as it is (a directory that does not
exist yet is loaded first). Without it, --alerts alerts are generated with
the scenario generator into a temporary NDJSON file and stored into a fresh
directory under the temporary directory the way "weft ingest --data" does
(transactions of 1,000, the correlation engine placing every alert); --keep
keeps that directory so that later runs can reuse it with --data.

Each of --runs restarts is, by default, a child process "weft serve --data DIR"
(the binary --bin, default this one) polled on /readyz every 5 ms from the
moment it is started; its peak RSS up to ready is read from /proc. With
--in-process the store is opened in this process instead (no process start,
no binary loading; --cpuprofile then profiles the opens).

It prints each time and the median, the stored alert count, the alerts within
the engine's window (those the rebuild restores) and the database size.
`

// restartReport is what weft bench restart measured.
type restartReport struct {
	Alerts     int64           // alerts stored in the directory
	InWindow   int64           // alerts the rebuild restores
	DBBytes    int64           // weft.db and its WAL
	Runs       []time.Duration // process start to /readyz 200
	PeakRSSKiB []int64         // per run; 0 when unknown
}

func runBenchRestart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench restart", "[flags]", benchRestartHelp, stderr)
	data := fs.String("data", "", "existing data `directory` to restart on (loaded with --alerts first if it does not exist)")
	n := fs.Int("alerts", 1_000_000, "alerts to generate and store when --data is not given or does not exist yet")
	keep := fs.Bool("keep", false, "keep the generated data directory (to reuse with --data)")
	runs := fs.Int("runs", 3, "restarts to measure")
	syncMode := fs.String("sync", "normal", "SQLite synchronous mode for loading: full or normal (the restarts use the default, full)")
	seed := fs.Int64("seed", 1, "generator seed")
	days := fs.Float64("days", 7, "event-time length of the generated scenario in `days`; the engine restores only the alerts of its last window (24 h by default)")
	inProcess := fs.Bool("in-process", false, "open the store in this process instead of a child \"weft serve\"")
	bin := fs.String("bin", "", "weft `binary` for the child process (default: this executable)")
	cpuProfile := fs.String("cpuprofile", "", "with --in-process: write a CPU profile of the restarts to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *n < 1 {
		return errors.New("--runs and --alerts must be positive")
	}
	if *cpuProfile != "" && !*inProcess {
		return errors.New("--cpuprofile needs --in-process")
	}
	if !*inProcess && *bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this executable (give --bin): %w", err)
		}
		*bin = exe
	}

	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "weft-bench-restart-")
		if err != nil {
			return err
		}
		dir = d
		if !*keep {
			defer os.RemoveAll(dir)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); errors.Is(err, os.ErrNotExist) {
		if err := loadRestartData(ctx, dir, *n, *seed, time.Duration(*days*float64(24*time.Hour)), *syncMode, stdout, stderr); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if *keep || *data != "" {
		fmt.Fprintf(stdout, "data directory: %s (kept)\n", dir)
	}

	rep, err := measureRestarts(ctx, dir, *runs, *inProcess, *bin, *cpuProfile, stdout)
	if err != nil {
		return err
	}
	printRestartReport(stdout, rep, *inProcess)
	return nil
}

// loadRestartData generates n alerts into a temporary NDJSON file and stores
// them into dir as weft ingest --data does, in transactions of 1,000, but
// reading the file a batch at a time so that a million alerts need not be
// decoded in memory at once.
func loadRestartData(ctx context.Context, dir string, n int, seed int64, days time.Duration, syncMode string, stdout, stderr io.Writer) error {
	f, err := os.CreateTemp("", "weft-bench-restart-*.ndjson")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	written, err := generateAlerts(f, seed, n, days)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	fi, _ := f.Stat()
	fmt.Fprintf(stdout, "generated %d alerts (%.0f MB NDJSON) in %s\n", written, float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))

	store, err := openStore(dir, syncMode, correlate.Policies{}) // the default policy
	if err != nil {
		return err
	}
	start = time.Now()
	var sum ingestSummary
	chunk := make([]byte, 0, 4<<20)
	lines := 0
	flush := func() error {
		if lines == 0 {
			return nil
		}
		recs, err := ingest.Decode(chunk, true, ingest.FormatGraph, ingest.Limits{}, time.Now())
		if err != nil {
			return errors.New(weft.ErrorMessage(err))
		}
		alerts := make([]*weft.Alert, 0, len(recs))
		for _, r := range recs {
			if r.Err != nil {
				sum.Rejected++
				continue
			}
			alerts = append(alerts, r.Alert)
		}
		results, err := store.StoreAlerts(ctx, alerts)
		if err != nil {
			return err
		}
		for _, r := range results {
			sum.add(r.Outcome)
		}
		sum.Received += len(recs)
		prev := (sum.Received - len(recs)) / 100_000
		if sum.Received/100_000 != prev {
			el := time.Since(start)
			fmt.Fprintf(stderr, "loading: %d alerts in %s (%.0f alerts/s)\n", sum.Received, el.Round(time.Second), float64(sum.Received)/el.Seconds())
		}
		chunk, lines = chunk[:0], 0
		return nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), weft.MaxRecordBytes*4)
	for sc.Scan() {
		chunk = append(append(chunk, sc.Bytes()...), '\n')
		if lines++; lines == 1000 {
			if err := flush(); err != nil {
				store.Close()
				return err
			}
		}
	}
	err = errors.Join(sc.Err(), flush(), store.Close())
	if err != nil {
		return fmt.Errorf("loading %s: %w", dir, err)
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "loaded into %s (sync=%s): %d stored, %d duplicate, %d rejected in %s (%.0f alerts/s)\n",
		dir, syncMode, sum.Stored, sum.Duplicate, sum.Rejected, el.Round(time.Millisecond), float64(sum.Received)/el.Seconds())
	return nil
}

// generateAlerts writes the first n alerts of a scenario scaled up from
// gen.DefaultOptions (more attacks and more noise in the same organization,
// over span of event time ending now; 0: the default week) to w and returns
// how many it wrote.
func generateAlerts(w io.Writer, seed int64, n int, span time.Duration) (int, error) {
	opts := gen.DefaultOptions()
	opts.Seed = seed
	opts.Start = time.Now().UTC().Add(-time.Minute)
	if span > 0 {
		opts.Duration = span
	}
	const perDefault = 24_543 // alerts in the default scenario
	if k := (n + perDefault - 1) / perDefault; k > 1 {
		opts.Attacks *= k
		opts.NoiseAlerts *= k
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	lw := &lineLimitWriter{w: bw, left: n}
	if _, err := gen.Generate(opts, lw, io.Discard); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if lw.left > 0 {
		return n - lw.left, fmt.Errorf("the generator made only %d of %d alerts", n-lw.left, n)
	}
	return n, nil
}

// lineLimitWriter passes on the first left lines written to it and drops
// the rest.
type lineLimitWriter struct {
	w    io.Writer
	left int
}

func (l *lineLimitWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && l.left > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			_, err := l.w.Write(p)
			return total, err
		}
		if _, err := l.w.Write(p[:i+1]); err != nil {
			return 0, err
		}
		l.left--
		p = p[i+1:]
	}
	return total, nil
}

// measureRestarts restarts a server on dir runs times.
func measureRestarts(ctx context.Context, dir string, runs int, inProcess bool, bin, cpuProfile string, stdout io.Writer) (restartReport, error) {
	var rep restartReport
	var err error
	if rep.Alerts, rep.InWindow, err = countRestartAlerts(ctx, dir); err != nil {
		return rep, err
	}
	for _, name := range []string{dbFile, dbFile + "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			rep.DBBytes += fi.Size()
		}
	}
	if cpuProfile != "" {
		pf, err := os.Create(cpuProfile)
		if err != nil {
			return rep, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return rep, err
		}
		defer pprof.StopCPUProfile()
	}
	for i := range runs {
		var d time.Duration
		var rss int64
		if inProcess {
			d, rss, err = restartInProcess(ctx, dir)
		} else {
			d, rss, err = restartChild(ctx, bin, dir)
		}
		if err != nil {
			return rep, fmt.Errorf("restart %d: %w", i+1, err)
		}
		fmt.Fprintf(stdout, "restart %d: ready in %s (peak RSS %s)\n", i+1, d.Round(time.Millisecond), fmtKiB(rss))
		rep.Runs = append(rep.Runs, d)
		rep.PeakRSSKiB = append(rep.PeakRSSKiB, rss)
	}
	return rep, nil
}

// countRestartAlerts counts the stored alerts, and those whose last activity
// is within the default correlation window of their tenant's newest: the
// alerts the engine rebuild reads and restores.
func countRestartAlerts(ctx context.Context, dir string) (all, inWindow int64, err error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, dbFile)+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM alerts`).Scan(&all); err != nil {
		return 0, 0, fmt.Errorf("counting alerts: %w", err)
	}
	engine, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		return 0, 0, err
	}
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM alerts a JOIN
		(SELECT tenant_id, max(last_activity) AS newest FROM alerts GROUP BY tenant_id) t
		ON a.tenant_id = t.tenant_id WHERE a.last_activity >= t.newest - ?`, engine.Window().Nanoseconds()).Scan(&inWindow)
	if err != nil {
		return 0, 0, fmt.Errorf("counting alerts in the window: %w", err)
	}
	return all, inWindow, nil
}

// restartChild starts "bin serve" on dir and returns the time from starting
// the process to /readyz answering 200, and the process's peak RSS by then.
func restartChild(ctx context.Context, bin, dir string) (time.Duration, int64, error) {
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	base := "http://127.0.0.1:" + port
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:"+port, "--data", dir, "--log-level", "warn")
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("weft serve did not stop within 30 s of SIGTERM")
		}
	}
	d, err := pollReady(ctx, base, start, exited)
	if err != nil {
		_ = stop()
		return 0, 0, fmt.Errorf("%w (stderr: %s)", err, redactTokens(strings.TrimSpace(stderr.String())))
	}
	rss := procPeakRSS(strconv.Itoa(cmd.Process.Pid))
	if err := stop(); err != nil {
		return 0, 0, fmt.Errorf("stopping weft serve: %w (stderr: %s)", err, redactTokens(strings.TrimSpace(stderr.String())))
	}
	return d, rss, nil
}

// restartInProcess opens the store and starts a server in this process, and
// returns the time until /readyz answers 200 and this process's peak RSS
// (which includes whatever the process did before).
func restartInProcess(ctx context.Context, dir string) (time.Duration, int64, error) {
	start := time.Now()
	rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: "full"})
	if err != nil {
		return 0, 0, err
	}
	d, err := pollReady(ctx, rs.URL, start, nil)
	rss := procPeakRSS("self")
	if serr := rs.Shutdown(context.Background()); err == nil {
		err = serr
	}
	runtime.GC()
	return d, rss, err
}

// pollReady asks base/readyz every 5 ms until it answers 200 and returns the
// time since start. It gives up after 10 minutes, or when exited yields.
func pollReady(ctx context.Context, base string, start time.Time, exited <-chan error) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return 0, err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("weft serve exited before it was ready: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, errors.New("not ready after 10 minutes")
}

// freePort returns a TCP port on the loopback interface that was free a
// moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// procPeakRSS returns VmHWM of /proc/<pid>/status in KiB, or 0 where /proc
// is not available.
func procPeakRSS(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}

func fmtKiB(kib int64) string {
	if kib == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.0f MB", float64(kib)*1024/1e6)
}

func printRestartReport(w io.Writer, rep restartReport, inProcess bool) {
	how := "child process weft serve"
	if inProcess {
		how = "in-process (no process start; peak RSS is this whole process)"
	}
	sorted := slices.Clone(rep.Runs)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	times := make([]string, len(rep.Runs))
	for i, d := range rep.Runs {
		times[i] = d.Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "stored alerts: %d (%d within the correlation window, restored at start)\n", rep.Alerts, rep.InWindow)
	fmt.Fprintf(w, "database: %.1f MB (weft.db and WAL)\n", float64(rep.DBBytes)/1e6)
	fmt.Fprintf(w, "machine: %d CPUs, %s; restart as %s\n", runtime.NumCPU(), runtime.Version(), how)
	fmt.Fprintf(w, "restart to ready: median %s (runs: %s), peak RSS %s\n",
		median.Round(time.Millisecond), strings.Join(times, ", "), fmtKiB(slices.Max(rep.PeakRSSKiB)))
}
