package http

import (
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
// (Content-Type application/x-ndjson), in weft's native format or the Graph
// security alert format (?format=weft|graph, detected when absent).
//
// The whole body is read (up to MaxBodyBytes; a larger body is refused with
// 413 and nothing is stored), decoded record by record, and the good records
// are committed; the answer comes only after the commit is durable. Bad
// records are reported with their index, line, field and reason and never
// stop the good ones. The status is 200 when the body was processed, even
// with rejected records ("errors": true says so), and 4xx only when the body
// as a whole is refused.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { s.metrics.ingestSeconds.Observe(time.Since(start).Seconds()) }()

	ndjson, err := parseIngestContentType(r.Header.Get("Content-Type"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format, err := ingest.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes, s.bodyLimit())
	if err != nil {
		if weft.ErrorCode(err) == weft.ETOOLARGE {
			s.metrics.rejectBody("body_too_large")
		}
		s.writeError(w, r, err)
		return
	}

	records, err := ingest.Decode(body, ndjson, format, s.opts.Limits, s.now())
	if err != nil {
		s.metrics.rejectBody(weft.ErrorCode(err))
		s.writeError(w, r, err)
		return
	}

	tenant := tenantOf(r)
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
		if tenant != weft.DefaultTenantID {
			switch a.TenantID {
			case weft.DefaultTenantID:
				a.TenantID = tenant
				a.ID = weft.AlertID(a.TenantID, a.Source, a.ProviderAlertID)
			case tenant:
			default:
				// A request acts for one tenant: a record naming another is
				// refused, never stored there.
				res.Status = "rejected"
				res.Error = &recordError{Field: "tenantId", Message: "names tenant " + strconv.Quote(a.TenantID) + " but the request is for tenant " + strconv.Quote(tenant) + " (" + TenantHeader + ")"}
				res.Warnings = nil
				resp.Rejected++
				s.metrics.reject(a.Source, "tenantId")
				continue
			}
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
