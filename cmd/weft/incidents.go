package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

const incidentsHelp = `
Triage incidents on a weft server (design §7): the queue, one incident with
its alerts and activity, and the changes analysts make.

Subcommands:

  list                      the queue (weft incidents list --filter "severity eq 'high'")
  show ID                   an incident with its alerts, activity and, with --story, its story
  update ID                 change status, assignee, classification, tags, name, severity
  comment ID TEXT...        add a comment (TEXT, --file F, or - for standard input)
  merge ID ID... --comment  merge incidents into one

Every subcommand talks to the server of --url (WEFT_URL) with the API token
of --token (WEFT_TOKEN) and acts for --tenant; the activity log records the
token's name. -o json prints the API's JSON instead of a table. Run "weft incidents SUBCOMMAND --help" for its flags.
`

// incidentsCommands are the subcommands of weft incidents.
var incidentsCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"list":    runIncidentsList,
	"show":    runIncidentsShow,
	"update":  runIncidentsUpdate,
	"comment": runIncidentsComment,
	"merge":   runIncidentsMerge,
}

func runIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlagSet("incidents", "SUBCOMMAND [flags]", incidentsHelp, stderr)
		fs.Usage = func() {
			fmt.Fprintf(stderr, "Usage: weft incidents SUBCOMMAND [flags]\n\n%s\n", strings.TrimSpace(incidentsHelp))
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		return errors.New("incidents needs a subcommand: list, show, update, comment or merge")
	}
	run, ok := incidentsCommands[args[0]]
	if !ok {
		return fmt.Errorf("incidents: unknown subcommand %q; use list, show, update, comment or merge", args[0])
	}
	return run(ctx, args[1:], stdout, stderr)
}

// maxListAll bounds how many incidents list --all collects, so that a
// filter that matches everything does not page for ever.
const maxListAll = 100_000

// listAnswer is one page of an OData list.
type listAnswer struct {
	Count    *int64           `json:"@odata.count"`
	NextLink string           `json:"@odata.nextLink"`
	Value    []jsontext.Value `json:"value"`
}

// pageFlags are the --top and --skip of a list command.
type pageFlags struct{ top, skip *int }

// addPageFlags adds --top and --skip to fs; what names the listed things
// in their help, topNote ends --top's.
func addPageFlags(fs *flag.FlagSet, what, topNote string) pageFlags {
	return pageFlags{
		top:  fs.Int("top", weft.DefaultPageSize, fmt.Sprintf("%s to show, 1 to %d%s", what, weft.MaxPageSize, topNote)),
		skip: fs.Int("skip", 0, what+" to skip"),
	}
}

// query checks the flags and starts a list's query with them: $top, and
// $skip when not 0.
func (p pageFlags) query() (url.Values, error) {
	if *p.top < 1 || *p.top > weft.MaxPageSize {
		return nil, fmt.Errorf("--top must be from 1 to %d, not %d", weft.MaxPageSize, *p.top)
	}
	if *p.skip < 0 {
		return nil, fmt.Errorf("--skip must not be negative, not %d", *p.skip)
	}
	q := url.Values{"$top": {strconv.Itoa(*p.top)}}
	if *p.skip > 0 {
		q.Set("$skip", strconv.Itoa(*p.skip))
	}
	return q, nil
}

// setGiven sets in q the parameters of params whose value is not empty.
func setGiven(q url.Values, params map[string]string) {
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
}

const incidentsListHelp = `
Show the incident queue: by default the open incidents that are not
informational, highest priority first (the server's default view; any
--filter replaces it). --filter, --orderby and --search are passed to the
server as they are; docs/api.md lists what they take:

  weft incidents list --filter "severity in ('high','medium') and assignedTo eq null" \
                      --orderby "lastUpdateDateTime desc"

The table's last column, the name, is cut to the terminal width ($COLUMNS,
else 120 characters); -o json prints the incidents as the API gives them,
one JSON array.
`

func runIncidentsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents list", "[flags]", incidentsListHelp, stderr)
	cf := addClientFlags(fs)
	filter := fs.String("filter", "", "OData `$filter` expression (default: the server's default view)")
	orderby := fs.String("orderby", "", "OData `$orderby`, e.g. \"severity desc, lastUpdateDateTime desc\" (default: priorityScore desc)")
	search := fs.String("search", "", "free `text`: in the name, the id, or an impacted asset's exact name")
	pf := addPageFlags(fs, "incidents", " (with --all: per request)")
	all := fs.Bool("all", false, fmt.Sprintf("get every matching incident, page after page (at most %d)", maxListAll))
	count := fs.Bool("count", false, "say how many incidents match")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("incidents list takes no arguments, got %q (quote the --filter expression)", rest)
	}
	q, err := pf.query()
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	setGiven(q, map[string]string{"$filter": *filter, "$orderby": *orderby, "$search": *search})
	if *count {
		q.Set("$count", "true")
	}

	raws := make([]jsontext.Value, 0, *pf.top)
	var total *int64
	more, cut := false, false
	for {
		var page listAnswer
		if _, err := c.getJSON(ctx, "/api/v1/incidents", q, &page); err != nil {
			return err
		}
		if total == nil {
			total = page.Count
		}
		raws = append(raws, page.Value...)
		more = page.NextLink != ""
		if !*all || !more || len(page.Value) == 0 {
			break
		}
		if len(raws) >= maxListAll {
			cut = true
			break
		}
		// The next page is the same request with the link's query: the
		// server builds the link from the host it was asked under, which
		// behind a proxy is not the --url URL.
		next, err := url.Parse(page.NextLink)
		if err != nil {
			return fmt.Errorf("the server's @odata.nextLink %q is not a URL", truncateText(page.NextLink, 100))
		}
		q = next.Query()
		q.Del("$count")
	}

	if c.json {
		if err := writeJSONOut(stdout, raws); err != nil {
			return err
		}
		if total != nil {
			fmt.Fprintf(stderr, "%d incidents match\n", *total)
		}
	} else if err := printIncidentTable(stdout, raws, total, *pf.skip, more && !*all); err != nil {
		return err
	}
	if cut {
		return fmt.Errorf("stopped after %d incidents (--all takes at most %d); narrow --filter", len(raws), maxListAll)
	}
	return nil
}

// printIncidentTable prints the queue and a line on how much of it is shown.
func printIncidentTable(w io.Writer, raws []jsontext.Value, total *int64, skip int, more bool) error {
	rows := make([][]string, 0, len(raws))
	for _, raw := range raws {
		var inc weft.Incident
		if err := decodeAnswer(raw, &inc); err != nil {
			return fmt.Errorf("reading an incident of the answer: %w", err)
		}
		rows = append(rows, []string{
			strconv.FormatInt(inc.ID, 10), priorityText(inc.PriorityScore), string(inc.Severity), string(inc.Status),
			strconv.Itoa(inc.AlertCount), orDash(inc.AssignedTo), formatTime(inc.LastUpdateDateTime), inc.DisplayName,
		})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No incidents match.")
	} else {
		printTable(w, terminalWidth(), []string{"ID", "PRIORITY", "SEVERITY", "STATUS", "ALERTS", "ASSIGNED TO", "LAST UPDATE", "NAME"}, rows)
	}
	switch {
	case total != nil && more:
		fmt.Fprintf(w, "%d of %d matching incidents shown; --skip %d for the next page, --all for all\n", len(rows), *total, skip+len(rows))
	case total != nil:
		fmt.Fprintf(w, "%d matching incidents\n", *total)
	case more:
		fmt.Fprintf(w, "More incidents match: --skip %d for the next page, --all for all, --count for how many\n", skip+len(rows))
	}
	return nil
}

const incidentsShowHelp = `
Show one incident: its state (status, severity, priority and what made it,
classification, assignee, tags, times, and its version, the ETag to give
update --if-match), its alerts with why each was correlated, and the last
entries of its activity log. --story adds the attack story: the alerts in
the order they happened and the entities they name.

-o json prints one JSON object: {"incident": …, "activity": […], "story": …}
with each part as the API gives it (story only with --story).
`

func runIncidentsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents show", "ID [flags]", incidentsShowHelp, stderr)
	cf := addClientFlags(fs)
	story := fs.Bool("story", false, "add the attack story (alerts in event order, entities)")
	activity := fs.Int("activity", 10, "show the last `N` activity entries (0: none)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("incidents show needs exactly one incident ID, got %d arguments", len(rest))
	}
	if *activity < 0 {
		return fmt.Errorf("--activity must not be negative, not %d", *activity)
	}
	id, err := parseIncidentArg(rest[0])
	if err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/api/v1/incidents/" + strconv.FormatInt(id, 10)
	var inc weft.Incident
	ans, err := c.getJSON(ctx, path, url.Values{"$expand": {"alerts"}}, &inc)
	if err != nil {
		return err
	}

	var acts []jsontext.Value
	actTotal := 0
	if *activity > 0 {
		var page listAnswer
		if _, err := c.getJSON(ctx, path+"/activity", nil, &page); err != nil {
			return err
		}
		actTotal = len(page.Value)
		acts = page.Value[max(0, len(page.Value)-*activity):]
	}

	var storyRaw []byte
	var sv weft.StoryView
	if *story && inc.Status != weft.IncidentStatusRedirected {
		a, err := c.getJSON(ctx, path+"/story", nil, &sv)
		if err != nil {
			return err
		}
		storyRaw = a.Body
	}

	if c.json {
		out := struct {
			Incident jsontext.Value   `json:"incident"`
			Activity []jsontext.Value `json:"activity"`
			Story    jsontext.Value   `json:"story,omitzero"`
		}{Incident: ans.Body, Activity: acts, Story: storyRaw}
		if out.Activity == nil {
			out.Activity = []jsontext.Value{}
		}
		return writeJSONOut(stdout, out)
	}

	width := terminalWidth()
	printIncidentHeader(stdout, &inc)
	if inc.Status == weft.IncidentStatusRedirected {
		fmt.Fprintf(stdout, "\nIts alerts are in incident %d: weft incidents show %d\n", inc.RedirectIncidentID, inc.RedirectIncidentID)
	} else {
		fmt.Fprintf(stdout, "\nAlerts (%d)\n", len(inc.Alerts))
		rows := make([][]string, 0, len(inc.Alerts))
		for _, a := range inc.Alerts {
			rows = append(rows, []string{formatTime(a.FirstActivityDateTime), a.ID, string(a.Severity), string(a.Status),
				truncateText(cleanLine(a.Title), 60), correlationText(a)})
		}
		printTable(stdout, width, []string{"TIME", "ID", "SEVERITY", "STATUS", "TITLE", "CORRELATION"}, rows)
		if inc.AlertCount > len(inc.Alerts) {
			fmt.Fprintf(stdout, "(%d of %d alerts shown)\n", len(inc.Alerts), inc.AlertCount)
		}
	}
	if *activity > 0 {
		fmt.Fprintf(stdout, "\nActivity (last %d of %d)\n", len(acts), actTotal)
		rows := make([][]string, 0, len(acts))
		for _, raw := range acts {
			var a weft.Activity
			if err := decodeAnswer(raw, &a); err != nil {
				return fmt.Errorf("reading an activity entry: %w", err)
			}
			msg := a.Message
			if a.AlertID != "" && !strings.Contains(msg, a.AlertID) {
				msg = "alert " + a.AlertID + ": " + msg
			}
			rows = append(rows, []string{formatTime(a.Time), truncateText(cleanLine(a.Actor), 40), a.Type, msg})
		}
		printTable(stdout, width, []string{"TIME", "ACTOR", "TYPE", "MESSAGE"}, rows)
	}
	if storyRaw != nil {
		printStory(stdout, width, &sv)
	}
	return nil
}

