// Package gen generates realistic security alert streams with ground truth,
// for the demo, for benchmarks and for measuring correlation quality
// (docs/design.md §14).
//
// # Output
//
// Generate writes alerts in the Microsoft Graph security alert (alerts_v2)
// JSON format, one per line (NDJSON), ordered by firstActivityDateTime, and a
// truth CSV with the header "alertId,incidentKey" and one line per alert:
// the alert's Graph id and the key of the true incident it belongs to. Stream
// yields the same records one at a time. The same Options give byte-identical
// output.
//
// # The organization
//
// Each tenant is an organization with a domain (contoso.com, NetBIOS name
// CONTOSO), people with a mailbox and a workstation (WS-0042), IT admin
// accounts (adm-jdoe), service accounts (svc-backup, svc-scan, and SQL
// Server's svc-sql, svc-sql2 … one per 1,500 machines),
// member servers (SRV-FS01, SRV-SQL01, SRV-WEB01, …) and two domain
// controllers (DC01, DC02).
//
// # Aliases
//
// Each product names the same user and device differently, and only
// identifiers seen together in one evidence record tie the names together —
// which is what the correlation engine must resolve:
//
//   - Defender for Office 365 (id prefix "fa"): the mailbox address
//     (john.doe@contoso.com), often with the UPN and the Entra object id.
//   - Entra ID Protection ("ad") and Defender for Cloud Apps ("ca"): the UPN
//     and the Entra object id. A fifth of the users have a UPN that is not
//     their mail address (jdoe@contoso.com).
//   - Defender for Identity ("aa"): sAMAccountName with the NetBIOS or the
//     DNS domain, and the SID, sometimes the UPN; devices as a bare host name
//     ("WS-0042").
//   - Defender for Endpoint ("da"): CONTOSO\jdoe with the SID, a third of the
//     time the UPN; devices as the MDE device id, the Entra device id and the
//     FQDN (ws-0042.contoso.com).
//
// # Attack templates
//
// Each attack instance picks its victims (users and devices that other
// attacks have not used, while there are such), its infrastructure (addresses,
// phishing domain, C2 URL, hashes) and its times, and raises alerts that
// share those entities under the aliases above:
//
//   - phish-chain: a phishing mail to 1–4 people (ZAP alert) → URL click →
//     sign-in from the attacker's address → payload dropped and launched on
//     the victim's workstation → LSASS dumping → overpass-the-hash → lateral
//     movement with the stolen account (the victim's or an admin's) to 1–3
//     servers or workstations → archive and upload with rclone and/or a mass
//     download from SharePoint (9–21 alerts, about a day).
//   - spray-bec: password spray over 8–25 users → a risky sign-in of one of
//     them → inbox rule and/or forwarding → phishing sent from the mailbox to
//     colleagues (4–9 alerts).
//   - ransomware: a loader on a workstation or a web shell on a web server →
//     discovery → Mimikatz → sometimes DCSync → the same ransomware binary on
//     3–8 servers within an hour, moved there with svc-backup or an admin
//     account (11–23 alerts, a few hours).
//   - slow: 3–6 steps 20–60 h apart (mail attachment, Office child process,
//     persistence, C2, Kerberoasting, staging and exfiltration from a server
//     with the roasted service account). Consecutive steps share an entity;
//     the first and the last usually do not (3–7 alerts). Needs a window of
//     72 h or more.
//   - commodity: malware on one workstation, sometimes with its script,
//     persistence and beacon (1–4 alerts).
//
// With Options.Showcase the first attack (atk-0000) is a phish-chain with
// every optional step and the widest spread: the demo's top incident. Every
// fifth attack starts within 90 minutes of the one before it, so attacks
// overlap in time; attacks also share hubs with each other and with noise.
//
// # Noise and hubs
//
// Benign alerts (unwanted software, the EICAR test file, admin PowerShell,
// backup agent service installs, OneDrive updater run keys, travel and
// unfamiliar sign-in false positives, mistyped passwords, vulnerability
// scanner recon, user-reported mail, blocked adware connections) land on
// random users and devices, more in office hours (UTC, weekdays). Admins run
// their scripts on the three servers they look after or on a user's
// workstation. Some benign alerts come in bursts: the same detector on the
// same device or user several times within the hour.
//
// Hub entities appear in many unrelated alerts: the office NAT address (every
// office sign-in, URL click and cloud-app upload), DC01/DC02 (every Defender
// for Identity alert), svc-backup (backup installs on every server, and some
// ransomware), the vulnerability scanner SRV-SCAN01 with svc-scan,
// NT AUTHORITY\SYSTEM, system binaries (powershell.exe, rundll32.exe,
// cmd.exe, PsExec, rclone), the OneDrive updater, the EICAR file, a few PUA
// installers and login.microsoftonline.com.
//
// Alerts arrive late: createdDateTime is usually minutes after
// lastActivityDateTime (up to an hour for the cloud products), for one alert
// in eight up to two hours, for one in thirty up to twelve hours — never
// after the window's end.
//
// # Truth
//
// Every alert of attack i has the key atk-NNNN (i zero-padded to four
// digits). A benign alert has the key noise-N of its group: it joins the
// group of the previous benign alert of the same tenant and detector on the
// same device (endpoint and identity products) or user (mail and cloud
// products) when that group's first alert is less than an hour earlier, and
// otherwise starts a new group. Bursts are therefore one noise incident; the
// same false positive on another day is another. Keys are unique across
// tenants, and no incident spans two.
//
// # Scale
//
// Attacks are planned up front as compact events (64 bytes each);
// benign alerts are made an hour at a time and merged with them through a
// heap, and each alert is rendered only when it is written. Memory therefore
// grows with the number of attacks and the noise of one hour, not with the
// output: 1,000,000 alerts (2.9 GB of NDJSON) take about 6.5 s on one core
// with a live heap under 60 MB, most of it the 20,000-person organization
// (see TestGenerateMillion).
package gen

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"time"
)

