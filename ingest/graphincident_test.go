package ingest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// graphAlert returns a compact Graph alert with the given id and extra
// members (each `"name":value`).
func graphAlert(id string, extra ...string) string {
	m := append([]string{`"@odata.type":"#microsoft.graph.security.alert"`, `"id":"` + id + `"`, `"title":"alert ` + id + `"`,
		`"serviceSource":"microsoftDefenderForEndpoint"`, `"severity":"high"`, `"firstActivityDateTime":"2026-11-27T08:00:00Z"`,
		`"evidence":[{"@odata.type":"#microsoft.graph.security.deviceEvidence","deviceDnsName":"ws-1.contoso.com"}]`}, extra...)
	return "{" + strings.Join(m, ",") + "}"
}

// graphIncident returns a Graph incident with its alerts, one member a line
// (so that lines can be checked), and the given extra members.
func graphIncident(id string, alerts []string, extra ...string) string {
	m := append([]string{`"id":"` + id + `"`, `"displayName":"incident ` + id + `"`, `"status":"active"`,
		`"lastUpdateDateTime":"2026-11-27T12:00:00Z"`}, extra...)
	m = append(m, `"alerts":[`+strings.Join(alerts, ",\n")+`]`)
	return "{" + strings.Join(m, ",\n") + "}"
}

func TestDecodeGraphIncidentExport(t *testing.T) {
	body := readTestdata(t, "graph_incidents_export.json")
	recs, err := Decode(body, false, FormatAuto, Limits{}, now)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs)
	// Three incidents with 3, 2 and 2 alerts, and a redirected one without
	// alerts, which yields none.
	want := []struct {
		incident      string
		line          int
		title         string
		determination weft.Determination
	}{
		{"graph-incident/2972395", 5, "Email messages containing malicious URL removed after delivery", weft.DeterminationPhishing},
		{"graph-incident/2972395", 5, "Suspicious PowerShell download or encoded command execution", weft.DeterminationCompromisedAccount},
		{"graph-incident/2972395", 5, "Anomalous Token", weft.DeterminationUnknown},
		{"graph-incident/2972401", 425, "Atypical travel", weft.DeterminationNotMalicious},
		{"graph-incident/2972401", 425, "Impossible travel activity", weft.DeterminationNotEnoughDataToValidate}, // "insufficientData"
		{"graph-incident/2972410", 639, "Privileged container detected", weft.DeterminationUnknown},
		{"graph-incident/2972410", 639, "Suspicious download followed by a shell command in a container", weft.DeterminationConfirmedActivity}, // "confirmedUserActivity"
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		a := r.Alert
		if r.SourceIncident != w.incident || r.Line != w.line || a.Title != w.title || a.Determination != w.determination {
			t.Errorf("record %d: got %s line %d %q %s; want %s line %d %q %s", i, r.SourceIncident, r.Line, a.Title, a.Determination,
				w.incident, w.line, w.title, w.determination)
		}
		if a.Import == nil || a.Import.Key() != w.incident {
			t.Fatalf("record %d: Import %+v, want incident %s", i, a.Import, w.incident)
		}
		if a.TenantID != "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c" || a.Raw == nil || !bytes.HasPrefix(a.Raw, []byte("{")) {
			t.Errorf("record %d: tenant %q, raw %.40s", i, a.TenantID, a.Raw)
		}
	}
	if recs[0].Alert.Import != recs[2].Alert.Import {
		t.Error("the alerts of one incident do not share its import")
	}

	tm := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return &v }
	got := *recs[0].Alert.Import
	wantImp := weft.IncidentImport{
		Source: "graph-incident", ID: "2972395",
		DisplayName:    "Multi-stage incident involving Initial access & Execution on one endpoint reported by multiple sources",
		Status:         weft.IncidentStatusInProgress,
		Classification: weft.ClassificationTruePositive,
		Determination:  weft.DeterminationCompromisedAccount, // sent as the legacy "compromisedUser"
		AssignedTo:     "soc-tier2@contoso.com",
		CustomTags:     []string{"Phishing campaign", "VIP"},
		SystemTags:     []string{"Defender Experts"},
		Comments: []weft.Comment{
			{Comment: "User reported the mail to the helpdesk at 08:20.", CreatedByDisplayName: "analyst1@contoso.com", CreatedDateTime: *tm("2026-11-27T09:15:02.11Z")},
			{Comment: "Device isolated; password reset requested.", CreatedByDisplayName: "soc-tier2@contoso.com", CreatedDateTime: *tm("2026-11-27T10:41:37.9Z")},
		},
		CreatedDateTime:    tm("2026-11-27T08:14:09.4411Z"),
		LastUpdateDateTime: tm("2026-11-27T16:02:11.52Z"),
	}
	if !reflect.DeepEqual(got, wantImp) {
		t.Errorf("incident 2972395:\n got %+v\nwant %+v", got, wantImp)
	}
	resolved := recs[3].Alert.Import
	if resolved.Status != weft.IncidentStatusResolved || resolved.Classification != weft.ClassificationFalsePositive ||
		resolved.Determination != weft.DeterminationNotMalicious || // sent as the legacy "clean"
		resolved.ResolvingComment != "VPN egress in a new region; confirmed with the user." || len(resolved.Comments) != 1 {
		t.Errorf("incident 2972401: %+v", resolved)
	}
	if k8s := recs[5].Alert.Import; k8s.ID != "2972410" || k8s.AssignedTo != "" || !reflect.DeepEqual(k8s.CustomTags, []string{"aks-prod"}) {
		t.Errorf("incident 2972410 (a numeric id): %+v", k8s)
	}
	// The alerts are Graph alerts as any other: the incident id is kept,
	// evidence of types weft does not interpret is generic.
	if !bytes.Contains(recs[5].Alert.AdditionalData, []byte(`"graphIncidentId":"2972410"`)) {
		t.Errorf("additionalData %s", recs[5].Alert.AdditionalData)
	}
	if e := recs[5].Alert.Evidence[2]; e.EntityType != weft.EntityGeneric || !bytes.Contains(e.Properties, []byte("payments-api-7d9c6b5f4-xk2lp")) {
		t.Errorf("pod evidence %+v", e)
	}
}

