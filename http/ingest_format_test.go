package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	wefthttp "github.com/weftxdr/weft/http"
)

// suricataLine is one EVE alert record, as Suricata writes it to eve.json.
func suricataLine(flow int) string {
	return fmt.Sprintf(`{"timestamp":%q,"flow_id":%d,"event_type":"alert","src_ip":"203.0.113.9","src_port":51234,"dest_ip":"10.0.0.5","dest_port":80,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2019714,"rev":2,"signature":"ET WEB_SERVER Possible SQL Injection","category":"Web Application Attack","severity":1}}`,
		strings.Replace(recent, "Z", "+0000", 1), flow)
}

// TestIngestFormatInPath checks POST /api/v1/ingest/{format}: the path names
// the format as ?format= does, an unknown name and a path and query that
// disagree are refused, and without either the format is told from the body.
func TestIngestFormatInPath(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	body := []byte(suricataLine(1) + "\n" + suricataLine(2) + "\n")
	for _, path := range []string{"/api/v1/ingest/suricata", "/api/v1/ingest/SURICATA?format=suricata", "/api/v1/alerts?format=suricata", "/api/v1/alerts"} {
		var got ingestAnswer
		resp := s.do(t, "POST", path, "application/x-ndjson", body, &got)
		if resp.StatusCode != http.StatusOK || got.Received != 2 || got.Rejected != 0 {
			t.Fatalf("POST %s: status %d, %+v; want 2 records, none rejected", path, resp.StatusCode, got)
		}
	}
	if n := s.alertCount(t); n != 2 {
		t.Fatalf("stored %d alerts, want 2 (the same two lines, sent four times)", n)
	}
	for path, want := range map[string]string{
		"/api/v1/ingest/cef":                   `format "cef" is not known`,
		"/api/v1/ingest/suricata?format=wazuh": `the path names format "suricata" and ?format= names "wazuh"`,
	} {
		var got errorAnswer
		resp := s.do(t, "POST", path, "application/x-ndjson", body, &got)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got.Error.Message, want) {
			t.Errorf("POST %s: status %d, %q; want 400 saying %q", path, resp.StatusCode, got.Error.Message, want)
		}
	}
	// The format named wins over what the body looks like: a Suricata line
	// sent as Wazuh is refused by the Wazuh decoder.
	var got ingestAnswer
	s.do(t, "POST", "/api/v1/ingest/wazuh", "application/x-ndjson", body, &got)
	if got.Rejected != 2 {
		t.Fatalf("Suricata lines sent as wazuh: %+v; want both rejected", got)
	}
}
