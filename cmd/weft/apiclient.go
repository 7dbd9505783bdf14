package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

// The analysts' commands (weft incidents, weft alerts) are clients of a
// running server's REST API, never of a data directory: the server owns the
// correlation engine, which must hear of every change (a resolved incident
// blocks correlation into it), and serializes changes to one incident.

// defaultServer is the URL of the address weft serve listens on by default.
const defaultServer = "http://127.0.0.1:8080"

// maxAnswerBytes bounds one answer the client reads: an incident expanded
// with its alerts, or a page of 1000 incidents, fits.
const maxAnswerBytes = 64 << 20

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	server, tenant, actor, output string
	timeout                       time.Duration
	token                         *tokenFlags
}

// addClientFlags registers the common flags on fs.
func addClientFlags(fs *flag.FlagSet) *clientFlags {
	f := &clientFlags{token: addTokenFlags(fs)}
	fs.StringVar(&f.server, "url", envOr("WEFT_URL", envOr("WEFT_SERVER", defaultServer)), "`URL` of the weft server, as for weft ingest (WEFT_URL)")
	fs.StringVar(&f.server, "server", envOr("WEFT_URL", envOr("WEFT_SERVER", defaultServer)), "`URL` of the weft server: the same as --url (WEFT_SERVER)")
	fs.StringVar(&f.tenant, "tenant", envOr("WEFT_TENANT", ""), "`tenant` to act for, sent as the Weft-Tenant header (WEFT_TENANT; default: the default tenant)")
	fs.StringVar(&f.actor, "actor", envOr("WEFT_ACTOR", ""), "sent as the Weft-Actor header when given (WEFT_ACTOR); the server records every change under the token's own name and refuses any other")
	fs.StringVar(&f.output, "o", "table", "output `format`: table or json")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "time limit of each request to the server (0: none)")
	return f
}

// client checks the common flags and returns a client for them.
func (f *clientFlags) client() (*apiClient, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("-o: %q is not table or json", f.output)
	}
	if f.timeout < 0 {
		return nil, fmt.Errorf("--timeout must not be negative, not %s", f.timeout)
	}
	if f.tenant != "" {
		if err := weft.ValidateTenantID(f.tenant); err != nil {
			return nil, fmt.Errorf("--tenant: %s", weft.ErrorMessage(err))
		}
	}
	if len(f.actor) > weft.MaxActorBytes || strings.ContainsFunc(f.actor, unicode.IsControl) {
		return nil, fmt.Errorf("--actor: must be at most %d bytes without control characters", weft.MaxActorBytes)
	}
	base, err := serverURL(f.server)
	if err != nil {
		return nil, err
	}
	token, err := f.token.secret()
	if err != nil {
		return nil, err
	}
	return &apiClient{
		base:   base,
		tenant: f.tenant,
		actor:  f.actor,
		token:  token,
		json:   f.output == "json",
		http: &http.Client{
			Timeout: f.timeout,
			// A view of a merged incident answers 308 to the incident it
			// went into; following it would show another incident under
			// the id asked for.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// serverURL checks --url and returns it without a trailing slash. A bare
// host:port, as weft serve --addr takes, means http://host:port. A URL with
// credentials in it (user:password@, ?token=) is refused without being
// repeated: credentials go in a token (--token-file, WEFT_TOKEN), never in
// a URL that error messages, shell histories and proxies show.
func serverURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		return "", errors.New("--url: the URL carries credentials (user@ or user:password@); give the server's URL alone and the token with --token-file or WEFT_TOKEN")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		if err == nil && (u.RawQuery != "" || u.Fragment != "") {
			u.RawQuery, u.Fragment = "", ""
			return "", fmt.Errorf("--url: %q has a query or fragment; give the server's URL alone, such as %s", u.String()+"?…", defaultServer)
		}
		return "", fmt.Errorf("--url: %q is not a server URL such as %s", redactTokens(s), defaultServer)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// apiClient sends requests to one weft server for one tenant and actor.
// It is safe for concurrent use.
type apiClient struct {
	base   string // the server URL, no trailing slash
	tenant string // "" is the default tenant
	actor  string
	token  string // the API token sent as Authorization: Bearer; "" sends none
	json   bool   // -o json
	http   *http.Client
}

// apiError is a request the server refused, with its message. For a stale
// If-Match (412) Current is the incident as it is now.
type apiError struct {
	Status  int
	Code    string
	Message string
	Current *weft.Incident
}

// Error is the server's message; for a stale version it says what the
// incident is at now and who changed it, and for refused credentials (401)
// or a role too weak (403) what to do.
func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "the server answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += "; " + tokenHint
	case http.StatusForbidden:
		msg += "; " + roleHint
	}
	if e.Status == http.StatusPreconditionFailed && e.Current != nil {
		if e.Message == "" {
			msg = fmt.Sprintf("incident %d has changed since the version given; it is at version %d", e.Current.ID, e.Current.Version)
		}
		msg += fmt.Sprintf(" (last changed by %s at %s; weft incidents show %d shows it)",
			orDash(e.Current.LastModifiedBy), formatTime(e.Current.LastUpdateDateTime), e.Current.ID)
	}
	return msg
}