// Options says what to generate. A zero Start, Duration or Users means the
// DefaultOptions value, a zero Devices means Users plus 4 %; Attacks and
// NoiseAlerts are taken as given (zero means none).
type Options struct {
	// Seed selects the scenario: the same Options give the same bytes.
	Seed int64
	// Start is the scenario's "now": event times fall in the Duration before
	// it, [Start−Duration, Start), and no alert is created after it, so a
	// live server never sees a time in the future.
	Start    time.Time
	Duration time.Duration
	// Attacks is the number of attack instances, NoiseAlerts the exact number
	// of benign alerts.
	Attacks     int
	NoiseAlerts int
	// Tenants are the tenant ids to spread attacks (round robin) and noise
	// (at random) over; each tenant is its own organization. Empty means one
	// default tenant, whose alerts carry no tenantId.
	Tenants []string
	// Users and Devices are the size of each tenant's organization: people,
	// and machines including member servers and two domain controllers.
	Users, Devices int
	// Templates restricts the attack templates to those named (see
	// TemplateNames); empty means all. Templates that do not fit in Duration
	// are left out.
	Templates []string
	// Showcase makes the first attack a full phish-chain (see the package
	// documentation), whether or not Templates names phish-chain.
	Showcase bool
}

// defaultStart is the fixed "now" of DefaultOptions, so that its scenario is
// reproducible without a clock.
var defaultStart = time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)

// DefaultOptions returns the evaluation scenario: one tenant of 20,000 users
// and 21,000 devices, 60 attacks and 24,000 benign alerts over the 7 days
// before 2026-01-12 — about 24,500 alerts in all. The organization is that
// large so that benign alerts are as sparse per user (about one a week) as in
// a real enterprise; in a small one every user and device would be in several
// unrelated alerts a day, and no grouping could be right.
func DefaultOptions() Options {
	return Options{
		Seed: 1, Start: defaultStart, Duration: 7 * 24 * time.Hour,
		Attacks: 60, NoiseAlerts: 24000, Users: 20000, Devices: 21000, Showcase: true,
	}
}

