// Package command is the response-action connector that runs a program the
// administrator configured, once per dispatch: the action goes to the
// program as JSON on its standard input (the webhook's payload,
// wire.Payload), and the program writes one JSON result on its standard
// output (docs/respond.md, "Connectors"; docs/connectors.md, "The command
// protocol").
//
// The program is run directly, never through a shell, with the path and
// the fixed arguments of the configuration: nothing from an alert or an
// action reaches its command line. Its environment holds only what the
// configuration lists, plus the secret in WEFT_CONNECTOR_SECRET when one is
// configured. It runs in its own process group, which is killed when the
// timeout passes. Exit code 0 with a result is a success (or pending);
// exit code 75 (EX_TEMPFAIL), a timeout or a cancelled dispatch is a
// retryable failure; anything else is permanent. What the program writes
// on standard error goes into the error, bounded and scrubbed of the
// secret (invariant 7).
package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/wire"
)

// Defaults, limits and the protocol's fixed names.
const (
	DefaultName    = "command"
	DefaultTimeout = 30 * time.Second
	// SecretEnv is the environment variable that carries the secret to
	// the program; the secret is never an argument.
	SecretEnv = "WEFT_CONNECTOR_SECRET"
	// ExitTempFail (EX_TEMPFAIL of sysexits.h) is the exit code that asks
	// for another attempt.
	ExitTempFail = 75
	// MaxStderr bounds the standard error kept (the rest is read and
	// dropped, so the program never blocks on it); maxStderrShown what of
	// it an error shows.
	MaxStderr      = 4 << 10
	maxStderrShown = 500
	// waitDelay is how long weft waits, after the program exited or was
	// killed, for processes it left behind to close its output.
	waitDelay = 2 * time.Second
)

// Config configures a Command. Path and Args are fixed: they are never built
// from alert or action content.
type Config struct {
	// Name is the connector's name; "" is DefaultName.
	Name string
	// Path is the program's absolute path.
	Path string
	// Args are its arguments, passed as they are (no shell, no
	// expansion).
	Args []string
	// Timeout bounds one run; 0 is DefaultTimeout. When it passes, the
	// program's process group is killed.
	Timeout time.Duration
	// SecretFile or SecretEnv (at most one) names where the secret the
	// program needs (an API key of the system it drives) is; the program
	// gets it in the environment variable WEFT_CONNECTOR_SECRET.
	SecretFile string
	SecretEnv  string
	// Env is the program's whole environment besides the secret,
	// "NAME=value" entries; PATH and HOME are unset unless listed.
	Env []string
}

// Validate checks the configuration's shape, without reading files or the
// environment, and returns an EINVALID *weft.Error naming the first field
// that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return weft.Errorf(weft.EINVALID, "command: path: required, the program's absolute path")
	case !filepath.IsAbs(c.Path):
		return weft.Errorf(weft.EINVALID, "command: path: %q is not absolute (the program is never looked up in PATH)", wire.Clean(c.Path, 200))
	case strings.ContainsRune(c.Path, 0):
		return weft.Errorf(weft.EINVALID, "command: path: contains a NUL byte")
	case c.Timeout < 0:
		return weft.Errorf(weft.EINVALID, "command: timeout: %s is negative", c.Timeout)
	case c.SecretFile != "" && c.SecretEnv != "":
		return weft.Errorf(weft.EINVALID, "command: secretFile and secretEnv: give only one")
	case c.SecretEnv != "" && !wire.ValidEnvName(c.SecretEnv):
		return weft.Errorf(weft.EINVALID, "command: secretEnv: %q is not an environment variable name", wire.Clean(c.SecretEnv, 64))
	}
	for i, a := range c.Args {
		if strings.ContainsRune(a, 0) {
			return weft.Errorf(weft.EINVALID, "command: args[%d]: contains a NUL byte", i)
		}
	}
	seen := map[string]bool{}
	for i, e := range c.Env {
		name, _, ok := strings.Cut(e, "=")
		switch {
		case !ok || !wire.ValidEnvName(name):
			return weft.Errorf(weft.EINVALID, "command: env[%d]: is not NAME=value with a valid NAME", i)
		case strings.ContainsRune(e, 0):
			return weft.Errorf(weft.EINVALID, "command: env[%d]: contains a NUL byte", i)
		case name == SecretEnv:
			return weft.Errorf(weft.EINVALID, "command: env[%d]: %s is set from secretFile or secretEnv, never inline", i, SecretEnv)
		case seen[name]:
			return weft.Errorf(weft.EINVALID, "command: env[%d]: %s is set twice", i, name)
		}
		seen[name] = true
	}
	return nil
}

// Command is the command connector. It is safe for concurrent use: each
// dispatch runs its own process.
type Command struct {
	name    string
	path    string
	args    []string
	env     []string
	secret  string
	timeout time.Duration
	logger  *slog.Logger
}

var _ weft.Connector = (*Command)(nil)

// New returns a command connector: the error of cfg.Validate, or an
// EINVALID *weft.Error when Path is not an executable regular file or the
// secret cannot be read. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Command, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(cfg.Path)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, weft.Errorf(weft.EINVALID, "command: path %s: %v", cfg.Path, err)
	case !fi.Mode().IsRegular():
		return nil, weft.Errorf(weft.EINVALID, "command: path %s: not a regular file", cfg.Path)
	case fi.Mode().Perm()&0o111 == 0:
		return nil, weft.Errorf(weft.EINVALID, "command: path %s: not executable", cfg.Path)
	}
	secret, err := wire.LoadSecret("command", cfg.SecretFile, cfg.SecretEnv, 1)
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A non-nil, possibly empty, environment: exec inherits weft's own
	// environment for a nil one.
	env := append(make([]string, 0, len(cfg.Env)+1), cfg.Env...)
	if secret != "" {
		env = append(env, SecretEnv+"="+secret)
	}
	return &Command{
		name:    cfg.Name,
		path:    cfg.Path,
		args:    slices.Clone(cfg.Args),
		env:     env,
		secret:  secret,
		timeout: cfg.Timeout,
		logger:  logger,
	}, nil
}

