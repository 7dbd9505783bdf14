package gen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// graphAlert is the part of a Graph alert the tests look at.
type graphAlert struct {
	OdataType             string `json:"@odata.type"`
	ID                    string
	ProviderAlertID       string
	TenantID              string
	Status                string
	Severity              string
	ServiceSource         string
	DetectionSource       string
	DetectorID            string
	ProductName           string
	Title                 string
	Description           string
	RecommendedActions    string
	Category              string
	MitreTechniques       []string
	CreatedDateTime       time.Time
	LastUpdateDateTime    time.Time
	FirstActivityDateTime time.Time
	LastActivityDateTime  time.Time
	Evidence              []graphEvidence
}

type graphEvidence struct {
	OdataType         string `json:"@odata.type"`
	Verdict           string
	RemediationStatus string
	Roles             []string
	UserAccount       *struct {
		AccountName, DomainName, UserPrincipalName, UserSid, AzureAdUserID string
	}
	PrimaryAddress string
	Upn            string
	HostName       string
	DeviceDNSName  string
	MdeDeviceID    string
	IPAddress      string
	URL            string
	FileDetails    *struct{ Sha256 string }
}

// output is one generated scenario, parsed.
type output struct {
	lines  [][]byte
	alerts []graphAlert
	keys   []string // truth key of each alert, in order
	st     Stats
	raw    []byte
	truth  []byte
}

func generate(t testing.TB, opts Options) *output {
	t.Helper()
	var a, tr bytes.Buffer
	st, err := Generate(opts, &a, &tr)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	out := &output{st: st, raw: a.Bytes(), truth: tr.Bytes()}
	for line := range bytes.Lines(a.Bytes()) {
		out.lines = append(out.lines, line)
		var ga graphAlert
		if err := json.Unmarshal(line, &ga); err != nil {
			t.Fatalf("line %d is not a Graph alert: %v\n%s", len(out.lines), err, line)
		}
		out.alerts = append(out.alerts, ga)
	}
	sc := bufio.NewScanner(bytes.NewReader(tr.Bytes()))
	for i := 0; sc.Scan(); i++ {
		if i == 0 {
			if got := sc.Text(); got != "alertId,incidentKey" {
				t.Fatalf("truth header: got %q, want %q", got, "alertId,incidentKey")
			}
			continue
		}
		id, key, ok := strings.Cut(sc.Text(), ",")
		if !ok {
			t.Fatalf("truth line %d: %q has no comma", i+1, sc.Text())
		}
		if i-1 >= len(out.alerts) || out.alerts[i-1].ID != id {
			t.Fatalf("truth line %d names %q, not the alert on line %d", i+1, id, i)
		}
		out.keys = append(out.keys, key)
	}
	if len(out.keys) != len(out.alerts) {
		t.Fatalf("truth has %d lines, alerts %d", len(out.keys), len(out.alerts))
	}
	return out
}

var (
	defaultOnce sync.Once
	defaultOut  *output
)

// defaultOutput generates DefaultOptions once for all tests that need it.
func defaultOutput(t *testing.T) *output {
	defaultOnce.Do(func() { defaultOut = generate(t, DefaultOptions()) })
	if defaultOut == nil {
		t.Fatal("generating DefaultOptions failed")
	}
	return defaultOut
}

func smallOptions(seed int64) Options {
	return Options{
		Seed: seed, Start: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), Duration: 4 * 24 * time.Hour,
		Attacks: 15, NoiseAlerts: 1500, Users: 300, Devices: 320, Showcase: true,
	}
}

