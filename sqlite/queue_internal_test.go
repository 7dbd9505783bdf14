package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// queueNow is the clock of the queue tests.
var queueNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// queueIncident describes one incident of the queue fixture: imported with
// its state (one alert, its own device), then scored.
type queueIncident struct {
	name       string
	status     weft.IncidentStatus
	severity   weft.Severity
	class      weft.Classification
	assigned   string
	tags       []string
	category   string
	service    string
	score      int // -1: unscored
	createdMin int // minutes after queueNow - 24h
}

var queueFixture = []queueIncident{
	{"Ransomware on ws-001", weft.IncidentStatusActive, weft.SeverityHigh, "", "alice@contoso.com", []string{"VIP", "Crown jewels"}, "Impact", "microsoftDefenderForEndpoint", 92, 10},
	{"Phishing campaign", weft.IncidentStatusInProgress, weft.SeverityMedium, "", "", nil, "InitialAccess", "microsoftDefenderForOffice365", 55, 20},
	{"Informational noise", weft.IncidentStatusActive, weft.SeverityInformational, "", "", nil, "Discovery", "microsoftDefenderForEndpoint", 5, 30},
	{"Atypical travel", weft.IncidentStatusResolved, weft.SeverityLow, weft.ClassificationFalsePositive, "bob@contoso.com", []string{"VIP"}, "InitialAccess", "microsoftDefenderForIdentity", 30, 40},
	{"Unscored low", weft.IncidentStatusActive, weft.SeverityLow, "", "", nil, "Execution", "microsoftDefenderForEndpoint", -1, 50},
	{"Tie A 100% done_", weft.IncidentStatusActive, weft.SeverityMedium, "", "", nil, "Execution", "microsoftDefenderForEndpoint", 55, 60},
	{"Merged away", weft.IncidentStatusActive, weft.SeverityHigh, "", "", []string{"VIP"}, "Impact", "microsoftDefenderForEndpoint", 99, 70},
}

