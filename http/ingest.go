package http

import (
	"cmp"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/ingest"
)

// ingestResponse is the answer to POST /api/v1/alerts: counts, and one
// result per record in body order.
type ingestResponse struct {
	Received  int            `json:"received"`
	Stored    int            `json:"stored"`
	Updated   int            `json:"updated"`
	Duplicate int            `json:"duplicate"`
	Stale     int            `json:"stale"`
	Rejected  int            `json:"rejected"`
	Errors    bool           `json:"errors"`
	Results   []recordResult `json:"results"`
}

type recordResult struct {
	Index      int          `json:"index"`
	Line       int          `json:"line"`
	Status     string       `json:"status"`
	ID         string       `json:"id,omitempty"`
	IncidentID int64        `json:"incidentId,omitzero,string"`
	Warnings   []string     `json:"warnings,omitempty"`
	Error      *recordError `json:"error,omitempty"`
}

type recordError struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// handleIngest accepts one alert, a JSON array of alerts, or NDJSON
// (Content-Type application/x-ndjson), in any format ingest reads (weft,
// graph, ocsf, elastic, suricata, wazuh, guide), named by the path
// (POST /api/v1/ingest/{format}) or ?format=, and told from the body when
// neither names it (docs/formats.md §5). A path and a query that name two
// different formats are refused.
//
// The body is decoded as it is read (ingest.Stream), so the raw body is
// never held whole: what the handler holds is the decoded records and one
// read buffer. The request stays all-or-nothing: the good records are
// committed in one transaction only once the whole body has been read and
// found within MaxBodyBytes and Limits.MaxRecords, so a body over either
// limit is refused (413) with nothing stored, whether or not it declared its
// length. The memory a request takes is therefore bounded by those two
// limits, not by what a client sends. The answer comes only after the
// commit is durable. Bad records are reported with their index, line, field
// and reason and never stop the good ones. The status is 200 when the body
// was processed, even with rejected records ("errors": true says so), and
// 4xx only when the body as a whole is refused.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.metrics.ingestSeconds.Observe(time.Since(start).Seconds()) }()

	ndjson, err := parseIngestContentType(r.Header.Get("Content-Type"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format, err := ingestFormat(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	records, err := s.decodeBody(w, r, ndjson, format)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	tenant := tenantOf(r)
	disabled := s.tenantDisabled(r.Context())
	resp := ingestResponse{Received: len(records), Results: make([]recordResult, len(records))}
	alerts := make([]*weft.Alert, 0, len(records))
	for i, rec := range records {
		res := &resp.Results[i]
		res.Index, res.Line, res.Warnings = rec.Index, rec.Line, rec.Warnings
		if rec.Err != nil {
			res.Status = "rejected"
			res.Error = &recordError{Field: rec.Err.Field, Message: rec.Err.Message}
			resp.Rejected++
			s.metrics.reject(rec.Err.Source, rec.Err.Field)
			continue
		}
		a := rec.Alert
		reject := func(msg string) {
			res.Status = "rejected"
			res.Error = &recordError{Field: "tenantId", Message: msg}
			res.Warnings = nil
			resp.Rejected++
			s.metrics.reject(a.Source, "tenantId")
		}
		if tenant != weft.DefaultTenantID {
			switch a.TenantID {
			case weft.DefaultTenantID:
				a.TenantID = tenant
				a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
			case tenant:
			default:
				// A request acts for one tenant: a record naming another is
				// refused, never stored there.
				reject("names tenant " + strconv.Quote(a.TenantID) + " but the request is for tenant " + strconv.Quote(tenant) + " (" + TenantHeader + ")")
				continue
			}
		} else if a.TenantID != tenant {
			// Without the header a record may name its tenant (a GUIDE
			// file's OrgId, an MSSP's feed), but only one the principal
			// may write to: the route's check was for the default tenant.
			if err := weft.Authorize(principalOf(r), a.TenantID, weft.RoleAnalyst); err != nil {
				reject("names tenant " + strconv.Quote(a.TenantID) + ", which " + principalName(r) + " may not write to")
				continue
			}
		}
		// A disabled tenant's alerts are refused, each naming it (the
		// route's check refused the request when the header names it).
		if off, err := disabled(a.TenantID); err != nil {
			s.writeError(w, r, err)
			return
		} else if off {
			reject("names tenant " + strconv.Quote(a.TenantID) + ", which is disabled: its alerts are refused until an admin of every tenant enables it again")
			continue
		}
		alerts = append(alerts, a)
	}

	if len(alerts) > 0 {
		storeStart := time.Now()
		results, err := s.committer.Submit(r.Context(), alerts)
		s.metrics.commitWaitSeconds.Observe(time.Since(storeStart).Seconds())
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
			a, sr := alerts[j], results[j]
			j++
			res.Status, res.ID, res.IncidentID = string(sr.Outcome), sr.AlertID, sr.IncidentID
			switch sr.Outcome {
			case weft.OutcomeStored:
				resp.Stored++
			case weft.OutcomeUpdated:
				resp.Updated++
			case weft.OutcomeDuplicate:
				resp.Duplicate++
			case weft.OutcomeStale:
				resp.Stale++
			}
			s.metrics.ingested(a.Source, string(sr.Outcome))
		}
	}
	resp.Errors = resp.Rejected > 0
	s.writeJSON(w, http.StatusOK, resp)
}

// decodeBatch is how many records handleIngest has cut before it decodes
// them, so that the text of only that many is held at a time.
const decodeBatch = 256

// decodeBody decodes the request body as it is read, all of it at one
// ingest time, and counts a refused body in the metrics. A body over
// MaxBodyBytes is an ETOOLARGE error, a body-level problem the Stream's
// *weft.Error (EINVALID or ETOOLARGE), a failure to read EINVALID.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, ndjson bool, format ingest.Format) ([]ingest.Record, error) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		s.metrics.rejectBody("body_too_large")
		return nil, weft.Errorf(weft.ETOOLARGE, "request body is %d bytes; %s", r.ContentLength, s.bodyLimit())
	}
	now := s.now()
	st := ingest.NewStream(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), ndjson, format, s.opts.Limits, func() time.Time { return now })
	var records []ingest.Record
	for {
		batch, err := st.Next(decodeBatch)
		var mbe *http.MaxBytesError
		switch {
		case err == io.EOF:
			return records, nil
		case errors.As(err, &mbe):
			s.metrics.rejectBody("body_too_large")
			return nil, weft.Errorf(weft.ETOOLARGE, "request body is larger than allowed; %s", s.bodyLimit())
		case err != nil && weft.ErrorCode(err) == weft.EINTERNAL: // the reader failed
			s.metrics.rejectBody(weft.EINVALID)
			return nil, weft.Errorf(weft.EINVALID, "reading the request body: %v", err)
		case err != nil:
			s.metrics.rejectBody(weft.ErrorCode(err))
			return nil, err
		}
		records = append(records, batch...)
	}
}