// isStale reports whether err is a 412: the incident changed since the
// version sent as If-Match.
func isStale(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusPreconditionFailed
}

// apiAnswer is a successful answer: its body, its ETag and its status.
type apiAnswer struct {
	Body   []byte
	ETag   string
	Status int
}

// version returns the incident version of the answer's ETag, 0 without one.
func (a *apiAnswer) version() int64 {
	v := strings.Trim(strings.TrimPrefix(a.ETag, "W/"), `"`)
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// do sends one request: path is under the server URL ("/api/v1/…"), query
// may be nil, body (when not nil) is sent as JSON, and ifMatch > 0 is sent
// as If-Match. Any answer but 2xx is an *apiError carrying the server's
// message; a server that cannot be reached is an error saying so.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body any, ifMatch int64) (*apiAnswer, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.tenant != "" {
		req.Header.Set(wefthttp.TenantHeader, c.tenant)
	}
	if c.actor != "" {
		req.Header.Set(wefthttp.ActorHeader, c.actor)
	}
	setToken(req, c.token)
	if ifMatch > 0 {
		req.Header.Set("If-Match", `"`+strconv.FormatInt(ifMatch, 10)+`"`)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the weft server at %s (--url, WEFT_URL): %s", c.base, redactSecret(err.Error(), c.token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	if len(raw) > maxAnswerBytes {
		return nil, fmt.Errorf("the answer to %s %s is larger than %d bytes", method, path, maxAnswerBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, answerError(resp.StatusCode, raw, c.token)
	}
	return &apiAnswer{Body: raw, ETag: resp.Header.Get("ETag"), Status: resp.StatusCode}, nil
}

