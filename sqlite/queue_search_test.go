package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// searchNames are incident names for the $search tests: ASCII names in
// mixed case, with LIKE's wildcards and escape character, quotes (the FTS
// phrase's delimiter), and non-ASCII names whose case LIKE does not fold.
var searchNames = []string{
	"Ransomware activity on host-1",
	"RANSOMWARE on HOST-2",
	"Phishing campaign against carol",
	"Suspicious sign-in of bob",
	"Tie A 100% done_",
	"100x done-",
	`quote "double" here`,
	`it's o'clock ""`,
	`back\slash and \%`,
	"MiXeD CaSe Name",
	"ab",
	"ÉCOLE été",
	"école fermée",
	"Straße",
	"STRASSE",
	"Ünïcödé ✓ 日本語テキスト",
	"emoji 🔥 fire",
	"\u212Aelvin sign", // KELVIN SIGN, which the index folds to k
}

// openSearch returns a store with one imported incident per name (each with
// one alert naming a device that no name contains) and the same names in the
// tenant "other".
func openSearch(t *testing.T, names []string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{Now: func() time.Time { return queueNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(context.Background(), &weft.Tenant{ID: "other", DisplayName: "Other"}); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{weft.DefaultTenantID, "other"} {
		for i, name := range names {
			storeNamed(t, s, tenant, "s"+strconv.Itoa(i), "a"+strconv.Itoa(i), name, 0)
		}
	}
	return s
}

// storeNamed stores one alert of the imported incident importID, whose name
// is name as the source last updated it minutes after queueNow - 2h (a later
// update of the same incident renames it).
func storeNamed(t *testing.T, s *Store, tenant, importID, alertID, name string, minutes int) {
	t.Helper()
	updated := queueNow.Add(-2*time.Hour + time.Duration(minutes)*time.Minute)
	a := &weft.Alert{TenantID: tenant, Source: "microsoftDefenderForEndpoint", ProviderAlertID: alertID, Title: "alert " + alertID,
		Severity: weft.SeverityMedium, DetectorID: "detector-1", Category: "Execution",
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus",
		FirstActivityDateTime: queueNow.Add(-time.Hour),
		Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "zq-" + importID + ".internal"}},
		Import: &weft.IncidentImport{Source: "graph-incident", ID: importID, DisplayName: name,
			Status: weft.IncidentStatusActive, LastUpdateDateTime: &updated}}
	if _, err := a.Normalize(queueNow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreAlerts(context.Background(), []*weft.Alert{a}); err != nil {
		t.Fatal(err)
	}
}

// likeNames returns the sorted names of the tenant's incidents that
// display_name LIKE '%term%' finds: the search before migration 0011, and
// still the search of a term shorter than nameSearchMin.
func likeNames(t *testing.T, s *Store, term string) []string {
	t.Helper()
	rows, err := s.read.Query(`SELECT display_name FROM incidents WHERE tenant_id = ? AND display_name LIKE ? ESCAPE '\'`,
		weft.DefaultTenantID, "%"+escapeLike(term)+"%")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// searchTerms returns every substring of names of one to five characters,
// and each in swapped ASCII case, trimmed (as $search is), without those
// that are an incident id (the id match).
func searchTerms(names []string) []string {
	seen := map[string]bool{}
	var terms []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if _, err := strconv.ParseInt(s, 10, 64); s == "" || err == nil || seen[s] {
			return
		}
		seen[s] = true
		terms = append(terms, s)
	}
	for _, n := range names {
		rs := []rune(n)
		for i := range rs {
			for l := 1; l <= 5 && i+l <= len(rs); l++ {
				sub := string(rs[i : i+l])
				add(sub)
				add(strings.Map(func(r rune) rune {
					switch {
					case 'a' <= r && r <= 'z':
						return r - 'a' + 'A'
					case 'A' <= r && r <= 'Z':
						return r - 'A' + 'a'
					}
					return r
				}, sub))
			}
		}
		add(n)
	}
	return terms
}

// checkSearchLikeLike checks every term of searchTerms(names) against LIKE
// on the same store: the page and the count (queueAll checks that they
// agree) find exactly LIKE's ASCII names, and among non-ASCII names at
// least LIKE's (the index folds more case).
func checkSearchLikeLike(t *testing.T, s *Store, names []string) {
	t.Helper()
	for _, term := range searchTerms(names) {
		got := queueAll(t, s, weft.IncidentQuery{Search: term})
		want := likeNames(t, s, term)
		gotASCII := slices.DeleteFunc(slices.Clone(got), func(n string) bool { return !isASCII(n) })
		wantASCII := slices.DeleteFunc(slices.Clone(want), func(n string) bool { return !isASCII(n) })
		if !slices.Equal(gotASCII, wantASCII) {
			t.Errorf("$search=%q: got ASCII names %q, want LIKE's %q", term, gotASCII, wantASCII)
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("$search=%q: got %q, lacks %q that LIKE finds", term, got, n)
			}
		}
		if utf8.RuneCountInString(term) < nameSearchMin && !slices.Equal(got, want) {
			t.Errorf("$search=%q (short: LIKE): got %q, want %q", term, got, want)
		}
	}
}

