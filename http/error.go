package http

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/weftxdr/weft"
)

// statusByCode maps weft error codes to HTTP status codes; anything not listed
// is a 500.
var statusByCode = map[string]int{
	weft.EINVALID:         http.StatusBadRequest,
	weft.ENOTFOUND:        http.StatusNotFound,
	weft.ECONFLICT:        http.StatusConflict,
	weft.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	weft.EUNAVAILABLE:     http.StatusServiceUnavailable,
	weft.EUNSUPPORTED:     http.StatusBadRequest,
	weft.EPRECONDITION:    http.StatusPreconditionFailed,
	weft.EUNAUTHENTICATED: http.StatusUnauthorized,
	weft.EFORBIDDEN:       http.StatusForbidden,
	weft.ETOOMANY:         http.StatusTooManyRequests,
	codeUnsupportedMedia:  http.StatusUnsupportedMediaType,
}

// codeUnsupportedMedia is the error code of a request body in a media type
// weft does not read.
const codeUnsupportedMedia = "unsupported_media_type"

// errorBody is the JSON form of every error response, in the shape Graph uses:
// {"error":{"code":"…","message":"…"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError sends err as a JSON error. A *weft.Error is shown as it is; any
// other error is logged and shown only as "internal error", so that no driver
// detail or secret reaches a client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := weft.ErrorCode(err), weft.ErrorMessage(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
		s.logger.Error("request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	s.writeJSON(w, status, errorBody{errorDetail{code, msg}})
}

// writePageError answers a page request that failed before its page could
// be rendered (a store failure, a rate limit, a role too weak) with the
// status writeError would give and the error as plain text, which a
// browser shows as it is, rather than as JSON; an internal error is logged
// and shown only as "internal error", as writeError does.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := weft.ErrorCode(err), weft.ErrorMessage(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
		s.logger.Error("page request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "weft could not show this page: "+msg+"\n\nReload the page to try again; if it keeps failing, tell the administrator of this weft server.\n")
}
