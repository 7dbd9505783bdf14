package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

const benchLatencyHelp = `
Measure alert-to-incident latency under a fixed offered load. A weft server
is started in this process on a fresh embedded store; generated Graph-format
alerts are cut into NDJSON batches of --batch and sent over HTTP on loopback
at --rate alerts/s for --duration, open loop: each batch is due at a fixed
time and is taken by whichever of --senders senders is free, so a slow answer
does not slow the offered load. A batch that is due while every sender
waits for an answer is sent late; how late is reported, and batches still
unsent when --duration ends are counted and never sent.

For every batch it records the send time and the ack time (the answer, which
the server gives only after the commit that also placed the alerts into
incidents). For one stored alert per batch a prober then asks
GET /api/v1/alerts/{id} until the alert has an incident, and
GET /api/v1/incidents/{incidentId} until that succeeds: the incident is then
visible.

It prints the offered and achieved rates (alerts acknowledged / time from the
first send to the last ack), ack latency (send to ack, and due to ack, which
counts the time a late batch waited for a sender), alert-to-incident latency
(ack to visible and send to visible), and the same per 5-second slice of the
run (by send time) so that a latency that grows is seen. It says plainly when the server
did not keep up with the offered rate.
`

// latencyBatch is what happened to one batch.
type latencyBatch struct {
	due, sent, acked time.Time
	alerts, stored   int
	err              error
	probeID          string // a stored alert of the batch, for the prober
}

// latencyProbe is when one sampled alert's incident became visible.
type latencyProbe struct {
	batch   int
	visible time.Time
	err     error
}

// latencyReport is what weft bench latency measured.
type latencyReport struct {
	Offered, Achieved         float64 // alerts/s
	Scheduled, Sent, Unsent   int     // batches
	SentAlerts, Acked, Failed int     // alerts; Failed: in batches that got no 200
	Stored                    int     // alerts stored per the answers
	Probed, Visible           int
	Elapsed                   time.Duration // the wall time Achieved is measured over
}

func runBenchLatency(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench latency", "[flags]", benchLatencyHelp, stderr)
	rate := fs.Int("rate", 10000, "offered load in alerts/s")
	batch := fs.Int("batch", 100, "alerts per NDJSON request")
	duration := fs.Duration("duration", 30*time.Second, "how long to offer the load")
	senders := fs.Int("senders", 64, "concurrent senders (requests in flight at most)")
	syncMode := fs.String("sync", "full", "SQLite synchronous mode of the server: full or normal")
	seed := fs.Int64("seed", 1, "generator seed")
	drain := fs.Duration("drain", time.Minute, "how long to wait for answers after the last send")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate < 1 || *batch < 1 || *senders < 1 || *duration <= 0 {
		return errors.New("--rate, --batch, --senders and --duration must be positive")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench latency takes no arguments, got %q", fs.Args())
	}
	_, err := benchLatency(ctx, latencyConfig{
		Rate: *rate, Batch: *batch, Duration: *duration, Senders: *senders,
		Sync: *syncMode, Seed: *seed, Drain: *drain,
	}, stdout)
	return err
}

type latencyConfig struct {
	Rate, Batch, Senders int
	Duration, Drain      time.Duration
	Sync                 string
	Seed                 int64
}