func TestGenerate(t *testing.T) {
	t.Run("Deterministic", func(t *testing.T) {
		a, b := generate(t, smallOptions(7)), generate(t, smallOptions(7))
		if !bytes.Equal(a.raw, b.raw) || !bytes.Equal(a.truth, b.truth) {
			t.Fatal("the same options gave different output")
		}
		c := generate(t, smallOptions(8))
		if bytes.Equal(a.raw, c.raw) {
			t.Fatal("different seeds gave the same output")
		}
	})
	t.Run("StreamMatchesGenerate", func(t *testing.T) {
		want := generate(t, smallOptions(3))
		i := 0
		for rec, err := range Stream(smallOptions(3)) {
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(rec.JSON, '\n'), want.lines[i]) || rec.IncidentKey != want.keys[i] || rec.ID != want.alerts[i].ID {
				t.Fatalf("record %d differs from Generate's", i)
			}
			i++
		}
		if i != len(want.lines) {
			t.Fatalf("Stream yielded %d records, Generate wrote %d", i, len(want.lines))
		}
	})
	t.Run("ValidGraphAlerts", func(t *testing.T) {
		opts := smallOptions(11)
		checkAlerts(t, generate(t, opts), opts)
	})
	t.Run("ExactNoiseCount", func(t *testing.T) {
		opts := smallOptions(5)
		opts.Attacks = 0
		out := generate(t, opts)
		if got, want := len(out.alerts), opts.NoiseAlerts; got != want {
			t.Fatalf("got %d alerts, want exactly %d", got, want)
		}
	})
	t.Run("WriteError", func(t *testing.T) {
		_, err := Generate(smallOptions(1), failingWriter{}, io.Discard)
		if !errors.Is(err, errWrite) {
			t.Fatalf("got %v, want the writer's error", err)
		}
	})
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

var (
	odataTypes = map[string]bool{}
	roleSet    = map[string]bool{}
	idPrefix   = map[string]string{
		"microsoftDefenderForEndpoint":  "da",
		"microsoftDefenderForOffice365": "fa",
		"microsoftDefenderForIdentity":  "aa",
		"azureAdIdentityProtection":     "ad",
		"microsoftDefenderForCloudApps": "ca",
	}
	idPattern = regexp.MustCompile(`^(da|fa|aa|ad|ca)[0-9]{18}_-?[0-9]+$`)
)

func init() {
	for _, t := range []string{"device", "user", "mailbox", "analyzedMessage", "url", "ip", "file", "process",
		"cloudApplication", "registryValue", "mailboxConfiguration"} {
		odataTypes["#microsoft.graph.security."+t+"Evidence"] = true
	}
	for _, r := range weft.EvidenceRoles {
		roleSet[string(r)] = true
	}
}

// checkAlerts checks every alert against the Graph alert schema and the
// generator's promises: known enums, ids, times in order and in the window.
func checkAlerts(t *testing.T, out *output, opts Options) {
	t.Helper()
	end := opts.Start
	start := end.Add(-opts.Duration)
	seen := map[string]bool{}
	var prev time.Time
	for i, a := range out.alerts {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("alert %d (%s %q): "+format, append([]any{i + 1, a.ID, a.Title}, args...)...)
		}
		if a.OdataType != "#microsoft.graph.security.alert" {
			fail("@odata.type %q", a.OdataType)
		}
		if !idPattern.MatchString(a.ID) || idPrefix[a.ServiceSource] != a.ID[:2] {
			fail("id %q does not fit serviceSource %q", a.ID, a.ServiceSource)
		}
		if seen[a.ID] {
			fail("duplicate id")
		}
		seen[a.ID] = true
		for _, s := range []string{a.ProviderAlertID, a.DetectionSource, a.DetectorID, a.ProductName, a.Title, a.Description, a.RecommendedActions, a.Category} {
			if s == "" {
				fail("a required field is empty")
			}
		}
		if strings.Contains(a.Title, "%s") {
			fail("title placeholder not filled")
		}
		if _, err := weft.ParseSeverity(a.Severity); err != nil || a.Severity == "unknown" {
			fail("severity %q", a.Severity)
		}
		if a.Status != "new" {
			fail("status %q", a.Status)
		}
		if a.TenantID != "" && !slices.Contains(opts.Tenants, a.TenantID) {
			fail("tenantId %q", a.TenantID)
		}
		for _, m := range a.MitreTechniques {
			if attackTechniques[m] == "" {
				fail("technique %q is not in ATT&CK", m)
			}
		}
		f, l, c := a.FirstActivityDateTime, a.LastActivityDateTime, a.CreatedDateTime
		if f.Before(start) || f.After(end) || l.Before(f) || l.After(end) || c.Before(l) || c.After(end) || a.LastUpdateDateTime.Before(c) {
			fail("times out of order or window: first %s last %s created %s window [%s, %s]", f, l, c, start, end)
		}
		if f.Before(prev) {
			fail("firstActivityDateTime %s before the previous alert's %s", f, prev)
		}
		prev = f
		if len(a.Evidence) == 0 {
			fail("no evidence")
		}
		for _, e := range a.Evidence {
			if !odataTypes[e.OdataType] {
				fail("unknown evidence type %q", e.OdataType)
			}
			if _, err := weft.ParseVerdict(e.Verdict); err != nil || e.Verdict == "" {
				fail("verdict %q", e.Verdict)
			}
			if e.RemediationStatus != "none" {
				fail("remediationStatus %q", e.RemediationStatus)
			}
			for _, r := range e.Roles {
				if !roleSet[r] {
					fail("role %q", r)
				}
			}
		}
		if len(out.lines[i]) > 16<<10 {
			fail("%d bytes", len(out.lines[i]))
		}
	}
}

