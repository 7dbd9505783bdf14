package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

const actionsHelp = `
Response actions on a weft server (docs/respond.md): the action center, and
the requests and decisions responders make.

Subcommands:

  list                          actions, newest first (--status pendingApproval for what waits on you)
  show ID                       an action and its log
  request TYPE TARGET           request an action: weft actions request isolate device.fqdn:ws-7.contoso.com --incident 12
  approve ID [--comment TEXT]   approve an action another responder requested
  reject ID [--comment TEXT]    reject it
  cancel ID [--comment TEXT]    cancel an action that is not yet dispatched
  undo ID [--comment TEXT]      request the inverse of a succeeded action (release, enable, ...)

TARGET is the entity's key, "kind:value", as the incident graph (weft
incidents show ID --story) and the entity pages give it. Changes need the
responder role; the server records them under the token's name, and refuses
an approval by the action's own requester. Every subcommand talks to the
server of --url (WEFT_URL) with the API token of --token (WEFT_TOKEN) and acts
for --tenant; -o json prints the API's JSON instead of a table. Run
"weft actions SUBCOMMAND --help" for its flags.
`

// actionsCommands are the subcommands of weft actions.
var actionsCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"list":    runActionsList,
	"show":    runActionsShow,
	"request": runActionsRequest,
	"approve": actionDecisionCommand("approve"),
	"reject":  actionDecisionCommand("reject"),
	"cancel":  actionDecisionCommand("cancel"),
	"undo":    actionDecisionCommand("undo"),
}

const actionsSubcommands = "list, show, request, approve, reject, cancel or undo"

func runActions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlagSet("actions", "SUBCOMMAND [flags]", actionsHelp, stderr)
		fs.Usage = func() {
			fmt.Fprintf(stderr, "Usage: weft actions SUBCOMMAND [flags]\n\n%s\n", strings.TrimSpace(actionsHelp))
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		return errors.New("actions needs a subcommand: " + actionsSubcommands)
	}
	run, ok := actionsCommands[args[0]]
	if !ok {
		return fmt.Errorf("actions: unknown subcommand %q; use %s", args[0], actionsSubcommands)
	}
	return run(ctx, args[1:], stdout, stderr)
}

const actionsListHelp = `
List response actions, newest first, as the action center shows them. Each
filter given must hold:

  weft actions list --status pendingApproval
  weft actions list --incident 12 --type isolate,disable --since 2026-01-31T00:00:00Z

-o json prints the actions as the API gives them, one JSON array.
`

func runActionsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("actions list", "[flags]", actionsListHelp, stderr)
	cf := addClientFlags(fs)
	var status, types stringList
	fs.Var(&status, "status", "action `status`es (repeatable or comma-separated): requested, pendingApproval, approved, dispatched, succeeded, failed, ...")
	fs.Var(&types, "type", "action `type`s (repeatable or comma-separated), e.g. isolate")
	entityType := fs.String("entity-type", "", "the target's entity `type`: device, user, emailMessage, file, ip, url, domain")
	target := fs.String("target", "", "the target's entity `key`, \"kind:value\"")
	incident := fs.String("incident", "", "the `ID` of the incident the actions were taken from")
	requestedBy := fs.String("requested-by", "", "who requested them (a user or token `name`)")
	since := fs.String("since", "", "created at or after this RFC 3339 `time`")
	until := fs.String("until", "", "created before this RFC 3339 `time`")
	pf := addPageFlags(fs, "actions", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("actions list takes no arguments, got %q", rest)
	}
	q, err := pf.query()
	if err != nil {
		return err
	}
	q.Set("$count", "true")
	if len(status) > 0 {
		q.Set("status", strings.Join(status, ","))
	}
	if len(types) > 0 {
		q.Set("type", strings.Join(types, ","))
	}
	if *incident != "" {
		id, err := parseIncidentArg(*incident)
		if err != nil {
			return fmt.Errorf("--incident: %w", err)
		}
		q.Set("incidentId", strconv.FormatInt(id, 10))
	}
	setGiven(q, map[string]string{"entityType": *entityType, "target": *target, "requestedBy": *requestedBy, "since": *since, "until": *until})
	c, err := cf.client()
	if err != nil {
		return err
	}
	var page listAnswer
	if _, err := c.getJSON(ctx, "/api/v1/actions", q, &page); err != nil {
		return err
	}
	if c.json {
		return writeJSONOut(stdout, page.Value)
	}
	rows := make([][]string, 0, len(page.Value))
	for _, raw := range page.Value {
		var a weft.Action
		if err := decodeAnswer(raw, &a); err != nil {
			return fmt.Errorf("reading an action of the answer: %w", err)
		}
		rows = append(rows, actionRow(&a))
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "No actions match.")
		return nil
	}
	printTable(stdout, terminalWidth(), actionColumns, rows)
	if page.Count != nil && int64(*pf.skip+len(rows)) < *page.Count {
		fmt.Fprintf(stdout, "%d of %d matching actions shown; --skip %d for the next page\n", len(rows), *page.Count, *pf.skip+len(rows))
	}
	return nil
}

