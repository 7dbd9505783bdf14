package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/sqlite"
)

const ingestHelp = `
Send the alerts in FILE (or standard input, "-") to a weft server with --url,
or store them directly in a data directory with --data (no server needed).

FILE holds one alert (a JSON object), a JSON array of alerts, NDJSON (one
alert per line) or several of those one after the other, in any format weft
reads (detected per record unless --format says which; see docs/formats.md).
FILE is read as a stream, in batches of --batch records: a file of any size
takes memory for one batch, not for the file (a record that holds many alerts,
a Graph list response or incident export, is kept whole up to 64 MiB). Each
batch is stored, or acknowledged by the server, before the next is read. With
--url a batch goes in requests of at most 8 MiB.

A GUIDE CSV (--format guide, or a file that starts with GUIDE's header) is the
exception: the rows of one alert may be anywhere in the file, so it is read
whole, up to 1 GiB.

With --follow, FILE is a log that keeps growing, as Suricata's eve.json or
Wazuh's alerts.json: weft ingest reads its complete lines (NDJSON) as they are
written, survives its rotation (renamed and created anew, or copied and
truncated), and keeps how far it got in a state file (--state), so that a
restart goes on where it stopped: nothing is read twice and nothing is
skipped. The state is written after each batch is stored or acknowledged.
A batch the server or store cannot take (down, restarting, busy) is tried
again, with a growing wait, from the last line stored. SIGINT or SIGTERM
stops it after the batch in flight.

With --url, the API token of --token, --token-file, WEFT_TOKEN or
WEFT_TOKEN_FILE is sent with every request; it needs the analyst role in the
tenant (or more).

Rejected records are listed on standard error with their line in FILE, field
and reason. With --progress, or when standard error is a terminal, a line
every few seconds says how far the import is (records, bytes, rate,
rejected). At the end a summary says how many records were stored, updated,
duplicates or rejected. The exit status is 1 if any record was rejected.
`

// ingestSummary adds up what became of the records of one file.
type ingestSummary struct {
	Received, Stored, Updated, Duplicate, Stale, Rejected int
}

// ingestLimits are the limits of a file read by weft ingest: the default
// limits for each record, and 2^31-1 records (more than any file holds in
// practice) where a request takes 10,000.
var ingestLimits = ingest.Limits{MaxRecords: math.MaxInt32}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", "(--url URL | --data DIR) [flags] FILE|-", ingestHelp, stderr)
	urlFlag := fs.String("url", envOr("WEFT_URL", ""), "`URL` of a weft server, e.g. http://127.0.0.1:8080 (WEFT_URL)")
	data := fs.String("data", "", "store directly into this data `directory` instead of sending to a server")
	formatName := fs.String("format", "auto", "record `format`: "+formatList)
	batch := fs.Int("batch", 1000, "records per batch (a transaction, or a request with --url)")
	tenant := fs.String("tenant", "", "`tenant` for records that name none (default: the default tenant)")
	policyFile := fs.String("policy", envOr("WEFT_POLICY", ""), "with --data: correlation policy `file` (JSON; default: the built-in defaults) (WEFT_POLICY)")
	showProgress := fs.Bool("progress", false, "print progress to standard error every few seconds (the default when it is a terminal)")
	follow := fs.Bool("follow", false, "keep reading FILE as it grows, through rotation, until SIGINT or SIGTERM")
	stateFile := fs.String("state", "", "with --follow: state `file` that keeps how far FILE was read (default: in the data directory with --data, else FILE.weft-offset)")
	poll := fs.Duration("poll", 250*time.Millisecond, "with --follow: how often to look for new lines and rotation")
	tf := addTokenFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("ingest needs exactly one FILE (or - for standard input)")
	}
	if (*urlFlag == "") == (*data == "") {
		return errors.New("give either --url (send to a server) or --data (store into a data directory)")
	}
	format, err := ingest.ParseFormat(*formatName)
	if err != nil {
		return errors.New(weft.ErrorMessage(err))
	}
	if *batch < 1 || *batch > 10000 {
		return fmt.Errorf("--batch must be from 1 to 10000, not %d", *batch)
	}
	if *follow && (fs.Arg(0) == "-" || format == ingest.FormatGUIDE) {
		return errors.New("--follow reads a file of NDJSON lines; it cannot follow standard input or a GUIDE CSV")
	}
	if *poll <= 0 {
		return fmt.Errorf("--poll must be positive, not %s", *poll)
	}

	var target ingestTarget
	if *data != "" {
		policy, err := readPolicy(*policyFile)
		if err != nil {
			return err
		}
		store, err := openStore(*data, "full", policy)
		if err != nil {
			return err
		}
		target = &storeTarget{store: store, tenant: *tenant, stderr: stderr}
	} else {
		base, err := serverURL(*urlFlag)
		if err != nil {
			return err
		}
		u, err := ingestURL(base, format)
		if err != nil {
			return err
		}
		token, err := tf.secret()
		if err != nil {
			return err
		}
		target = &serverTarget{url: u, tenant: *tenant, token: token, stderr: stderr}
	}
	defer target.Close()

	var sum ingestSummary
	prog := newProgress(stderr, *showProgress)
	name := fs.Arg(0)
	if *follow {
		state := *stateFile
		if state == "" {
			state = defaultStateFile(name, *data)
		}
		fw := &follower{path: name, statePath: state, poll: *poll, format: format, batch: *batch, target: target, sum: &sum, prog: prog, stderr: stderr}
		err = fw.run(ctx)
	} else {
		var in io.ReadCloser
		if in, name, err = openInput(name); err != nil {
			return err
		}
		defer in.Close()
		st := ingest.NewStream(in, false, format, ingestLimits, time.Now)
		err = pump(ctx, st, target, *batch, &sum, prog)
	}
	fmt.Fprintf(stdout, "%s: %d records: %d stored, %d updated, %d duplicate, %d stale, %d rejected (%s)\n",
		name, sum.Received, sum.Stored, sum.Updated, sum.Duplicate, sum.Stale, sum.Rejected, prog.elapsed().Round(time.Millisecond))
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d records rejected", sum.Rejected)
	}
	return nil
}

