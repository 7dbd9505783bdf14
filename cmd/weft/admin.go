package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/auth"
	"github.com/weftxdr/weft/sqlite"
)

const adminHelp = `
Manage accounts in a data directory: users, API tokens, and the audit log.
The commands work on the database file itself (--data, the directory weft
serve uses), not through the API, so they work before any account exists
and when every credential is lost: whoever may read and write the data
directory is an administrator. They may run beside weft serve.

  weft admin create-user  --name NAME --role ROLE [--tenant T|*] [--display-name TEXT]
                          [--password-file FILE | --password-stdin]
  weft admin create-token --name NAME --role ROLE [--tenant T|*] [--expires 720h]
  weft admin revoke-token ID|NAME
  weft admin list-users   [-o table|json]
  weft admin list-tokens  [-o table|json]
  weft admin audit        [--actor A] [--action X] [--tenant T] [--top N] [-o table|json]

Every command takes --data DIR (WEFT_DATA; default weft-data). Roles:
viewer, analyst, responder, admin (each includes the ones before). --tenant
is a tenant id or * for every tenant; the default is the default tenant.

A password is never a flag's value, which would stay in the shell's
history: create-user reads it from a file or standard input, or, with
neither, makes a random one-time password, prints it once and marks the
account to change it at the first sign-in. create-token prints the token
once, alone on standard output (so that TOKEN=$(weft admin create-token …)
works); weft keeps only a hash of it.

Every command is recorded in the audit log, as actor cli:$USER.
`

// adminCommands are the subcommands of weft admin.
var adminCommands = map[string]func(a *adminCmd, args []string) error{
	"create-user":  (*adminCmd).createUser,
	"create-token": (*adminCmd).createToken,
	"revoke-token": (*adminCmd).revokeToken,
	"list-users":   (*adminCmd).listUsers,
	"list-tokens":  (*adminCmd).listTokens,
	"audit":        (*adminCmd).audit,
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return admin(ctx, args, os.Stdin, stdout, stderr)
}

// admin runs weft admin with stdin as standard input (for
// --password-stdin).
func admin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || adminCommands[args[0]] == nil {
		fs := newFlagSet("admin", "SUBCOMMAND --data DIR [flags]", adminHelp, stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		if len(args) == 0 {
			return errors.New("admin needs a subcommand: create-user, create-token, revoke-token, list-users, list-tokens or audit")
		}
		return fmt.Errorf("admin: unknown subcommand %q", cleanLine(truncateText(args[0], 40)))
	}
	a := &adminCmd{ctx: ctx, name: args[0], stdin: stdin, stdout: stdout, stderr: stderr, actor: cliActor(), output: "table"}
	return adminCommands[args[0]](a, args[1:])
}

// adminCmd is one run of a weft admin subcommand.
type adminCmd struct {
	ctx            context.Context
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	actor          string
	data, output   string
	store          *sqlite.Store
}

// flags returns the subcommand's flag set with --data (and -o when
// output is true).
func (a *adminCmd) flags(synopsis string, output bool) *flag.FlagSet {
	fs := newFlagSet("admin "+a.name, synopsis, adminHelp, a.stderr)
	fs.StringVar(&a.data, "data", envOr("WEFT_DATA", "weft-data"), "data `directory` (WEFT_DATA)")
	if output {
		fs.StringVar(&a.output, "o", "table", "output `format`: table or json")
	}
	return fs
}

// open opens the store of --data. create makes the directory and the
// database when missing (the first admin may be made before the first
// weft serve); otherwise a directory without a database is an error, so
// that a mistyped --data does not answer "no users".
//
// The store is opened without a correlation engine: these commands touch
// no alert, and rebuilding the engine would only cost time. A server on
// the same directory sees the commit and reads the accounts at the next
// request.
func (a *adminCmd) open(create bool) error {
	if a.output != "table" && a.output != "json" {
		return fmt.Errorf("-o: %q is not table or json", a.output)
	}
	path := filepath.Join(a.data, dbFile)
	if create {
		if err := os.MkdirAll(a.data, 0o700); err != nil {
			return fmt.Errorf("creating data directory: %w", err)
		}
	} else if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no weft data in %s (no %s); give the directory weft serve uses with --data or WEFT_DATA", a.data, dbFile)
	}
	store, err := sqlite.Open(path, sqlite.Options{Synchronous: "full"})
	if err != nil {
		return err
	}
	a.store = store
	return nil
}

