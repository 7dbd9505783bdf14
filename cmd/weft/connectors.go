package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond"
	commandconn "github.com/weftxdr/weft/respond/command"
	"github.com/weftxdr/weft/respond/simulator"
	"github.com/weftxdr/weft/respond/webhook"
)

// The response-action connectors of weft serve (docs/connectors.md,
// "Configuring weft"): the simulator, always there, and at most one webhook
// and any number of commands, set with flags for the common case or with a
// JSON file (--connectors) for anything more. Secrets are never in either:
// a connector names the file or the environment variable that holds its
// secret.

// connectorsConfig is the --connectors file; the flags fill the same
// structure. The zero value runs every action on the simulator.
type connectorsConfig struct {
	// Default is the connector of every action type Actions does not
	// name; "simulator" when empty.
	Default string `json:"default"`
	// Actions names the connector of some action types.
	Actions   map[string]string `json:"actions"`
	Simulator simulatorConfig   `json:"simulator"`
	// Webhooks holds at most one webhook connector: its callback is served
	// at POST /api/v1/actions/callback, which has room for one secret.
	Webhooks []webhookConfig `json:"webhooks"`
	Commands []commandConfig `json:"commands"`
	// DispatchTimeout bounds one dispatch (default 30s); Lease is how long
	// a dispatched action waits for its answer before another worker (this
	// one restarted) sends it again (default 1m, at least twice
	// DispatchTimeout). See docs/respond.md, invariant 3.
	DispatchTimeout duration `json:"dispatchTimeout"`
	Lease           duration `json:"lease"`
}

type simulatorConfig struct {
	Delay       duration `json:"delay"`
	FailureRate float64  `json:"failureRate"`
}

type webhookConfig struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	SecretFile  string   `json:"secretFile"`
	SecretEnv   string   `json:"secretEnv"`
	CAFile      string   `json:"caFile"`
	Timeout     duration `json:"timeout"`
	CallbackURL string   `json:"callbackUrl"`
}

type commandConfig struct {
	Name       string   `json:"name"`
	Path       string   `json:"path"`
	Args       []string `json:"args"`
	Timeout    duration `json:"timeout"`
	SecretFile string   `json:"secretFile"`
	SecretEnv  string   `json:"secretEnv"`
	Env        []string `json:"env"`
}

// duration is a time.Duration written as a Go duration string ("30s").
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "30s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a non-negative duration such as \"30s\"", s)
	}
	*d = duration(v)
	return nil
}

// connectorFlags are the flags of weft serve that configure connectors.
type connectorFlags struct {
	file, connector, actions                       *string
	webhookURL, webhookSecretFile, webhookCallback *string
	webhookCAFile                                  *string
	commandPath                                    *string
	simDelay                                       *time.Duration
	simFailureRate                                 *float64
}

// addConnectorFlags adds the connector flags to fs.
func addConnectorFlags(fs *flag.FlagSet) *connectorFlags {
	return &connectorFlags{
		file:              fs.String("connectors", envOr("WEFT_CONNECTORS", ""), "response-action connectors `file` (JSON; docs/connectors.md); instead of the other connector flags (WEFT_CONNECTORS)"),
		connector:         fs.String("connector", envOr("WEFT_CONNECTOR", ""), "the `connector` that runs response actions: simulator (the default), webhook or command (WEFT_CONNECTOR)"),
		actions:           fs.String("connector-for", envOr("WEFT_CONNECTOR_FOR", ""), "comma-separated `type=connector` pairs that run some action types elsewhere, e.g. isolate=webhook,disable=command (WEFT_CONNECTOR_FOR)"),
		webhookURL:        fs.String("webhook-url", envOr("WEFT_WEBHOOK_URL", ""), "the webhook connector's receiver `URL` (https) (WEFT_WEBHOOK_URL)"),
		webhookSecretFile: fs.String("webhook-secret-file", envOr("WEFT_WEBHOOK_SECRET_FILE", ""), "`file` holding the webhook's signing secret (WEFT_WEBHOOK_SECRET_FILE; or the secret itself in WEFT_WEBHOOK_SECRET)"),
		webhookCAFile:     fs.String("webhook-ca-file", envOr("WEFT_WEBHOOK_CA_FILE", ""), "PEM `file` of the CAs the receiver's certificate must chain to, instead of the system's (WEFT_WEBHOOK_CA_FILE)"),
		webhookCallback:   fs.String("webhook-callback-url", envOr("WEFT_WEBHOOK_CALLBACK_URL", ""), "weft's POST /api/v1/actions/callback `URL` as the receiver reaches it, sent in every payload (WEFT_WEBHOOK_CALLBACK_URL)"),
		commandPath:       fs.String("command-path", envOr("WEFT_COMMAND_PATH", ""), "absolute `path` of the command connector's program: the action as JSON on stdin, the result as JSON on stdout (WEFT_COMMAND_PATH)"),
		simDelay:          fs.Duration("simulator-delay", 0, "how long the simulator takes to answer each action (WEFT_SIMULATOR_DELAY)"),
		simFailureRate:    fs.Float64("simulator-failure-rate", 0, "the share (0 to 1) of simulated actions that fail retryably (WEFT_SIMULATOR_FAILURE_RATE)"),
	}
}