// formatList names the formats --format takes.
const formatList = "auto, weft, graph, ocsf, elastic, suricata, wazuh or guide"

// pump moves the records of st to target in batches of n until the input
// ends. SIGINT or SIGTERM (ctx) stops it between batches: a batch in flight
// is finished, so that what was stored is what the summary says.
func pump(ctx context.Context, st *ingest.Stream, target ingestTarget, n int, sum *ingestSummary, prog *progress) error {
	for {
		if ctx.Err() != nil {
			off, line, _ := st.Offset()
			return fmt.Errorf("interrupted at line %d (byte %d); what came before is stored", line, off)
		}
		err := target.put(context.WithoutCancel(ctx), st, n, sum)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			off, line, _ := st.Offset()
			if weft.ErrorCode(err) != weft.EINTERNAL {
				err = errors.New(weft.ErrorMessage(err))
			}
			return fmt.Errorf("after line %d (byte %d): %w", line, off, err)
		}
		off, _, _ := st.Offset()
		prog.update(sum, off)
	}
}

// ingestTarget is where weft ingest puts records: a weft server (--url) or a
// data directory (--data).
type ingestTarget interface {
	// put takes up to n more records from st to the target, adds what
	// became of them to sum and reports each rejected record with its line;
	// it returns io.EOF after the last record.
	put(ctx context.Context, st *ingest.Stream, n int, sum *ingestSummary) error
	Close() error
}

// storeTarget stores records straight into a data directory's store.
type storeTarget struct {
	store  *sqlite.Store
	tenant string
	stderr io.Writer
}

func (t *storeTarget) put(ctx context.Context, st *ingest.Stream, n int, sum *ingestSummary) error {
	recs, err := st.Next(n)
	if err != nil {
		return err
	}
	alerts := make([]*weft.Alert, 0, len(recs))
	for _, rec := range recs {
		sum.Received++
		if rec.Err != nil {
			sum.Rejected++
			reportReject(t.stderr, rec.Line, rec.Err.Field, rec.Err.Message)
			continue
		}
		a := rec.Alert
		if t.tenant != "" && a.TenantID == weft.DefaultTenantID {
			a.TenantID = t.tenant
			a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
		}
		alerts = append(alerts, a)
	}
	if len(alerts) == 0 {
		return nil
	}
	results, err := t.store.StoreAlerts(ctx, alerts)
	if err != nil {
		return err
	}
	for _, r := range results {
		sum.add(r.Outcome)
	}
	return nil
}

func (t *storeTarget) Close() error { return t.store.Close() }

// maxPostBytes caps the body of one request of weft ingest --url, well
// under the server's default limit (32 MiB).
const maxPostBytes = 8 << 20

// serverTarget sends records to a weft server. The Stream cuts the records
// and the server decodes them: each request is NDJSON, one record a line, so
// that the server's answer locates each record by its line in the request,
// which the target maps back to the file's line.
type serverTarget struct {
	url    string // the ingest endpoint, with ?format=
	tenant string
	token  string // sent as Authorization: Bearer; never shown
	stderr io.Writer
}

// reject is a rejected record, reported once its batch is answered so that
// the rejects of a batch come out in file order.
type reject struct {
	line           int
	field, message string
}

