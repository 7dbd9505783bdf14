package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
	"github.com/weftxdr/weft/ingest"
)

const demoHelp = `
Start a weft server on an embedded store in a temporary directory (or --data)
and feed it a realistic stream generated in Go: a multi-stage attack that
crosses email, identity and endpoint sources, a few smaller attacks, and
benign noise — sent over HTTP as any source would. Then print where to look.

The demo creates an admin account named demo with a random one-time password
(changed at the first sign-in) and an admin API token valid for 24 hours, and
prints both once with the server's URL; it feeds the server with that token.

The server keeps running until Ctrl-C (or exits at once with --exit); a
temporary directory is removed on exit.
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[flags]", demoHelp, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; if it is taken, a free port is used")
	data := fs.String("data", "", "data `directory` to keep (default: a temporary one, removed on exit)")
	seed := fs.Int64("seed", 1, "scenario `seed`: the same seed gives the same alerts")
	exit := fs.Bool("exit", false, "exit after feeding the alerts and printing the summary")
	logLevel := fs.String("log-level", "warn", "log `level`: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "weft-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	rs, err := startServer(serverConfig{Addr: *addr, DataDir: dir, Synchronous: "normal", Logger: logger})
	if isAddrInUse(err) {
		fmt.Fprintf(stderr, "%s is taken; using a free port instead\n", *addr)
		rs, err = startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: "normal", Logger: logger})
	}
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rs.Shutdown(sctx); err != nil {
			logger.Warn("shutdown", "err", err)
		}
	}()

	creds, err := demoCredentials(ctx, rs.store, time.Now())
	if err != nil {
		return err
	}

	opts := gen.DemoOptions()
	opts.Seed = *seed
	opts.Start = time.Now().UTC().Add(-time.Minute)
	var alerts bytes.Buffer
	stats, err := gen.Generate(opts, &alerts, io.Discard)
	if err != nil {
		return fmt.Errorf("generating the demo stream: %w", err)
	}
	fmt.Fprintf(stdout, "weft demo: feeding %d alerts (%d attacks amid benign noise) to %s\n", stats.Alerts, stats.Attacks, rs.URL)

	var sum ingestSummary
	start := time.Now()
	err = forEachChunk(alerts.Bytes(), 200, func(chunk []byte, ndjson bool, firstLine int) error {
		return postChunk(ctx, rs.URL, "", creds.token, ingest.FormatGraph, chunk, ndjson, firstLine, &sum, stderr)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  %d alerts stored in %s (%d rejected)\n", sum.Stored+sum.Updated, time.Since(start).Round(time.Millisecond), sum.Rejected)

	fmt.Fprintf(stdout, "\nOpen the web UI and sign in (shown only now; an admin in every tenant):\n")
	fmt.Fprintf(stdout, "  web UI           %s/incidents\n", rs.URL)
	fmt.Fprintf(stdout, "  user             %s, one-time password %s (to be changed at the first sign-in)\n\n", demoUser, creds.password)
	if err := printDemoSummary(ctx, stdout, rs); err != nil {
		return err
	}
	printDemoCredentials(stdout, rs.URL, creds)
	if *exit {
		return nil
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// printDemoSummary lists the most severe incidents and the URLs to explore.
func printDemoSummary(ctx context.Context, w io.Writer, rs *runningServer) error {
	page, err := rs.store.ListIncidents(ctx, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Top: weft.MaxPageSize, Count: true})
	if err != nil {
		return err
	}
	var incs []*weft.Incident
	for _, inc := range page.Incidents {
		if inc.Status != weft.IncidentStatusRedirected {
			incs = append(incs, inc)
		}
	}
	score := func(inc *weft.Incident) int {
		if inc.PriorityScore == nil {
			return -1
		}
		return *inc.PriorityScore
	}
	sort.SliceStable(incs, func(i, j int) bool {
		a, b := incs[i], incs[j]
		if score(a) != score(b) {
			return score(a) > score(b)
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		return a.AlertCount > b.AlertCount
	})
	fmt.Fprintf(w, "Top of the queue of %d incidents (priority score, severity, alerts, name):\n", len(incs))
	for i, inc := range incs {
		if i == 5 {
			break
		}
		fmt.Fprintf(w, "  #%-5d %3d  %-13s %3d alerts  %s\n", inc.ID, score(inc), inc.Severity, inc.AlertCount, inc.DisplayName)
	}
	fmt.Fprintf(w, "\nWhere to look:\n")
	if len(incs) > 0 {
		fmt.Fprintf(w, "  top incident     %s/incidents/%d (in the web UI)\n", rs.URL, incs[0].ID)
	}
	fmt.Fprintf(w, "  incident queue   %s/api/v1/incidents\n", rs.URL)
	if len(incs) > 0 {
		fmt.Fprintf(w, "  its API          %s/api/v1/incidents/%d?$expand=alerts\n", rs.URL, incs[0].ID)
		fmt.Fprintf(w, "  its activity     %s/api/v1/incidents/%d/activity\n", rs.URL, incs[0].ID)
	}
	fmt.Fprintf(w, "  alerts           %s/api/v1/alerts?$top=20&$count=true\n", rs.URL)
	fmt.Fprintf(w, "  metrics          %s/metrics\n", rs.URL)
	return nil
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// demoUser is the login name of the demo's admin account.
const demoUser = "demo"

// demoCreds are the demo's credentials: shown once, never logged.
type demoCreds struct {
	password string // the demo user's one-time password
	token    string // an admin API token
	expires  time.Time
}

// demoCredentials creates the demo admin user with a random one-time
// password (or, on a kept --data directory where it exists, gives it a new
// one) and an admin API token valid for bootstrapTTL.
func demoCredentials(ctx context.Context, auth weft.AuthStore, now time.Time) (demoCreds, error) {
	var c demoCreds
	pw, err := randomPassword()
	if err != nil {
		return c, err
	}
	admin := []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}}
	_, err = auth.CreateUser(ctx, &weft.User{Name: demoUser, DisplayName: "Demo admin", Grants: admin, MustChangePassword: true}, pw)
	if weft.ErrorCode(err) == weft.ECONFLICT {
		var u *weft.User
		if u, err = auth.FindUser(ctx, demoUser); err == nil {
			err = auth.SetPassword(ctx, u.ID, pw, true)
		}
	}
	if err != nil {
		return c, fmt.Errorf("creating the demo user: %w", err)
	}
	c.password, c.expires = pw, now.Add(bootstrapTTL)
	if _, c.token, err = auth.CreateToken(ctx, &weft.Token{Name: "demo", Grants: admin, CreatedBy: "weft demo", Expires: &c.expires}); err != nil {
		return c, fmt.Errorf("creating the demo token: %w", err)
	}
	return c, nil
}

// randomPassword returns 24 characters from 144 random bits.
func randomPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// printDemoCredentials shows the demo's credentials, once, on the demo's
// own output.
func printDemoCredentials(w io.Writer, url string, c demoCreds) {
	fmt.Fprintf(w, "\nAPI credentials (shown only now; an admin in every tenant):\n")
	fmt.Fprintf(w, "  API token        %s (expires %s)\n", c.token, c.expires.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "\nTry it:\n")
	fmt.Fprintf(w, "  export WEFT_URL=%s WEFT_TOKEN=%s\n", url, c.token)
	fmt.Fprintf(w, "  weft incidents list              # or: go run ./cmd/weft incidents list\n")
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $WEFT_TOKEN\" $WEFT_URL/api/v1/incidents\n")
}