// attackTechniques maps ATT&CK technique ids to their tactics, from
// testdata/attack_techniques.csv (deprecated and revoked ones left out).
var attackTechniques = func() map[string]string {
	b, err := os.ReadFile("testdata/attack_techniques.csv")
	if err != nil {
		panic(err)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) == 4 && f[2] == "False" && f[3] == "False" {
			m[f[0]] = f[1]
		}
	}
	return m
}()

func TestDetectorsUseATTACK(t *testing.T) {
	tactic := map[string]string{ // Defender categories that are ATT&CK tactics
		"InitialAccess": "initial-access", "Execution": "execution", "Persistence": "persistence",
		"CredentialAccess": "credential-access", "Discovery": "discovery", "LateralMovement": "lateral-movement",
		"Collection": "collection", "Exfiltration": "exfiltration", "Impact": "impact",
		"DefenseEvasion": "defense-evasion", "CommandAndControl": "command-and-control",
	}
	for i, d := range detectors {
		if d.title == "" || d.evidence == nil {
			t.Fatalf("detector %d is not defined", i)
		}
		want, isTactic := tactic[d.category]
		matched := !isTactic || len(d.techniques) == 0
		for _, m := range d.techniques {
			tactics, ok := attackTechniques[m]
			if !ok {
				t.Errorf("%q: technique %s is not a current ATT&CK technique", d.title, m)
			}
			matched = matched || strings.Contains(tactics, want)
		}
		if !matched {
			t.Errorf("%q: category %s matches none of its techniques' tactics", d.title, d.category)
		}
	}
}

func TestDefaultOptions(t *testing.T) {
	out := defaultOutput(t)
	st := out.st
	t.Logf("%d alerts (%d attack, %d noise), %d attacks, %d incidents, %.1f MB, largest %s (%d)",
		st.Alerts, st.AttackAlerts, st.NoiseAlerts, st.Attacks, st.Incidents, float64(st.Bytes)/1e6, st.LargestIncident, st.LargestIncidentAlerts)
	if st.Alerts < 20000 || st.Attacks < 50 {
		t.Fatalf("got %d alerts and %d attacks, want at least 20,000 and 50", st.Alerts, st.Attacks)
	}
	for _, name := range TemplateNames() {
		if st.AttacksPerTemplate[name] == 0 {
			t.Errorf("no %s attack", name)
		}
	}
	if span := st.Last.Sub(st.First); span < 6*24*time.Hour {
		t.Errorf("alerts span %s, want about 7 days", span)
	}
	checkAlerts(t, out, DefaultOptions())
	keys := map[string]int{}
	for _, k := range out.keys {
		keys[k]++
	}
	if len(keys) != st.Incidents || st.Alerts != len(out.alerts) || int64(len(out.raw)) != st.Bytes {
		t.Errorf("stats %+v do not match the output (%d keys, %d alerts, %d bytes)", st, len(keys), len(out.alerts), len(out.raw))
	}
	if keys[st.LargestIncident] != st.LargestIncidentAlerts {
		t.Errorf("largest incident %s has %d alerts, stats say %d", st.LargestIncident, keys[st.LargestIncident], st.LargestIncidentAlerts)
	}
	for k, n := range keys {
		if n > st.LargestIncidentAlerts {
			t.Errorf("incident %s has %d alerts, more than the largest", k, n)
		}
	}
}