// actionColumns are the table's columns; the target, last, is cut to the
// terminal's width.
var actionColumns = []string{"ID", "TYPE", "STATUS", "INCIDENT", "REQUESTED BY", "DECIDED BY", "UPDATED", "TARGET"}

func actionRow(a *weft.Action) []string {
	incident, decided := "-", "-"
	if a.IncidentID != 0 {
		incident = strconv.FormatInt(a.IncidentID, 10)
	}
	if a.DecidedBy != nil {
		decided = a.DecidedBy.String()
	}
	target := a.Target
	if a.TargetName != "" && a.TargetName != a.Target {
		target = a.TargetName + " (" + a.Target + ")"
	}
	return []string{strconv.FormatInt(a.ID, 10), a.Type, string(a.ActionStatus), incident, a.RequestedBy.String(), decided,
		formatTime(a.Updated), target}
}

const actionsShowHelp = `
Show one action: what it is, where it stands, and its log (every
transition, who made it and why).
`

func runActionsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("actions show", "ID [flags]", actionsShowHelp, stderr)
	cf := addClientFlags(fs)
	c, path, err := actionCommandPath(fs, cf, args, "show")
	if err != nil {
		return err
	}
	var a weft.Action
	ans, err := c.getJSON(ctx, path, nil, &a)
	if err != nil {
		return err
	}
	var log listAnswer
	if _, err := c.getJSON(ctx, path+"/log", nil, &log); err != nil {
		return err
	}
	if c.json {
		return writeJSONOut(stdout, struct {
			Action jsontext.Value   `json:"action"`
			Log    []jsontext.Value `json:"log"`
		}{jsontext.Value(ans.Body), log.Value})
	}
	printAction(stdout, &a)
	fmt.Fprintln(stdout, "\nLog:")
	rows := make([][]string, 0, len(log.Value))
	for _, raw := range log.Value {
		var e weft.ActionLogEntry
		if err := decodeAnswer(raw, &e); err != nil {
			return fmt.Errorf("reading the log: %w", err)
		}
		from := string(e.From)
		if from == "" {
			from = "-"
		}
		rows = append(rows, []string{formatTime(e.Time), from, string(e.To), e.Actor.String(), e.Message})
	}
	printTable(stdout, terminalWidth(), []string{"TIME", "FROM", "TO", "BY", "MESSAGE"}, rows)
	return nil
}

// printAction prints an action's fields, one a line, those not set left out.
func printAction(w io.Writer, a *weft.Action) {
	line := func(name, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-13s %s\n", name+":", sanitizeLine(v))
		}
	}
	line("Action", strconv.FormatInt(a.ID, 10)+" "+a.Type)
	line("Status", string(a.ActionStatus))
	line("Target", a.Target+" ("+string(a.EntityType)+")")
	if a.TargetName != a.Target {
		line("Target name", a.TargetName)
	}
	var params []string
	for _, k := range slices.Sorted(maps.Keys(a.Parameters)) {
		params = append(params, k+"="+a.Parameters[k])
	}
	line("Parameters", strings.Join(params, ", "))
	if a.IncidentID != 0 {
		line("Incident", strconv.FormatInt(a.IncidentID, 10))
	}
	line("Requested by", a.RequestedBy.String())
	if a.DecidedBy != nil {
		line("Decided by", a.DecidedBy.String())
	}
	line("Comment", a.Comment)
	line("Connector", a.Connector)
	if a.Attempt > 0 {
		line("Attempt", strconv.Itoa(a.Attempt))
	}
	line("Message", a.Message)
	line("External id", a.ExternalID)
	line("Contains", string(a.Contains))
	if a.UndoOf != 0 {
		line("Undoes", strconv.FormatInt(a.UndoOf, 10))
	}
	if a.UndoneBy != 0 {
		line("Undone by", strconv.FormatInt(a.UndoneBy, 10))
	}
	line("Created", formatTime(a.Created))
	line("Updated", formatTime(a.Updated))
	if !a.ActionStatus.Final() {
		line("Expires", formatTime(a.ExpiresAt))
	}
}

// sanitizeLine replaces control characters (a target name comes from alert
// content) so that a value cannot rewrite the terminal.
func sanitizeLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

const actionsRequestHelp = `
Request a response action on one target: TYPE is an action of the catalogue
(GET /api/v1/actions/catalogue: isolate, release, restrictAppExecution,
runAntivirusScan, disable, enable, revokeSessions, softDelete, addIndicator,
...) and TARGET the entity's key, "kind:value":

  weft actions request isolate device.fqdn:ws-7.contoso.com --incident 12 --param isolationType=selective
  weft actions request disable user.upn:alice@contoso.com --incident 12 --comment "confirmed phish"

The action is pending approval or approved, as the tenant's response policy
says. The same request within 10 minutes is the same action (the server
answers the existing one).
`