func benchLatency(ctx context.Context, cfg latencyConfig, stdout io.Writer) (latencyReport, error) {
	var rep latencyReport
	interval := time.Duration(float64(time.Second) * float64(cfg.Batch) / float64(cfg.Rate))
	nBatches := int(cfg.Duration / interval)
	if nBatches < 1 {
		return rep, errors.New("--duration is shorter than one batch at --rate")
	}
	rep.Offered = float64(cfg.Batch) / interval.Seconds()

	genStart := time.Now()
	var buf bytes.Buffer
	if _, err := generateAlerts(&buf, cfg.Seed, nBatches*cfg.Batch, 0); err != nil {
		return rep, err
	}
	batches := splitLines(buf.Bytes(), cfg.Batch)
	fmt.Fprintf(stdout, "input: %d alerts in %d NDJSON batches of %d, %.1f MB, generated in %s\n",
		nBatches*cfg.Batch, len(batches), cfg.Batch, float64(buf.Len())/1e6, time.Since(genStart).Round(time.Millisecond))
	fmt.Fprintf(stdout, "machine: %d CPUs, GOMAXPROCS %d, %s; server in this process, sync=%s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), cfg.Sync)

	dir, err := os.MkdirTemp("", "weft-bench-latency-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: cfg.Sync, RateLimit: unlimited, RateBurst: unlimited})
	if err != nil {
		return rep, err
	}
	defer func() { _ = rs.Shutdown(context.Background()) }()
	token, err := rs.adminToken(ctx, "bench-latency")
	if err != nil {
		return rep, err
	}
	client := &http.Client{Transport: &bearerTransport{token: token, next: &http.Transport{
		MaxIdleConns: 2 * cfg.Senders, MaxIdleConnsPerHost: 2 * cfg.Senders, IdleConnTimeout: time.Minute,
	}}}
	defer client.CloseIdleConnections()
	runtime.GC()

	results := make([]latencyBatch, len(batches))
	probes := make([]latencyProbe, 0, len(batches))
	var (
		probeMu sync.Mutex
		probeWG sync.WaitGroup
		sendWG  sync.WaitGroup
		jobs    = make(chan int, len(batches))
	)
	start := time.Now().Add(50 * time.Millisecond)
	end := start.Add(cfg.Duration)
	sendCtx, cancelSends := context.WithTimeout(ctx, cfg.Duration+cfg.Drain+time.Second)
	defer cancelSends()
	for range cfg.Senders {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			for i := range jobs {
				b := &results[i]
				b.sent = time.Now()
				if !b.sent.Before(end) {
					b.sent = time.Time{} // too late: never sent
					continue
				}
				b.stored, b.probeID, b.err = postLatencyBatch(sendCtx, client, rs.URL, batches[i])
				b.acked = time.Now()
				if b.err != nil || b.probeID == "" {
					continue
				}
				probeWG.Add(1)
				go func() {
					defer probeWG.Done()
					p := probeIncident(sendCtx, client, rs.URL, b.probeID)
					p.batch = i
					probeMu.Lock()
					probes = append(probes, p)
					probeMu.Unlock()
				}()
			}
		}()
	}
	// The schedule: batch i is due at start + i·interval, whatever happened
	// to the batches before it.
	for i := range batches {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) {
			break
		}
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				close(jobs)
				return rep, ctx.Err()
			}
		}
		results[i].due = due
		results[i].alerts = bytes.Count(batches[i], []byte("\n"))
		rep.Scheduled++
		jobs <- i
	}
	close(jobs)
	sendWG.Wait()
	probeWG.Wait()

	var last time.Time
	var firstErr error
	for _, b := range results[:rep.Scheduled] {
		switch {
		case b.sent.IsZero():
			rep.Unsent++
			continue
		case b.err != nil:
			rep.Failed += b.alerts
			if firstErr == nil {
				firstErr = b.err
			}
		default:
			rep.Acked += b.alerts
			rep.Stored += b.stored
		}
		rep.Sent++
		rep.SentAlerts += b.alerts
		if b.acked.After(last) {
			last = b.acked
		}
	}
	if !last.IsZero() {
		// The wall time is at least the offered window, so that a server
		// that keeps up achieves the offered rate, not more.
		wall := max(last.Sub(start), time.Duration(rep.Scheduled)*interval)
		rep.Achieved = float64(rep.Acked) / wall.Seconds()
		rep.Elapsed = wall
	}
	rep.Probed = len(probes)
	for _, p := range probes {
		if p.err == nil {
			rep.Visible++
		}
	}
	printLatencyReport(stdout, cfg, rep, results[:rep.Scheduled], probes, start, firstErr)

	page, err := rs.store.ListAlerts(ctx, weft.AlertQuery{TenantID: weft.DefaultTenantID, Top: 1, Count: true})
	if err != nil {
		return rep, err
	}
	if page.Count != int64(rep.Stored) {
		return rep, fmt.Errorf("the store holds %d alerts, but %d were acknowledged as stored", page.Count, rep.Stored)
	}
	return rep, nil
}