func TestDecodeGraphIncidentBodies(t *testing.T) {
	a1, a2, a3 := graphAlert("da1"), graphAlert("da2"), graphAlert("da3")
	inc1 := graphIncident("1", []string{a1, a2})
	inc2 := graphIncident("2", []string{a3})
	compact := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
	for _, tc := range []struct {
		name   string
		body   string
		ndjson bool
		format Format
		want   []string // SourceIncident of each record
	}{
		{"OneIncident", inc1, false, FormatAuto, []string{"graph-incident/1", "graph-incident/1"}},
		{"ListResponse", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/incidents(alerts())","value":[` + inc1 + `,` + inc2 + `]}`,
			false, FormatAuto, []string{"graph-incident/1", "graph-incident/1", "graph-incident/2"}},
		{"Array", "[" + inc1 + "," + inc2 + "]", false, FormatAuto, []string{"graph-incident/1", "graph-incident/1", "graph-incident/2"}},
		{"NDJSON", compact(inc1) + "\n" + compact(inc2) + "\n", true, FormatAuto, []string{"graph-incident/1", "graph-incident/1", "graph-incident/2"}},
		{"NDJSONWithoutContentType", compact(inc1) + "\n" + compact(inc2) + "\n", false, FormatAuto, []string{"graph-incident/1", "graph-incident/1", "graph-incident/2"}},
		{"FormatGraph", inc2, false, FormatGraph, []string{"graph-incident/2"}},
		{"NumericID", strings.Replace(inc2, `"id":"2"`, `"id":2`, 1), false, FormatAuto, []string{"graph-incident/2"}},
		{"IncidentBesideAlerts", "[" + a1 + "," + inc2 + "]", false, FormatAuto, []string{"", "graph-incident/2"}},
		{"ListOfAlerts", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2","value":[` + a1 + "," + a2 + `]}`,
			false, FormatAuto, []string{"", ""}},
		{"EmptyList", `{"@odata.context":"x","value":[]}`, false, FormatAuto, nil},
		{"EmptyIncident", graphIncident("9", nil), false, FormatAuto, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := decode(t, tc.body, tc.ndjson, tc.format)
			var got []string
			for _, r := range recs {
				if r.Err != nil {
					t.Fatalf("record %d: %v", r.Index, r.Err)
				}
				got = append(got, r.SourceIncident)
				if (r.Alert.Import != nil) != (r.SourceIncident != "") {
					t.Errorf("record %d: Import %v with SourceIncident %q", r.Index, r.Alert.Import, r.SourceIncident)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got incidents %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("ListNextLink", func(t *testing.T) {
		recs := decode(t, `{"@odata.context":"x","value":[`+a1+`,`+a2+`],"@odata.nextLink":"https://graph.microsoft.com/v1.0/security/alerts_v2?$skip=2"}`, false, FormatAuto)
		if len(recs) != 2 || !hasWarning(recs[0].Warnings, "@odata.nextLink") || hasWarning(recs[1].Warnings, "@odata.nextLink") {
			t.Fatalf("got %d records, warnings %q", len(recs), recs[0].Warnings)
		}
	})
	t.Run("FormatWeftDoesNotUnwrap", func(t *testing.T) {
		recs := decode(t, `{"value":[`+a1+`]}`, false, FormatWeft)
		if len(recs) != 1 || recs[0].Err == nil {
			t.Fatalf("got %+v", recs)
		}
	})
	t.Run("AlertWithValueIsNoList", func(t *testing.T) {
		// A "value" member beside alert properties is an alert's (kept in
		// graphUnmapped), not a list.
		r := one(t, graphAlert("da9", `"value":[1]`), FormatAuto)
		if r.Err != nil || !bytes.Contains(r.Alert.AdditionalData, []byte("graphUnmapped")) {
			t.Fatalf("got %+v, %v", r.Alert, r.Err)
		}
	})
	t.Run("CommentWithoutTimeTakesTheIncidentsLastUpdate", func(t *testing.T) {
		r := one(t, graphIncident("5", []string{a1}, `"comments":[{"comment":"c","createdByDisplayName":"x"}]`), FormatAuto)
		if c := r.Alert.Import.Comments; len(c) != 1 || !c[0].CreatedDateTime.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
			t.Fatalf("comments %+v", c)
		}
	})
	t.Run("RedirectedIncident", func(t *testing.T) {
		inc := strings.Replace(graphIncident("7", []string{a1}, `"redirectIncidentId":"8"`, `"assignedTo":"x"`), `"status":"active"`, `"status":"redirected"`, 1)
		r := one(t, inc, FormatAuto)
		if r.Err != nil || r.SourceIncident != "graph-incident/8" || r.Alert.Import.AssignedTo != "" || r.Alert.Import.Status != "" ||
			!hasWarning(r.Warnings, "was merged into incident 8") {
			t.Fatalf("got %q %+v %q %v", r.SourceIncident, r.Alert.Import, r.Warnings, r.Err)
		}
	})
	t.Run("UnknownIncidentPropertiesWarn", func(t *testing.T) {
		recs := decode(t, graphIncident("6", []string{a1, a2}, `"severity":"high"`, `"colour":"red"`, `"alerts@odata.context":"x"`), false, FormatAuto)
		if !hasWarning(recs[0].Warnings, "not Graph incident properties were ignored: colour") || len(recs[1].Warnings) != 0 {
			t.Fatalf("warnings %q, %q", recs[0].Warnings, recs[1].Warnings)
		}
	})
}

// TestDecodeGraphIncidentErrorsAreLocated holds the rule that an error in an
// alert of an incident names the alert within the incident (its field path
// starts with alerts[k]) at the incident's line, and costs that alert only.
func TestDecodeGraphIncidentErrorsAreLocated(t *testing.T) {
	a := func(id string) string { return graphAlert(id) }
	t.Run("BadAlert", func(t *testing.T) {
		inc1 := graphIncident("1", []string{a("da1"), a("da2")})
		inc2 := graphIncident("2", []string{a("da3"), a("da4"), strings.Replace(a("da5"), `"severity":"high"`, `"severity":"severe"`, 1)})
		body := `{"value":[` + inc1 + ",\n" + inc2 + "\n]}"
		recs := decode(t, body, false, FormatAuto)
		if len(recs) != 5 {
			t.Fatalf("got %d records", len(recs))
		}
		line2 := 1 + strings.Count(body[:strings.Index(body, `{"id":"2"`)], "\n")
		e := recs[4].Err
		if e == nil || e.Index != 4 || e.Line != line2 || e.Field != "alerts[2].severity" || !strings.Contains(e.Message, `"severe" is not a valid value`) {
			t.Fatalf("got %v, want record 4 at line %d, alerts[2].severity", e, line2)
		}
		if got, want := e.Error(), fmt.Sprintf("record 5 (line %d): alerts[2].severity: ", line2); !strings.HasPrefix(got, want) {
			t.Errorf("got %q, want it to start with %q", got, want)
		}
		for _, r := range recs[:4] {
			if r.Err != nil {
				t.Errorf("record %d: %v", r.Index, r.Err)
			}
		}
	})
	t.Run("AlertsOfTwoTenants", func(t *testing.T) {
		body := graphIncident("1", []string{graphAlert("da1", `"tenantId":"t1"`), graphAlert("da2", `"tenantId":"t2"`), graphAlert("da3", `"tenantId":"t1"`)})
		recs := decode(t, body, false, FormatAuto)
		if len(recs) != 3 || recs[0].Err != nil || recs[2].Err != nil {
			t.Fatalf("got %s, want the first and third alert", describe(recs))
		}
		if e := recs[1].Err; e == nil || e.Field != "alerts[1].tenantId" || !strings.Contains(e.Message, `names tenant "t2", but the incident's first alert is in "t1"`) {
			t.Fatalf("got %v, want alerts[1].tenantId refused", e)
		}
	})
	t.Run("BadIncidentWithoutAlerts", func(t *testing.T) {
		// No alert carries the incident's error: one record does.
		body := strings.Replace(graphIncident("1", nil), `"status":"active"`, `"status":"bogus"`, 1)
		recs := decode(t, body, false, FormatAuto)
		if len(recs) != 1 || recs[0].Err == nil || recs[0].Err.Field != "status" {
			t.Fatalf("got %s, want one record refusing status", describe(recs))
		}
	})
	t.Run("SyntaxErrorInOneAlert", func(t *testing.T) {
		bad := strings.Replace(a("da2"), `"title":`, `"title"`, 1)
		body := graphIncident("1", []string{a("da1"), bad, a("da3")})
		recs := decode(t, body, false, FormatAuto)
		if len(recs) != 3 || recs[0].Err != nil || recs[2].Err != nil {
			t.Fatalf("got %+v", recs)
		}
		if e := recs[1].Err; e == nil || !strings.HasPrefix(e.Field, "alerts[1]") || !strings.Contains(e.Message, "invalid JSON at line") || e.Line != 1 {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("BrokenAlertsArray", func(t *testing.T) {
		body := graphIncident("1", []string{a("da1"), `{"id":"da2","title":"x"`}) // the second alert is not closed
		recs, err := Decode([]byte(body), false, FormatAuto, Limits{}, now)
		if err != nil {
			t.Fatal(err)
		}
		checkRecords(t, recs)
		if len(recs) == 0 || recs[len(recs)-1].Err == nil {
			t.Fatalf("got %+v", recs)
		}
	})
	for _, tc := range []struct {
		name, body, field, msg string
		n                      int
	}{
		{"BadIncidentStatus", strings.Replace(graphIncident("1", []string{a("da1"), a("da2")}), `"active"`, `"closed"`, 1), "status", `"closed" is not a valid value`, 2},
		{"BadIncidentTime", graphIncident("1", []string{a("da1")}, `"createdDateTime":"2026-11-27T08:00:00"`), "createdDateTime", "has no time zone offset", 1},
		{"BadTags", graphIncident("1", []string{a("da1")}, `"customTags":"vip"`), "customTags", "expected an array of strings, got a string", 1},
		{"BadComment", graphIncident("1", []string{a("da1")}, `"comments":[{"comment":1}]`), "comments[0].comment", "expected a string, got a number", 1},
		{"NoID", strings.Replace(graphIncident("1", []string{a("da1")}), `"id":"1",`, "", 1), "id", "is required", 1},
		{"DuplicateName", graphIncident("1", []string{a("da1")}, `"displayName":"again"`), "displayName", "appears twice", 1},
		{"RedirectedWithoutTarget", strings.Replace(graphIncident("1", []string{a("da1")}), `"active"`, `"redirected"`, 1), "redirectIncidentId", "is required when status is redirected", 1},
		{"AlertsNotAnArray", `{"value":[{"id":"1","displayName":"x","alerts":{}}]}`, "alerts", "expected an array of alerts, got an object", 1},
		{"IncidentWithoutAlerts", `{"@odata.context":"x","value":[{"id":"1","displayName":"x","status":"active"}]}`, "alerts", "$expand=alerts", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := decode(t, tc.body, false, FormatAuto)
			if len(recs) != tc.n {
				t.Fatalf("got %d records, want %d", len(recs), tc.n)
			}
			for _, r := range recs {
				if r.Err == nil || r.Err.Field != tc.field || !strings.Contains(r.Err.Message, tc.msg) {
					t.Fatalf("record %d: got %v, want %s: …%s…", r.Index, r.Err, tc.field, tc.msg)
				}
			}
		})
	}
	t.Run("ErrTooManyRecords", func(t *testing.T) {
		_, err := Decode([]byte(graphIncident("1", []string{a("da1"), a("da2"), a("da3")})), false, FormatAuto, Limits{MaxRecords: 2}, now)
		if weft.ErrorCode(err) != weft.ETOOLARGE {
			t.Fatalf("got %v, want ETOOLARGE", err)
		}
	})
	t.Run("AlertSizeLimitHoldsPerAlert", func(t *testing.T) {
		// The incident is larger than the record limit; each alert is not,
		// except the big one.
		big := graphAlert("da9", `"description":"`+strings.Repeat("x", 3000)+`"`)
		recs := decode2(t, graphIncident("1", []string{a("da1"), a("da2"), big}), Limits{MaxRecordBytes: 2000})
		if recs[0].Err != nil || recs[1].Err != nil || recs[2].Err == nil || !strings.Contains(recs[2].Err.Message, "the limit is 2000 bytes") {
			t.Fatalf("got %v, %v, %v", recs[0].Err, recs[1].Err, recs[2].Err)
		}
	})
}

// decode2 is decode with limits.
func decode2(t *testing.T, body string, lim Limits) []Record {
	t.Helper()
	recs, err := Decode([]byte(body), false, FormatAuto, lim, now)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkRecords(t, recs)
	return recs
}

// TestDecodeGraphEvidenceLongTail decodes one item of every alertEvidence
// subtype of the reference (§6.3): the types weft interprets are mapped, the
// others kept as generic evidence with all their properties.
func TestDecodeGraphEvidenceLongTail(t *testing.T) {
	ip := `{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"10.1.2.3"}`
	azure := `{"@odata.type":"#microsoft.graph.security.azureResourceEvidence","resourceId":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/contosostorage","resourceName":"contosostorage","resourceType":"Microsoft.Storage/storageAccounts"}`
	user := `{"@odata.type":"#microsoft.graph.security.userEvidence","userAccount":{"accountName":"jdoe","domainName":"CONTOSO"}}`
	device := `{"@odata.type":"#microsoft.graph.security.deviceEvidence","deviceDnsName":"ws-1.contoso.com"}`
	for _, tc := range []struct {
		typ   string
		props string
		want  weft.EntityType // "" for generic
	}{
		{"amazonResourceEvidence", `"amazonAccountId":"123456789012","amazonResourceId":"arn:aws:ec2:us-east-1:123456789012:instance/i-0abcd","resourceName":"web-1","resourceType":"AWS::EC2::Instance"`, weft.EntityCloudResource},
		{"analyzedMessageEvidence", `"networkMessageId":"3f4c1a6e","subject":"Invoice","recipientEmailAddress":"jdoe@contoso.com","p1Sender":{"emailAddress":"a@fabrikam.com"}`, weft.EntityEmailMessage},
		{"azureResourceEvidence", `"resourceId":"/subscriptions/s/resourceGroups/rg","resourceName":"rg","resourceType":"Microsoft.Resources/resourceGroups"`, weft.EntityCloudResource},
		{"blobContainerEvidence", `"name":"backups","storageResource":` + azure + `,"summary":"","url":"https://contosostorage.blob.core.windows.net/backups"`, ""},
		{"blobEvidence", `"blobContainer":{"name":"backups"},"etag":"0x8DB","fileHashes":[{"algorithm":"sha256","value":"2f6a0d8c"}],"name":"db.bak","url":"https://contosostorage.blob.core.windows.net/backups/db.bak"`, ""},
		{"cloudApplicationEvidence", `"appId":11161,"displayName":"Office 365","instanceName":"Office 365"`, weft.EntityCloudApplication},
		{"cloudLogonRequestEvidence", `"requestId":"8c1f2d3e"`, ""},
		{"cloudLogonSessionEvidence", `"account":` + user + `,"browser":"Chrome","operatingSystem":"Windows","sessionId":"s1","userAgent":"Mozilla/5.0"`, ""},
		{"containerEvidence", `"containerId":"containerd://9f8e","name":"api","image":{"imageId":"contosoacr.azurecr.io/api:1"},"isPrivileged":true,"command":["/bin/sh"],"args":["-c","id"],"pod":{"name":"api-1"}`, ""},
		{"containerImageEvidence", `"imageId":"contosoacr.azurecr.io/api:1","digestImage":null,"registry":{"registry":"contosoacr.azurecr.io"}`, ""},
		{"containerRegistryEvidence", `"registry":"contosoacr.azurecr.io"`, ""},
		{"deviceEvidence", `"mdeDeviceId":"73e7e2de","deviceDnsName":"ws-1.contoso.com","vmMetadata":{"vmId":"v1","cloudProvider":"azure"}`, weft.EntityDevice},
		{"dnsEvidence", `"domainName":"evil.example","dnsServerIp":` + ip + `,"hostIpAddress":` + ip + `,"ipAddresses":[` + ip + `]`, weft.EntityDomain},
		{"fileEvidence", `"fileDetails":{"fileName":"a.exe","sha256":"2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c"}`, weft.EntityFile},
		{"fileHashEvidence", `"algorithm":"sha256","value":"2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c2f6a0d8c"`, ""},
		{"gitHubOrganizationEvidence", `"company":"Contoso","displayName":"contoso","email":"sec@contoso.com","login":"contoso","orgId":"123","webUrl":"https://github.com/contoso"`, ""},
		{"gitHubRepoEvidence", `"baseUrl":"https://github.com/contoso/api","login":"contoso","owner":"contoso","ownerType":"Organization","repoId":"456","visibility":"private"`, ""},
		{"gitHubUserEvidence", `"email":"jdoe@contoso.com","login":"jdoe","name":"Jane Doe","userId":"789","webUrl":"https://github.com/jdoe"`, ""},
		{"googleCloudResourceEvidence", `"fullResourceName":"//compute.googleapis.com/projects/p/zones/z/instances/i","location":"us-central1","locationType":"regional","projectId":"p","projectNumber":123,"resourceName":"i","resourceType":"compute.instances"`, weft.EntityCloudResource},
		{"hostLogonSessionEvidence", `"account":` + user + `,"host":` + device + `,"sessionId":"s2","startUtcDateTime":"2026-11-27T08:00:00Z","endUtcDateTime":"2026-11-27T09:00:00Z"`, ""},
		{"ioTDeviceEvidence", `"deviceId":"iot-1","deviceName":"PLC-7","ipAddress":` + ip + `,"macAddress":"00-15-5D-01-02-03","manufacturer":"Siemens","model":"S7-1500","protocols":["Profinet"],"owners":[]`, ""},
		{"ipEvidence", `"ipAddress":"203.0.113.7","countryLetterCode":"NL","location":{"city":"Amsterdam"}`, weft.EntityIP},
		{"kubernetesClusterEvidence", `"name":"aks-prod","distribution":"AKS","platform":"aks","version":"1.29","cloudResource":` + azure, ""},
		{"kubernetesControllerEvidence", `"name":"api","type":"ReplicaSet","labels":{"app":"api"},"namespace":{"name":"payments"}`, ""},
		{"kubernetesNamespaceEvidence", `"name":"payments","labels":{"team":"payments"},"cluster":{"name":"aks-prod"}`, ""},
		{"kubernetesPodEvidence", `"name":"api-1","containers":[{"name":"api"}],"podIp":` + ip + `,"labels":{"app":"api"}`, ""},
		{"kubernetesSecretEvidence", `"name":"db-password","namespace":{"name":"payments"},"secretType":"Opaque"`, ""},
		{"kubernetesServiceAccountEvidence", `"name":"default","namespace":{"name":"payments"}`, ""},
		{"kubernetesServiceEvidence", `"name":"api","clusterIP":` + ip + `,"externalIPs":[],"servicePorts":[{"port":443,"protocol":"TCP"}],"serviceType":"clusterIP","selector":{"app":"api"}`, ""},
		{"mailboxConfigurationEvidence", `"configurationId":"c1","configurationType":"mailForwardingRule","displayName":"fwd","mailboxPrimaryAddress":"jdoe@contoso.com","upn":"jdoe@contoso.com","externalDirectoryObjectId":"6a2ae39e"`, ""},
		{"mailboxEvidence", `"primaryAddress":"jdoe@contoso.com","displayName":"Jane Doe","upn":"jdoe@contoso.com"`, weft.EntityMailbox},
		{"mailClusterEvidence", `"clusterBy":"Subject","clusterByValue":"Invoice","emailCount":12,"networkMessageIds":["3f4c1a6e"]`, weft.EntityMailCluster},
		{"malwareEvidence", `"category":"Trojan","name":"Trojan:Win32/Wacatac","files":[{"@odata.type":"#microsoft.graph.security.fileEvidence","fileDetails":{"fileName":"a.exe"}}],"processes":[]`, ""},
		{"networkConnectionEvidence", `"destinationAddress":` + ip + `,"destinationPort":443,"protocol":"tcp","sourceAddress":` + ip + `,"sourcePort":50123`, ""},
		{"nicEvidence", `"ipAddress":` + ip + `,"macAddress":"00-15-5D-01-02-03","vlans":["10"]`, ""},
		{"oauthApplicationEvidence", `"appId":"8c0f2bd4","displayName":"Mail Reader","objectId":"1f3e0c9a","publisher":"Fabrikam"`, weft.EntityOAuthApplication},
		{"processEvidence", `"processId":7712,"processCommandLine":"cmd /c whoami","imageFile":{"fileName":"cmd.exe"},"mdeDeviceId":"73e7e2de"`, weft.EntityProcess},
		{"registryKeyEvidence", `"registryHive":"HKEY_LOCAL_MACHINE","registryKey":"SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run"`, weft.EntityRegistryKey},
		{"registryValueEvidence", `"registryHive":"HKEY_LOCAL_MACHINE","registryKey":"SOFTWARE\\Run","registryValueName":"updater","registryValue":"c:\\a.exe","registryValueType":"String"`, weft.EntityRegistryValue},
		{"sasTokenEvidence", `"allowedIpAddresses":"*","allowedResourceTypes":["blob"],"allowedServices":["blob"],"expiryDateTime":"2026-12-31T00:00:00Z","permissions":["read","list"],"protocol":"https","signatureHash":"abc","signedWith":"key1","startDateTime":"2026-11-27T00:00:00Z","storageResource":` + azure, ""},
		{"securityGroupEvidence", `"securityGroupId":"4e5f","displayName":"Domain Admins"`, weft.EntitySecurityGroup},
		{"servicePrincipalEvidence", `"appId":"8c0f2bd4","appOwnerTenantId":"b3c1b5fc","servicePrincipalName":"Mail Reader","servicePrincipalObjectId":"1f3e0c9a","servicePrincipalType":"application","tenantId":"b3c1b5fc"`, ""},
		{"submissionMailEvidence", `"networkMessageId":"3f4c1a6e","recipient":"jdoe@contoso.com","reportType":"phish","sender":"a@fabrikam.com","senderIp":"203.0.113.7","subject":"Invoice","submissionDateTime":"2026-11-27T09:00:00Z","submissionId":"sub1","submitter":"jdoe@contoso.com"`, ""},
		{"urlEvidence", `"url":"https://evil.example/login"`, weft.EntityURL},
		{"userEvidence", `"userAccount":{"accountName":"jdoe","domainName":"CONTOSO","userSid":"S-1-5-21-1-2-3-1104"}`, weft.EntityUser},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			item := `{"@odata.type":"#microsoft.graph.security.` + tc.typ + `","verdict":"suspicious","roles":["contextual"],` + tc.props + `}`
			// Inside an incident export, as such evidence usually comes.
			r := one(t, graphIncident("1", []string{graphAlertWith(item)}), FormatAuto)
			if r.Err != nil {
				t.Fatalf("rejected: %v", r.Err)
			}
			e := r.Alert.Evidence[0]
			if e.Verdict != "suspicious" || len(e.Roles) != 1 || e.OdataType != "#microsoft.graph.security."+tc.typ {
				t.Errorf("common properties: %+v", e)
			}
			if tc.want != "" {
				if e.EntityType != tc.want || len(e.Identifiers()) == 0 {
					t.Errorf("got type %q with identifiers %v, want %q", e.EntityType, e.Identifiers(), tc.want)
				}
				return
			}
			if e.EntityType != weft.EntityGeneric || !reflect.DeepEqual(object(t, e.Properties), object(t, []byte(item))) {
				t.Errorf("got %q with properties %s, want generic with all of %s", e.EntityType, e.Properties, item)
			}
		})
	}
}

// TestDecodeRawEventsAreRefused decodes the Golden SAML samples (OTRF
// Security Datasets): raw Microsoft 365 Defender, Entra ID audit, Office and
// Windows events, none of them an alert. Every record is refused, saying
// what it is.
func TestDecodeRawEventsAreRefused(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "formats", "otrf-goldensaml")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("samples not available: %v", err)
	}
	for _, tc := range []struct {
		file, what string
		n          int
	}{
		{"Microsoft365DefenderEvents.json", "a raw Microsoft 365 Defender advanced-hunting event (Timestamp, ActionType", 9},
		{"AADAuditEvents.json", "a raw Microsoft Entra ID audit log record (OperationName", 4},
		{"OfficeActivityEvents.json", "a raw Microsoft 365 (Office) management activity record (Operation", 1},
		{"WindowsEvents.json", "a raw Windows event log record (EventID", 38},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []Format{FormatAuto, FormatGraph, FormatWeft} {
				recs, err := Decode(body, false, format, Limits{}, now)
				if err != nil {
					t.Fatal(err)
				}
				checkRecords(t, recs)
				if len(recs) != tc.n {
					t.Fatalf("format %q: got %d records, want %d", format, len(recs), tc.n)
				}
				for _, r := range recs {
					if r.Err == nil || r.Err.Field != "" || !strings.HasPrefix(r.Err.Message, "this looks like "+tc.what) ||
						!strings.Contains(r.Err.Message, "not an alert") {
						t.Fatalf("format %q: record %d: got %v, want it refused as %s…", format, r.Index, r.Err, tc.what)
					}
				}
			}
		})
	}
	t.Run("LogAnalyticsRow", func(t *testing.T) {
		e := rejection(t, `{"TimeGenerated":"2026-11-27T08:00:00Z","Type":"SigninLogs","UserPrincipalName":"jdoe@contoso.com"}`, FormatAuto)
		if !strings.Contains(e.Message, `Log Analytics (Microsoft Sentinel) row of table "SigninLogs"`) {
			t.Fatalf("got %v", e)
		}
	})
	t.Run("AlertsAreNotRawEvents", func(t *testing.T) {
		// A Sentinel SecurityAlert row is an alert weft cannot read: it is
		// refused as such, not as a raw event.
		e := rejection(t, `{"TimeGenerated":"2026-11-27T08:00:00Z","Type":"SecurityAlert","AlertName":"x"}`, FormatAuto)
		if strings.Contains(e.Message, "raw") {
			t.Fatalf("got %v", e)
		}
	})
}