// DemoOptions returns the demo scenario: a 1,000-person organization, one
// full phish-chain (the obvious top incident), three smaller attacks and 450
// benign alerts — about 500 alerts over the 24 hours before now.
func DemoOptions() Options {
	return Options{
		Seed: 1, Start: time.Now().UTC().Truncate(time.Second), Duration: 24 * time.Hour,
		Attacks: 4, NoiseAlerts: 450, Users: 1000, Devices: 1050,
		Templates: []string{"spray-bec", "commodity"}, Showcase: true,
	}
}

// Stats describes what Generate wrote.
type Stats struct {
	Alerts       int // all alerts
	AttackAlerts int
	NoiseAlerts  int
	Attacks      int // attack instances
	// Incidents is the number of distinct incident keys in the truth: the
	// attacks plus the noise groups.
	Incidents      int
	NoiseIncidents int
	// AlertsPerTemplate counts alerts by attack template, with "noise" for the
	// benign ones; AttacksPerTemplate counts attack instances.
	AlertsPerTemplate  map[string]int
	AttacksPerTemplate map[string]int
	// LargestIncident is the key of the true incident with the most alerts.
	LargestIncident       string
	LargestIncidentAlerts int
	Bytes                 int64 // of NDJSON written
	First, Last           time.Time
}

// Record is one generated alert.
type Record struct {
	// JSON is the Graph alert without a trailing newline. It is only valid
	// until the next record is produced.
	JSON        []byte
	ID          string // the Graph id
	IncidentKey string // the true incident
	TenantID    string // "" for the default tenant
	Template    string // the attack template, or "noise"
	Time        time.Time
}

// Generate writes the alerts of opts to alerts as NDJSON and the truth CSV to
// truth (either may be io.Discard). It returns an *weft.Error with code
// EINVALID for invalid options, and a wrapped write error otherwise. Memory
// stays proportional to the attacks plus about an hour of noise, not to the
// output.
func Generate(opts Options, alerts, truth io.Writer) (Stats, error) {
	g, err := newGenerator(opts)
	if err != nil {
		return Stats{}, err
	}
	aw, tw := bufio.NewWriterSize(alerts, 1<<16), bufio.NewWriterSize(truth, 1<<16)
	if _, err := tw.WriteString("alertId,incidentKey\n"); err != nil {
		return Stats{}, fmt.Errorf("gen: writing truth: %w", err)
	}
	for {
		rec, ok := g.next()
		if !ok {
			break
		}
		aw.Write(rec.JSON)
		if err := aw.WriteByte('\n'); err != nil {
			return g.stats(), fmt.Errorf("gen: writing alerts: %w", err)
		}
		tw.WriteString(rec.ID)
		tw.WriteByte(',')
		tw.WriteString(rec.IncidentKey)
		if err := tw.WriteByte('\n'); err != nil {
			return g.stats(), fmt.Errorf("gen: writing truth: %w", err)
		}
	}
	if err := aw.Flush(); err != nil {
		return g.stats(), fmt.Errorf("gen: writing alerts: %w", err)
	}
	if err := tw.Flush(); err != nil {
		return g.stats(), fmt.Errorf("gen: writing truth: %w", err)
	}
	return g.stats(), nil
}

// Stream yields the records of opts in event-time order, or a single error
// for invalid options. Record.JSON is reused: copy it to keep it.
func Stream(opts Options) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		g, err := newGenerator(opts)
		if err != nil {
			yield(Record{}, err)
			return
		}
		for {
			rec, ok := g.next()
			if !ok || !yield(rec, nil) {
				return
			}
		}
	}
}
