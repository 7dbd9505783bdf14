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
	"path/filepath"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/sqlite"
)

const assetsHelp = `
Manage the asset inventory. The only subcommand is "import":

  weft assets import (--url URL | --data DIR) [flags] FILE|-

sends the assets in FILE (or standard input, "-") to a weft server with --url,
or stores them directly in a data directory with --data. FILE holds one asset
(a JSON object), a JSON array of assets, or NDJSON (one asset per line), in
the format of docs/formats.md, "Assets". An asset with the id of a stored one
replaces it.

At the end a summary says how many assets were created, updated, unchanged
or rejected; every rejected record is listed with its line, field and reason.
The exit status is 1 if any record was rejected.

With --url, the API token of --token, --token-file, WEFT_TOKEN or
WEFT_TOKEN_FILE is sent; changing the inventory needs the admin role.
`

// assetsSummary adds up the answers to all batches of one file.
type assetsSummary struct {
	Received, Created, Updated, Unchanged, Rejected int
}

func runAssets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fs := newFlagSet("assets", "import (--url URL | --data DIR) [flags] FILE|-", assetsHelp, stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		return errors.New(`assets needs a subcommand: "import"`)
	}
	fs := newFlagSet("assets import", "(--url URL | --data DIR) [flags] FILE|-", assetsHelp, stderr)
	urlFlag := fs.String("url", envOr("WEFT_URL", ""), "`URL` of a weft server, e.g. http://127.0.0.1:8080 (WEFT_URL)")
	data := fs.String("data", "", "store directly into this data `directory` instead of sending to a server")
	batch := fs.Int("batch", 1000, "assets per request or transaction")
	tenant := fs.String("tenant", "", "`tenant` the assets belong to (default: the default tenant)")
	tf := addTokenFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("assets import needs exactly one FILE (or - for standard input)")
	}
	if (*urlFlag == "") == (*data == "") {
		return errors.New("give either --url (send to a server) or --data (store into a data directory)")
	}
	if *batch < 1 || *batch > wefthttp.MaxAssetsPerRequest {
		return fmt.Errorf("--batch must be from 1 to %d, not %d", wefthttp.MaxAssetsPerRequest, *batch)
	}
	if *tenant != "" {
		if err := weft.ValidateTenantID(*tenant); err != nil {
			return fmt.Errorf("--tenant: %s", weft.ErrorMessage(err))
		}
	}
	var base, token string
	if *urlFlag != "" {
		var err error
		if base, err = serverURL(*urlFlag); err != nil {
			return err
		}
		if token, err = tf.secret(); err != nil {
			return err
		}
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
	records, err := assetRecords(body)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	var sum assetsSummary
	start := time.Now()
	if *data != "" {
		err = storeAssets(ctx, *data, *tenant, records, *batch, &sum, stderr)
	} else {
		for i := 0; i < len(records) && err == nil; i += *batch {
			err = postAssets(ctx, base, *tenant, token, records[i:min(i+*batch, len(records))], &sum, stderr)
		}
	}
	fmt.Fprintf(stdout, "%s: %d assets: %d created, %d updated, %d unchanged, %d rejected (%s)\n",
		name, sum.Received, sum.Created, sum.Updated, sum.Unchanged, sum.Rejected, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d records rejected", sum.Rejected)
	}
	return nil
}

// assetRecord is one record of an asset file, with the line it starts on.
type assetRecord struct {
	raw  []byte
	line int
}

// assetRecords splits a file into its records: the elements of a JSON array,
// one JSON object, or the non-blank lines of NDJSON.
func assetRecords(body []byte) ([]assetRecord, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("the input is empty")
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(body[:min(off, int64(len(body)))], []byte("\n")) }
	if trimmed[0] == '[' || !looksLikeNDJSON(trimmed) {
		dec := jsontext.NewDecoder(bytes.NewReader(body))
		var recs []assetRecord
		read := func() error {
			v, err := dec.ReadValue()
			if err != nil {
				return fmt.Errorf("line %d: not valid JSON: %w", lineAt(dec.InputOffset()), err)
			}
			recs = append(recs, assetRecord{bytes.Clone(v), lineAt(dec.InputOffset() - int64(len(v)))})
			return nil
		}
		if trimmed[0] == '[' {
			if _, err := dec.ReadToken(); err != nil {
				return nil, err
			}
			for dec.PeekKind() != ']' {
				if err := read(); err != nil {
					return nil, err
				}
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, fmt.Errorf("line %d: not valid JSON: %w", lineAt(dec.InputOffset()), err)
			}
		} else if err := read(); err != nil {
			return nil, err
		}
		if _, err := dec.ReadToken(); err != io.EOF {
			return nil, fmt.Errorf("line %d: data after the JSON value", lineAt(dec.InputOffset()))
		}
		return recs, nil
	}
	var recs []assetRecord
	for i, l := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			recs = append(recs, assetRecord{l, i + 1})
		}
	}
	return recs, nil
}

