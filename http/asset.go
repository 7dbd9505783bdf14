package http

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// The asset inventory of the request's tenant (docs/formats.md, "Assets"):
//
//	PUT    /api/v1/assets       store assets (one, a JSON array, or NDJSON);
//	                            per-record results as for alerts
//	GET    /api/v1/assets       list, ordered by id ($top, $skip, $count)
//	GET    /api/v1/assets/{id}  one asset
//	DELETE /api/v1/assets/{id}  remove one (204)

// MaxAssetsPerRequest bounds the records of one PUT /api/v1/assets.
const MaxAssetsPerRequest = 10_000

// assetsResponse is the answer to PUT /api/v1/assets: counts, and one result
// per record in body order.
type assetsResponse struct {
	Received  int           `json:"received"`
	Created   int           `json:"created"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	Rejected  int           `json:"rejected"`
	Errors    bool          `json:"errors"`
	Results   []assetResult `json:"results"`
}

type assetResult struct {
	Index  int          `json:"index"`
	Line   int          `json:"line"`
	Status string       `json:"status"`
	ID     string       `json:"id,omitempty"`
	Error  *recordError `json:"error,omitempty"`
}

func (s *Server) assetStore(w http.ResponseWriter, r *http.Request) (weft.AssetStore, bool) {
	as, ok := s.store.(weft.AssetStore)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store keeps no asset inventory"))
	}
	return as, ok
}

// handlePutAssets stores the assets of a body: one asset, a JSON array of
// them, or NDJSON (Content-Type application/x-ndjson). As with alerts, bad
// records are reported with their index, line, field and reason and never
// stop the good ones; the status is 200 when the body was processed, even
// with rejected records ("errors": true says so), and 4xx only when the body
// as a whole is refused: too large, more than MaxAssetsPerRequest records,
// or not JSON at all.
func (s *Server) handlePutAssets(w http.ResponseWriter, r *http.Request) {
	as, ok := s.assetStore(w, r)
	if !ok {
		return
	}
	ndjson, err := parseIngestContentType(r.Header.Get("Content-Type"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes, s.bodyLimit())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	records, err := splitRecords(body, ndjson)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(records) > MaxAssetsPerRequest {
		s.writeError(w, r, weft.Errorf(weft.ETOOLARGE, "the body holds %d assets; at most %d per request (send smaller batches)", len(records), MaxAssetsPerRequest))
		return
	}

	tenant := tenantOf(r)
	resp := assetsResponse{Received: len(records), Results: make([]assetResult, len(records))}
	assets := make([]*weft.Asset, 0, len(records))
	for i, rec := range records {
		res := &resp.Results[i]
		res.Index, res.Line = i, rec.line
		a, fe := decodeAsset(rec.raw, tenant)
		if fe != nil {
			res.Status, res.Error = "rejected", &recordError{Field: fe.Field, Message: fe.Message}
			if a != nil {
				res.ID = a.ID
			}
			resp.Rejected++
			continue
		}
		res.ID = a.ID
		assets = append(assets, a)
	}
	if len(assets) > 0 {
		results, err := as.PutAssets(r.Context(), assets)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		j := 0
		for i := range resp.Results {
			res := &resp.Results[i]
			if res.Status == "rejected" {
				continue
			}
			res.Status = string(results[j].Outcome)
			j++
			switch weft.AssetOutcome(res.Status) {
			case weft.AssetCreated:
				resp.Created++
			case weft.AssetUpdated:
				resp.Updated++
			case weft.AssetUnchanged:
				resp.Unchanged++
			}
		}
	}
	resp.Errors = resp.Rejected > 0
	s.writeJSON(w, http.StatusOK, resp)
}

// decodeAsset reads and normalizes one asset record for the request's
// tenant. A record naming another tenant is refused, never stored there.
// It returns the asset, as far as it was read, with the error.
func decodeAsset(raw []byte, tenant string) (*weft.Asset, *weft.FieldError) {
	var a weft.Asset
	if err := json.Unmarshal(raw, &a, json.RejectUnknownMembers(true)); err != nil {
		return nil, jsonFieldError(err)
	}
	switch a.TenantID {
	case "", tenant:
		a.TenantID = tenant
	default:
		return &a, &weft.FieldError{Field: "tenantId", Message: "names tenant " + strconv.Quote(truncateForMessage(a.TenantID)) +
			" but the request is for tenant " + strconv.Quote(tenant) + " (" + TenantHeader + ")"}
	}
	if err := a.Normalize(); err != nil {
		var fe *weft.FieldError
		if errors.As(err, &fe) {
			return &a, fe
		}
		return &a, &weft.FieldError{Message: weft.ErrorMessage(err)}
	}
	return &a, nil
}

// jsonFieldError says in a user's terms why a record did not decode, naming
// the field when the decoder knows it.
func jsonFieldError(err error) *weft.FieldError {
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return &weft.FieldError{Message: "is not a valid JSON object"}
	}
	field := strings.ReplaceAll(strings.TrimPrefix(string(se.JSONPointer), "/"), "/", ".")
	switch {
	case errors.Is(se.Err, json.ErrUnknownName):
		return &weft.FieldError{Field: field, Message: "is not a field of an asset"}
	case se.JSONKind != 0 && field == "":
		return &weft.FieldError{Message: "an asset is a JSON object, not " + kindName(se.JSONKind)}
	case se.JSONKind != 0 && se.GoType != nil:
		return &weft.FieldError{Field: field, Message: "must be " + goKindName(se.GoType.Kind()) + ", not " + kindName(se.JSONKind)}
	}
	return &weft.FieldError{Field: field, Message: "cannot be read"}
}

func goKindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON value"
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a JSON value"
}

// record is one record of a request body, with the line it starts on.
type record struct {
	raw  []byte
	line int
}

// splitRecords splits a body into its records: the lines of NDJSON (blank
// lines skipped), or the elements of a JSON array, or one JSON object. A
// body that is not JSON as a whole (an array or object that does not parse)
// is refused with EINVALID naming the line; a bad NDJSON line is one bad
// record, found when it is decoded.
func splitRecords(body []byte, ndjson bool) ([]record, error) {
	if ndjson {
		var recs []record
		for i, line := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				recs = append(recs, record{raw: line, line: i + 1})
			}
		}
		return recs, nil
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, weft.Errorf(weft.EINVALID, "the body is empty; send a JSON array of assets, one asset, or NDJSON")
	}
	lineAt := func(off int64) int { return 1 + bytes.Count(body[:off], []byte("\n")) }
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	bad := func(err error) error {
		line := lineAt(min(dec.InputOffset(), int64(len(body))))
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			line = lineAt(min(se.ByteOffset, int64(len(body))))
		}
		return weft.Errorf(weft.EINVALID, "the body is not valid JSON (line %d); send a JSON array of assets, one asset, or NDJSON with Content-Type application/x-ndjson", line)
	}
	var recs []record
	switch trimmed[0] {
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, bad(err)
		}
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, bad(err)
			}
			start := dec.InputOffset() - int64(len(v))
			recs = append(recs, record{raw: bytes.Clone(v), line: lineAt(start)})
			if len(recs) > MaxAssetsPerRequest {
				return recs, nil // the caller refuses the body
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, bad(err)
		}
	case '{':
		v, err := dec.ReadValue()
		if err != nil {
			return nil, bad(err)
		}
		recs = append(recs, record{raw: bytes.Clone(v), line: lineAt(dec.InputOffset() - int64(len(v)))})
	default:
		return nil, weft.Errorf(weft.EINVALID, "the body must be a JSON array of assets, one asset, or NDJSON with Content-Type application/x-ndjson")
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, weft.Errorf(weft.EINVALID, "the body has data after its JSON value (line %d); send NDJSON with Content-Type application/x-ndjson", lineAt(min(dec.InputOffset(), int64(len(body)))))
	}
	return recs, nil
}

func (s *Server) handleListAssets(w http.ResponseWriter, r *http.Request) {
	as, ok := s.assetStore(w, r)
	if !ok {
		return
	}
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := as.ListAssets(r.Context(), weft.AssetQuery{TenantID: tenantOf(r), Top: p.Top, Skip: p.Skip, Count: p.Count})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, p, page.Assets, page.Count, page.More)
}

func (s *Server) handleGetAsset(w http.ResponseWriter, r *http.Request) {
	as, ok := s.assetStore(w, r)
	if !ok {
		return
	}
	if _, err := parseListParams(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := as.FindAsset(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleDeleteAsset(w http.ResponseWriter, r *http.Request) {
	as, ok := s.assetStore(w, r)
	if !ok {
		return
	}
	if err := as.DeleteAsset(r.Context(), tenantOf(r), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
