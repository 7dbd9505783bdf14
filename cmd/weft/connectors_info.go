package main

import (
	"cmp"
	"slices"

	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/respond"
	commandconn "github.com/weftxdr/weft/respond/command"
	"github.com/weftxdr/weft/respond/simulator"
	"github.com/weftxdr/weft/respond/webhook"
)

// connectorsInfo is what GET /api/v1/response/connectors shows of the
// action service's connectors: each one's name and kind, and the connector
// of every action type (its own, or the default). Nothing of a
// connector's address, command line or secret is taken from it.
func connectorsInfo(o respond.Options) *wefthttp.ConnectorsInfo {
	def := cmp.Or(o.DefaultConnector, respond.DefaultConnector)
	info := &wefthttp.ConnectorsInfo{Default: def, Connectors: []wefthttp.ConnectorInfo{}, Actions: []wefthttp.ConnectorRoute{}}
	for name, c := range o.Connectors {
		kind := "other"
		switch c.(type) {
		case *simulator.Simulator:
			kind = "simulator"
		case *webhook.Webhook:
			kind = "webhook"
		case *commandconn.Command:
			kind = "command"
		}
		info.Connectors = append(info.Connectors, wefthttp.ConnectorInfo{Name: name, Kind: kind})
	}
	slices.SortFunc(info.Connectors, func(a, b wefthttp.ConnectorInfo) int { return cmp.Compare(a.Name, b.Name) })
	for _, typ := range weft.ActionTypes() {
		info.Actions = append(info.Actions, wefthttp.ConnectorRoute{Type: typ, Connector: cmp.Or(o.ConnectorFor[typ], def)})
	}
	return info
}