// openQueue returns a store with queueFixture, the ids of its incidents in
// fixture order (the last one redirected into the first), and an incident
// of another tenant that matches everything.
func openQueue(t *testing.T) (*Store, []int64) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{Now: func() time.Time { return queueNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "other", DisplayName: "Other"}); err != nil {
		t.Fatal(err)
	}
	base := queueNow.Add(-24 * time.Hour)
	var alerts []*weft.Alert
	for i, f := range append(slices.Clone(queueFixture), queueIncident{"Other tenant VIP", weft.IncidentStatusActive, weft.SeverityHigh, "", "", []string{"VIP"}, "Impact", "microsoftDefenderForEndpoint", 99, 5}) {
		created := base.Add(time.Duration(f.createdMin) * time.Minute)
		a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: "q" + strconv.Itoa(i), Title: f.name,
			Severity: f.severity, DetectorID: "detector-" + strconv.Itoa(i), Category: f.category,
			ServiceSource: f.service, DetectionSource: "antivirus",
			FirstActivityDateTime: created,
			Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "ws-" + strconv.Itoa(i) + ".contoso.com"}},
			Import: &weft.IncidentImport{Source: "graph-incident", ID: "q" + strconv.Itoa(i), DisplayName: f.name,
				Status: f.status, Classification: f.class, AssignedTo: f.assigned, CustomTags: f.tags,
				CreatedDateTime: &created, LastUpdateDateTime: &created}}
		if f.name == "Other tenant VIP" {
			a.TenantID = "other"
		}
		if _, err := a.Normalize(queueNow); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	res, err := s.StoreAlerts(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(queueFixture))
	for i := range queueFixture {
		ids[i] = res[i].IncidentID
	}
	for i, f := range queueFixture {
		var score any
		if f.score >= 0 {
			score = f.score
		}
		created := nanos(base.Add(time.Duration(f.createdMin) * time.Minute))
		if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET priority_score = ?, created = ?, last_update = ? WHERE id = ?`,
			score, created, created, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET priority_score = 99 WHERE tenant_id = 'other'`); err != nil {
		t.Fatal(err)
	}
	last := ids[len(ids)-1]
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET status = 'redirected', redirect_incident_id = ? WHERE id = ?`, ids[0], last); err != nil {
		t.Fatal(err)
	}
	return s, ids
}

// queueNames are the names of incidents, for messages.
func queueNames(incs []*weft.Incident) []string {
	var names []string
	for _, inc := range incs {
		names = append(names, inc.DisplayName)
	}
	return names
}

func TestListIncidentsQueue(t *testing.T) {
	s, _ := openQueue(t)
	const open = "status in ('active', 'inProgress') and severity ne 'informational'"
	for _, tc := range []struct {
		name, filter, orderby, search string
		want                          []string
	}{
		{"OK_DefaultView", open, "", "", []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign", "Unscored low"}},
		{"OK_Resolved", "status eq 'resolved'", "", "", []string{"Atypical travel"}},
		{"OK_NeverRedirected", "severity eq 'high'", "", "", []string{"Ransomware on ws-001"}},
		{"OK_StatusNe", "status ne 'active'", "", "", []string{"Phishing campaign", "Atypical travel"}},
		{"OK_SeverityGe", "severity ge 'medium'", "", "", []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign"}},
		{"OK_SeverityLt", "severity lt 'low'", "", "", []string{"Informational noise"}},
		{"OK_PriorityGt", "priorityScore gt 50", "", "", []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign"}},
		{"OK_PriorityNull", "priorityScore eq null", "", "", []string{"Unscored low"}},
		{"OK_PriorityNeIncludesNull", "priorityScore ne 55", "", "", []string{"Ransomware on ws-001", "Atypical travel", "Informational noise", "Unscored low"}},
		{"OK_Unassigned", "assignedTo eq null and severity eq 'medium'", "", "", []string{"Tie A 100% done_", "Phishing campaign"}},
		{"OK_Assigned", "assignedTo ne null", "", "", []string{"Ransomware on ws-001", "Atypical travel"}},
		{"OK_AssignedIn", "assignedTo in ('bob@contoso.com', 'carol@contoso.com')", "", "", []string{"Atypical travel"}},
		{"OK_Classification", "classification eq 'falsePositive'", "", "", []string{"Atypical travel"}},
		{"OK_Determination", "determination eq 'unknown' and status eq 'resolved'", "", "", []string{"Atypical travel"}},
		{"OK_TagAny", "customTags/any(t: t eq 'VIP')", "", "", []string{"Ransomware on ws-001", "Atypical travel"}},
		{"OK_TagAnyIn", "customTags/any(t: t in ('Crown jewels', 'none'))", "", "", []string{"Ransomware on ws-001"}},
		{"OK_TagAnyEmpty", "customTags/any()", "", "", []string{"Ransomware on ws-001", "Atypical travel"}},
		{"OK_CategoryAny", "categories/any(c: c eq 'Execution')", "", "", []string{"Tie A 100% done_", "Unscored low"}},
		{"OK_ServiceAny", "serviceSources/any(s: s eq 'microsoftDefenderForOffice365' or s eq 'microsoftDefenderForIdentity')", "", "", []string{"Phishing campaign", "Atypical travel"}},
		{"OK_DetectionAny", "detectionSources/any(d: d eq 'antivirus') and severity eq 'high'", "", "", []string{"Ransomware on ws-001"}},
		{"OK_OrParens", "(severity eq 'high' or status eq 'resolved') and priorityScore ge 30", "", "", []string{"Ransomware on ws-001", "Atypical travel"}},
		{"OK_Created", "createdDateTime ge 2026-11-27T12:40:00Z and createdDateTime lt 2026-11-27T13:00:00Z", "", "", []string{"Atypical travel", "Unscored low"}},
		{"OK_LastUpdate", "lastUpdateDateTime gt 2026-11-27T12:50:00Z", "", "", []string{"Tie A 100% done_"}},
		{"OK_Activity", "firstActivityDateTime le 2026-11-27T12:10:00Z and lastActivityDateTime le 2026-11-27T12:10:00Z", "", "", []string{"Ransomware on ws-001"}},
		{"OK_AlertCount", "alertCount eq 1 and severity eq 'low'", "", "", []string{"Atypical travel", "Unscored low"}},
		{"OK_OrderCreatedAsc", open, "createdDateTime asc", "", []string{"Ransomware on ws-001", "Phishing campaign", "Unscored low", "Tie A 100% done_"}},
		{"OK_OrderUpdatedDesc", open, "lastUpdateDateTime desc", "", []string{"Tie A 100% done_", "Unscored low", "Phishing campaign", "Ransomware on ws-001"}},
		{"OK_OrderSeverity", open, "severity desc", "", []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign", "Unscored low"}},
		{"OK_OrderPriorityAsc", open, "priorityScore asc", "", []string{"Unscored low", "Tie A 100% done_", "Phishing campaign", "Ransomware on ws-001"}},
		{"OK_OrderTwoKeys", "alertCount ge 1", "alertCount desc, severity asc", "", []string{"Informational noise", "Unscored low", "Atypical travel", "Tie A 100% done_", "Phishing campaign", "Ransomware on ws-001"}},
		{"OK_SearchName", open, "", "ransom", []string{"Ransomware on ws-001"}},
		{"OK_SearchLikeEscaped", "alertCount ge 1", "", "100% done_", []string{"Tie A 100% done_"}},
		{"OK_SearchPercentOnly", "alertCount ge 1", "", "%", []string{"Tie A 100% done_"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := weft.IncidentQuery{TenantID: weft.DefaultTenantID, Search: tc.search, OrderBy: weft.DefaultIncidentOrder, Count: true}
			f, err := weft.ParseIncidentFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			q.Filter = f
			if tc.orderby != "" {
				if q.OrderBy, err = weft.ParseIncidentOrderBy(tc.orderby); err != nil {
					t.Fatal(err)
				}
			}
			p, err := s.ListIncidents(context.Background(), q)
			if err != nil {
				t.Fatalf("ListIncidents(%s): %v", tc.filter, err)
			}
			if got := queueNames(p.Incidents); !slices.Equal(got, tc.want) {
				t.Fatalf("%s / %s / %q:\n got %q\nwant %q", tc.filter, tc.orderby, tc.search, got, tc.want)
			}
			if p.Count != int64(len(tc.want)) || p.More {
				t.Fatalf("count %d more %v, want %d false", p.Count, p.More, len(tc.want))
			}
		})
	}
}

func TestListIncidentsQueueSearchID(t *testing.T) {
	s, ids := openQueue(t)
	f, _ := weft.ParseIncidentFilter("alertCount ge 1")
	p, err := s.ListIncidents(context.Background(), weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f, Search: " " + strconv.FormatInt(ids[3], 10) + " "})
	if err != nil {
		t.Fatal(err)
	}
	if got := queueNames(p.Incidents); !slices.Equal(got, []string{"Atypical travel"}) {
		t.Fatalf("got %q, want the incident with that id", got)
	}
}

func TestListIncidentsQueuePaging(t *testing.T) {
	s, _ := openQueue(t)
	f, _ := weft.ParseIncidentFilter("alertCount ge 1")
	var all []string
	for skip := 0; ; skip += 2 {
		p, err := s.ListIncidents(context.Background(), weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f,
			OrderBy: weft.DefaultIncidentOrder, Top: 2, Skip: skip, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.Count != 6 {
			t.Fatalf("count %d, want 6", p.Count)
		}
		all = append(all, queueNames(p.Incidents)...)
		if !p.More {
			break
		}
	}
	// The tie at 55 is broken by the higher id (created later) first.
	want := []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign", "Atypical travel", "Informational noise", "Unscored low"}
	if !slices.Equal(all, want) {
		t.Fatalf("pages:\n got %q\nwant %q", all, want)
	}
}

// TestIncidentTermsFollowUpdates checks that incident_terms follows every
// writer of the collections, including plain UPDATEs (the manage API).
func TestIncidentTermsFollowUpdates(t *testing.T) {
	s, ids := openQueue(t)
	ctx := context.Background()
	list := func(filter string) []string {
		t.Helper()
		f, err := weft.ParseIncidentFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f, OrderBy: weft.DefaultIncidentOrder})
		if err != nil {
			t.Fatal(err)
		}
		return queueNames(p.Incidents)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET custom_tags = '["Escalated"]', system_tags = '["Defender Experts"]' WHERE id = ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := list("customTags/any(t: t eq 'VIP')"); !slices.Equal(got, []string{"Atypical travel"}) {
		t.Errorf("VIP after removal: got %q", got)
	}
	if got := list("customTags/any(t: t eq 'Escalated') and systemTags/any(t: t eq 'Defender Experts')"); !slices.Equal(got, []string{"Ransomware on ws-001"}) {
		t.Errorf("Escalated: got %q", got)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET custom_tags = NULL WHERE id = ?`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := list("customTags/any(t: t eq 'Escalated')"); len(got) != 0 {
		t.Errorf("after clearing: got %q", got)
	}
	var n int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM incident_terms WHERE incident_id = ? AND field = 1`, ids[0]).Scan(&n); err != nil || n != 0 {
		t.Errorf("terms left: %d, %v", n, err)
	}
}

func TestListIncidentsQueueSQLIsParameterized(t *testing.T) {
	f, err := weft.ParseIncidentFilter("assignedTo eq 'x''); DROP TABLE incidents; --' and customTags/any(t: t eq 'a''b')")
	if err != nil {
		t.Fatal(err)
	}
	for _, count := range []bool{false, true} {
		where, args, err := incidentWhere(weft.IncidentQuery{TenantID: "t", Filter: f, Search: "'%"}, count)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(where, "DROP") || strings.Contains(where, "a'b") {
			t.Fatalf("user text in SQL: %s", where)
		}
		// The tenant first, and every table of every subquery (tags, the
		// entity index of $search) filtered by it too.
		n := strings.Count(where, "tenant_id = ?")
		if !strings.HasPrefix(where, "tenant_id = ?") || args[0] != "t" || n < 2 || n != strings.Count(where, "tenant_id") {
			t.Fatalf("tenant not first or a subquery not by tenant: %s %v", where, args)
		}
	}
}
