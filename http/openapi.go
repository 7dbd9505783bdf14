package http

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.1 description of every route routes()
// registers: parameters, request bodies, and the schema of every answer each
// status carries. openapi_test.go holds it true: each registered route is in
// it and each route in it is registered, and the answers a real server
// gives, success and error, validate against it, strictly (weft's objects
// take no members the document does not name). Change it with the handler.
//
//go:embed openapi.json
var openAPIDocument []byte

// handleOpenAPI serves GET /api/v1/openapi.json, the same document for
// every tenant and request.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
