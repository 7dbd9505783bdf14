package http

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// The web UI (issue 8, design §10): pages rendered on the server with
// html/template and small, dependency-free JavaScript that reads the JSON
// API, all embedded in the binary. A page is a route of the route table
// with page set (routes.go): guard sends a browser without a session to
// the sign-in page instead of answering 401 JSON. A page shows nothing but
// its frame and the signed-in principal's name; everything it shows of the
// tenant's data the page's script reads from the API, whose routes
// authorize each read, so a page route needs no role of its own.
//
// Pages answer with pageCSP: scripts and styles only from this origin, no
// inline script or style, no framing. Data reaches the document only as
// text (html/template's escaping on the server; textContent and
// createElement in the scripts, never innerHTML).

//go:embed html/*.tmpl
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// pageCSP is the Content-Security-Policy of every page.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// asset is one embedded static file with the hash of its content.
type asset struct {
	body []byte
	hash string // the first 16 hex digits of the SHA-256 of body
}

// uiAssets are the files under assets/, by name (e.g. "app.css").
var uiAssets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "assets/")] = asset{body: b, hash: hex.EncodeToString(sum[:8])}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("http: reading the embedded UI assets: %v", err))
	}
	return out
}

// assetURL is the address of an embedded asset with its content hash, so
// that a browser may keep it for a year and a new build is fetched anew.
// An unknown name is an error that fails the page's rendering (a 500,
// logged), which every page test would see.
func assetURL(name string) (string, error) {
	a, ok := uiAssets[name]
	if !ok {
		return "", fmt.Errorf("no embedded asset %q", name)
	}
	return "/assets/" + name + "?v=" + a.hash, nil
}

// uiTemplates are the pages, each parsed with the layout.
var uiTemplates = loadTemplates()

func loadTemplates() map[string]*template.Template {
	funcs := template.FuncMap{"asset": assetURL}
	out := map[string]*template.Template{}
	for _, page := range []string{"signin", "queue", "incident", "actions", "entity", "settings"} {
		t := template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(templateFS, "html/layout.tmpl", "html/"+page+".tmpl"))
		out[page] = t
	}
	return out
}

// navItem is one entry of the navigation bar. The action center, the
// entity search and the settings join this list as their pages come.
type navItem struct {
	Name, Href, Key string
	// Admin: shown only to a principal with the admin role somewhere
	// (isAdminSomewhere).
	Admin bool
}

var uiNav = []navItem{
	{Name: "Incidents", Href: "/incidents", Key: "queue"},
	{Name: "Action center", Href: "/actions", Key: "actions"},
	{Name: "Entities", Href: "/entities", Key: "entity"},
	{Name: "Settings", Href: "/settings", Key: "settings", Admin: true},
}

// pageData is what every page template gets.
type pageData struct {
	Title  string
	Page   string // the template's name; the body's data-page
	User   string // the principal's name; "" on the sign-in page
	CSRF   string // the session's CSRF token, for the scripts' changes
	Nav    []navItem
	Script string // the page's script, an asset name
	// Scripts are the shared scripts the page's script uses (respond.js),
	// loaded after common.js and before Script.
	Scripts []string
	// IncidentID is the incident of the incident page.
	IncidentID int64
	// Queue is the queue page's view, read from the query string.
	Queue *queueView
	// Next is where the sign-in page goes after signing in.
	Next string
	// Settings is the settings page's section and whether it may show it.
	Settings *settingsView
	// Actions is the action center's view, read from the query string.
	Actions *actionsView
	// Entity is the entity page's type and id, or the search page's text.
	Entity *entityPageView
	// Message explains a page that could not be shown (an address that
	// names nothing).
	Message string
	// Theme is "light" or "dark" when the browser's theme cookie picks
	// one, set on <html> so the page is painted in it from the start;
	// "" follows the system's preference.
	Theme string
}

// themeCookie is the cookie common.js sets when the theme is switched.
// It holds a display preference only, never anything secret.
const themeCookie = "weft-theme"

// themeOf answers the theme the request's cookie picks: "light",
// "dark", or "" for any other value or none.
func themeOf(r *http.Request) string {
	c, err := r.Cookie(themeCookie)
	if err != nil || (c.Value != "light" && c.Value != "dark") {
		return ""
	}
	return c.Value
}

