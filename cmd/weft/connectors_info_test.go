package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	wefthttp "github.com/weftxdr/weft/http"
)

func TestConnectorsInfo(t *testing.T) {
	cfg := connectorsConfig{
		Actions:  map[string]string{"isolate": "edr-script", "release": "edr-script"},
		Commands: []commandConfig{{Name: "edr-script", Path: "/bin/true"}},
	}
	rt, err := cfg.build(slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	info := connectorsInfo(rt.Options)
	if info.Default != "simulator" {
		t.Errorf("default %q, want simulator", info.Default)
	}
	if want := []wefthttp.ConnectorInfo{{Name: "edr-script", Kind: "command"}, {Name: "simulator", Kind: "simulator"}}; !slices.Equal(info.Connectors, want) {
		t.Errorf("connectors %v, want %v", info.Connectors, want)
	}
	got := map[string]string{}
	for _, a := range info.Actions {
		got[a.Type] = a.Connector
	}
	if got["isolate"] != "edr-script" || got["release"] != "edr-script" || got["disable"] != "simulator" {
		t.Errorf("routes %v: isolate and release go to edr-script, the rest to the simulator", got)
	}
	for _, a := range info.Actions {
		if strings.Contains(a.Connector, "/") {
			t.Errorf("a route shows a path: %v", a)
		}
	}
}