// graphIncidentExport returns a list response of n incidents of k Graph
// alerts each (the alerts of graphBatch), on one line, as GET
// /security/incidents?$expand=alerts answers.
func graphIncidentExport(n, k int) []byte {
	alerts := bytes.Split(bytes.TrimSpace(graphBatch(n*k)), []byte("\n"))
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/incidents(alerts())","value":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"%d","tenantId":"b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c","status":"inProgress","incidentWebUrl":"https://security.microsoft.com/incidents/%d",`+
			`"redirectIncidentId":null,"displayName":"Multi-stage incident on one endpoint","createdDateTime":"2026-11-27T08:14:09Z","lastUpdateDateTime":"2026-11-27T16:02:11Z",`+
			`"assignedTo":"soc@contoso.com","classification":"truePositive","determination":"compromisedUser","severity":"medium","customTags":["campaign-%d"],"systemTags":[],`+
			`"description":null,"resolvingComment":null,"summary":null,"comments":[{"comment":"Looked at it.","createdByDisplayName":"analyst@contoso.com","createdDateTime":"2026-11-27T09:00:00Z"}],`+
			`"alerts@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/incidents('%d')/alerts","alerts":[`, 20000+i, 20000+i, i, 20000+i)
		b.Write(bytes.Join(alerts[i*k:(i+1)*k], []byte(",")))
		b.WriteString("]}")
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// BenchmarkDecodeGraphIncidents decodes a list response of 100 incidents of
// 10 alerts each (about 2.5 MB, 1,000 records) and reports records/s and
// MB/s.
func BenchmarkDecodeGraphIncidents(b *testing.B) {
	body := graphIncidentExport(100, 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		recs, err := Decode(body, false, FormatAuto, Limits{}, now)
		if err != nil || len(recs) != 1000 || recs[999].Err != nil || recs[999].Alert.Import == nil {
			b.Fatalf("Decode: %v, %d records", err, len(recs))
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)*1000/sec, "records/s")
	b.ReportMetric(float64(b.N)*float64(len(body))/sec/1e6, "MB/s")
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(b.N)*1000/cpu, "records/cpu-s")
	}
}