func (t *serverTarget) put(ctx context.Context, st *ingest.Stream, n int, sum *ingestSummary) error {
	raws, err := st.NextRaw(n)
	if err != nil {
		return err
	}
	if st.Whole() {
		// A GUIDE CSV goes whole; the server's lines are the file's.
		rejects, err := t.post(ctx, "application/json", raws[0].Text, nil, sum)
		t.report(rejects)
		return err
	}
	var rejects []reject
	var body bytes.Buffer
	lines := make([]int, 0, len(raws)) // the file line of each line of body
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		rs, err := t.post(ctx, "application/x-ndjson", body.Bytes(), lines, sum)
		rejects = append(rejects, rs...)
		body.Reset()
		lines = lines[:0]
		return err
	}
	for _, r := range raws {
		if r.Err != nil {
			sum.Received++
			sum.Rejected++
			rejects = append(rejects, reject{r.Line, r.Err.Field, r.Err.Message})
			continue
		}
		if body.Len()+len(r.Text) >= maxPostBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		body.Write(r.Text)
		body.WriteByte('\n')
		lines = append(lines, r.Line)
	}
	err = flush()
	t.report(rejects)
	return err
}

// post sends one request and adds the answer to sum. lines maps the lines
// of body to the file's, nil when they are the same.
func (t *serverTarget) post(ctx context.Context, contentType string, body []byte, lines []int, sum *ingestSummary) ([]reject, error) {
	first := 1
	if lines != nil {
		first = lines[0]
	}
	a, err := postBatch(ctx, t.url, t.tenant, t.token, contentType, body, first, sum)
	if err != nil {
		return nil, err
	}
	var rejects []reject
	for _, r := range a.Results {
		if r.Error == nil {
			continue
		}
		line := r.Line
		if lines != nil && line >= 1 && line <= len(lines) {
			line = lines[line-1]
		}
		rejects = append(rejects, reject{line, r.Error.Field, r.Error.Message})
	}
	return rejects, nil
}

func (t *serverTarget) report(rejects []reject) {
	slices.SortStableFunc(rejects, func(a, b reject) int { return a.line - b.line })
	for _, r := range rejects {
		reportReject(t.stderr, r.line, r.field, r.message)
	}
}

func (t *serverTarget) Close() error { return nil }

// progress prints a line on standard error every few seconds of a long
// import, when asked to or when standard error is a terminal.
type progress struct {
	w           io.Writer
	on          bool
	every       time.Duration
	start, last time.Time
}

// progressEvery is how often progress prints a line.
const progressEvery = 3 * time.Second

func newProgress(w io.Writer, on bool) *progress {
	now := time.Now()
	return &progress{w: w, on: on || isTerminal(w), every: progressEvery, start: now, last: now}
}

// update prints a progress line if it is time to.
func (p *progress) update(sum *ingestSummary, bytesRead int64) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	secs := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "weft ingest: %d records, %.1f MB read, %.0f records/s, %d rejected (%s)\n",
		sum.Received, float64(bytesRead)/1e6, float64(sum.Received)/secs, sum.Rejected, now.Sub(p.start).Round(time.Second))
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start) }

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func openInput(path string) (io.ReadCloser, string, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), "stdin", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	return f, path, nil
}

// forEachChunk cuts an NDJSON body into chunks of n non-blank lines and calls
// f with each and the line number its first line has in the body. A body that
// is one JSON document (an object or array spanning lines) goes to f whole.
func forEachChunk(body []byte, n int, f func(chunk []byte, ndjson bool, firstLine int) error) error {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(trimmed) == 0 {
		return errors.New("the input is empty")
	}
	if trimmed[0] == '[' || !looksLikeNDJSON(trimmed) {
		return f(body, false, 1)
	}
	var chunk bytes.Buffer
	records, line, first := 0, 0, 1
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), weft.MaxRecordBytes*4)
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			if chunk.Len() > 0 {
				chunk.WriteByte('\n') // keep line numbers true within the chunk
			}
			continue
		}
		if records == 0 {
			first = line
		}
		chunk.Write(sc.Bytes())
		chunk.WriteByte('\n')
		records++
		if records == n {
			if err := f(chunk.Bytes(), true, first); err != nil {
				return err
			}
			chunk.Reset()
			records = 0
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	if records > 0 {
		return f(chunk.Bytes(), true, first)
	}
	return nil
}

// looksLikeNDJSON reports whether a body starting with '{' holds more than one
// line that starts a JSON object, i.e. is not one pretty-printed object.
func looksLikeNDJSON(b []byte) bool {
	lines := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] == '{' && l[len(l)-1] == '}' {
			lines++
			if lines > 1 {
				return true
			}
		}
	}
	return lines == 1 && bytes.Count(bytes.TrimSpace(b), []byte("\n")) == 0
}