// assetsAnswer is the part of the server's answer the CLI reads.
type assetsAnswer struct {
	Received, Created, Updated, Unchanged, Rejected int
	Results                                         []struct {
		Index int `json:"index"`
		Error *struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

// postAssets sends records as one NDJSON request with token, one record
// per line, and reports rejected ones at their lines in the file.
func postAssets(ctx context.Context, base, tenant, token string, records []assetRecord, sum *assetsSummary, stderr io.Writer) error {
	u, err := url.JoinPath(base, "/api/v1/assets")
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	var body bytes.Buffer
	for _, r := range records {
		v := jsontext.Value(bytes.Clone(r.raw))
		if v.Compact() != nil { // a bad NDJSON line: the server reports it
			v = r.raw
		}
		body.Write(v)
		body.WriteByte('\n')
	}
	raw, err := sendBatch(ctx, http.MethodPut, u, "application/x-ndjson", tenant, token, body.Bytes(), records[0].line)
	if err != nil {
		return err
	}
	var a assetsAnswer
	if err := json.Unmarshal(raw, &a, json.MatchCaseInsensitiveNames(true)); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	sum.Received += a.Received
	sum.Created += a.Created
	sum.Updated += a.Updated
	sum.Unchanged += a.Unchanged
	sum.Rejected += a.Rejected
	for _, r := range a.Results {
		if r.Error != nil && r.Index >= 0 && r.Index < len(records) {
			reportReject(stderr, records[r.Index].line, r.Error.Field, r.Error.Message)
		}
	}
	return nil
}

// storeAssets decodes records and stores them into the data directory's
// store in transactions of n assets.
func storeAssets(ctx context.Context, dir, tenant string, records []assetRecord, n int, sum *assetsSummary, stderr io.Writer) error {
	// No correlation engine: this process stores assets and exits, and the
	// engine would only be rebuilt from every alert in its window at Open
	// to be thrown away. A server on the same directory sees the commit and
	// rebuilds its own engine with the new assets before its next batch.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	store, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{Synchronous: "full"})
	if err != nil {
		return err
	}
	defer store.Close()
	if tenant == "" {
		tenant = weft.DefaultTenantID
	}
	sum.Received = len(records)
	assets := make([]*weft.Asset, 0, n)
	flush := func() error {
		if len(assets) == 0 {
			return nil
		}
		results, err := store.PutAssets(ctx, assets)
		if err != nil {
			return errors.New(weft.ErrorMessage(err))
		}
		for _, r := range results {
			switch r.Outcome {
			case weft.AssetCreated:
				sum.Created++
			case weft.AssetUpdated:
				sum.Updated++
			case weft.AssetUnchanged:
				sum.Unchanged++
			}
		}
		assets = assets[:0]
		return nil
	}
	for _, rec := range records {
		var a weft.Asset
		err := json.Unmarshal(rec.raw, &a, json.RejectUnknownMembers(true))
		if err == nil && a.TenantID != "" && a.TenantID != tenant {
			err = &weft.FieldError{Field: "tenantId", Message: fmt.Sprintf("names tenant %q but the import is for tenant %q (--tenant)", a.TenantID, tenant)}
		}
		if err == nil {
			a.TenantID = tenant
			err = a.Normalize()
		}
		if err != nil {
			sum.Rejected++
			var fe *weft.FieldError
			if errors.As(err, &fe) {
				reportReject(stderr, rec.line, fe.Field, fe.Message)
			} else {
				reportReject(stderr, rec.line, "", "not a valid asset: "+err.Error())
			}
			continue
		}
		assets = append(assets, &a)
		if len(assets) == n {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
