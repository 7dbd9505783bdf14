package http

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/weftxdr/weft"
)

// The audit log (docs/security.md): every state-changing request that
// names a principal is recorded once it has been answered, as action
// "request" with its method and path and an outcome by status; sign-in,
// sign-out, token and user changes are recorded by their handlers with
// their own actions, and a token's use by the AuthStore with its last-used
// time (token.use, at most once a minute per token; AuthStore.TokenPrincipalFrom). An entry never holds a body, a header or a query
// string, so it cannot hold a secret.

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxAuditTarget bounds the path an entry records.
const maxAuditTarget = 512

// auditTarget is the target of a request's audit entries: its method and
// path (never the query string, which may hold anything), cut to
// maxAuditTarget bytes.
func auditTarget(r *http.Request) string {
	target := r.Method + " " + r.URL.Path
	if len(target) > maxAuditTarget {
		target = target[:maxAuditTarget] + "…"
	}
	return target
}

// auditRequest appends the audit entry of a state-changing request that
// rec answered.
func (s *Server) auditRequest(r *http.Request, scope routeScope, info *authInfo, rec *statusRecorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	e := weft.AuditEntry{
		Actor: info.principal.Name, Kind: info.principal.Kind,
		Action: "request", Target: auditTarget(r), RemoteAddr: remoteHost(r), Outcome: "success",
	}
	if scope == scopeTenant {
		e.TenantID = truncateForMessage(tenantOf(r))
	}
	if status >= 400 {
		e.Outcome, e.Detail = "failure", strconv.Itoa(status)+" "+http.StatusText(status)
	}
	s.audit(context.WithoutCancel(r.Context()), e)
}

// audit appends entries, stamped with the server's clock. A failure is
// logged: the change it records has been made, and the client has its
// answer.
func (s *Server) audit(ctx context.Context, entries ...weft.AuditEntry) {
	now := s.now().UTC()
	for i := range entries {
		if entries[i].Time.IsZero() {
			entries[i].Time = now
		}
	}
	if err := s.auth.AppendAudit(ctx, entries...); err != nil {
		s.logger.Error("appending to the audit log", "action", entries[0].Action, "err", err)
	}
}

// auditColumns are the header row of the audit log's CSV export.
var auditColumns = []string{"id", "createdDateTime", "actor", "actorKind", "tenantId", "action", "target", "remoteAddr", "outcome", "detail"}

// handleListAudit serves GET /api/v1/audit, newest first: filters actor,
// action, tenantId, since and until (RFC 3339), paging with $top and $skip,
// and with format=csv the page as CSV (formula cells guarded).
func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Count {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "$count is not supported on the audit log"))
		return
	}
	q := weft.AuditQuery{Top: p.Top, Skip: p.Skip}
	asCSV := false
	for k, vs := range r.URL.Query() {
		if len(k) > 0 && k[0] == '$' {
			continue
		}
		if len(vs) > 1 {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "%s is given %d times; give it once", truncateForMessage(k), len(vs)))
			return
		}
		v := vs[0]
		switch k {
		case "actor":
			q.Actor = v
		case "action":
			q.Action = v
		case "tenantId":
			q.TenantID = v
		case "since", "until":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeError(w, r, weft.Errorf(weft.EINVALID, "%s: %q is not an RFC 3339 date-time", k, truncateForMessage(v)))
				return
			}
			if k == "since" {
				q.Since = t
			} else {
				q.Until = t
			}
		case "format":
			if v != "csv" && v != "json" {
				s.writeError(w, r, weft.Errorf(weft.EINVALID, "format: %q is not csv or json", truncateForMessage(v)))
				return
			}
			asCSV = v == "csv"
		default:
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "query parameter %q is not supported here; the audit log is filtered with actor, action, tenantId, since and until", truncateForMessage(k)))
			return
		}
	}
	entries, more, err := s.auth.ListAudit(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if entries == nil {
		entries = []weft.AuditEntry{}
	}
	if !asCSV {
		writeList(s, w, r, p, entries, 0, more)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="weft-audit.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write(auditColumns)
	for _, e := range entries {
		_ = cw.Write([]string{
			strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), guardFormula(e.Actor), string(e.Kind),
			guardFormula(e.TenantID), guardFormula(e.Action), guardFormula(e.Target), guardFormula(e.RemoteAddr),
			e.Outcome, guardFormula(e.Detail),
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.logger.Debug("writing the audit CSV", "err", err)
	}
}
