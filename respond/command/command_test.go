package command_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/command"
	"github.com/weftxdr/weft/respond/connectortest"
	"github.com/weftxdr/weft/respond/wire"
)

// The tests run this test binary as the configured program: with
// WEFT_FAKE_COMMAND set in its environment, it plays the program that
// variable names instead of running tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("WEFT_FAKE_COMMAND"); mode != "" {
		os.Exit(fakeProgram(mode))
	}
	os.Exit(m.Run())
}

// fakeProgram is a program of the command protocol; mode says how it
// behaves. Where it can, it repeats the secret it was given, as a careless
// program would, so that the tests show weft scrubs it.
func fakeProgram(mode string) int {
	secret := os.Getenv(command.SecretEnv)
	var p wire.Payload
	if mode != "noStdin" {
		if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
			fmt.Fprintln(os.Stderr, "fake: reading the payload:", err)
			return 3
		}
	}
	switch mode {
	case "succeed", "noStdin":
		fmt.Printf(`{"status":"succeeded","externalId":"ext-%s","message":"done with %s"}`+"\n", p.IdempotencyKey, secret)
	case "pending":
		fmt.Printf(`{"status":"pending","externalId":"ext-%s","message":"queued with %s"}`, p.IdempotencyKey, secret)
	case "tempfail":
		fmt.Fprintf(os.Stderr, "EDR busy; key %s\n", secret)
		return command.ExitTempFail
	case "fail":
		fmt.Fprintf(os.Stderr, "device unknown to the EDR; key %s\n", secret)
		return 2
	case "env":
		var names []string
		for _, e := range os.Environ() {
			name, _, _ := strings.Cut(e, "=")
			names = append(names, name)
		}
		slices.Sort(names)
		sum := sha256.Sum256([]byte(secret))
		args, _ := json.Marshal(os.Args[1:])
		out, _ := json.Marshal(wire.Result{Status: "succeeded", ExternalID: hex.EncodeToString(sum[:]),
			Message: strings.Join(names, ",") + " " + string(args) + " " + p.Target})
		os.Stdout.Write(out)
	case "sleep":
		fmt.Fprintln(os.Stderr, "working on it")
		time.Sleep(time.Hour)
	case "spawn":
		// A helper in the program's process group, holding its output
		// open; its pid goes to the file WEFT_FAKE_PIDFILE names.
		exe, _ := os.Executable()
		child := exec.Command(exe)
		child.Env = []string{"WEFT_FAKE_COMMAND=sleep"}
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.Stdin = strings.NewReader(`{}`)
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fake: spawn:", err)
			return 3
		}
		os.WriteFile(os.Getenv("WEFT_FAKE_PIDFILE"), []byte(strconv.Itoa(child.Process.Pid)), 0o600)
		time.Sleep(time.Hour)
	case "garbage":
		fmt.Print("OK, isolated\n")
	case "empty":
	case "twoResults":
		fmt.Print(`{"status":"succeeded"}{"status":"succeeded"}`)
	case "badStatus":
		fmt.Print(`{"status":"done"}`)
	case "huge":
		fmt.Print(`{"status":"succeeded","message":"` + strings.Repeat("x", wire.MaxResultSize) + `"}`)
	case "hugeStderr":
		os.Stderr.WriteString(strings.Repeat("e", 1<<20))
		return 1
	default:
		fmt.Fprintln(os.Stderr, "fake: unknown mode", mode)
		return 3
	}
	return 0
}