// ingestAnswer is the part of the server's answer the CLI reads.
type ingestAnswer struct {
	Received, Stored, Updated, Duplicate, Stale, Rejected int
	Results                                               []struct {
		Index  int    `json:"index"`
		Line   int    `json:"line"`
		Status string `json:"status"`
		Error  *struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

// postChunk sends one chunk of the input (lines from firstLine) to the
// server at base with token, adds the answer to sum and reports the
// rejected records with their line in the input.
func postChunk(ctx context.Context, base, tenant, token string, format ingest.Format, chunk []byte, ndjson bool, firstLine int, sum *ingestSummary, stderr io.Writer) error {
	u, err := ingestURL(base, format)
	if err != nil {
		return err
	}
	ct := "application/json"
	if ndjson {
		ct = "application/x-ndjson"
	}
	a, err := postBatch(ctx, u, tenant, token, ct, chunk, firstLine, sum)
	if err != nil {
		return err
	}
	for _, r := range a.Results {
		if r.Error != nil {
			reportReject(stderr, r.Line+firstLine-1, r.Error.Field, r.Error.Message)
		}
	}
	return nil
}

// ingestURL is the ingest endpoint of the server at base, for format.
func ingestURL(base string, format ingest.Format) (string, error) {
	u, err := url.JoinPath(base, "/api/v1/alerts")
	if err != nil {
		return "", fmt.Errorf("--url: %w", err)
	}
	if format != ingest.FormatAuto {
		u += "?format=" + url.QueryEscape(string(format))
	}
	return u, nil
}

// postBatch posts body to the ingest endpoint u with token and adds the
// server's counts to sum; firstLine is the line in the input where body
// starts, for an error.
func postBatch(ctx context.Context, u, tenant, token, contentType string, body []byte, firstLine int, sum *ingestSummary) (ingestAnswer, error) {
	var a ingestAnswer
	raw, err := sendBatch(ctx, http.MethodPost, u, contentType, tenant, token, body, firstLine)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(raw, &a, json.MatchCaseInsensitiveNames(true)); err != nil {
		return a, fmt.Errorf("reading the answer: %w", err)
	}
	sum.Received += a.Received
	sum.Stored += a.Stored
	sum.Updated += a.Updated
	sum.Duplicate += a.Duplicate
	sum.Stale += a.Stale
	sum.Rejected += a.Rejected
	return a, nil
}

func reportReject(w io.Writer, line int, field, msg string) {
	if field != "" {
		fmt.Fprintf(w, "line %d: rejected: %s: %s\n", line, field, msg)
	} else {
		fmt.Fprintf(w, "line %d: rejected: %s\n", line, msg)
	}
}

func (s *ingestSummary) add(o weft.StoreOutcome) {
	switch o {
	case weft.OutcomeStored:
		s.Stored++
	case weft.OutcomeUpdated:
		s.Updated++
	case weft.OutcomeDuplicate:
		s.Duplicate++
	case weft.OutcomeStale:
		s.Stale++
	}
}

// sendBatch sends one batch of records to the server with token and
// returns its answer; a refused batch is an error naming the batch's first
// line in the file and the server's message (an *apiError, which says what
// to do about a 401 or 403). The token is never part of an error. A batch
// over the token's request rate (429) is sent again after the wait the
// server asks for (Retry-After), up to maxRateWaits times: a large import
// goes at the rate the server allows rather than failing.
func sendBatch(ctx context.Context, method, u, contentType, tenant, token string, body []byte, firstLine int) ([]byte, error) {
	for waits := 0; ; waits++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", contentType)
		if tenant != "" {
			req.Header.Set(wefthttp.TenantHeader, tenant)
		}
		setToken(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, errors.New(redactSecret(err.Error(), token))
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the answer: %w", err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && waits < maxRateWaits {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(retryAfter(resp.Header.Get("Retry-After"))):
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("server refused the batch starting at line %d (%s): %w", firstLine, resp.Status, answerError(resp.StatusCode, raw, token))
		}
		return raw, nil
	}
}

// maxRateWaits is how many times in a row sendBatch waits out a 429.
const maxRateWaits = 20

// retryAfter reads a Retry-After header in seconds: at least 100 ms (the
// server rounds up to whole seconds, or sends nothing), at most 30 s.
func retryAfter(h string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(h), 64)
	if err != nil || secs <= 0 {
		return time.Second
	}
	return min(max(time.Duration(secs*float64(time.Second)), 100*time.Millisecond), 30*time.Second)
}

// isAuthRefusal reports whether err is a request the server refused for
// its credentials (401) or its role (403): sending it again changes
// nothing until someone gives the command another token.
func isAuthRefusal(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}