func TestDemoOptions(t *testing.T) {
	opts := DemoOptions()
	opts.Start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	out := generate(t, opts)
	checkAlerts(t, out, opts)
	st := out.st
	if st.Alerts < 300 || st.Alerts > 600 {
		t.Errorf("got %d alerts, want 300-600", st.Alerts)
	}
	if st.LargestIncident != "atk-0000" {
		t.Errorf("largest incident is %s, want the showcase atk-0000", st.LargestIncident)
	}
	sources, categories := map[string]bool{}, map[string]bool{}
	var high int
	for i, a := range out.alerts {
		if out.keys[i] == "atk-0000" {
			sources[a.ServiceSource], categories[a.Category] = true, true
			if a.Severity == "high" {
				high++
			}
		} else if strings.HasPrefix(out.keys[i], "noise-") && a.Severity == "high" {
			t.Errorf("benign alert %s is high severity", a.ID)
		}
	}
	if len(sources) < 4 || len(categories) < 5 || high < 5 {
		t.Errorf("showcase crosses %d sources and %d categories with %d high alerts; want a clear multi-stage attack", len(sources), len(categories), high)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"NegativeAttacks":  func(o *Options) { o.Attacks = -1 },
		"NegativeNoise":    func(o *Options) { o.NoiseAlerts = -1 },
		"TinyOrganization": func(o *Options) { o.Users = 3 },
		"TooShort":         func(o *Options) { o.Duration = time.Second },
		"UnknownTemplate":  func(o *Options) { o.Templates = []string{"phish-chain", "nope"} },
		"DuplicateTenant":  func(o *Options) { o.Tenants = []string{"a", "b", "a"} },
		"NoTemplateFits":   func(o *Options) { o.Templates, o.Duration = []string{"slow"}, 24*time.Hour },
		"NegativeDevices":  func(o *Options) { o.Devices = -5 },
		"NegativeDuration": func(o *Options) { o.Duration = -time.Hour },
	} {
		t.Run(name, func(t *testing.T) {
			opts := smallOptions(1)
			mod(&opts)
			_, err := Generate(opts, io.Discard, io.Discard)
			if weft.ErrorCode(err) != weft.EINVALID {
				t.Fatalf("got %v, want an EINVALID error", err)
			}
			for _, err := range Stream(opts) {
				if weft.ErrorCode(err) != weft.EINVALID {
					t.Fatalf("Stream: got %v, want an EINVALID error", err)
				}
			}
		})
	}
}

func TestZeroOptions(t *testing.T) {
	st, err := Generate(Options{NoiseAlerts: 10}, io.Discard, io.Discard)
	if err != nil || st.Alerts != 10 || st.Attacks != 0 {
		t.Fatalf("got %+v, %v; want 10 noise alerts in the default organization", st, err)
	}
}

func TestMultiTenant(t *testing.T) {
	opts := smallOptions(4)
	opts.Tenants = []string{"11111111-aaaa-4bbb-8ccc-000000000001", "11111111-aaaa-4bbb-8ccc-000000000002", "11111111-aaaa-4bbb-8ccc-000000000003"}
	out := generate(t, opts)
	checkAlerts(t, out, opts)
	perTenant := map[string]int{}
	keyTenant := map[string]string{}
	domains := map[string]string{opts.Tenants[0]: "contoso.com", opts.Tenants[1]: "fabrikam.com", opts.Tenants[2]: "northwind.com"}
	for i, a := range out.alerts {
		if a.TenantID == "" {
			t.Fatalf("alert %s has no tenantId", a.ID)
		}
		perTenant[a.TenantID]++
		if prev, ok := keyTenant[out.keys[i]]; ok && prev != a.TenantID {
			t.Fatalf("incident %s spans tenants %s and %s", out.keys[i], prev, a.TenantID)
		}
		keyTenant[out.keys[i]] = a.TenantID
		for tenant, dom := range domains {
			if tenant != a.TenantID && bytes.Contains(out.lines[i], []byte("@"+dom)) {
				t.Fatalf("alert %s of tenant %s names a user of %s", a.ID, a.TenantID, tenant)
			}
		}
	}
	if len(perTenant) != 3 {
		t.Fatalf("alerts in %d tenants, want 3", len(perTenant))
	}
}