// close closes the store, reporting its error only when there was none
// before.
func (a *adminCmd) close(err error) error {
	if a.store == nil {
		return err
	}
	if cerr := a.store.Close(); cerr != nil && err == nil {
		return cerr
	}
	return err
}

// record appends an audit entry for this command: a failure when err is
// not nil, with err's code as the detail (the message may repeat input).
// A failure to record fails the command: an unaudited change is what the
// log exists to prevent.
func (a *adminCmd) record(action, target string, err error) error {
	e := weft.AuditEntry{Actor: a.actor, Action: action, Target: target, Outcome: weft.AuditSuccess}
	if err != nil {
		e.Outcome, e.Detail = weft.AuditFailure, weft.ErrorCode(err)
	}
	if aerr := a.store.AppendAudit(context.WithoutCancel(a.ctx), e); aerr != nil {
		return errors.Join(err, fmt.Errorf("writing the audit log: %w", aerr))
	}
	return err
}

// userError makes a weft error a plain message for the terminal.
func userError(err error) error {
	if err == nil || weft.ErrorCode(err) == weft.EINTERNAL {
		return err
	}
	return errors.New(weft.ErrorMessage(err))
}

// cliActor names whoever runs the command in the audit log: cli:$USER,
// else cli: and the account the process runs as.
func cliActor() string {
	name := os.Getenv("USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" {
		name = "unknown"
	}
	return "cli:" + truncateText(cleanLine(name), 64)
}

// grantFlags are the flags of a single grant.
type grantFlags struct{ role, tenant string }

func (g *grantFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&g.role, "role", "", "`role`: viewer, analyst, responder or admin (required)")
	fs.StringVar(&g.tenant, "tenant", weft.DefaultTenantID, "`tenant` id the role holds in, or * for every tenant")
}

func (g *grantFlags) grants() ([]weft.Grant, error) {
	if g.role == "" {
		return nil, errors.New("--role is required: viewer, analyst, responder or admin")
	}
	gs, err := weft.NormalizeGrants([]weft.Grant{{TenantID: g.tenant, Role: weft.Role(g.role)}})
	if err != nil {
		msg := weft.ErrorMessage(err)
		msg = strings.Replace(strings.Replace(msg, "grants[0].role", "--role", 1), "grants[0].tenantId", "--tenant", 1)
		return nil, errors.New(msg)
	}
	return gs, nil
}

func (a *adminCmd) createUser(args []string) error {
	fs := a.flags("--name NAME --role ROLE [--tenant T|*] [--display-name TEXT] [--password-file FILE | --password-stdin]", false)
	name := fs.String("name", "", "login `name` (required): letters, digits and . _ @ + -")
	display := fs.String("display-name", "", "display `name`")
	var g grantFlags
	g.add(fs)
	pwFile := fs.String("password-file", "", "read the password from the first line of `file`")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("create-user takes no arguments, only flags (got %q)", cleanLine(truncateText(fs.Arg(0), 40)))
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	if err := weft.CheckUserName(*name); err != nil {
		return errors.New("--" + weft.ErrorMessage(err))
	}
	grants, err := g.grants()
	if err != nil {
		return err
	}
	if *pwFile != "" && *pwStdin {
		return errors.New("give --password-file or --password-stdin, not both")
	}
	var password string
	generated := false
	switch {
	case *pwFile != "":
		f, err := os.Open(*pwFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		password, err = readPassword(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--password-file %s: %w", *pwFile, err)
		}
	case *pwStdin:
		if password, err = readPassword(a.stdin); err != nil {
			return fmt.Errorf("--password-stdin: %w", err)
		}
	default:
		// 24 characters of [a-z2-7]: 120 bits, easy to type once.
		password, generated = auth.NewID()+auth.NewID(), true
	}
	if err := auth.CheckPassword(password); err != nil {
		return userError(err)
	}

	if err := a.open(true); err != nil {
		return err
	}
	u, err := a.store.CreateUser(a.ctx, &weft.User{Name: *name, DisplayName: *display, Grants: grants, MustChangePassword: generated}, password)
	err = a.record("user.create", *name, err)
	if err = a.close(err); err != nil {
		return userError(err)
	}
	if generated {
		fmt.Fprintf(a.stderr, "Created user %s (id %s), %s. Its one-time password, shown only now, follows;\nit must be changed at the first sign-in.\n",
			u.Name, u.ID, grantsText(u.Grants))
		fmt.Fprintln(a.stdout, password)
		return nil
	}
	fmt.Fprintf(a.stdout, "Created user %s (id %s), %s.\n", u.Name, u.ID, grantsText(u.Grants))
	return nil
}

// readPassword reads the first line of r (at most MaxPasswordBytes and its
// line end), without the line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, auth.MaxPasswordBytes+2), auth.MaxPasswordBytes+2).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password: the first line is empty")
	}
	return line, nil
}

