// Command weft is the weft XDR incident engine: one binary that ingests
// security alerts, groups them into incidents and serves the API.
//
// Usage:
//
//	weft serve    run the server
//	weft ingest   send alerts from a file to a server, or store them in a data directory
//	weft assets   import an asset inventory (weft assets import FILE)
//	weft incidents  triage incidents on a server: list, show, update, comment, merge
//	weft alerts   move alerts between incidents on a server (weft alerts move)
//	weft demo     run a server on a temporary store and feed it a realistic attack
//	weft version  print the version
//
// Run "weft COMMAND --help" for the flags of a command.
// Commands that talk to a server send the API token in $WEFT_TOKEN (or --token-file).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/weftxdr/weft"
)

// command is one subcommand: its name, one line of help, and its entry point.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the weft server (API, metrics, health)", runServe},
		{"ingest", "send alerts from a file to a server, or store them in a data directory", runIngest},
		{"assets", "import an asset inventory from a file to a server or a data directory", runAssets},
		{"incidents", "triage incidents on a server: list, show, update, comment, merge", runIncidents},
		{"alerts", "move alerts to another or a new incident on a server (alerts move)", runAlerts},
		{"actions", "response actions on a server: list, show, request, approve, reject, cancel, undo", runActions},
		{"admin", "manage users, API tokens and the audit log in a data directory", runAdmin},
		{"demo", "run a server on a temporary store and feed it a realistic multi-stage attack", runDemo},
		{"gen", "write a seeded realistic alert stream (Graph format) and its ground truth", runGen},
		{"replay", "run a correlation policy over past alerts and show what it would change", runReplay},
		{"eval", "score predicted incidents against ground truth, beside three baselines", runEval},
		{"truth", "write the ground truth an alerts file carries (GUIDE's incidents) for weft eval", runTruth},
		{"bench", "measure ingest throughput (alerts/s) over HTTP into the embedded store", runBench},
		{"version", "print the weft version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "weft:", err)
			os.Exit(1)
		}
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "weft — an open-source XDR incident engine")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: weft COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "weft COMMAND --help" for the flags of a command.`)
}

// newFlagSet returns a flag set that prints its usage with a description and
// returns flag.ErrHelp for --help.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: weft %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// newLogger returns a slog logger writing to w at the given level in the
// given format ("text" or "json").
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", "Print the weft version.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "weft", versionString())
	return nil
}

// versionString is the weft version with the Go version that built it.
func versionString() string {
	return weft.Version + " (" + runtime.Version() + ")"
}