// bearerTransport sends every request with an API token.
type bearerTransport struct {
	token string
	next  *http.Transport
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not change the request it is given
	setToken(req, t.token)
	return t.next.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (t *bearerTransport) CloseIdleConnections() { t.next.CloseIdleConnections() }

// splitLines cuts data into slices of n lines each (the last may be
// shorter), without copying.
func splitLines(data []byte, n int) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		end, k := 0, 0
		for k < n && end < len(data) {
			nl := bytes.IndexByte(data[end:], '\n')
			if nl < 0 {
				end = len(data)
				break
			}
			end += nl + 1
			k++
		}
		out = append(out, data[:end:end])
		data = data[end:]
	}
	return out
}

// latencyAnswer is the part of the ingest answer the bench reads.
type latencyAnswer struct {
	Stored  int `json:"stored"`
	Results []struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	} `json:"results"`
}

// postLatencyBatch sends one NDJSON batch and returns how many alerts the
// answer says were stored and the id of the first of them.
func postLatencyBatch(ctx context.Context, client *http.Client, base string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/alerts?format=graph", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("POST /api/v1/alerts: %s: %.200s", resp.Status, raw)
	}
	var a latencyAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, "", fmt.Errorf("reading the answer: %w", err)
	}
	for _, r := range a.Results {
		if r.Status == "stored" && r.ID != "" {
			return a.Stored, r.ID, nil
		}
	}
	return a.Stored, "", nil
}

// probeIncident asks for alert id until it has an incident and then for the
// incident until it is found, every 2 ms for at most 30 s, and returns when
// the incident was visible.
func probeIncident(ctx context.Context, client *http.Client, base, id string) latencyProbe {
	var p latencyProbe
	deadline := time.Now().Add(30 * time.Second)
	incident := ""
	for first := true; time.Now().Before(deadline); first = false {
		if !first {
			select {
			case <-time.After(2 * time.Millisecond):
			case <-ctx.Done():
				p.err = ctx.Err()
				return p
			}
		}
		if incident == "" {
			var a struct {
				IncidentID string `json:"incidentId"`
			}
			ok, err := getJSON(ctx, client, base+"/api/v1/alerts/"+url.PathEscape(id), &a)
			if err != nil {
				p.err = err
				return p
			}
			if !ok || a.IncidentID == "" || a.IncidentID == "0" {
				continue
			}
			incident = a.IncidentID
		}
		var inc struct {
			ID string `json:"id"`
		}
		ok, err := getJSON(ctx, client, base+"/api/v1/incidents/"+url.PathEscape(incident), &inc)
		if err != nil {
			p.err = err
			return p
		}
		if ok {
			p.visible = time.Now()
			return p
		}
	}
	p.err = fmt.Errorf("alert %s: no visible incident after 30 s", id)
	return p
}

// getJSON GETs u into v. It returns false for 404 and an error for any other
// status than 200.
func getJSON(ctx context.Context, client *http.Client, u string, v any) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return true, json.Unmarshal(raw, v)
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, raw)
}

// percentiles returns the nearest-rank percentiles ps (0–100) of ds.
func percentiles(ds []time.Duration, ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps))
	if len(ds) == 0 {
		return out
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	for i, p := range ps {
		k := int(p/100*float64(len(s))+0.999999) - 1
		out[i] = s[min(max(k, 0), len(s)-1)]
	}
	return out
}

func fmtDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmtMS(d)
	}
	return strings.Join(parts, " / ")
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func printLatencyReport(w io.Writer, cfg latencyConfig, rep latencyReport, results []latencyBatch, probes []latencyProbe, start time.Time, firstErr error) {
	var ack, dueAck, late []time.Duration
	for _, b := range results {
		if b.sent.IsZero() {
			continue
		}
		late = append(late, b.sent.Sub(b.due))
		if b.err == nil {
			ack = append(ack, b.acked.Sub(b.sent))
			dueAck = append(dueAck, b.acked.Sub(b.due))
		}
	}
	var ackVis, sendVis []time.Duration
	probeErrs := 0
	for _, p := range probes {
		if p.err != nil {
			probeErrs++
			continue
		}
		b := results[p.batch]
		ackVis = append(ackVis, p.visible.Sub(b.acked))
		sendVis = append(sendVis, p.visible.Sub(b.sent))
	}

	fmt.Fprintf(w, "\noffered:  %8.0f alerts/s (%d batches of %d every %s for %s, %d senders)\n",
		rep.Offered, rep.Scheduled, cfg.Batch, time.Duration(float64(time.Second)*float64(cfg.Batch)/rep.Offered), cfg.Duration, cfg.Senders)
	fmt.Fprintf(w, "achieved: %8.0f alerts/s (%d alerts acked, %d stored, in %s: from the first due time to the last ack, at least the offered window)\n",
		rep.Achieved, rep.Acked, rep.Stored, rep.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "sent: %d of %d batches (%d alerts); %d batches never sent (no free sender before the end); %d alerts in failed batches\n",
		rep.Sent, rep.Scheduled, rep.SentAlerts, rep.Unsent, rep.Failed)
	if firstErr != nil {
		fmt.Fprintf(w, "first failure: %v\n", firstErr)
	}
	lp := percentiles(late, 50, 99, 100)
	lateCount := 0
	for _, d := range late {
		if d > 10*time.Millisecond {
			lateCount++
		}
	}
	fmt.Fprintf(w, "behind schedule (due → sent) p50 / p99 / max: %s; %d batches more than 10 ms late\n", fmtDurations(lp), lateCount)
	fmt.Fprintf(w, "ack latency (send → ack)    p50 / p90 / p99 / max: %s\n", fmtDurations(percentiles(ack, 50, 90, 99, 100)))
	fmt.Fprintf(w, "ack latency (due → ack)     p50 / p90 / p99 / max: %s\n", fmtDurations(percentiles(dueAck, 50, 90, 99, 100)))
	fmt.Fprintf(w, "incident visible: %d of %d sampled alerts (%d probe errors)\n", rep.Visible, rep.Probed, probeErrs)
	fmt.Fprintf(w, "alert-to-incident (ack → visible)  p50 / p99 / max: %s\n", fmtDurations(percentiles(ackVis, 50, 99, 100)))
	fmt.Fprintf(w, "alert-to-incident (send → visible) p50 / p99 / max: %s\n", fmtDurations(percentiles(sendVis, 50, 99, 100)))

	// Per slice of the run, by send time: does latency grow? (Batches are
	// sent oldest first, so under overload the late ones are old.)
	const slice = 5 * time.Second
	fmt.Fprintf(w, "\n%-9s %8s %8s %8s %12s %12s %12s\n", "sent at", "due", "sent", "acked", "ack p50", "ack p99", "late p99")
	for from := time.Duration(0); from < cfg.Duration; from += slice {
		var a, l []time.Duration
		due, sent, acked := 0, 0, 0
		for _, b := range results {
			if at := b.due.Sub(start); at >= from && at < from+slice {
				due += b.alerts
			}
			if at := b.sent.Sub(start); b.sent.IsZero() || at < from || at >= from+slice {
				continue
			}
			sent += b.alerts
			l = append(l, b.sent.Sub(b.due))
			if b.err == nil {
				acked += b.alerts
				a = append(a, b.acked.Sub(b.sent))
			}
		}
		ap, lp := percentiles(a, 50, 99), percentiles(l, 99)
		fmt.Fprintf(w, "%-9s %8d %8d %8d %12s %12s %12s\n", fmt.Sprintf("%s–", from), due, sent, acked, fmtMS(ap[0]), fmtMS(ap[1]), fmtMS(lp[0]))
	}

	sendVisP99 := percentiles(sendVis, 99)[0]
	kept := rep.Achieved >= 0.97*rep.Offered && rep.Unsent == 0 && rep.Failed == 0 && lp[1] < 100*time.Millisecond
	switch {
	case !kept:
		fmt.Fprintf(w, "\nTHE SERVER DID NOT KEEP UP: offered %.0f alerts/s, achieved %.0f alerts/s (%.0f %%); %d batches never sent, sending fell up to %s behind schedule.\n",
			rep.Offered, rep.Achieved, 100*rep.Achieved/rep.Offered, rep.Unsent, lp[2].Round(time.Millisecond))
	case sendVisP99 >= 100*time.Millisecond:
		fmt.Fprintf(w, "\nThe server kept up with %.0f alerts/s, but alert-to-incident p99 (send → visible) is %s, over the 100 ms budget.\n", rep.Offered, fmtMS(sendVisP99))
	default:
		fmt.Fprintf(w, "\nThe server kept up with %.0f alerts/s; alert-to-incident p99 (send → visible) %s is within the 100 ms budget.\n", rep.Offered, fmtMS(sendVisP99))
	}
}
