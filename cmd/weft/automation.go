package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/sqlite"
)

// automationWorkers are the automation runner and the notifier of a server
// (docs/automation.md), with the evaluator the API checks rules with.
type automationWorkers struct {
	evaluator *automation.Evaluator
	runner    *automation.Runner
	notifier  *automation.Notifier
}

// newAutomationWorkers wires the automation package to the store. Response
// actions requested by rules go to runner.Actions, set by the wiring of the
// action service; without one those runs fail, saying so.
func newAutomationWorkers(store *sqlite.Store, now func() time.Time, logger *slog.Logger) (*automationWorkers, error) {
	engine, err := automation.NewEngine()
	if err != nil {
		return nil, err
	}
	load := (&automation.Loader{Investigations: store, Entities: store}).Load
	return &automationWorkers{
		evaluator: &automation.Evaluator{Engine: engine, Load: load},
		runner: &automation.Runner{Store: store, Events: store, Manager: store, Load: load, Engine: engine, Now: now,
			Logger: logger.With("component", "automation")},
		notifier: &automation.Notifier{Store: store, Events: store, Load: load, Engine: engine, Now: now,
			Logger: logger.With("component", "notifications")},
	}, nil
}

// setSecretsDir gives the notifier and the rule checks the notification
// secrets directory, which must be an existing directory; "" leaves none.
func (a *automationWorkers) setSecretsDir(dir string) error {
	if dir == "" {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("--notify-secrets-dir %q: %v", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("--notify-secrets-dir: %v", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--notify-secrets-dir %q: is not a directory", dir)
	}
	a.notifier.SecretsDir, a.evaluator.SecretsDir = abs, abs
	return nil
}

// setActions gives the runner the action service its rules request
// response actions through.
func (a *automationWorkers) setActions(s weft.ActionService) { a.runner.Actions = s }

// start runs the runner and the notifier until the returned function is
// called, which waits for both to stop.
func (a *automationWorkers) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.runner.Run(ctx) })
	wg.Go(func() { a.notifier.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// envFlag reads a boolean environment variable ("1", "true" …); anything
// else, or nothing, is false.
func envFlag(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}