// parseIngestContentType accepts JSON and NDJSON media types and says which.
func parseIngestContentType(ct string) (ndjson bool, err error) {
	if ct == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, weft.Errorf(weft.EINVALID, "Content-Type %q cannot be parsed", ct)
	}
	switch mt {
	case "application/json", "text/json":
		return false, nil
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json-seq":
		return true, nil
	}
	return false, &weft.Error{Code: codeUnsupportedMedia, Message: "Content-Type " + mt + " is not supported; send application/json or application/x-ndjson"}
}

// ingestFormat returns the format a request names: the {format} of
// /api/v1/ingest/{format}, or ?format=, or auto when neither does.
func ingestFormat(r *http.Request) (ingest.Format, error) {
	inPath, inQuery := r.PathValue("format"), r.URL.Query().Get("format")
	p, err := ingest.ParseFormat(inPath)
	if err != nil {
		return "", err
	}
	q, err := ingest.ParseFormat(inQuery)
	if err != nil {
		return "", err
	}
	if p != ingest.FormatAuto && q != ingest.FormatAuto && p != q {
		return "", weft.Errorf(weft.EINVALID, "the path names format %q and ?format= names %q; name one", p, q)
	}
	return cmp.Or(p, q), nil
}

// tenantDisabled returns a function that reports whether a tenant is
// disabled, asking the store once per tenant (a tenant that does not exist
// yet is not: the alert creates it).
func (s *Server) tenantDisabled(ctx context.Context) func(tenant string) (bool, error) {
	known := map[string]bool{}
	return func(tenant string) (bool, error) {
		if off, ok := known[tenant]; ok {
			return off, nil
		}
		t, err := s.store.FindTenant(ctx, tenant)
		switch {
		case weft.ErrorCode(err) == weft.ENOTFOUND:
			known[tenant] = false
		case err != nil:
			return false, err
		default:
			known[tenant] = t.Disabled
		}
		return known[tenant], nil
	}
}