// correlationText says why an alert is in its incident.
func correlationText(a *weft.Alert) string {
	switch {
	case a.Correlation != "":
		return a.Correlation
	case len(a.CorrelationReasons) > 0:
		return strings.Join(a.CorrelationReasons, ", ")
	}
	return "-"
}

// printIncidentHeader prints an incident's state, one property a line.
func printIncidentHeader(w io.Writer, inc *weft.Incident) {
	fmt.Fprintf(w, "Incident %d: %s\n", inc.ID, cleanLine(inc.DisplayName))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, cleanLine(v)) }
	line("status", string(inc.Status))
	if inc.RedirectIncidentID != 0 {
		line("merged into", "incident "+strconv.FormatInt(inc.RedirectIncidentID, 10))
	}
	line("severity", string(inc.Severity))
	line("priority", priorityText(inc.PriorityScore))
	for _, f := range inc.PriorityFactors {
		factor := fmt.Sprintf("%+4d  %s", f.Points, f.Name)
		if f.Detail != "" {
			factor += ": " + f.Detail
		}
		line("", factor)
	}
	line("classification", string(inc.Classification)+" / "+string(inc.Determination))
	line("assigned to", orDash(inc.AssignedTo))
	line("tags", orDash(strings.Join(inc.CustomTags, ", ")))
	if len(inc.SystemTags) > 0 {
		line("system tags", strings.Join(inc.SystemTags, ", "))
	}
	if len(inc.ServiceSources) > 0 {
		line("sources", strings.Join(inc.ServiceSources, ", "))
	}
	if len(inc.Categories) > 0 {
		line("categories", strings.Join(inc.Categories, ", "))
	}
	line("alerts", strconv.Itoa(inc.AlertCount))
	line("activity", formatTime(inc.FirstActivityDateTime)+" to "+formatTime(inc.LastActivityDateTime))
	line("created", formatTime(inc.CreatedDateTime))
	updated := formatTime(inc.LastUpdateDateTime)
	if inc.LastModifiedBy != "" {
		updated += " by " + inc.LastModifiedBy
	}
	line("last update", updated)
	if inc.ResolvingComment != "" {
		line("resolving comment", truncateText(inc.ResolvingComment, 200))
	}
	if n := len(inc.Comments); n > 0 {
		last := inc.Comments[n-1]
		line("comments", fmt.Sprintf("%d, the last by %s at %s: %s", n, last.CreatedByDisplayName, formatTime(last.CreatedDateTime), truncateText(last.Comment, 120)))
	}
	line("version", strconv.FormatInt(inc.Version, 10)+" (update --if-match "+strconv.FormatInt(inc.Version, 10)+")")
	tw.Flush()
}

// printStory prints the story view: the alerts in event-time order with the
// entities each names, then the entities.
func printStory(w io.Writer, width int, sv *weft.StoryView) {
	names := make(map[string]string, len(sv.Graph.Nodes))
	for _, n := range sv.Graph.Nodes {
		names[n.Key] = n.Name
	}
	fmt.Fprintf(w, "\nStory (%d alerts in the order they happened)\n", len(sv.Alerts))
	rows := make([][]string, 0, len(sv.Alerts))
	for _, a := range sv.Alerts {
		ents := make([]string, 0, len(a.EntityKeys))
		for _, k := range a.EntityKeys {
			ents = append(ents, cmp.Or(names[k], k))
		}
		rows = append(rows, []string{formatTime(a.FirstActivityDateTime), string(a.Severity), orDash(a.Category),
			truncateText(cleanLine(a.Title), 50), orDash(strings.Join(ents, ", "))})
	}
	printTable(w, width, []string{"TIME", "SEVERITY", "CATEGORY", "TITLE", "ENTITIES"}, rows)
	if sv.Truncated {
		fmt.Fprintf(w, "(the story holds the first %d of %d alerts)\n", len(sv.Alerts), sv.AlertCount)
	}
	fmt.Fprintf(w, "\nEntities (%d)\n", len(sv.Graph.Nodes))
	rows = rows[:0]
	for _, n := range sv.Graph.Nodes {
		roles := make([]string, 0, len(n.Roles))
		for _, r := range n.Roles {
			roles = append(roles, string(r))
		}
		rows = append(rows, []string{string(n.Type), strconv.Itoa(n.Criticality), strconv.Itoa(len(n.AlertIDs)),
			orDash(strings.Join(roles, ", ")), formatTime(n.FirstSeen), cmp.Or(n.Name, n.Key)})
	}
	printTable(w, width, []string{"TYPE", "CRITICALITY", "ALERTS", "ROLES", "FIRST SEEN", "NAME"}, rows)
}