// renderPage writes a page with the page headers.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	if a := authOf(r); a != nil {
		d.User = a.principal.Name
		if a.session != nil {
			d.CSRF = a.session.CSRF
		}
	}
	d.Nav = uiNav
	d.Theme = themeOf(r)
	if a := authOf(r); a == nil || !isAdminSomewhere(a.principal) {
		d.Nav = slices.DeleteFunc(slices.Clone(uiNav), func(n navItem) bool { return n.Admin })
	}
	var buf bytes.Buffer
	if err := uiTemplates[d.Page].Execute(&buf, d); err != nil {
		s.logger.Error("rendering a page", "page", d.Page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	// A page carries the session's CSRF token: never stored by a cache.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// handleRoot serves GET /: the queue.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/incidents", http.StatusSeeOther)
}

// handleSignInPage serves GET /signin. next is where to go afterwards; it
// is kept only when it is a path of this site (safeNext).
func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, http.StatusOK, pageData{Title: "Sign in", Page: "signin", Script: "signin.js", Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext returns next when it is a path on this site ("/incidents?…"),
// and "/incidents" otherwise, so that the sign-in page cannot be made to
// send a user to another site ("//evil.example", "/\evil.example",
// "https://…").
func safeNext(next string) string {
	const home = "/incidents"
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t\\") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	return next
}

// redirectToSignIn answers a page request without a usable session with a
// redirect to the sign-in page, which comes back here afterwards.
func redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// redirectToPasswordChange answers a page request of a session whose user
// must change their password (checkPasswordChange) with the sign-in page's
// password form, which comes back here afterwards.
func redirectToPasswordChange(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/signin?change=1&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// handleQueuePage serves GET /incidents.
func (s *Server) handleQueuePage(w http.ResponseWriter, r *http.Request) {
	v := parseQueueView(r.URL.Query())
	s.renderPage(w, r, http.StatusOK, pageData{Title: "Incidents", Page: "queue", Script: "queue.js", Queue: v})
}

// handleIncidentPage serves GET /incidents/{id}. An id that is not one
// answers the page with status 404 and a message; whether the incident
// exists, and may be read, the page's script learns from the API.
func (s *Server) handleIncidentPage(w http.ResponseWriter, r *http.Request) {
	id, err := parseIncidentID(r.PathValue("id"))
	if err != nil {
		s.renderPage(w, r, http.StatusNotFound, pageData{Title: "Incident not found", Page: "incident", Script: "incident.js"})
		return
	}
	s.renderPage(w, r, http.StatusOK, pageData{Title: fmt.Sprintf("Incident %d", id), Page: "incident", Script: "incident.js", Scripts: []string{"respond.js"}, IncidentID: id})
}

// handleAsset serves GET /assets/{name...}: an embedded file. Asked for
// with its current hash (?v=, as assetURL writes it) it may be cached for
// a year; otherwise it must be revalidated, which its ETag makes cheap.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	a, ok := uiAssets[name]
	if !ok || path.Clean("/"+name) != "/"+name {
		s.writeError(w, r, weft.Errorf(weft.ENOTFOUND, "no asset %q", truncateForMessage(name)))
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

// queueView is the queue page's view as its query string gives it: the
// filter controls' values, the order and the page. The page's script
// turns the same controls into the API's $filter, $search, $orderby and
// $skip; the server only fills the controls in, so a view is a URL that
// can be shared and bookmarked.
type queueView struct {
	Status     []string // incident statuses; default active and inProgress
	Severity   []string // default every severity but informational
	Assigned   string   // "" anyone, "me", "none", or a name
	Tags       string   // comma-separated custom tags
	Categories string   // comma-separated categories
	Sources    string   // comma-separated service sources
	Since      string   // "", "24h", "7d", "30d": last activity within
	Search     string
	Sort       string // one of queueSorts' keys
	Page       int    // 1-based
	// Classification and Determination are "" (any) or one of
	// queueClassifications / queueDeterminations.
	Classification string
	Determination  string
	Groups         string // comma-separated device groups (deviceGroups/any)
	Entities       string // comma-separated entity names, identifiers or keys (entities/any)
	// MinPriority and MinAlerts are "" (no minimum) or a decimal number in
	// range: a priority score 0–100, an alert count 1–1,000,000.
	MinPriority string
	MinAlerts   string
	Multi       string // "", "yes" or "no": multipleSources
}

// queueStatuses and queueSeverities are the choices of the filter
// controls, in display order.
var (
	queueStatuses   = []string{"active", "inProgress", "awaitingAction", "resolved"}
	queueSeverities = []string{"high", "medium", "low", "informational", "unknown"}
	queueSinces     = []string{"", "24h", "7d", "30d"}
	queueSorts      = []string{"priority", "updated", "created", "severity", "alerts"}
	// The first choice of each is "": no condition.
	queueClassifications = []string{"", "unknown", "truePositive", "informationalExpectedActivity", "falsePositive"}
	queueDeterminations  = []string{"", "unknown", "multiStagedAttack", "maliciousUserActivity", "compromisedAccount", "malware", "phishing",
		"unwantedSoftware", "securityTesting", "lineOfBusinessApplication", "confirmedActivity", "notMalicious", "notEnoughDataToValidate", "other"}
	queueMultis = []string{"", "yes", "no"}
)

// parseQueueView reads a view from a query string. A value that is not
// one of the choices is dropped, as a control cannot show it.
func parseQueueView(q url.Values) *queueView {
	pick := func(key string, allowed, def []string) []string {
		raw, ok := q[key]
		if !ok {
			return def
		}
		var out []string
		for _, v := range raw {
			for _, x := range strings.Split(v, ",") {
				if slices.Contains(allowed, x) && !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
		}
		return out
	}
	one := func(key string, allowed []string) string {
		if v := q.Get(key); slices.Contains(allowed, v) {
			return v
		}
		return allowed[0]
	}
	v := &queueView{
		Status:     pick("status", queueStatuses, []string{"active", "inProgress"}),
		Severity:   pick("severity", queueSeverities, []string{"high", "medium", "low", "unknown"}),
		Assigned:   trimField(q.Get("assigned")),
		Tags:       trimField(q.Get("tags")),
		Categories: trimField(q.Get("categories")),
		Sources:    trimField(q.Get("sources")),
		Since:      one("since", queueSinces),
		Search:     trimField(q.Get("search")),
		Sort:       one("sort", queueSorts),
		Page:       1,

		Classification: one("classification", queueClassifications),
		Determination:  one("determination", queueDeterminations),
		Groups:         trimField(q.Get("groups")),
		Entities:       trimField(q.Get("entities")),
		MinPriority:    number(q.Get("minPriority"), 0, 100),
		MinAlerts:      number(q.Get("minAlerts"), 1, 1_000_000),
		Multi:          one("multi", queueMultis),
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n >= 1 && n <= 1_000_000 {
		v.Page = n
	}
	return v
}

// number answers s as a canonical decimal if it is an integer in
// [lo, hi], and "" otherwise (no minimum).
func number(s string, lo, hi int) string {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		return ""
	}
	return strconv.Itoa(n)
}

// trimField trims a text control's value and caps it at 256 bytes (the
// API's $search limit), cut at a character boundary.
func trimField(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= 256 {
		return s
	}
	// A cut inside a character leaves invalid bytes, which are dropped.
	return strings.ToValidUTF8(s[:256], "")
}

// Has reports whether list holds v (for the templates' checkboxes).
func (v *queueView) Has(list []string, x string) bool { return slices.Contains(list, x) }

// Statuses, Severities, Sinces and Sorts are the controls' choices.
func (v *queueView) Statuses() []string   { return queueStatuses }
func (v *queueView) Severities() []string { return queueSeverities }
func (v *queueView) Sinces() []string     { return queueSinces }
func (v *queueView) Sorts() []string      { return queueSorts }

// More reports whether a control of the "more filters" group is set, so
// that the group opens showing it.
func (v *queueView) More() bool {
	return v.Classification != "" || v.Determination != "" || v.Groups != "" || v.Entities != "" ||
		v.MinPriority != "" || v.MinAlerts != "" || v.Multi != ""
}

// Classifications, Determinations and Multis are the choices of the
// select controls; "" is "any".
func (v *queueView) Classifications() []string { return queueClassifications }
func (v *queueView) Determinations() []string  { return queueDeterminations }
func (v *queueView) Multis() []string          { return queueMultis }
