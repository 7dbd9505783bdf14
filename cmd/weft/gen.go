package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/weftxdr/weft/gen"
)

const genHelp = `
Write a seeded, realistic alert stream in the Microsoft Graph security alert
format (NDJSON, ordered by event time) to ALERTS ("-" for standard output),
and its ground truth — which true incident each alert belongs to, as CSV
"alertId,incidentKey" — to --truth. The same flags always give the same bytes.

The default is the evaluation scenario (about 24,500 alerts: 60 attacks of
four templates in a 20,000-person organization, benign noise, hub entities,
and aliases that differ by source) over the 7 days before --now. See the gen
package documentation for the templates and the truth rule.
`

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	def := gen.DefaultOptions()
	fs := newFlagSet("gen", "[flags] ALERTS", genHelp, stderr)
	seed := fs.Int64("seed", def.Seed, "scenario `seed`")
	truth := fs.String("truth", "", "ground-truth CSV `file` (default: ALERTS with .truth.csv; required when ALERTS is -)")
	attacks := fs.Int("attacks", def.Attacks, "attack instances")
	noise := fs.Int("noise", def.NoiseAlerts, "benign alerts")
	users := fs.Int("users", def.Users, "people per tenant")
	devices := fs.Int("devices", def.Devices, "devices per tenant (0: users + 4 %)")
	days := fs.Float64("days", def.Duration.Hours()/24, "length of the scenario in `days`")
	now := fs.String("now", "", "the scenario's end, RFC 3339 (default: the fixed date of the evaluation scenario, "+def.Start.Format("2006-01-02")+"; \"now\" for the current time)")
	tenants := fs.String("tenants", "", "comma-separated tenant `ids` to spread the scenario over (default: the default tenant)")
	templates := fs.String("templates", "", "comma-separated attack templates (default: all of "+strings.Join(gen.TemplateNames(), ", ")+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("gen needs exactly one ALERTS file (or - for standard output)")
	}
	opts := def
	opts.Seed, opts.Attacks, opts.NoiseAlerts, opts.Users, opts.Devices = *seed, *attacks, *noise, *users, *devices
	opts.Duration = time.Duration(*days * float64(24*time.Hour))
	switch *now {
	case "":
	case "now":
		opts.Start = time.Now().UTC().Truncate(time.Second)
	default:
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("--now: %q is not an RFC 3339 time", *now)
		}
		opts.Start = t
	}
	if *tenants != "" {
		opts.Tenants = strings.Split(*tenants, ",")
	}
	if *templates != "" {
		opts.Templates = strings.Split(*templates, ",")
	}

	alertsPath, truthPath := fs.Arg(0), *truth
	if truthPath == "" {
		if alertsPath == "-" {
			return errors.New("--truth is required when the alerts go to standard output")
		}
		truthPath = strings.TrimSuffix(strings.TrimSuffix(alertsPath, ".ndjson"), ".json") + ".truth.csv"
	}
	var aw io.Writer = stdout
	if alertsPath != "-" {
		f, err := os.Create(alertsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		aw = f
	}
	tf, err := os.Create(truthPath)
	if err != nil {
		return err
	}
	defer tf.Close()
	abuf, tbuf := bufio.NewWriterSize(aw, 1<<20), bufio.NewWriterSize(tf, 1<<16)
	st, err := gen.Generate(opts, abuf, tbuf)
	if err != nil {
		return err
	}
	if err := abuf.Flush(); err != nil {
		return err
	}
	if err := tbuf.Flush(); err != nil {
		return err
	}
	if err := tf.Close(); err != nil {
		return err
	}
	var per []string
	for name, n := range st.AttacksPerTemplate {
		per = append(per, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(per)
	out := stderr
	if alertsPath != "-" {
		out = stdout
	}
	fmt.Fprintf(out, "%d alerts (%d from %d attacks: %s; %d benign) in %d true incidents; truth in %s\n",
		st.Alerts, st.AttackAlerts, st.Attacks, strings.Join(per, ", "), st.NoiseAlerts, st.Incidents, truthPath)
	return nil
}