const incidentsUpdateHelp = `
Change an incident and print it as it is afterwards. Each flag changes one
property; the others are kept. --tag sets the whole tag list (--tag '' removes
every tag); --add-tag and --remove-tag change it: weft reads the incident,
edits its tags and writes them back with If-Match, and when someone changed
the incident in between (412) reads it again and retries, a few times, so
that their change is not lost.

With --if-match VERSION the change applies only if the incident is still at
that version (weft incidents show gives it); otherwise nothing changes and
the command fails, saying the incident's current version. Without it the
change applies to whatever version is current.

  weft incidents update 7 --status inProgress --assign alice@contoso.com --add-tag VIP
  weft incidents update 7 --status resolved --classification truePositive \
       --determination malware --resolving-comment "Reimaged ws-042" --if-match 5
`

// maxTagAttempts is how often update reads and writes an incident's tags
// when other changes keep coming in between.
const maxTagAttempts = 5

// incidentPatchBody is the body of PATCH /api/v1/incidents/{id}: a member
// left nil is left out, and the server keeps its value.
type incidentPatchBody struct {
	Status           *string   `json:"status,omitzero"`
	AssignedTo       *string   `json:"assignedTo,omitzero"`
	Classification   *string   `json:"classification,omitzero"`
	Determination    *string   `json:"determination,omitzero"`
	CustomTags       *[]string `json:"customTags,omitzero"`
	DisplayName      *string   `json:"displayName,omitzero"`
	Severity         *string   `json:"severity,omitzero"`
	ResolvingComment *string   `json:"resolvingComment,omitzero"`
}

func runIncidentsUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents update", "ID [flags]", incidentsUpdateHelp, stderr)
	cf := addClientFlags(fs)
	status := fs.String("status", "", "new `status`: active, inProgress or resolved")
	assign := fs.String("assign", "", "assign the incident (and its alerts) to `user`")
	unassign := fs.Bool("unassign", false, "remove the assignee")
	classification := fs.String("classification", "", "`classification`: truePositive, falsePositive, informationalExpectedActivity or unknown")
	determination := fs.String("determination", "", "`determination`, e.g. malware, phishing, notMalicious (docs/api.md lists them)")
	var tags, addTags, removeTags repeatedList
	fs.Var(&tags, "tag", "set the tag list to these `tag`s (repeat the flag for several)")
	fs.Var(&addTags, "add-tag", "add a `tag` (repeatable)")
	fs.Var(&removeTags, "remove-tag", "remove a `tag` (repeatable; case-insensitive)")
	name := fs.String("name", "", "new display `name`")
	severity := fs.String("severity", "", "`severity`: informational, low, medium or high")
	resolving := fs.String("resolving-comment", "", "resolving `comment` (with --status resolved, or on a resolved incident)")
	ifMatch := fs.Int64("if-match", 0, "apply only if the incident is at this `version`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("incidents update needs exactly one incident ID, got %d arguments", len(rest))
	}
	id, err := parseIncidentArg(rest[0])
	if err != nil {
		return err
	}
	given := flagsGiven(fs)
	var b incidentPatchBody
	for flagName, dst := range map[string]struct {
		v   *string
		dst **string
	}{
		"status": {status, &b.Status}, "classification": {classification, &b.Classification},
		"determination": {determination, &b.Determination}, "name": {name, &b.DisplayName},
		"severity": {severity, &b.Severity}, "resolving-comment": {resolving, &b.ResolvingComment},
	} {
		if given[flagName] {
			*dst.dst = dst.v
		}
	}
	switch {
	case given["assign"] && *unassign:
		return errors.New("--assign and --unassign: give one of them")
	case given["assign"] && strings.TrimSpace(*assign) == "":
		return errors.New("--assign: give a user name; --unassign removes the assignee")
	case given["assign"]:
		b.AssignedTo = assign
	case *unassign:
		b.AssignedTo = new(string)
	}
	editTags := len(addTags)+len(removeTags) > 0
	if given["tag"] {
		if editTags {
			return errors.New("--tag sets the whole tag list; give it or --add-tag/--remove-tag, not both")
		}
		list := []string(tags)
		b.CustomTags = &list
	}
	if given["if-match"] && *ifMatch <= 0 {
		return fmt.Errorf("--if-match must be a positive incident version, not %d", *ifMatch)
	}
	if b == (incidentPatchBody{}) && !editTags {
		return errors.New("incidents update changes nothing; give one or more of --status, --assign, --unassign, --classification, --determination, --tag, --add-tag, --remove-tag, --name, --severity, --resolving-comment")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	path := "/api/v1/incidents/" + strconv.FormatInt(id, 10)

	var ans *apiAnswer
	if !editTags {
		if ans, err = c.do(ctx, http.MethodPatch, path, nil, &b, *ifMatch); err != nil {
			return err
		}
	}
	for attempt := 1; editTags; attempt++ {
		var cur weft.Incident
		if _, err := c.getJSON(ctx, path, nil, &cur); err != nil {
			return err
		}
		list := editTagList(cur.CustomTags, addTags, removeTags)
		b.CustomTags = &list
		version := cur.Version
		if *ifMatch > 0 {
			version = *ifMatch
		}
		ans, err = c.do(ctx, http.MethodPatch, path, nil, &b, version)
		if err == nil {
			break
		}
		if !isStale(err) || *ifMatch > 0 {
			return err
		}
		if attempt == maxTagAttempts {
			return fmt.Errorf("gave up after %d attempts, the incident kept changing: %w", attempt, err)
		}
	}
	if c.json {
		return writeRawJSON(stdout, ans.Body)
	}
	var inc weft.Incident
	if err := decodeAnswer(ans.Body, &inc); err != nil {
		return fmt.Errorf("reading the updated incident: %w", err)
	}
	printIncidentHeader(stdout, &inc)
	return nil
}

// editTagList returns tags with add appended (unless there, case aside) and
// remove taken out (case aside).
func editTagList(tags, add, remove []string) []string {
	out := make([]string, 0, len(tags)+len(add))
	has := func(list []string, t string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(t)) })
	}
	for _, t := range tags {
		if !has(remove, t) {
			out = append(out, t)
		}
	}
	for _, t := range add {
		if !has(out, t) && !has(remove, t) {
			out = append(out, t)
		}
	}
	return out
}

const incidentsCommentHelp = `
Add a comment to an incident. The text is the arguments after the ID joined
by spaces, or the content of --file F, or standard input with "-":

  weft incidents comment 7 Confirmed with the user: not them.
  weft incidents comment 7 --file notes.txt
  kubectl logs … | weft incidents comment 7 -

Put -- before a TEXT that starts with "-": weft incidents comment 7 -- -x was set.
`

// maxCommentFileBytes bounds the comment read from a file or standard
// input; the server takes at most weft.MaxCommentRunes characters.
const maxCommentFileBytes = 4*weft.MaxCommentRunes + 1

