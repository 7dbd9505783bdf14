package http

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// This file serves GET /api/v1/incidents/export.csv: the incident queue, with
// the queue's $filter, $orderby and $search, as CSV (RFC 4180), in the columns
// of Defender's queue export. The rows are streamed as the store reads them,
// never built whole in memory, and capped at MaxExportRows.
//
// With Weft-Tenant: * it exports the merged queue once the route table's row
// says merged: true (until then guard refuses "*" with 400, and the merged
// path is reached only by TestExportMerged), under the merged queue's rules
// (authorize, mergedTenants): the tenants the principal may read, disabled
// ones left out but for an admin of every tenant, a principal limited to
// device groups in one of them refused. A merged export has one more column,
// first: "Tenant Id" (mergedExportColumns), since an incident is opened in
// its own tenant (Weft-Tenant) and a row must say which; a single-tenant
// export keeps Defender's columns.

// MaxExportRows caps one CSV export. An export that would have had more rows
// ends after MaxExportRows and says so in the ExportTruncatedTrailer trailer;
// the ExportLimitHeader header gives the cap up front.
const MaxExportRows = 100_000

// ExportLimitHeader and ExportTruncatedTrailer are the export's header (the
// row cap, sent first) and trailer ("true" when rows were left out, "false"
// otherwise; sent after the last row).
const (
	ExportLimitHeader      = "Weft-Export-Limit"
	ExportTruncatedTrailer = "Weft-Export-Truncated"
)

// exportColumns are the CSV's header row, as in Defender's queue export.
var exportColumns = []string{
	"Incident Id", "Incident name", "Status", "Severity", "Priority score", "Assigned to",
	"Classification", "Determination", "Categories", "Service sources", "Detection sources",
	"Tags", "System tags", "Alert count", "Created time", "Last update time",
	"First activity", "Last activity",
}

// tenantColumn is the first column of a merged export.
const tenantColumn = "Tenant Id"

// mergedExportColumns are the merged export's header row.
var mergedExportColumns = append([]string{tenantColumn}, exportColumns...)

// incidentStreamer is a store that can read a filtered queue row by row
// (sqlite.Store.EachIncident). A store without it is read in pages.
type incidentStreamer interface {
	EachIncident(ctx context.Context, q weft.IncidentQuery, limit int, fn func(*weft.Incident) error) error
}

func (s *Server) handleExportIncidents(w http.ResponseWriter, r *http.Request) {
	s.exportIncidents(w, r, MaxExportRows)
}

// exportIncidents answers an export request with at most maxRows rows.
func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request, maxRows int) {
	query := r.URL.Query()
	for _, k := range []string{"$top", "$skip", "$count"} {
		if query.Has(k) {
			s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "query option %s is not supported on the export, which sends the whole filtered queue up to %d rows (supported: $filter, $orderby, $search)", k, MaxExportRows))
			return
		}
	}
	p, err := parseListOptions(query, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := parseQueueParams(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.TenantID = tenantOf(r)
	q.Filter = queryGroups(r, q.Filter)
	columns, merged := exportColumns, q.TenantID == weft.AllTenants
	if merged {
		// The tenants authorize found the principal may read; none
		// leaves a header-only export.
		q.TenantID, q.TenantIDs, columns = "", authOf(r).tenants, mergedExportColumns
	}

	// The status and headers wait for the first row, so that an error of
	// the query itself (before any row) is still an ordinary error answer.
	var (
		cw      *csv.Writer
		rows    int
		cut     bool
		started bool
		record  = make([]string, len(columns))
	)
	start := func() {
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
		h.Set("Content-Disposition", `attachment; filename="incidents-`+s.now().UTC().Format("20060102T150405Z")+`.csv"`)
		h.Set("Cache-Control", "no-store")
		h.Set(ExportLimitHeader, strconv.Itoa(maxRows))
		h.Set("Trailer", ExportTruncatedTrailer)
		w.WriteHeader(http.StatusOK)
		cw = csv.NewWriter(w)
		cw.UseCRLF = true
		_ = cw.Write(columns) // errors surface at Flush/Error
	}
	each := func(inc *weft.Incident) error {
		if rows == maxRows {
			cut = true
			return errExportFull
		}
		if !started {
			start()
		}
		rows++
		if merged {
			record[0] = guardFormula(inc.TenantID)
			exportRecord(record[1:], inc)
		} else {
			exportRecord(record, inc)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
		if rows%1000 == 0 {
			cw.Flush()
			return cw.Error()
		}
		return nil
	}
	// One row beyond the cap is read to tell a cut export from one that
	// has exactly maxRows rows.
	if !merged || len(q.TenantIDs) > 0 {
		err = eachIncident(r.Context(), s.store, q, maxRows+1, each)
	}
	if errors.Is(err, errExportFull) {
		err = nil
	}
	if err != nil {
		if !started {
			s.writeError(w, r, err)
			return
		}
		// The status line is gone: end the response without its final
		// chunk, so that the client sees a broken transfer rather than a
		// complete-looking file.
		s.logger.Error("incident export failed", "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !started {
		start()
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.logger.Warn("incident export: write failed", "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
	w.Header().Set(ExportTruncatedTrailer, strconv.FormatBool(cut))
}

// errExportFull stops the store's iteration at the cap.
var errExportFull = errors.New("export cap reached")

// eachIncident calls fn for each incident of q, up to limit: row by row from
// a store that can stream, else in pages of weft.MaxPageSize.
func eachIncident(ctx context.Context, store weft.Store, q weft.IncidentQuery, limit int, fn func(*weft.Incident) error) error {
	if st, ok := store.(incidentStreamer); ok {
		return st.EachIncident(ctx, q, limit, fn)
	}
	q.Top = weft.MaxPageSize
	for n := 0; n < limit; {
		page, err := store.ListIncidents(ctx, q)
		if err != nil {
			return err
		}
		for _, inc := range page.Incidents {
			if n == limit {
				return nil
			}
			n++
			if err := fn(inc); err != nil {
				return err
			}
		}
		if !page.More || len(page.Incidents) == 0 {
			return nil
		}
		q.Skip += len(page.Incidents)
	}
	return nil
}

// exportRecord fills record with inc's cells, in exportColumns' order.
// Lists are joined with "; "; times are RFC 3339 in UTC; an unscored
// incident's priority score is empty.
func exportRecord(record []string, inc *weft.Incident) {
	score := ""
	if inc.PriorityScore != nil {
		score = strconv.Itoa(*inc.PriorityScore)
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	list := func(vs []string) string { return strings.Join(vs, "; ") }
	cells := [...]string{
		strconv.FormatInt(inc.ID, 10), inc.DisplayName, string(inc.Status), string(inc.Severity), score, inc.AssignedTo,
		string(inc.Classification), string(inc.Determination), list(inc.Categories), list(inc.ServiceSources), list(inc.DetectionSources),
		list(inc.CustomTags), list(inc.SystemTags), strconv.Itoa(inc.AlertCount), at(inc.CreatedDateTime), at(inc.LastUpdateDateTime),
		at(inc.FirstActivityDateTime), at(inc.LastActivityDateTime),
	}
	for i, c := range cells {
		record[i] = guardFormula(c)
	}
}

// guardFormula defuses a cell that a spreadsheet would run as a formula
// (CSV injection: an incident name or tag is attacker-controlled text, e.g.
// from an alert title): a cell starting with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, which spreadsheets show as text. The
// cells weft writes itself (numbers, times, enumerations) never start with
// one of these.
func guardFormula(c string) string {
	if c != "" && strings.IndexByte("=+-@\t\r", c[0]) >= 0 {
		return "'" + c
	}
	return c
}