func (a *adminCmd) createToken(args []string) error {
	fs := a.flags("--name NAME --role ROLE [--tenant T|*] [--expires 720h]", false)
	name := fs.String("name", "", "token `name` (required), e.g. the tool that uses it; audit logs show token:NAME")
	var g grantFlags
	g.add(fs)
	expires := fs.Duration("expires", 0, "the token expires after this `duration`, e.g. 720h (default: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("create-token takes no arguments, only flags (got %q)", cleanLine(truncateText(fs.Arg(0), 40)))
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("--name is required")
	}
	grants, err := g.grants()
	if err != nil {
		return err
	}
	if *expires < 0 {
		return fmt.Errorf("--expires must be positive, not %s", *expires)
	}
	t := &weft.Token{Name: *name, Grants: grants, CreatedBy: a.actor}
	if *expires > 0 {
		e := time.Now().Add(*expires)
		t.Expires = &e
	}
	if err := a.open(true); err != nil {
		return err
	}
	tok, secret, err := a.store.CreateToken(a.ctx, t)
	target := strings.TrimSpace(*name)
	if err == nil {
		target = tok.ID
	}
	err = a.record("token.create", target, err)
	if err = a.close(err); err != nil {
		return userError(err)
	}
	until := "never expires"
	if tok.Expires != nil {
		until = "expires at " + tok.Expires.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(a.stderr, "Created token %s (id %s), %s; it %s. The token, shown only now, follows;\nsend it as \"Authorization: Bearer TOKEN\" (weft reads WEFT_TOKEN).\n",
		tok.Name, tok.ID, grantsText(tok.Grants), until)
	fmt.Fprintln(a.stdout, secret)
	return nil
}

func (a *adminCmd) revokeToken(args []string) error {
	fs := a.flags("ID|NAME", false)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("revoke-token needs exactly one token id (see list-tokens), or the name of one token")
	}
	ref := fs.Arg(0)
	if id, _, ok := auth.ParseToken(ref); ok {
		ref = id // the whole token was pasted: its id is enough
	}
	if err := a.open(false); err != nil {
		return err
	}
	id, err := a.tokenID(ref)
	if err == nil {
		err = a.store.RevokeToken(a.ctx, id)
	}
	target := id
	if target == "" {
		target = truncateText(ref, 80)
	}
	err = a.record("token.revoke", target, err)
	if err = a.close(err); err != nil {
		return userError(err)
	}
	fmt.Fprintf(a.stdout, "Revoked token %s: it is refused from the next request on.\n", id)
	return nil
}

// tokenID finds the token ref names: a token id, or else the name of
// exactly one token that is not revoked.
func (a *adminCmd) tokenID(ref string) (string, error) {
	tokens, err := a.store.ListTokens(a.ctx)
	if err != nil {
		return "", err
	}
	var byName []string
	for _, t := range tokens {
		if t.ID == ref {
			return t.ID, nil
		}
		if t.Name == ref && t.Revoked == nil {
			byName = append(byName, t.ID)
		}
	}
	switch len(byName) {
	case 0:
		return "", weft.Errorf(weft.ENOTFOUND, "no token has the id %q, and no unrevoked token that name (see weft admin list-tokens)", cleanLine(truncateText(ref, 80)))
	case 1:
		return byName[0], nil
	}
	return "", weft.Errorf(weft.ECONFLICT, "%d unrevoked tokens are named %q; give the id of one: %s", len(byName), cleanLine(truncateText(ref, 80)), strings.Join(byName, ", "))
}