func runIncidentsComment(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents comment", "ID (TEXT... | --file F | -) [flags]", incidentsCommentHelp, stderr)
	cf := addClientFlags(fs)
	file := fs.String("file", "", "read the comment from `file` (- for standard input)")
	ifMatch := fs.Int64("if-match", 0, "add only if the incident is at this `version`")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return errors.New("incidents comment needs an incident ID and the TEXT (or --file F, or - for standard input)")
	}
	id, err := parseIncidentArg(rest[0])
	if err != nil {
		return err
	}
	if *ifMatch < 0 {
		return fmt.Errorf("--if-match must be a positive incident version, not %d", *ifMatch)
	}
	words := rest[1:]
	var text string
	switch {
	case *file != "" && len(words) > 0:
		return errors.New("--file: give the TEXT or --file, not both")
	case *file != "" || (len(words) == 1 && words[0] == "-"):
		name := cmp.Or(*file, "-")
		if text, err = readComment(name); err != nil {
			return err
		}
	default:
		text = strings.Join(words, " ")
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("incidents comment: the comment is empty; give the TEXT, --file F, or - for standard input")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	body := struct {
		Comment string `json:"comment"`
	}{text}
	ans, err := c.do(ctx, http.MethodPost, "/api/v1/incidents/"+strconv.FormatInt(id, 10)+"/comments", nil, &body, *ifMatch)
	if err != nil {
		return err
	}
	if c.json {
		return writeRawJSON(stdout, ans.Body)
	}
	fmt.Fprintf(stdout, "Comment added to incident %d (now at version %d).\n", id, ans.version())
	return nil
}

// readComment reads a comment from a file, or standard input for "-".
func readComment(name string) (string, error) {
	in, label, err := openInput(name)
	if err != nil {
		return "", fmt.Errorf("--file: %w", err)
	}
	defer in.Close()
	b, err := io.ReadAll(io.LimitReader(in, maxCommentFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", label, err)
	}
	if len(b) > maxCommentFileBytes {
		return "", fmt.Errorf("%s: larger than %d bytes; a comment holds at most %d characters", label, maxCommentFileBytes, weft.MaxCommentRunes)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%s: not UTF-8 text", label)
	}
	return string(b), nil
}

const incidentsMergeHelp = `
Merge incidents into one (Graph's mergeIncidents): the alerts of the others
move into the target, which is --target or, without it, the one the server
picks (the oldest); the others are redirected to it. A comment saying why is
required; --reason gives Graph correlation reasons (sameAsset, sameUser, …).

  weft incidents merge 12 15 17 --comment "one phishing campaign" --reason sameSender
`

func runIncidentsMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents merge", "ID ID... --comment TEXT [flags]", incidentsMergeHelp, stderr)
	cf := addClientFlags(fs)
	comment := fs.String("comment", "", "why the incidents are merged (required)")
	target := fs.Int64("target", 0, "the incident `ID` to merge into (default: the server picks the oldest)")
	var reasons stringList
	fs.Var(&reasons, "reason", "a correlation `reason` (repeatable or comma-separated), e.g. sameAsset")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return fmt.Errorf("incidents merge needs two or more incident IDs, got %d", len(rest))
	}
	ids := make([]int64, 0, len(rest))
	for _, a := range rest {
		id, err := parseIncidentArg(a)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if strings.TrimSpace(*comment) == "" {
		return errors.New("--comment: a merge needs a comment saying why")
	}
	body := struct {
		IncidentIDs      []int64  `json:"incidentIds"`
		TargetIncidentID *int64   `json:"targetIncidentId,omitzero"`
		IncidentComment  string   `json:"incidentComment"`
		MergeReasons     []string `json:"mergeReasons"`
	}{IncidentIDs: ids, IncidentComment: *comment, MergeReasons: nonNilList(reasons)}
	if flagsGiven(fs)["target"] {
		if *target <= 0 {
			return fmt.Errorf("--target must be a positive incident id, not %d", *target)
		}
		body.TargetIncidentID = target
	}
	into, done, err := postRestructure(ctx, cf, "/api/v1/incidents/mergeIncidents", &body, stdout)
	if err != nil || done {
		return err
	}
	others := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != into {
			others = append(others, strconv.FormatInt(id, 10))
		}
	}
	fmt.Fprintf(stdout, "Merged incident %s into incident %d.\n", strings.Join(others, ", "), into)
	return nil
}