// Name returns the connector's name.
func (c *Command) Name() string { return c.name }

// Dispatch runs the program with a's payload on its standard input and
// reads its result (see the package documentation for what each ending
// means). Errors name the connector, the action and attempt, and say how
// the program ended, with its standard error, scrubbed of the secret.
func (c *Command) Dispatch(ctx context.Context, a *weft.Action) (weft.ActionResult, error) {
	where := fmt.Sprintf("command %s: action %d attempt %d", c.name, a.ID, a.Attempt)
	body, err := wire.NewPayload(a, "").Marshal()
	if err != nil {
		return weft.ActionResult{}, fmt.Errorf("%s: encoding the payload: %w", where, err)
	}
	if err := ctx.Err(); err != nil {
		return weft.ActionResult{}, weft.RetryableError(fmt.Errorf("%s: cancelled: %w", where, err))
	}
	runCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.path, c.args...)
	cmd.Env = c.env
	cmd.Stdin = bytes.NewReader(body)
	stdout := &capped{max: wire.MaxResultSize}
	stderr := &capped{max: MaxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)

	log := c.logger.With("connector", c.name, "tenant", a.TenantID, "action", a.ID, "attempt", a.Attempt)
	runErr := cmd.Run()
	res, err := c.outcome(ctx, runCtx, runErr, stdout, stderr)
	if err != nil {
		err = fmt.Errorf("%s: %w", where, err)
		log.DebugContext(ctx, "command: dispatch failed", "retryable", weft.IsRetryable(err), "err", err)
		return weft.ActionResult{}, err
	}
	log.DebugContext(ctx, "command: dispatched", "outcome", res.ActionOutcome, "externalId", res.ExternalID,
		"stderr", wire.Text(stderr.String(), c.secret, maxStderrShown))
	return res, nil
}

// outcome reads how the program ended. Errors are marked retryable where
// another attempt may help.
func (c *Command) outcome(ctx, runCtx context.Context, runErr error, stdout, stderr *capped) (weft.ActionResult, error) {
	tail := c.stderrExcerpt(stderr)
	if runErr != nil {
		return weft.ActionResult{}, c.failure(ctx, runCtx, runErr, tail)
	}
	if stdout.overflow {
		return weft.ActionResult{}, fmt.Errorf("program exited with 0 but wrote more than %d bytes on standard output; it must write one JSON result", wire.MaxResultSize)
	}
	res, err := wire.ParseResult(stdout.Bytes(), "", c.secret)
	if err != nil {
		return weft.ActionResult{}, fmt.Errorf("program exited with 0 but its standard output is not a result: %w%s", err, tail)
	}
	return res, nil
}

// failure says how a run that did not end with exit code 0 ended: a
// cancelled dispatch, a timeout (either killed the program) or exit code
// 75 is retryable; any other ending is permanent.
func (c *Command) failure(ctx, runCtx context.Context, runErr error, tail string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return weft.RetryableError(fmt.Errorf("the dispatch's time ran out, program killed: %w%s", ctx.Err(), tail))
	}
	if ctx.Err() != nil {
		return weft.RetryableError(fmt.Errorf("cancelled, program killed: %w%s", ctx.Err(), tail))
	}
	if runCtx.Err() != nil {
		return weft.RetryableError(fmt.Errorf("timed out after %s, program killed%s", c.timeout, tail))
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(runErr, &exitErr):
		code := exitErr.ExitCode()
		if code == ExitTempFail {
			return weft.RetryableError(fmt.Errorf("program exited with %d (EX_TEMPFAIL)%s", code, tail))
		}
		if code < 0 {
			return fmt.Errorf("program ended abnormally (%s)%s", exitErr.ProcessState, tail)
		}
		return fmt.Errorf("program exited with %d%s", code, tail)
	case errors.Is(runErr, exec.ErrWaitDelay):
		return fmt.Errorf("program exited with 0 but left a process holding its output open%s", tail)
	}
	return fmt.Errorf("starting the program: %s%s", wire.Text(runErr.Error(), c.secret, 300), tail)
}

// stderrExcerpt is "; stderr: " and the program's standard error, cleaned,
// bounded and scrubbed, or "" when it wrote none.
func (c *Command) stderrExcerpt(stderr *capped) string {
	s := wire.Text(stderr.String(), c.secret, maxStderrShown)
	if s == "" {
		return ""
	}
	return "; stderr: " + strconv.Quote(s)
}

// capped keeps the first max bytes written to it and drops the rest,
// noting that it did, so that a program that writes too much neither
// blocks nor fills weft's memory.
type capped struct {
	mu       sync.Mutex
	max      int
	buf      bytes.Buffer
	overflow bool
}

func (w *capped) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.buf.Len(); len(p) > room {
		w.buf.Write(p[:max(room, 0)])
		w.overflow = true
	} else {
		w.buf.Write(p)
	}
	return len(p), nil
}

func (w *capped) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Bytes()
}

func (w *capped) String() string { return string(w.Bytes()) }