// TestSearchNameIndexMatchesLike checks that the trigram index finds what
// LIKE finds, on names with wildcards, quotes and non-ASCII letters, before
// and after renames by every writer of display_name.
func TestSearchNameIndexMatchesLike(t *testing.T) {
	s := openSearch(t, searchNames)
	checkSearchLikeLike(t, s, searchNames)
	if t.Failed() {
		return
	}

	ctx := context.Background()
	// Renames: the import's update (a second alert of an imported incident
	// with a new name), a plain UPDATE (as the manage API writes), an update
	// that leaves the name as it was, and a new incident.
	storeNamed(t, s, weft.DefaultTenantID, "s0", "a0-2", "Wiper activity on host-1", 10)
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET display_name = 'Exfiltration of ÉCOLE data' WHERE tenant_id = 'default' AND display_name = 'MiXeD CaSe Name'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE incidents SET display_name = display_name, status = 'inProgress' WHERE display_name = 'Straße'`); err != nil {
		t.Fatal(err)
	}
	storeNamed(t, s, weft.DefaultTenantID, "s-new", "a-new", "Brand new ransom note", 0)
	// The engine's rename: an incident of one alert is named after the
	// alert, and follows its title when the alert is stored again.
	for _, title := range []string{"Gamma ransom alpha", "Delta beta"} {
		a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: "engine-1", Title: title,
			Severity: weft.SeverityLow, DetectorID: "detector-2", FirstActivityDateTime: queueNow.Add(-time.Hour)}
		if _, err := a.Normalize(queueNow); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{a}); err != nil {
			t.Fatal(err)
		}
	}
	after := append(slices.Clone(searchNames), "Wiper activity on host-1", "Exfiltration of ÉCOLE data", "Brand new ransom note", "Delta beta")
	checkSearchLikeLike(t, s, after)
	for _, tc := range []struct {
		term string
		want []string
	}{
		{"ransomware activity", nil}, // renamed away
		{"wiper", []string{"Wiper activity on host-1"}},
		{"mixed case", nil},
		{"gamma", nil},
		{"ta be", []string{"Delta beta"}},
		{"ransom", []string{"Brand new ransom note", "RANSOMWARE on HOST-2"}},
	} {
		if got := queueAll(t, s, weft.IncidentQuery{Search: tc.term}); !slices.Equal(got, tc.want) {
			t.Errorf("after renames, $search=%q: got %q, want %q", tc.term, got, tc.want)
		}
	}
}

// TestSearchNameFolding pins down how the two paths fold case: the index
// (three characters or more) folds non-ASCII letters too and keeps
// diacritics; LIKE (shorter terms) folds only ASCII.
func TestSearchNameFolding(t *testing.T) {
	s := openSearch(t, searchNames)
	for _, tc := range []struct {
		name, term string
		want       []string
	}{
		{"OK_IndexFoldsNonASCII", "école", []string{"ÉCOLE été", "école fermée"}},
		{"OK_IndexFoldsNonASCIIUpper", "ÉTÉ", []string{"ÉCOLE été"}},
		{"OK_IndexKeepsDiacritics", "ecole", nil},
		{"OK_IndexSharpSNotSS", "strasse", []string{"STRASSE"}},
		{"OK_IndexASCII", "HoSt-", []string{"RANSOMWARE on HOST-2", "Ransomware activity on host-1"}},
		{"OK_IndexQuotes", `"double"`, []string{`quote "double" here`}},
		{"OK_IndexQuotesOnly", `""`, []string{`it's o'clock ""`}},
		{"OK_IndexWildcardsLiteral", "0% done_", []string{"Tie A 100% done_"}},
		{"OK_IndexBackslash", `\%`, []string{`back\slash and \%`}},
		{"OK_IndexCJK", "日本語", []string{"Ünïcödé ✓ 日本語テキスト"}},
		{"OK_IndexEmoji", "🔥 f", []string{"emoji 🔥 fire"}},
		{"OK_LikeNonASCIIExact", "Éc", []string{"ÉCOLE été"}},
		{"OK_LikeNoNonASCIIFold", "É", []string{"ÉCOLE été"}},
		{"OK_LikeASCIIFold", "AB", []string{"ab"}},
		{"OK_IndexFoldsToASCII", "kelvin", []string{"\u212Aelvin sign"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := queueAll(t, s, weft.IncidentQuery{Search: tc.term}); !slices.Equal(got, tc.want) {
				t.Fatalf("$search=%q: got %q, want %q", tc.term, got, tc.want)
			}
		})
	}
}

// TestSearchUsesNameIndex checks the query plans of $search: a term of three
// characters or more is looked up in incident_names for a page and for a
// count; a shorter one is not.
func TestSearchUsesNameIndex(t *testing.T) {
	s := openSearch(t, searchNames[:3])
	f, err := weft.ParseIncidentFilter("status in ('active', 'inProgress') and severity ne 'informational'")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		search string
		index  bool
	}{{"ransom", true}, {"été", true}, {"ra", false}} {
		for _, count := range []bool{false, true} {
			where, args, err := incidentWhere(weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f, Search: tc.search}, count)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(queryPlan(t, s, "SELECT count(*) FROM incidents WHERE "+where, args), "\n")
			if used := strings.Contains(all, "incident_names VIRTUAL TABLE INDEX"); used != tc.index {
				t.Errorf("$search=%q count=%v: index used %v, want %v; plan:\n%s", tc.search, count, used, tc.index, all)
			}
		}
	}
}

// queryPlan returns the details of EXPLAIN QUERY PLAN of query.
func queryPlan(t *testing.T, s *Store, query string, args []any) []string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestMigrateIncidentNameSearch checks that migration 0011 indexes the names
// of the incidents that a store held before it, and only the tenant's.
func TestMigrateIncidentNameSearch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	now := func() time.Time { return queueNow }
	before := slices.IndexFunc(migrations, func(m migration) bool { return strings.HasPrefix(m.name, "0011_") })
	if before < 0 {
		t.Fatal("no migration 0011")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, migrations[:before], now); err != nil {
		t.Fatal(err)
	}
	for i, inc := range []struct{ tenant, name string }{
		{weft.DefaultTenantID, "Ransomware on ws-001"},
		{weft.DefaultTenantID, "Phishing campaign"},
		{weft.DefaultTenantID, "ÉCOLE ransom"},
		{"other", "Ransomware elsewhere"},
	} {
		if _, err := db.Exec(`INSERT INTO tenants (tenant_id, display_name, created) VALUES (?, ?, 0)
			ON CONFLICT DO NOTHING`, inc.tenant, inc.tenant); err != nil {
			t.Fatal(err)
		}
		at := nanos(queueNow)
		if _, err := db.Exec(insertIncidentSQL, i+1, inc.tenant, inc.name, 2, at, at, at, at, nil, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		term string
		want []string
	}{
		{"RANSOM", []string{"Ransomware on ws-001", "ÉCOLE ransom"}},
		{"école", []string{"ÉCOLE ransom"}},
		{"campaign", []string{"Phishing campaign"}},
		{"elsewhere", nil},
	} {
		where, args, err := incidentWhere(weft.IncidentQuery{TenantID: weft.DefaultTenantID, Search: tc.term}, true)
		if err != nil {
			t.Fatal(err)
		}
		if plan := strings.Join(queryPlan(t, s, "SELECT count(*) FROM incidents WHERE "+where, args), "\n"); !strings.Contains(plan, "incident_names") {
			t.Fatalf("$search=%q does not use incident_names:\n%s", tc.term, plan)
		}
		if got := queueAll(t, s, weft.IncidentQuery{Search: tc.term}); !slices.Equal(got, tc.want) {
			t.Errorf("$search=%q: got %q, want %q", tc.term, got, tc.want)
		}
	}
	if got := queueAll(t, s, weft.IncidentQuery{TenantID: "other", Search: "ransom"}); !slices.Equal(got, []string{"Ransomware elsewhere"}) {
		t.Errorf("tenant other: got %q", got)
	}
}

// TestCountCollectionForms checks that the count of a collection term, as a
// set or probed (in an AND with a time window), equals the rows listed, and
// which form each query takes.
func TestCountCollectionForms(t *testing.T) {
	s, _ := openQueue(t)
	for _, tc := range []struct {
		name, filter string
		probed       bool // the count probes incident_terms per candidate
		want         []string
	}{
		{"OK_SetAlone", "categories/any(c: c in ('Execution', 'Impact'))", false, []string{"Ransomware on ws-001", "Tie A 100% done_", "Unscored low"}},
		{"OK_SetWithStatus", "customTags/any(t: t eq 'VIP') and status in ('active', 'inProgress')", false, []string{"Ransomware on ws-001"}},
		{"OK_ProbedWithCreated", "categories/any(c: c in ('Execution', 'Impact')) and createdDateTime ge 2026-11-27T12:30:00Z", true, []string{"Tie A 100% done_", "Unscored low"}},
		{"OK_ProbedWithLastUpdate", "lastUpdateDateTime lt 2026-11-27T12:55:00Z and customTags/any(t: t eq 'VIP')", true, []string{"Atypical travel", "Ransomware on ws-001"}},
		{"OK_SetUnderOr", "categories/any(c: c eq 'Execution') or createdDateTime le 2026-11-27T12:10:00Z", false, []string{"Ransomware on ws-001", "Tie A 100% done_", "Unscored low"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			q := weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f}
			if got := queueAll(t, s, q); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			where, args, err := incidentWhere(q, true)
			if err != nil {
				t.Fatal(err)
			}
			if probed := strings.Contains(where, "EXISTS"); probed != tc.probed {
				t.Fatalf("count probes %v, want %v: %s", probed, tc.probed, where)
			}
			plan := strings.Join(queryPlan(t, s, "SELECT count(*) FROM incidents WHERE "+where, args), "\n")
			if !strings.Contains(plan, "incident_terms") || strings.Contains(plan, "SCAN incident_terms") {
				t.Fatalf("plan does not search incident_terms by its key:\n%s", plan)
			}
		})
	}
}

// TestCountIsCovered checks that counting a priority range (with alertCount
// and the status that every filter holds) and an assignee's open incidents
// read only an index of migration 0011, no incident row.
func TestCountIsCovered(t *testing.T) {
	s, _ := openQueue(t)
	for _, tc := range []struct {
		name, filter, plan string
		want               []string
	}{
		{"OK_PriorityRange", "priorityScore gt 50 and alertCount ge 1",
			"USING COVERING INDEX incidents_queue_score_count (tenant_id=? AND priority_score>?)",
			[]string{"Phishing campaign", "Ransomware on ws-001", "Tie A 100% done_"}},
		{"OK_AssignedOpen", "assignedTo eq 'alice@contoso.com' and status ne 'resolved'",
			"USING COVERING INDEX incidents_queue_assigned_status (tenant_id=? AND assigned_to=?)",
			[]string{"Ransomware on ws-001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			q := weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f}
			if got := queueAll(t, s, q); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			where, args, err := incidentWhere(q, true)
			if err != nil {
				t.Fatal(err)
			}
			if plan := strings.Join(queryPlan(t, s, "SELECT count(*) FROM incidents WHERE "+where, args), "\n"); !strings.Contains(plan, tc.plan) {
				t.Fatalf("plan lacks %q:\n%s", tc.plan, plan)
			}
		})
	}
}