// connectorEnv are the environment variables of the connector flags that
// are parsed like their flags, so that a malformed value is an error.
var connectorEnv = map[string]string{"simulator-delay": "WEFT_SIMULATOR_DELAY", "simulator-failure-rate": "WEFT_SIMULATOR_FAILURE_RATE"}

// config returns the configuration the flags (or the file they name) give.
// The file excludes the other flags, so that nobody has to guess which of
// the two wins.
func (f *connectorFlags) config() (connectorsConfig, error) {
	if *f.file != "" {
		if *f.connector != "" || *f.actions != "" || *f.webhookURL != "" || *f.webhookSecretFile != "" || *f.webhookCAFile != "" ||
			*f.webhookCallback != "" || *f.commandPath != "" || *f.simDelay != 0 || *f.simFailureRate != 0 {
			return connectorsConfig{}, errors.New("--connectors: give the connectors in the file or with the other connector flags, not both")
		}
		return readConnectors(*f.file)
	}
	cfg := connectorsConfig{Default: *f.connector, Simulator: simulatorConfig{Delay: duration(*f.simDelay), FailureRate: *f.simFailureRate}}
	if *f.actions != "" {
		cfg.Actions = map[string]string{}
		for pair := range strings.SplitSeq(*f.actions, ",") {
			typ, name, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || typ == "" || name == "" {
				return cfg, fmt.Errorf("--connector-for: %q is not type=connector", pair)
			}
			cfg.Actions[strings.TrimSpace(typ)] = strings.TrimSpace(name)
		}
	}
	if *f.webhookURL != "" {
		w := webhookConfig{URL: *f.webhookURL, SecretFile: *f.webhookSecretFile, CAFile: *f.webhookCAFile, CallbackURL: *f.webhookCallback}
		if w.SecretFile == "" {
			w.SecretEnv = "WEFT_WEBHOOK_SECRET"
		}
		cfg.Webhooks = []webhookConfig{w}
	} else if *f.webhookSecretFile != "" || *f.webhookCAFile != "" || *f.webhookCallback != "" {
		return cfg, errors.New("--webhook-secret-file, --webhook-ca-file and --webhook-callback-url need --webhook-url")
	}
	if *f.commandPath != "" {
		cfg.Commands = []commandConfig{{Path: *f.commandPath}}
	}
	return cfg, nil
}

// readConnectors reads a --connectors file; an unknown member is an error
// that names it, as a misspelt setting silently ignored could send actions
// to the wrong system.
func readConnectors(path string) (connectorsConfig, error) {
	var cfg connectorsConfig
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("--connectors: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("--connectors %s: %v", path, err)
	}
	if dec.More() {
		return cfg, fmt.Errorf("--connectors %s: more than one JSON value", path)
	}
	return cfg, nil
}

// dispatchMargin is how much longer than a connector's own time limit the
// action service waits for its answer.
const dispatchMargin = 5 * time.Second

// actionRuntime is what the connectors of a configuration make: the
// options of the action service, and the webhook's callback handler (nil
// without a webhook).
type actionRuntime struct {
	Options  respond.Options
	Callback func(weft.ActionCompleter) http.Handler
}

