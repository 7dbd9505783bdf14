package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

const alertsHelp = `
Act on alerts on a weft server. The only subcommand is "move":

  weft alerts move ALERT_ID... (--to INCIDENT_ID | --new) --comment TEXT [--reason R]...

moves alerts to an incident, or to a new incident of their own (Graph's
moveAlerts), with a comment saying why; --reason gives the Graph correlation
reasons for their new place (sameAsset, sameUser, …). Correlation does not
undo the move: it keeps the alerts where an analyst put them.

It talks to the server of --url (WEFT_URL) with the API token of --token
(WEFT_TOKEN) and acts for --tenant; the activity logs of the incidents
involved record the token's name.
`

func runAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "move" {
		fs := newFlagSet("alerts", "move ALERT_ID... (--to INCIDENT_ID | --new) --comment TEXT [flags]", alertsHelp, stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		if len(args) > 0 {
			return fmt.Errorf("alerts: unknown subcommand %q; the only one is move", args[0])
		}
		return errors.New(`alerts needs a subcommand: "move"`)
	}
	fs := newFlagSet("alerts move", "ALERT_ID... (--to INCIDENT_ID | --new) --comment TEXT [flags]", alertsHelp, stderr)
	cf := addClientFlags(fs)
	to := fs.String("to", "", "move the alerts to the incident with this `ID`")
	newIncident := fs.Bool("new", false, "move the alerts to a new incident")
	comment := fs.String("comment", "", "why the alerts are moved (required)")
	var reasons stringList
	fs.Var(&reasons, "reason", "a correlation `reason` for the alerts' new place (repeatable or comma-separated), e.g. sameAsset")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return errors.New("alerts move needs one or more ALERT_IDs")
	}
	body := struct {
		AlertIDs              []string `json:"alertIds"`
		IncidentID            *int64   `json:"incidentId"` // null: a new incident
		AlertComment          string   `json:"alertComment"`
		NewCorrelationReasons []string `json:"newCorrelationReasons"`
	}{AlertIDs: rest, AlertComment: *comment, NewCorrelationReasons: nonNilList(reasons)}
	switch {
	case (*to != "") == *newIncident:
		return errors.New("--to and --new: give one of them (--to ID moves to an incident, --new to a new one)")
	case *to != "":
		id, err := parseIncidentArg(*to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		body.IncidentID = &id
	}
	if strings.TrimSpace(*comment) == "" {
		return errors.New("--comment: a move needs a comment saying why")
	}
	into, done, err := postRestructure(ctx, cf, "/api/v1/alerts/moveAlerts", &body, stdout)
	if err != nil || done {
		return err
	}
	where := "incident"
	if *newIncident {
		where = "new incident"
	}
	plural := "s"
	if len(rest) == 1 {
		plural = ""
	}
	fmt.Fprintf(stdout, "Moved %d alert%s to %s %d.\n", len(rest), plural, where, into)
	return nil
}

// postRestructure sends a move or merge (POST path with body) and returns
// the incident the alerts are in afterwards; with -o json it writes the
// answer as the server gave it and reports done.
func postRestructure(ctx context.Context, cf *clientFlags, path string, body any, stdout io.Writer) (into int64, done bool, err error) {
	c, err := cf.client()
	if err != nil {
		return 0, false, err
	}
	ans, err := c.do(ctx, http.MethodPost, path, nil, body, 0)
	if err != nil {
		return 0, false, err
	}
	if into, err = targetOf(ans); err != nil {
		return 0, false, err
	}
	if c.json {
		return into, true, writeRawJSON(stdout, ans.Body)
	}
	return into, false, nil
}

// targetOf reads the {"targetIncidentId": N} answer of a merge or move.
func targetOf(ans *apiAnswer) (int64, error) {
	var a struct {
		Target jsontext.Value `json:"targetIncidentId"`
	}
	if err := decodeAnswer(ans.Body, &a); err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	return parseIDAnswer(a.Target)
}

// nonNilList returns l, or an empty list for nil, so that it is sent as [].
func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
