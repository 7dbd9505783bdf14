package http

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// writeJSON sends v as JSON with the given status. Strings are escaped for
// HTML (<, >, &) so that attacker-controlled alert content is inert even if a
// client renders a response as HTML.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	setSecurityHeaders(w.Header())
	w.WriteHeader(status)
	if err := json.MarshalWrite(w, v, jsonOptions...); err != nil {
		s.logger.Debug("writing response", "err", err)
	}
}

// setSecurityHeaders sets the headers that keep an answer inert in a
// browser, whatever it holds: no content sniffing (a JSON or CSV body is
// never run as HTML or script), a Content-Security-Policy that allows the
// document to load nothing and to be framed by no page, and no referrer.
// guard sets them on every answer of the route table before the handler
// runs, writeJSON on every JSON answer (the "/api/" catch-all too); no
// route of the API serves a page, so nothing is lost.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

var jsonOptions = []json.Options{json.DefaultOptionsV2(), jsontext.EscapeForHTML(true)}

// readBody reads a request body of at most limit bytes. A body declared or
// found larger is an ETOOLARGE error that says tooLarge; any other failure
// to read it is EINVALID.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, tooLarge string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, weft.Errorf(weft.ETOOLARGE, "request body is %d bytes; %s", r.ContentLength, tooLarge)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, weft.Errorf(weft.ETOOLARGE, "request body is larger than allowed; %s", tooLarge)
		}
		return nil, weft.Errorf(weft.EINVALID, "reading the request body: %v", err)
	}
	return body, nil
}

// bodyLimit says what the ingest body limit is, for readBody's errors.
func (s *Server) bodyLimit() string {
	return fmt.Sprintf("the limit is %d bytes (send smaller batches)", s.opts.MaxBodyBytes)
}
