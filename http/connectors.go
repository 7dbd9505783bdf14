package http

import (
	"net/http"

	"github.com/weftxdr/weft"
)

// ConnectorsInfo is what GET /api/v1/response/connectors shows of the
// server's response-action connectors (configured by weft serve's flags or
// --connectors file, docs/connectors.md): their names and kinds, and which
// one runs each action type. It never holds an address, a path or a
// secret: those stay in the server's configuration.
type ConnectorsInfo struct {
	// Default runs every action type Actions does not name.
	Default    string          `json:"default"`
	Connectors []ConnectorInfo `json:"connectors"`
	// Actions is every action type of the catalogue with the connector
	// that runs it, sorted by type.
	Actions []ConnectorRoute `json:"actions"`
}

// ConnectorInfo is one connector: its name and kind ("simulator",
// "webhook", "command").
type ConnectorInfo struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// ConnectorRoute is the connector an action type is sent to.
type ConnectorRoute struct {
	Type      string `json:"type"`
	Connector string `json:"connector"`
}

// handleResponseConnectors serves GET /api/v1/response/connectors. The
// connectors are the server's, the same for every tenant; a server made
// without them (Options.Connectors nil, as in tests) answers 404.
func (s *Server) handleResponseConnectors(w http.ResponseWriter, r *http.Request) {
	if s.opts.Connectors == nil {
		s.writeError(w, r, weft.Errorf(weft.ENOTFOUND, "this server reports no response-action connectors"))
		return
	}
	s.writeJSON(w, http.StatusOK, s.opts.Connectors)
}