func (a *adminCmd) listUsers(args []string) error {
	fs := a.flags("[-o table|json]", true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("list-users takes no arguments")
	}
	if err := a.open(false); err != nil {
		return err
	}
	users, err := a.store.ListUsers(a.ctx)
	err = a.record("user.list", "", err)
	if err = a.close(err); err != nil {
		return userError(err)
	}
	if a.output == "json" {
		if users == nil {
			users = []*weft.User{}
		}
		return writeJSONOut(a.stdout, users)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tDISPLAY NAME\tGRANTS\tSTATE\tLAST SIGN-IN")
	for _, u := range users {
		state := "active"
		switch {
		case u.Disabled:
			state = "disabled"
		case u.MustChangePassword:
			state = "must change password"
		}
		var last time.Time
		if u.LastLogin != nil {
			last = *u.LastLogin
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cleanLine(u.Name), u.ID, orDash(cleanLine(truncateText(u.DisplayName, 40))),
			cleanLine(grantsText(u.Grants)), state, formatTime(last))
	}
	return tw.Flush()
}

func (a *adminCmd) listTokens(args []string) error {
	fs := a.flags("[-o table|json]", true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("list-tokens takes no arguments")
	}
	if err := a.open(false); err != nil {
		return err
	}
	tokens, err := a.store.ListTokens(a.ctx)
	err = a.record("token.list", "", err)
	if err = a.close(err); err != nil {
		return userError(err)
	}
	if a.output == "json" {
		if tokens == nil {
			tokens = []*weft.Token{}
		}
		return writeJSONOut(a.stdout, tokens)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tGRANTS\tSTATE\tCREATED\tBY\tEXPIRES\tLAST USED")
	for _, t := range tokens {
		state := "active"
		switch {
		case t.Revoked != nil:
			state = "revoked " + formatTime(*t.Revoked)
		case t.Expires != nil && !now.Before(*t.Expires):
			state = "expired"
		}
		var expires, used time.Time
		if t.Expires != nil {
			expires = *t.Expires
		}
		if t.LastUsed != nil {
			used = *t.LastUsed
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, cleanLine(truncateText(t.Name, 40)), cleanLine(grantsText(t.Grants)),
			state, formatTime(t.Created), orDash(cleanLine(truncateText(t.CreatedBy, 30))), formatTime(expires), formatTime(used))
	}
	return tw.Flush()
}

func (a *adminCmd) audit(args []string) error {
	fs := a.flags("[--actor A] [--action X] [--tenant T] [--top N] [-o table|json]", true)
	var q weft.AuditQuery
	fs.StringVar(&q.Actor, "actor", "", "only entries of this `actor` (a user name, token:NAME, cli:USER)")
	fs.StringVar(&q.Action, "action", "", "only entries of this `action` (login, token.create, request, …)")
	fs.StringVar(&q.TenantID, "tenant", "", "only entries in this `tenant`")
	fs.IntVar(&q.Top, "top", 50, "show the newest `N` entries (at most 1000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("audit takes no arguments, only flags")
	}
	if q.Top < 1 || q.Top > 1000 {
		return fmt.Errorf("--top must be from 1 to 1000, not %d", q.Top)
	}
	if err := a.open(false); err != nil {
		return err
	}
	// The reading is recorded before it happens, so that it lists itself.
	err := a.record("audit.read", "", nil)
	var entries []weft.AuditEntry
	var more bool
	if err == nil {
		entries, more, err = a.store.ListAudit(a.ctx, q)
	}
	if err = a.close(err); err != nil {
		return userError(err)
	}
	if a.output == "json" {
		if entries == nil {
			entries = []weft.AuditEntry{}
		}
		return writeJSONOut(a.stdout, entries)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTENANT\tTARGET\tFROM\tOUTCOME")
	for _, e := range entries {
		outcome := e.Outcome
		if e.Detail != "" {
			outcome += ": " + e.Detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05Z"),
			cleanLine(truncateText(e.Actor, 40)), cleanLine(e.Action), orDash(cleanLine(e.TenantID)),
			orDash(cleanLine(truncateText(e.Target, 60))), orDash(cleanLine(e.RemoteAddr)), cleanLine(truncateText(outcome, 80)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if more {
		fmt.Fprintf(a.stderr, "(the newest %d entries; --top shows more)\n", len(entries))
	}
	return nil
}

// grantsText shows grants as "admin in every tenant", "analyst in contoso
// (devices of Finance, HR)", joined by "; ".
func grantsText(gs []weft.Grant) string {
	if len(gs) == 0 {
		return "no grants"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		where := "in " + g.TenantID
		if g.TenantID == weft.AllTenants {
			where = "in every tenant"
		}
		parts[i] = string(g.Role) + " " + where
		if len(g.DeviceGroups) > 0 {
			parts[i] += " (devices of " + strings.Join(g.DeviceGroups, ", ") + ")"
		}
	}
	return strings.Join(parts, "; ")
}
