package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
)

const ingestHelp = `
Send the alerts in FILE (or standard input, "-") to a weft server with --url,
or store them directly in a data directory with --data (no server needed).

FILE holds one alert (a JSON object), a JSON array of alerts, or NDJSON (one
alert per line), in weft's native format or the Microsoft Graph security alert
format (detected per record unless --format says which). NDJSON is sent in
batches of --batch records; each batch is acknowledged only once stored.

At the end a summary says how many records were stored, updated, duplicates
or rejected; every rejected record is listed with its line, field and reason.
The exit status is 1 if any record was rejected.
`

// ingestSummary adds up the answers to all batches of one file.
type ingestSummary struct {
	Received, Stored, Updated, Duplicate, Stale, Rejected int
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ingest", "(--url URL | --data DIR) [flags] FILE|-", ingestHelp, stderr)
	serverURL := fs.String("url", envOr("WEFT_URL", ""), "`URL` of a weft server, e.g. http://127.0.0.1:8080 (WEFT_URL)")
	data := fs.String("data", "", "store directly into this data `directory` instead of sending to a server")
	formatName := fs.String("format", "auto", "record `format`: auto, weft or graph")
	batch := fs.Int("batch", 1000, "records per request or transaction")
	tenant := fs.String("tenant", "", "`tenant` for records that name none (default: the default tenant)")
	policyFile := fs.String("policy", envOr("WEFT_POLICY", ""), "with --data: correlation policy `file` (JSON; default: the built-in defaults) (WEFT_POLICY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("ingest needs exactly one FILE (or - for standard input)")
	}
	if (*serverURL == "") == (*data == "") {
		return errors.New("give either --url (send to a server) or --data (store into a data directory)")
	}
	format, err := ingest.ParseFormat(*formatName)
	if err != nil {
		return errors.New(weft.ErrorMessage(err))
	}
	if *batch < 1 || *batch > 10000 {
		return fmt.Errorf("--batch must be from 1 to 10000, not %d", *batch)
	}
	in, name, err := openInput(fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	body, err := io.ReadAll(in)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}

	var sum ingestSummary
	start := time.Now()
	send := func(chunk []byte, ndjson bool, firstLine int) error {
		if *data != "" {
			return nil
		}
		return postChunk(ctx, *serverURL, *tenant, format, chunk, ndjson, firstLine, &sum, stderr)
	}
	if *data != "" {
		var policy correlate.Policies
		if policy, err = readPolicy(*policyFile); err != nil {
			return err
		}
		err = storeDirect(ctx, *data, *tenant, format, body, *batch, policy, &sum, stderr)
	} else {
		err = forEachChunk(body, *batch, send)
	}
	fmt.Fprintf(stdout, "%s: %d records: %d stored, %d updated, %d duplicate, %d stale, %d rejected (%s)\n",
		name, sum.Received, sum.Stored, sum.Updated, sum.Duplicate, sum.Stale, sum.Rejected, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d records rejected", sum.Rejected)
	}
	return nil
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

func postChunk(ctx context.Context, base, tenant string, format ingest.Format, chunk []byte, ndjson bool, firstLine int, sum *ingestSummary, stderr io.Writer) error {
	u, err := url.JoinPath(base, "/api/v1/alerts")
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	if format != ingest.FormatAuto {
		u += "?format=" + url.QueryEscape(string(format))
	}
	ct := "application/json"
	if ndjson {
		ct = "application/x-ndjson"
	}
	raw, err := sendBatch(ctx, http.MethodPost, u, ct, tenant, bytes.NewReader(chunk), firstLine)
	if err != nil {
		return err
	}
	var a ingestAnswer
	if err := json.Unmarshal(raw, &a, json.MatchCaseInsensitiveNames(true)); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	sum.Received += a.Received
	sum.Stored += a.Stored
	sum.Updated += a.Updated
	sum.Duplicate += a.Duplicate
	sum.Stale += a.Stale
	sum.Rejected += a.Rejected
	for _, r := range a.Results {
		if r.Error != nil {
			reportReject(stderr, r.Line+firstLine-1, r.Error.Field, r.Error.Message)
		}
	}
	return nil
}

func reportReject(w io.Writer, line int, field, msg string) {
	if field != "" {
		fmt.Fprintf(w, "line %d: rejected: %s: %s\n", line, field, msg)
	} else {
		fmt.Fprintf(w, "line %d: rejected: %s\n", line, msg)
	}
}

// storeDirect decodes body and stores it into the data directory's store in
// transactions of n alerts.
func storeDirect(ctx context.Context, dir, tenant string, format ingest.Format, body []byte, n int, policy correlate.Policies, sum *ingestSummary, stderr io.Writer) error {
	store, err := openStore(dir, "full", policy)
	if err != nil {
		return err
	}
	defer store.Close()
	records, err := ingest.Decode(body, false, format, ingest.Limits{MaxRecords: 1 << 30}, time.Now())
	if err != nil {
		return errors.New(weft.ErrorMessage(err))
	}
	sum.Received = len(records)
	alerts := make([]*weft.Alert, 0, n)
	flush := func() error {
		if len(alerts) == 0 {
			return nil
		}
		results, err := store.StoreAlerts(ctx, alerts)
		if err != nil {
			return err
		}
		for _, r := range results {
			sum.add(r.Outcome)
		}
		alerts = alerts[:0]
		return nil
	}
	for _, rec := range records {
		if rec.Err != nil {
			sum.Rejected++
			reportReject(stderr, rec.Line, rec.Err.Field, rec.Err.Message)
			continue
		}
		a := rec.Alert
		if tenant != "" && a.TenantID == weft.DefaultTenantID {
			a.TenantID = tenant
			a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
		}
		alerts = append(alerts, a)
		if len(alerts) == n {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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

// sendBatch sends one batch of records to the server and returns its
// answer; a refused batch is an error naming the batch's first line in the
// file and the server's message.
func sendBatch(ctx context.Context, method, u, contentType, tenant string, body io.Reader, firstLine int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if tenant != "" {
		req.Header.Set(wefthttp.TenantHeader, tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("server refused the batch starting at line %d: %s (%s)", firstLine, e.Error.Message, resp.Status)
		}
		return nil, fmt.Errorf("server refused the batch starting at line %d: %s", firstLine, resp.Status)
	}
	return raw, nil
}
