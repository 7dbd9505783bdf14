package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// triageAlerts are four alerts that make three incidents: two on device
// ws-1 (one incident of two alerts), one on ws-2 whose title carries an
// escape sequence, and one on a user.
func triageAlerts() string {
	at := func(h int) string { return time.Now().UTC().Add(time.Duration(-h) * time.Hour).Format(time.RFC3339) }
	return fmt.Sprintf(`{"source":"edr","providerAlertId":"a1","title":"Credential dumping","severity":"high","category":"CredentialAccess","firstActivityDateTime":%q,"evidence":[{"entityType":"device","hostName":"ws-1"}]}
{"source":"edr","providerAlertId":"a2","title":"Suspicious PowerShell","severity":"medium","category":"Execution","firstActivityDateTime":%q,"evidence":[{"entityType":"device","hostName":"ws-1"}]}
{"source":"edr","providerAlertId":"a3","title":"Malware \u001b[31mred","severity":"low","category":"Malware","firstActivityDateTime":%q,"evidence":[{"entityType":"device","hostName":"ws-2"}]}
{"source":"idp","providerAlertId":"b1","title":"Impossible travel","severity":"high","category":"InitialAccess","firstActivityDateTime":%q,"evidence":[{"entityType":"user","userAccount":{"userPrincipalName":"carol@contoso.com"}}]}
`, at(3), at(2), at(2), at(1))
}

// testServer is a server the CLI is run against: its URL, the API token
// the CLI sends, the --actor it gives (none when ""), and the name the
// server knows the token by, which its activity log records.
type testServer struct {
	URL, Token, Actor, Principal string
}

// triageServer starts a server on a temporary store holding triageAlerts
// and returns it with an admin token and the ids of its incidents by alert
// title.
func triageServer(t *testing.T) (testServer, map[string]string) {
	t.Helper()
	rs, token := startTestServer(t, serverConfig{})
	t.Cleanup(func() { rs.Shutdown(context.Background()) })
	p, err := rs.store.TokenPrincipal(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	resp := apiRequest(t, http.MethodPost, rs.URL+"/api/v1/alerts", token, "application/x-ndjson", strings.NewReader(triageAlerts()))
	defer resp.Body.Close()
	var ing struct {
		Results []struct {
			IncidentID string `json:"incidentId"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ing); err != nil || len(ing.Results) != 4 {
		t.Fatalf("ingest: %v %+v", err, ing)
	}
	ids := map[string]string{}
	for i, title := range []string{"Credential dumping", "Suspicious PowerShell", "Malware", "Impossible travel"} {
		ids[title] = ing.Results[i].IncidentID
	}
	if ids["Credential dumping"] != ids["Suspicious PowerShell"] || ids["Malware"] == ids["Credential dumping"] || ids["Impossible travel"] == ids["Malware"] {
		t.Fatalf("incidents %v: want the two ws-1 alerts together and the others apart", ids)
	}
	return testServer{URL: rs.URL, Token: token, Principal: p.Name}, ids
}

// runCLI runs weft COMMAND SUBCOMMAND args... against server with its
// token and actor (the flags go right after the subcommand).
func runCLI(server testServer, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	full := append([]string{}, args[:2]...)
	full = append(full, "--server", server.URL)
	if server.Token != "" {
		full = append(full, "--token", server.Token)
	}
	if server.Actor != "" {
		full = append(full, "--actor", server.Actor)
	}
	err = run(context.Background(), append(full, args[2:]...), &out, &errb)
	return out.String(), errb.String(), err
}

// mustCLI is runCLI that fails the test on an error.
func mustCLI(t *testing.T, server testServer, args ...string) string {
	t.Helper()
	out, errb, err := runCLI(server, args...)
	if err != nil {
		t.Fatalf("weft %s: %v\nstderr: %s", strings.Join(args, " "), err, errb)
	}
	return out
}

// getIncident reads an incident straight from the API.
func getIncident(t *testing.T, server testServer, id string) map[string]any {
	t.Helper()
	resp := apiRequest(t, http.MethodGet, server.URL+"/api/v1/incidents/"+id, server.Token, "", nil)
	defer resp.Body.Close()
	var inc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestIncidentsList(t *testing.T) {
	server, ids := triageServer(t)

	t.Run("Table", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "list")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID  PRIORITY  SEVERITY  STATUS  ALERTS  ASSIGNED TO  LAST UPDATE") {
			t.Fatalf("got\n%s\nwant a header and 3 incidents", out)
		}
		if !strings.Contains(out, "Impossible travel") {
			t.Errorf("got\n%s\nwant the incident named Impossible travel", out)
		}
		if strings.Contains(out, "\x1b") {
			t.Errorf("got %q: an escape sequence from an alert title reached the terminal", out)
		}
	})

	t.Run("FilterOrderByJSON", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "list", "--filter", "severity eq 'high'", "--orderby", "alertCount desc", "-o", "json")
		var got []struct {
			ID         string `json:"id"`
			Severity   string `json:"severity"`
			AlertCount int    `json:"alertCount"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("-o json is not one JSON array: %v\n%s", err, out)
		}
		if len(got) != 2 || got[0].ID != ids["Credential dumping"] || got[0].AlertCount != 2 || got[1].ID != ids["Impossible travel"] {
			t.Fatalf("got %+v, want the 2 high incidents, the one of 2 alerts first", got)
		}
	})

	t.Run("AllPages", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "list", "--all", "--top", "1", "-o", "json")
		var got []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, inc := range got {
			seen[inc.ID] = true
		}
		if len(got) != 3 || len(seen) != 3 {
			t.Fatalf("got %+v, want the 3 incidents once each over 3 pages", got)
		}
	})

	t.Run("CountAndSearch", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "list", "--count", "--top", "1")
		if !strings.Contains(out, "1 of 3 matching incidents shown; --skip 1 for the next page") {
			t.Errorf("got\n%s\nwant a line saying 1 of 3 is shown", out)
		}
		out = mustCLI(t, server, "incidents", "list", "--search", "carol@contoso.com")
		if !strings.Contains(out, "Impossible travel") || strings.Contains(out, "Credential") {
			t.Errorf("--search carol@contoso.com: got\n%s\nwant only her incident", out)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrBadFilter", []string{"--filter", "status eq 'closed'"}, "$filter: status: 'closed' at position 11 is not a valid value"},
		{"ErrBadOrderBy", []string{"--orderby", "title"}, "$orderby"},
		{"ErrTop", []string{"--top", "0"}, "--top must be from 1 to 1000"},
		{"ErrOutput", []string{"-o", "yaml"}, `-o: "yaml" is not table or json`},
		{"ErrArgument", []string{"severity", "eq", "'high'"}, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCLI(server, append([]string{"incidents", "list"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (stdout %q), want an error containing %q", err, out, tc.want)
			}
		})
	}

	t.Run("ErrNoServer", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		_, _, err := runCLI(testServer{URL: ts.URL, Token: server.Token}, "incidents", "list")
		if err == nil || !strings.Contains(err.Error(), "cannot reach the weft server at "+ts.URL) || strings.Contains(err.Error(), server.Token) {
			t.Fatalf("got %v, want an error saying the server cannot be reached, without the token", err)
		}
	})
}