// FuzzGraphIncident decodes Graph incident exports and list responses: it
// must never panic, every record is an alert or a located error in order,
// and an accepted alert of an incident carries an import the store accepts.
func FuzzGraphIncident(f *testing.F) {
	f.Add(readTestdata(f, "graph_incidents_export.json"))
	f.Add([]byte(graphIncident("1", []string{graphAlert("da1"), graphAlert("da2")}, `"comments":[{"comment":"c"}]`)))
	f.Add([]byte(`{"@odata.context":"x","value":[` + graphAlert("da1") + `],"@odata.nextLink":"y"}`))
	f.Add([]byte(`{"value":[{"id":1,"displayName":"x","status":"redirected","redirectIncidentId":2,"alerts":[` + graphAlert("da1") + `]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, format := range []Format{FormatAuto, FormatGraph} {
			recs, err := Decode(body, false, format, Limits{MaxRecordBytes: 64 << 10, MaxRecords: 500}, now)
			if err != nil {
				if weft.ErrorCode(err) == weft.EINTERNAL {
					t.Fatalf("internal error: %v", err)
				}
				continue
			}
			checkRecords(t, recs)
			for _, r := range recs {
				if r.Err != nil {
					continue
				}
				if imp := r.Alert.Import; imp != nil {
					if err := imp.Check(); err != nil || imp.Key() != r.SourceIncident {
						t.Fatalf("record %d: import %+v (%v) for incident %q", r.Index, imp, err, r.SourceIncident)
					}
				}
			}
		}
	})
}