func runActionsRequest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("actions request", "TYPE TARGET [flags]", actionsRequestHelp, stderr)
	cf := addClientFlags(fs)
	incident := fs.String("incident", "", "the `ID` of the incident the action is taken from (its activity log records every step)")
	comment := fs.String("comment", "", "why")
	name := fs.String("target-name", "", "the target's readable `name`")
	dedupe := fs.String("dedupe-key", "", "makes repeated requests one action (default: the type, target and parameters within 10 minutes)")
	var params stringList
	fs.Var(&params, "param", "an action parameter, `name=value` (repeatable), e.g. isolationType=selective")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return fmt.Errorf("actions request needs TYPE and TARGET, got %d arguments", len(rest))
	}
	body := struct {
		Type       string            `json:"type"`
		Target     string            `json:"target"`
		TargetName string            `json:"targetName,omitempty"`
		Parameters map[string]string `json:"parameters,omitempty"`
		IncidentID string            `json:"incidentId,omitempty"`
		Comment    string            `json:"comment,omitempty"`
		DedupeKey  string            `json:"dedupeKey,omitempty"`
	}{Type: rest[0], Target: rest[1], TargetName: *name, Comment: *comment, DedupeKey: *dedupe}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return fmt.Errorf("--param: %q is not name=value", truncateText(p, 64))
		}
		if body.Parameters == nil {
			body.Parameters = map[string]string{}
		}
		body.Parameters[k] = v
	}
	if *incident != "" {
		id, err := parseIncidentArg(*incident)
		if err != nil {
			return fmt.Errorf("--incident: %w", err)
		}
		body.IncidentID = strconv.FormatInt(id, 10)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	ans, err := c.do(ctx, http.MethodPost, "/api/v1/actions", nil, &body, 0)
	if err != nil {
		return err
	}
	what := "Requested"
	if ans.Status == http.StatusOK { // the dedupe key matched an open action
		what = "Already requested"
	}
	return reportAction(stdout, c, ans, what)
}

const actionDecisionHelp = `
%[1]s action ID, with an optional comment that the action's log and its
incident's activity log record.%[2]s
`

// actionCommandPath parses the flags and the one action ID of subcommand
// verb's args and returns the client of the flags and the action's API path.
func actionCommandPath(fs *flag.FlagSet, cf *clientFlags, args []string, verb string) (*apiClient, string, error) {
	rest, err := parseFlags(fs, args)
	if err != nil {
		return nil, "", err
	}
	if len(rest) != 1 {
		return nil, "", fmt.Errorf("actions %s needs exactly one action ID, got %d arguments", verb, len(rest))
	}
	id, err := parseActionArg(rest[0])
	if err != nil {
		return nil, "", err
	}
	c, err := cf.client()
	if err != nil {
		return nil, "", err
	}
	return c, "/api/v1/actions/" + strconv.FormatInt(id, 10), nil
}

// actionDecisionCommand returns the command of one decision on an action.
func actionDecisionCommand(verb string) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	notes := map[string]string{
		"approve": " Only another responder than the requester can approve.",
		"reject":  " Only another responder than the requester can reject; the requester cancels.",
		"cancel":  " An action can be cancelled until it is dispatched.",
		"undo":    " Undo requests the inverse action (isolate → release, disable → enable, ...), which\nfollows the approval policy like any request.",
	}
	done := map[string]string{"approve": "Approved", "reject": "Rejected", "cancel": "Cancelled", "undo": "Requested the undo:"}
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		title := strings.ToUpper(verb[:1]) + verb[1:]
		fs := newFlagSet("actions "+verb, "ID [flags]", fmt.Sprintf(actionDecisionHelp, title, notes[verb]), stderr)
		cf := addClientFlags(fs)
		comment := fs.String("comment", "", "why")
		c, path, err := actionCommandPath(fs, cf, args, verb)
		if err != nil {
			return err
		}
		body := struct {
			Comment string `json:"comment,omitempty"`
		}{*comment}
		ans, err := c.do(ctx, http.MethodPost, path+"/"+verb, nil, &body, 0)
		if err != nil {
			return err
		}
		return reportAction(stdout, c, ans, done[verb])
	}
}

// reportAction prints the action an answer holds: as the API gave it with
// -o json, else one line saying what happened and where it stands.
func reportAction(w io.Writer, c *apiClient, ans *apiAnswer, what string) error {
	if c.json {
		return writeRawJSON(w, ans.Body)
	}
	var a weft.Action
	if err := decodeAnswer(ans.Body, &a); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	fmt.Fprintf(w, "%s action %d: %s on %s, %s.\n", what, a.ID, a.Type, sanitizeLine(a.Target), a.ActionStatus)
	return nil
}

// parseActionArg reads an action id argument.
func parseActionArg(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("action id %q: must be a positive integer", truncateText(s, 64))
	}
	return id, nil
}