func self(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func secretFile(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newCommand(t *testing.T, mode string, cfg command.Config) *command.Command {
	t.Helper()
	cfg.Path = self(t)
	cfg.Env = append(cfg.Env, "WEFT_FAKE_COMMAND="+mode)
	c, err := command.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, s *connectortest.Setup) weft.Connector {
		mode := map[connectortest.Answer]string{
			connectortest.AnswerSucceeded: "succeed",
			connectortest.AnswerPending:   "pending",
			connectortest.AnswerRetryable: "tempfail",
			connectortest.AnswerPermanent: "fail",
		}[s.Answer]
		c, err := command.New(command.Config{
			Path: self(t), SecretFile: secretFile(t, s.Secret), Env: []string{"WEFT_FAKE_COMMAND=" + mode},
		}, s.Logger)
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestOutcomes(t *testing.T) {
	for name, c := range map[string]struct {
		mode      string
		want      weft.ActionOutcome // "" for an error
		retryable bool
		wantErr   string
	}{
		"Succeeded":     {"succeed", weft.DispatchSucceeded, false, ""},
		"Pending":       {"pending", weft.DispatchPending, false, ""},
		"NoStdinRead":   {"noStdin", weft.DispatchSucceeded, false, ""},
		"ErrTempFail":   {"tempfail", "", true, `program exited with 75 (EX_TEMPFAIL); stderr: "EDR busy; key [redacted]"`},
		"ErrExit2":      {"fail", "", false, `program exited with 2; stderr: "device unknown to the EDR; key [redacted]"`},
		"ErrGarbage":    {"garbage", "", false, "program exited with 0 but its standard output is not a result: bad result: not a JSON result object"},
		"ErrEmpty":      {"empty", "", false, `program exited with 0 but its standard output is not a result: bad result: no result (want a JSON object with "status")`},
		"ErrTwoResults": {"twoResults", "", false, "bad result: more than one JSON value"},
		"ErrBadStatus":  {"badStatus", "", false, `bad result: status "done" is not "succeeded" or "pending"`},
		"ErrHugeOutput": {"huge", "", false, "program exited with 0 but wrote more than 65536 bytes on standard output"},
		"ErrHugeStderr": {"hugeStderr", "", false, `program exited with 1; stderr: "eeee`},
	} {
		t.Run(name, func(t *testing.T) {
			const secret = "edr-api-key-5f2b"
			cmd := newCommand(t, c.mode, command.Config{SecretFile: secretFile(t, secret)})
			res, err := cmd.Dispatch(t.Context(), connectortest.NewAction())
			if c.want != "" {
				if err != nil {
					t.Fatalf("got %v, want outcome %s", err, c.want)
				}
				wantExt := "ext-contoso/42"
				if c.mode == "noStdin" {
					wantExt = "ext-" // it never read the key
				}
				if res.ActionOutcome != c.want || res.ExternalID != wantExt {
					t.Errorf("got %+v, want outcome %s and external id %q", res, c.want, wantExt)
				}
				if strings.Contains(res.Message, secret) || !strings.Contains(res.Message, wire.Redacted) {
					t.Errorf("message %q: want the secret redacted", res.Message)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %+v, want an error", res)
			}
			if weft.IsRetryable(err) != c.retryable {
				t.Errorf("retryable = %v, want %v (%v)", weft.IsRetryable(err), c.retryable, err)
			}
			if !strings.HasPrefix(err.Error(), "command command: action 42 attempt 1: ") || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q, want it to name the action and say %q", err, c.wantErr)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error is %d bytes long; standard error must be bounded", len(err.Error()))
			}
		})
	}
}

// TestEnvironmentAndArgs: the program gets the configured environment and
// the secret, nothing of weft's own environment, and its arguments as they
// are written, never expanded.
func TestEnvironmentAndArgs(t *testing.T) {
	const secret = "edr-api-key-5f2b"
	t.Setenv("WEFT_TEST_LEAK", "weft's own environment")
	t.Setenv("WEFT_TEST_SECRET", secret)
	args := []string{"--tenant", "$(whoami)", "a b;c", "`id`"}
	cmd := newCommand(t, "env", command.Config{SecretEnv: "WEFT_TEST_SECRET", Args: args, Env: []string{"LANG=C"}})
	a := connectortest.NewAction()
	a.Target = "device:$(rm -rf /)"
	res, err := cmd.Dispatch(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs, _ := json.Marshal(args)
	if want := "LANG," + command.SecretEnv + ",WEFT_FAKE_COMMAND " + string(wantArgs) + " device:$(rm -rf /)"; res.Message != want {
		t.Errorf("program saw %q, want %q", res.Message, want)
	}
	sum := sha256.Sum256([]byte(secret))
	if res.ExternalID != hex.EncodeToString(sum[:]) {
		t.Errorf("program got another secret (sha256 %s)", res.ExternalID)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := newCommand(t, "spawn", command.Config{Timeout: 500 * time.Millisecond, Env: []string{"WEFT_FAKE_PIDFILE=" + pidFile}})
	_, err := cmd.Dispatch(t.Context(), connectortest.NewAction())
	if !weft.IsRetryable(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "timed out after 500ms, program killed") {
		t.Errorf("error %q does not say it timed out", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the program did not start its helper: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	// The helper was killed with the group; it may still be a zombie
	// until something reaps it.
	for i := 0; alive(pid); i++ {
		if i == 100 {
			t.Fatalf("helper %d is still running after the timeout", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive says whether pid is running (a zombie is not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux"
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

func TestCancelled(t *testing.T) {
	cmd := newCommand(t, "sleep", command.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err := cmd.Dispatch(ctx, connectortest.NewAction())
	if !weft.IsRetryable(err) || !strings.Contains(err.Error(), "cancelled, program killed") {
		t.Fatalf("got %v, want a retryable cancellation", err)
	}
}

func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "gone")
	os.WriteFile(script, []byte("#!/nonexistent/interpreter\n"), 0o700)
	cmd, err := command.New(command.Config{Path: script}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmd.Dispatch(t.Context(), connectortest.NewAction())
	if err == nil || weft.IsRetryable(err) || !strings.Contains(err.Error(), "starting the program") {
		t.Fatalf("got %v, want a permanent start failure", err)
	}
}

func TestConfig(t *testing.T) {
	exe := self(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, []byte("x"), 0o600)
	t.Setenv("WEFT_TEST_UNSET", "")
	for name, c := range map[string]struct {
		cfg  command.Config
		want string
	}{
		"OK":            {command.Config{Path: exe, Args: []string{"-v"}, Timeout: time.Second, Env: []string{"PATH=/usr/bin", "HOME=/var/empty"}}, ""},
		"ErrNoPath":     {command.Config{}, "command: path: required, the program's absolute path"},
		"ErrRelative":   {command.Config{Path: "bin/isolate"}, `command: path: "bin/isolate" is not absolute (the program is never looked up in PATH)`},
		"ErrMissing":    {command.Config{Path: "/nonexistent/isolate"}, "command: path /nonexistent/isolate: no such file or directory"},
		"ErrDirectory":  {command.Config{Path: dir}, "command: path " + dir + ": not a regular file"},
		"ErrNotExec":    {command.Config{Path: notExec}, "command: path " + notExec + ": not executable"},
		"ErrTimeout":    {command.Config{Path: exe, Timeout: -1}, "command: timeout: -1ns is negative"},
		"ErrTwoSecrets": {command.Config{Path: exe, SecretFile: "/x", SecretEnv: "X"}, "command: secretFile and secretEnv: give only one"},
		"ErrSecretEnv":  {command.Config{Path: exe, SecretEnv: "WEFT_TEST_UNSET"}, "command: environment variable WEFT_TEST_UNSET: the secret is empty or unset"},
		"ErrEnvEntry":   {command.Config{Path: exe, Env: []string{"PATH"}}, "command: env[0]: is not NAME=value with a valid NAME"},
		"ErrEnvSecret":  {command.Config{Path: exe, Env: []string{command.SecretEnv + "=inline"}}, "command: env[0]: WEFT_CONNECTOR_SECRET is set from secretFile or secretEnv, never inline"},
		"ErrEnvTwice":   {command.Config{Path: exe, Env: []string{"A=1", "A=2"}}, "command: env[1]: A is set twice"},
		"ErrArgNUL":     {command.Config{Path: exe, Args: []string{"a", "b\x00"}}, "command: args[1]: contains a NUL byte"},
		"ErrSecretFile": {command.Config{Path: exe, SecretFile: "/nonexistent/secret"}, "command: secretFile: /nonexistent/secret: no such file or directory"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := command.New(c.cfg, nil)
			if got := weft.ErrorMessage(err); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if err != nil && weft.ErrorCode(err) != weft.EINVALID {
				t.Errorf("code %q, want invalid", weft.ErrorCode(err))
			}
		})
	}
}