func TestIncidentsShow(t *testing.T) {
	server, ids := triageServer(t)
	id := ids["Credential dumping"]

	t.Run("Table", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "show", id, "--story")
		for _, want := range []string{
			"Incident " + id + ": ", "  status          active", "  severity        high", "  priority        ", "  version         ",
			"Alerts (2)", "TIME               ID", "Credential dumping", "shares device ws-1",
			"Activity (last 2 of 2)", "weft correlation  incidentCreated",
			"Story (2 alerts in the order they happened)", "Entities (1)", "device  0            2",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("show output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		out := mustCLI(t, server, "incidents", "show", "--activity", "1", "-o", "json", id)
		var got struct {
			Incident struct {
				ID     string `json:"id"`
				Alerts []struct {
					Title string `json:"title"`
				} `json:"alerts"`
			} `json:"incident"`
			Activity []struct {
				Type string `json:"type"`
			} `json:"activity"`
			Story *json.RawMessage `json:"story"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("-o json: %v\n%s", err, out)
		}
		if got.Incident.ID != id || len(got.Incident.Alerts) != 2 || len(got.Activity) != 1 || got.Activity[0].Type != "alertAdded" || got.Story != nil {
			t.Fatalf("got %+v, want incident %s with 2 alerts, its last activity entry and no story", got, id)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrUnknownIncident", []string{"999"}, "incident 999 not found"},
		{"ErrNotAnID", []string{"seven"}, `incident id "seven": must be a positive integer`},
		{"ErrNoID", nil, "needs exactly one incident ID"},
		{"ErrOtherTenant", []string{id, "--tenant", "acme"}, "incident " + id + " not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(server, append([]string{"incidents", "show"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIncidentsUpdate(t *testing.T) {
	server, ids := triageServer(t)

	t.Run("OK", func(t *testing.T) {
		id := ids["Credential dumping"]
		out := mustCLI(t, server, "incidents", "update", id, "--status", "inProgress", "--assign", "alice@contoso.com", "--add-tag", "VIP", "--add-tag", "ws-1, ws-2")
		for _, want := range []string{"  status          inProgress", "  assigned to     alice@contoso.com", "  tags            VIP, ws-1, ws-2", "by " + server.Principal} {
			if !strings.Contains(out, want) {
				t.Errorf("update output lacks %q:\n%s", want, out)
			}
		}
		out = mustCLI(t, server, "incidents", "update", id, "--remove-tag", "vip", "--unassign", "-o", "json")
		var inc struct {
			AssignedTo string   `json:"assignedTo"`
			CustomTags []string `json:"customTags"`
		}
		if err := json.Unmarshal([]byte(out), &inc); err != nil {
			t.Fatal(err)
		}
		if inc.AssignedTo != "" || len(inc.CustomTags) != 1 || inc.CustomTags[0] != "ws-1, ws-2" {
			t.Fatalf("got %+v, want unassigned with the tag \"ws-1, ws-2\" left", inc)
		}
		out = mustCLI(t, server, "incidents", "update", id, "--tag", "a", "--tag", "b", "-o", "json")
		if err := json.Unmarshal([]byte(out), &inc); err != nil || strings.Join(inc.CustomTags, "|") != "a|b" {
			t.Fatalf("--tag a --tag b: got %+v (%v), want the tags a and b", inc, err)
		}
	})

	t.Run("ErrStaleVersion", func(t *testing.T) {
		id := ids["Impossible travel"]
		version := int(getIncident(t, server, id)["version"].(float64))
		mustCLI(t, server, "incidents", "comment", id, "someone else's change")
		_, _, err := runCLI(server, "incidents", "update", id, "--severity", "low", "--if-match", fmt.Sprint(version))
		want := fmt.Sprintf("it is at version %d", version+1)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "last changed by "+server.Principal) {
			t.Fatalf("got %v, want a 412 error saying %q and who changed it", err, want)
		}
		if got := getIncident(t, server, id)["severity"]; got != "high" {
			t.Errorf("severity is %v after a stale update, want it unchanged (high)", got)
		}
		mustCLI(t, server, "incidents", "update", id, "--severity", "low", "--if-match", fmt.Sprint(version+1))
		if got := getIncident(t, server, id)["severity"]; got != "low" {
			t.Errorf("severity is %v after an update at the current version, want low", got)
		}
	})

	// A change made between update's read and its write is not lost: the
	// write gets 412 and update reads and writes again.
	t.Run("TagsRetryAfterConcurrentChange", func(t *testing.T) {
		id := ids["Malware"]
		target, _ := url.Parse(server.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		var patches atomic.Int32
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && patches.Add(1) == 1 {
				req, _ := http.NewRequest(http.MethodPatch, server.URL+r.URL.Path, strings.NewReader(`{"customTags":["theirs"]}`))
				setToken(req, server.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("the concurrent change failed: %v", err)
				} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
					t.Errorf("the concurrent change answered %s, want 200", resp.Status)
				}
			}
			proxy.ServeHTTP(w, r)
		}))
		defer ts.Close()
		out := mustCLI(t, testServer{URL: ts.URL, Token: server.Token}, "incidents", "update", id, "--add-tag", "mine", "-o", "json")
		var inc struct {
			CustomTags []string `json:"customTags"`
		}
		if err := json.Unmarshal([]byte(out), &inc); err != nil {
			t.Fatal(err)
		}
		if strings.Join(inc.CustomTags, "|") != "theirs|mine" || patches.Load() != 2 {
			t.Fatalf("got tags %v after %d writes, want theirs|mine after 2", inc.CustomTags, patches.Load())
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrNothing", nil, "changes nothing; give one or more of --status"},
		{"ErrAssignAndUnassign", []string{"--assign", "bob", "--unassign"}, "--assign and --unassign"},
		{"ErrTagAndAddTag", []string{"--tag", "a", "--add-tag", "b"}, "--tag sets the whole tag list"},
		{"ErrIfMatch", []string{"--status", "resolved", "--if-match", "0"}, "--if-match must be a positive incident version"},
		{"ErrBadStatus", []string{"--status", "closed"}, `status: "closed" is not a valid value`},
		{"ErrUnknownIncident", []string{"--status", "resolved", "--", "12345"}, "incident 12345 not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"incidents", "update", ids["Malware"]}
			if tc.name == "ErrUnknownIncident" {
				args = args[:2]
			}
			_, _, err := runCLI(server, append(args, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIncidentsComment(t *testing.T) {
	server, ids := triageServer(t)
	id := ids["Malware"]
	file := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(file, []byte("Reimaged ws-2.\nClosed with the owner.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, server, "incidents", "comment", id, "Looked", "at", "it:", "benign")
	if !strings.Contains(out, "Comment added to incident "+id+" (now at version ") {
		t.Errorf("got %q, want it to say the comment was added and the new version", out)
	}
	mustCLI(t, server, "incidents", "comment", "--file", file, id)
	var comments []string
	for _, c := range getIncident(t, server, id)["comments"].([]any) {
		m := c.(map[string]any)
		if m["createdByDisplayName"] != server.Principal {
			t.Errorf("comment by %v, want %s (the token's principal)", m["createdByDisplayName"], server.Principal)
		}
		comments = append(comments, m["comment"].(string))
	}
	if len(comments) != 2 || comments[0] != "Looked at it: benign" || comments[1] != "Reimaged ws-2.\nClosed with the owner." {
		t.Fatalf("got comments %q, want the text of the arguments, then of the file", comments)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrEmpty", []string{id}, "the comment is empty"},
		{"ErrFileAndText", []string{id, "text", "--file", file}, "--file: give the TEXT or --file, not both"},
		{"ErrNoFile", []string{id, "--file", filepath.Join(t.TempDir(), "none")}, "--file: open"},
		{"ErrUnknownIncident", []string{"4242", "hello"}, "incident 4242 not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(server, append([]string{"incidents", "comment"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIncidentsHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"incidents", "--help"}, &out, &out)
	if err == nil {
		t.Fatal("incidents --help: got no error, want flag.ErrHelp")
	}
	for _, sub := range []string{"list", "show ID", "update ID", "comment ID", "merge ID ID"} {
		if !strings.Contains(out.String(), "\n  "+sub) {
			t.Errorf("incidents --help does not list %q:\n%s", sub, out.String())
		}
	}
	for sub := range incidentsCommands {
		out.Reset()
		err := run(context.Background(), []string{"incidents", sub, "--help"}, &out, &out)
		if err == nil || !strings.Contains(out.String(), "Usage: weft incidents "+sub) || !strings.Contains(out.String(), "-server") {
			t.Errorf("incidents %s --help: err %v, output %q; want its usage with the common flags", sub, err, out.String())
		}
	}
	if err := run(context.Background(), []string{"incidents", "close", "7"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown subcommand "close"`) {
		t.Errorf("got %v, want an error naming the unknown subcommand", err)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		wantArgs  []string
		wantStory bool
	}{
		{"FlagsFirst", []string{"--story", "7"}, []string{"7"}, true},
		{"FlagsAfter", []string{"7", "--story"}, []string{"7"}, true},
		{"Interleaved", []string{"a", "--story", "b", "c"}, []string{"a", "b", "c"}, true},
		{"AfterDoubleDash", []string{"7", "--", "--story", "-x"}, []string{"7", "--story", "-x"}, false},
		{"Stdin", []string{"7", "-"}, []string{"7", "-"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("test", "", "", io.Discard)
			story := fs.Bool("story", false, "")
			got, err := parseFlags(fs, tc.args)
			if err != nil || strings.Join(got, "|") != strings.Join(tc.wantArgs, "|") || *story != tc.wantStory {
				t.Fatalf("got %q, story %v, %v; want %q, story %v", got, *story, err, tc.wantArgs, tc.wantStory)
			}
		})
	}
}

func TestEditTagList(t *testing.T) {
	for _, tc := range []struct {
		name              string
		tags, add, remove []string
		want              string
	}{
		{"Add", []string{"a"}, []string{"b"}, nil, "a|b"},
		{"AddPresentCaseAside", []string{"VIP"}, []string{"vip"}, nil, "VIP"},
		{"RemoveCaseAside", []string{"VIP", "x"}, nil, []string{"vip"}, "x"},
		{"RemoveWins", nil, []string{"a"}, []string{"a"}, ""},
		{"KeepsOrder", []string{"c", "a"}, []string{"b"}, nil, "c|a|b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(editTagList(tc.tags, tc.add, tc.remove), "|"); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPrintTable checks that the last column is cut to the width and that
// control characters from alert content never reach the terminal.
func TestPrintTable(t *testing.T) {
	var out bytes.Buffer
	printTable(&out, 40, []string{"ID", "NAME"}, [][]string{
		{"1", "Malware \x1b]0;pwned\x07 on ws-1\nfake line"},
		{"22", strings.Repeat("long name ", 10)},
	})
	want := "ID  NAME\n" +
		"1   Malware  ]0;pwned  on ws-1 fake line\n" +
		"22  long name long name long name long …\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
}