// answerError reads the error body {"error":{"code","message"}} (with
// "incident" after a stale If-Match) of a refused request. The token sent
// is cut out of the message, should a server ever repeat it.
func answerError(status int, raw []byte, token string) *apiError {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Incident *weft.Incident `json:"incident"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(raw, &b) == nil {
		e.Code, e.Message, e.Current = b.Error.Code, redactSecret(cleanLine(b.Error.Message), token), b.Incident
	}
	return e
}

// getJSON sends a GET and decodes the answer into v.
func (c *apiClient) getJSON(ctx context.Context, path string, query url.Values, v any) (*apiAnswer, error) {
	a, err := c.do(ctx, http.MethodGet, path, query, nil, 0)
	if err != nil {
		return nil, err
	}
	if err := decodeAnswer(a.Body, v); err != nil {
		return nil, fmt.Errorf("reading the answer to GET %s: %w", path, err)
	}
	return a, nil
}

// decodeAnswer decodes an answer into v, ignoring members v does not have
// (a newer server may add some).
func decodeAnswer(raw []byte, v any) error {
	return json.Unmarshal(raw, v)
}

// writeJSONOut writes v, one JSON document, indented, to w.
func writeJSONOut(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRawJSON(w, b)
}

// writeRawJSON writes a JSON value as the server gave it, indented, with
// its strings re-escaped only where JSON needs it (the server escapes <, >
// and & for browsers; control characters stay escaped).
func writeRawJSON(w io.Writer, raw []byte) error {
	v := jsontext.Value(bytes.Clone(raw))
	if err := v.Indent(jsontext.WithIndent("  "), jsontext.PreserveRawStrings(false)); err != nil {
		return fmt.Errorf("the server's answer is not valid JSON: %w", err)
	}
	_, err := fmt.Fprintf(w, "%s\n", v)
	return err
}

// parseIncidentArg reads an incident id given as an argument.
func parseIncidentArg(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("incident id %q: must be a positive integer", truncateText(s, 64))
	}
	return id, nil
}

// parseIDAnswer reads an incident id the server gave as a JSON number or,
// as incident ids are elsewhere, a string.
func parseIDAnswer(v jsontext.Value) (int64, error) {
	s := strings.Trim(string(bytes.TrimSpace(v)), `"`)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("the server's answer has no valid incident id: %s", truncateText(string(v), 64))
	}
	return id, nil
}

// parseFlags parses args with fs and returns the arguments that are not
// flags, wherever they stand ("show 7 --story" and "show --story 7" are
// the same); everything after "--" is an argument.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if used := len(args) - len(left); used > 0 && args[used-1] == "--" {
			return append(rest, left...), nil
		}
		rest = append(rest, left[0])
		args = left[1:]
	}
}

// stringList is a flag that may be given several times; each value may
// also be a comma-separated list.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatedList is a flag that may be given several times; each value is
// taken whole (a tag may hold a comma).
type repeatedList []string

func (l *repeatedList) String() string { return strings.Join(*l, ",") }

func (l *repeatedList) Set(v string) error { *l = append(*l, v); return nil }

// flagsGiven returns the names of the flags set on the command line.
func flagsGiven(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// cleanLine makes text from the server safe and one line on a terminal:
// alert titles and names come from attackers' reach, and a control
// character (an escape sequence) could rewrite what the analyst sees.
func cleanLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}

// truncateText cuts s to at most n runes, ending it with "…" when cut.
func truncateText(s string, n int) string {
	if n < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// formatTime shows a time in UTC to the minute; "-" for none.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The table output of the analysts' commands: they print text from alerts,
// which attackers write, so every cell and line goes through cleanLine.

// printTable prints rows under header in columns two spaces apart, cutting
// the last column so that a line fits width (but leaving it at least 20
// characters). Every cell is cleaned of control characters.
func printTable(w io.Writer, width int, header []string, rows [][]string) {
	widths := make([]int, len(header))
	clean := make([][]string, 0, len(rows)+1)
	for _, r := range append([][]string{header}, rows...) {
		cr := make([]string, len(header))
		for i := range cr {
			if i < len(r) {
				cr[i] = cleanLine(r[i])
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cr[i]))
		}
		clean = append(clean, cr)
	}
	used := 0
	for _, n := range widths[:len(widths)-1] {
		used += n + 2
	}
	last := max(20, width-used)
	var sb strings.Builder
	for _, r := range clean {
		sb.Reset()
		for i, cell := range r[:len(r)-1] {
			sb.WriteString(cell)
			sb.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
		}
		sb.WriteString(truncateText(r[len(r)-1], last))
		fmt.Fprintln(w, strings.TrimRight(sb.String(), " "))
	}
}

// terminalWidth is the width tables are cut to: $COLUMNS when the shell
// exports it, else 120.
func terminalWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 120
}

