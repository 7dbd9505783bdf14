package http

import (
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// writeJSON sends v as JSON with the given status. Strings are escaped for
// HTML (<, >, &) so that attacker-controlled alert content is inert even if a
// client renders a response as HTML.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.MarshalWrite(w, v, jsonOptions...); err != nil {
		s.logger.Debug("writing response", "err", err)
	}
}

var jsonOptions = []json.Options{json.DefaultOptionsV2(), jsontext.EscapeForHTML(true)}
