package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const assetFile = `[
  {"id": "dc01", "kind": "device", "criticality": 3, "tags": ["domain controller"],
   "deviceDnsName": "dc01.contoso.com", "mdeDeviceId": "4f7a9c"},
  {"id": "kiosk", "kind": "device", "criticality": 9, "hostName": "kiosk-1"},
  {"id": "ceo", "kind": "user", "criticality": 2, "userPrincipalName": "ceo@contoso.com"}
]
`

// TestAssetsImport imports an inventory through the API and into a data
// directory, and checks that a served incident on the critical device has
// the asset's criticality among its priority factors.
func TestAssetsImport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "assets.json")
	if err := os.WriteFile(file, []byte(assetFile), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, err error, out, errb string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "1 records rejected") {
			t.Fatalf("got %v, want an error saying 1 record was rejected", err)
		}
		if !strings.Contains(out, "3 assets: 2 created, 0 updated, 0 unchanged, 1 rejected") ||
			!strings.Contains(errb, "line 4: rejected: criticality:") {
			t.Fatalf("stdout %q stderr %q: want 2 created and line 4 rejected", out, errb)
		}
	}

	t.Run("DataDir", func(t *testing.T) {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		check(t, run(context.Background(), []string{"assets", "import", "--data", dir, file}, &out, &errb), out.String(), errb.String())
		policy, err := readPolicy("")
		if err != nil {
			t.Fatal(err)
		}
		store, err := openStore(dir, "full", policy)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if a, err := store.FindAsset(context.Background(), "default", "dc01"); err != nil || a.Criticality != 3 {
			t.Fatalf("got %+v, %v; want dc01 with criticality 3", a, err)
		}
	})

	t.Run("URL", func(t *testing.T) {
		rs, token := startTestServer(t, serverConfig{})
		defer rs.Shutdown(context.Background())
		var out, errb bytes.Buffer
		check(t, run(context.Background(), []string{"assets", "import", "--url", rs.URL, "--token", token, "--batch", "2", file}, &out, &errb), out.String(), errb.String())

		// An alert on the domain controller, named by its MDE id only.
		at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		alert := `{"source":"edr","providerAlertId":"a1","title":"Credential dumping","severity":"high","category":"CredentialAccess",` +
			`"firstActivityDateTime":"` + at + `","evidence":[{"entityType":"device","mdeDeviceId":"4F7A9C"}]}`
		resp := apiRequest(t, http.MethodPost, rs.URL+"/api/v1/alerts", token, "application/json", strings.NewReader(alert))
		var ing struct {
			Results []struct {
				IncidentID string `json:"incidentId"`
			} `json:"results"`
		}
		err := json.NewDecoder(resp.Body).Decode(&ing)
		resp.Body.Close()
		if err != nil || len(ing.Results) != 1 {
			t.Fatalf("ingest: %v %+v", err, ing)
		}
		resp = apiRequest(t, http.MethodGet, rs.URL+"/api/v1/incidents/"+ing.Results[0].IncidentID, token, "", nil)
		defer resp.Body.Close()
		var inc struct {
			PriorityFactors []struct {
				Name   string `json:"name"`
				Points int    `json:"points"`
				Detail string `json:"detail"`
			} `json:"priorityFactors"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range inc.PriorityFactors {
			found = found || f.Name == "assetCriticality" && f.Points == 18 && strings.Contains(f.Detail, "criticality 3")
		}
		if !found {
			t.Errorf("got factors %+v, want assetCriticality 18 for criticality 3", inc.PriorityFactors)
		}
	})

	t.Run("ErrNoSubcommand", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"assets", "export"}, &out, &errb); err == nil {
			t.Fatal("got no error, want one")
		}
	})
}
