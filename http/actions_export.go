package http

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// actionExportColumns are the header row of the actions' CSV export, the
// columns of Defender's action center history.
var actionExportColumns = []string{
	"Action Id", "Action type", "Entity type", "Target", "Target name", "Status", "Incident Id",
	"Requested by", "Decided by", "Connector", "Attempt", "Created time", "Last update time",
	"Expires", "Undo of", "Undone by", "Comment", "Message",
}

// handleExportActions serves GET /api/v1/actions/export.csv: the action
// center's list, with its filters, as CSV (RFC 4180), newest first, at most
// MaxExportRows rows (the ExportLimitHeader and ExportTruncatedTrailer say
// so, as the incident export does). Every cell that a person or an alert
// wrote (target names, comments, messages) is defused against CSV
// injection (guardFormula).
func (s *Server) handleExportActions(w http.ResponseWriter, r *http.Request) {
	s.exportActions(w, r, MaxExportRows)
}

func (s *Server) exportActions(w http.ResponseWriter, r *http.Request, maxRows int) {
	svc, ok := s.actionService(w, r)
	if !ok {
		return
	}
	query := r.URL.Query()
	for k := range query {
		if strings.HasPrefix(k, "$") {
			s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "query option %s is not supported on the export, which sends the whole filtered list up to %d rows (filter with %s)", truncateForMessage(k), maxRows, strings.Join(actionFilters, ", ")))
			return
		}
	}
	q, err := parseActionFilters(query)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.TenantID, q.Top = tenantOf(r), weft.MaxPageSize
	// The export pages newest first with $skip: actions created while it
	// runs would shift the pages and repeat rows, so it ends at its start.
	if start := s.now().Add(time.Nanosecond); q.Until.IsZero() || q.Until.After(start) {
		q.Until = start
	}
	// The first page is read before the status line, so that an error of
	// the query itself is still an ordinary error answer.
	page, err := svc.List(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8; header=present")
	h.Set("Content-Disposition", `attachment; filename="actions-`+s.now().UTC().Format("20060102T150405Z")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	h.Set(ExportLimitHeader, strconv.Itoa(maxRows))
	h.Set("Trailer", ExportTruncatedTrailer)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	_ = cw.Write(actionExportColumns) // errors surface at Flush/Error
	record := make([]string, len(actionExportColumns))
	rows, cut := 0, false
	for {
		for _, a := range page.Actions {
			if rows == maxRows {
				cut = true
				break
			}
			rows++
			actionRecord(record, a)
			_ = cw.Write(record)
		}
		if cut || !page.More || len(page.Actions) == 0 {
			break
		}
		cw.Flush()
		q.Skip += len(page.Actions)
		if page, err = svc.List(r.Context(), q); err != nil {
			// The status line is gone: end without the final chunk, so
			// that the client sees a broken transfer, not a whole file.
			s.logger.Error("action export failed", "rows", rows, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.logger.Warn("action export: write failed", "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
	w.Header().Set(ExportTruncatedTrailer, strconv.FormatBool(cut))
}

// actionRecord fills record with a's cells, in actionExportColumns' order.
// Times are RFC 3339 in UTC; ids that are not set are empty.
func actionRecord(record []string, a *weft.Action) {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	decided := ""
	if a.DecidedBy != nil {
		decided = a.DecidedBy.String()
	}
	cells := [...]string{
		id(a.ID), a.Type, string(a.EntityType), a.Target, a.TargetName, string(a.ActionStatus), id(a.IncidentID),
		a.RequestedBy.String(), decided, a.Connector, strconv.Itoa(a.Attempt), at(a.Created), at(a.Updated),
		at(a.ExpiresAt), id(a.UndoOf), id(a.UndoneBy), a.Comment, a.Message,
	}
	for i, c := range cells {
		record[i] = guardFormula(c)
	}
}