// build makes the connectors of cfg: it reads their secrets (never
// logged, never in an error) and checks that every connector an action is
// routed to exists. Errors name the setting that is wrong.
func (cfg connectorsConfig) build(logger *slog.Logger, now func() time.Time) (actionRuntime, error) {
	var rt actionRuntime
	conns := map[string]weft.Connector{}
	add := func(c weft.Connector) error {
		if _, dup := conns[c.Name()]; dup {
			return fmt.Errorf("connectors: two connectors are named %q; give each its own name", c.Name())
		}
		conns[c.Name()] = c
		return nil
	}
	sim, err := simulator.New(simulator.Config{Delay: time.Duration(cfg.Simulator.Delay), FailureRate: cfg.Simulator.FailureRate, Now: now}, logger)
	if err != nil {
		return rt, fmt.Errorf("connectors: %s", weft.ErrorMessage(err))
	}
	if err := add(sim); err != nil {
		return rt, err
	}
	// The longest time a connector may take by its own settings: the
	// action service's dispatch timeout must outlast it, else every slow
	// but healthy answer is cut off, retried and cut off again until the
	// action expires. The simulator's delay is left out: a delay longer
	// than the dispatch timeout simulates a target that does not answer in
	// time (the crash tests use one).
	var longest time.Duration
	var longestName string
	if len(cfg.Webhooks) > 1 {
		return rt, errors.New("connectors: webhooks: at most one webhook connector (its callback route takes one secret)")
	}
	for _, w := range cfg.Webhooks {
		wh, err := webhook.New(webhook.Config{Name: w.Name, URL: w.URL, SecretFile: w.SecretFile, SecretEnv: w.SecretEnv,
			CAFile: w.CAFile, Timeout: time.Duration(w.Timeout), CallbackURL: w.CallbackURL, Now: now}, logger)
		if err != nil {
			return rt, fmt.Errorf("connectors: %s", weft.ErrorMessage(err))
		}
		if err := add(wh); err != nil {
			return rt, err
		}
		rt.Callback = wh.CallbackHandler
		if t := cmp.Or(time.Duration(w.Timeout), webhook.DefaultTimeout); t > longest {
			longest, longestName = t, "webhooks[0].timeout"
		}
	}
	for i, c := range cfg.Commands {
		cmd, err := commandconn.New(commandconn.Config{Name: c.Name, Path: c.Path, Args: c.Args, Timeout: time.Duration(c.Timeout),
			SecretFile: c.SecretFile, SecretEnv: c.SecretEnv, Env: c.Env}, logger)
		if err != nil {
			return rt, fmt.Errorf("connectors: commands[%d]: %s", i, weft.ErrorMessage(err))
		}
		if err := add(cmd); err != nil {
			return rt, err
		}
		if t := cmp.Or(time.Duration(c.Timeout), commandconn.DefaultTimeout); t > longest {
			longest, longestName = t, fmt.Sprintf("commands[%d].timeout", i)
		}
	}
	need := longest + dispatchMargin
	dispatch := time.Duration(cfg.DispatchTimeout)
	switch {
	case dispatch == 0 && longest > 0:
		dispatch = max(respond.DefaultDispatchTimeout, need)
	case longest > 0 && dispatch < need:
		return rt, fmt.Errorf("connectors: dispatchTimeout %v is too short for %s (%v): a dispatch must be allowed the connector's own time limit plus %v; raise dispatchTimeout to at least %v or shorten %s",
			dispatch, longestName, longest, dispatchMargin, need, longestName)
	}
	names := make([]string, 0, len(conns))
	for n := range conns {
		names = append(names, n)
	}
	slices.Sort(names)
	def := cmp.Or(cfg.Default, respond.DefaultConnector)
	if conns[def] == nil {
		return rt, fmt.Errorf("connectors: default: no connector is named %q; configured: %s", def, strings.Join(names, ", "))
	}
	for typ, name := range cfg.Actions {
		if _, ok := weft.LookupAction(typ); !ok {
			return rt, fmt.Errorf("connectors: actions: %q is not an action type; allowed: %s", typ, strings.Join(weft.ActionTypes(), ", "))
		}
		if conns[name] == nil {
			return rt, fmt.Errorf("connectors: actions: %s: no connector is named %q; configured: %s", typ, name, strings.Join(names, ", "))
		}
	}
	rt.Options = respond.Options{Now: now, Connectors: conns, DefaultConnector: def, ConnectorFor: cfg.Actions, Logger: logger,
		DispatchTimeout: dispatch, Lease: time.Duration(cfg.Lease)}
	return rt, nil
}

// describe says which connectors run which actions, for the start-up log.
func (cfg connectorsConfig) describe() string {
	var parts []string
	parts = append(parts, "default="+cmp.Or(cfg.Default, respond.DefaultConnector))
	for _, typ := range weft.ActionTypes() {
		if n, ok := cfg.Actions[typ]; ok {
			parts = append(parts, typ+"="+n)
		}
	}
	parts = append(parts, "webhooks="+strconv.Itoa(len(cfg.Webhooks)), "commands="+strconv.Itoa(len(cfg.Commands)))
	return strings.Join(parts, " ")
}

// startActionWorker runs the action service's worker until the returned
// function is called, which waits for it (and the dispatches in flight) to
// stop. An action whose dispatch the stop interrupts stays dispatched and
// is sent again, with the same idempotency key, once its lease has passed
// (docs/respond.md, invariant 3).
func startActionWorker(svc *respond.Service, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			logger.Error("response actions: the worker stopped", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}