// priorityText shows a priority score; "-" when it is not computed yet.
func priorityText(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

// Credentials. Every command that talks to a server sends an API token as
// Authorization: Bearer. The token is a secret: it is read from a flag, a
// file or the environment, sent only in that header, and never printed,
// logged or put in an error message (redactSecret cuts it out of anything
// that could repeat it).

// tokenFlags are --token and --token-file.
type tokenFlags struct {
	token, file string
}

// addTokenFlags registers --token and --token-file on fs. Their defaults
// are empty on purpose: a default taken from $WEFT_TOKEN would be printed
// by --help. The environment is read by secret.
func addTokenFlags(fs *flag.FlagSet) *tokenFlags {
	f := &tokenFlags{}
	fs.StringVar(&f.token, "token", "", "API `token` sent as Authorization: Bearer (default $WEFT_TOKEN; other users of this machine can see a command line: prefer WEFT_TOKEN or --token-file)")
	fs.StringVar(&f.file, "token-file", "", "read the API token from `file` (default $WEFT_TOKEN_FILE)")
	return f
}

// maxTokenBytes bounds a token read from a flag, a file or the environment.
const maxTokenBytes = 512

// secret returns the token to send: --token, else --token-file, else
// $WEFT_TOKEN, else the file $WEFT_TOKEN_FILE names; "" when none is
// given (the server then answers 401, and the error says what to do). A
// token with a space or a control character in it is refused, by where it
// came from and never by its value.
func (f *tokenFlags) secret() (string, error) {
	if f.token != "" && f.file != "" {
		return "", errors.New("--token and --token-file: give one of them")
	}
	tok, from := f.token, "--token"
	switch {
	case f.token != "":
	case f.file != "":
		t, err := readTokenFile(f.file, "--token-file")
		if err != nil {
			return "", err
		}
		tok = t
	case os.Getenv("WEFT_TOKEN") != "":
		tok, from = os.Getenv("WEFT_TOKEN"), "WEFT_TOKEN"
	case os.Getenv("WEFT_TOKEN_FILE") != "":
		t, err := readTokenFile(os.Getenv("WEFT_TOKEN_FILE"), "WEFT_TOKEN_FILE")
		if err != nil {
			return "", err
		}
		tok = t
	default:
		return "", nil
	}
	if len(tok) > maxTokenBytes {
		return "", fmt.Errorf("%s: the token is longer than %d bytes; is it the right value?", from, maxTokenBytes)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return "", fmt.Errorf("%s: the token holds a space, a control or a non-ASCII character; API tokens look like weft_…", from)
		}
	}
	return tok, nil
}

// readTokenFile reads a token file: its one line, without the surrounding
// white space (an editor's final newline).
func readTokenFile(path, from string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+64))
	if err != nil {
		return "", fmt.Errorf("%s: reading %s: %w", from, path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s: %s is empty", from, path)
	}
	if len(tok) > maxTokenBytes {
		return "", fmt.Errorf("%s: %s holds more than a token (%d bytes at most)", from, path, maxTokenBytes)
	}
	return tok, nil
}

// setToken sends token as Authorization: Bearer; "" sends nothing.
func setToken(req *http.Request, token string) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
}

// What to do when the server refuses the credentials (401) or the role
// (403): said after the server's own message.
const (
	tokenHint = "set WEFT_TOKEN (or --token-file FILE, or --token) to a valid API token; " +
		"an admin creates one with: weft admin create-token --data DIR --name NAME --role ROLE " +
		"(on a new server, use the token weft serve printed at its first start)"
	roleHint = "the token's role does not allow this; ask an admin for a token with the role needed " +
		"(weft admin create-token --data DIR --name NAME --role ROLE)"
)

// redactSecret replaces every occurrence of secret in s, and anything
// that looks like an API token, so that an error or a message a server
// repeats never shows it.
func redactSecret(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[token]")
	}
	return redactTokens(s)
}

// tokenPattern matches what an API token looks like: weft_ and a long run
// of URL-safe characters.
var tokenPattern = regexp.MustCompile(`weft_[A-Za-z0-9_\-]{16,}`)

// redactTokens replaces everything in s that looks like an API token.
func redactTokens(s string) string {
	return tokenPattern.ReplaceAllString(s, "weft_[redacted]")
}
