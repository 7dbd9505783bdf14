package wire_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/wire"
)

func TestNewPayload(t *testing.T) {
	a := &weft.Action{ID: 9, TenantID: "t", Type: "disable", EntityType: weft.EntityUser, Target: "user.upn:a@b",
		RequestedBy: weft.ActionActor{Kind: weft.ActorAutomation, Name: "ransomware", RuleID: 3, RuleVersion: 2}, Attempt: 1}
	b, err := wire.NewPayload(a, "").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"actionId":"9","tenantId":"t","type":"disable","entityType":"user","target":"user.upn:a@b","parameters":{},` +
		`"requestedBy":{"kind":"automation","name":"ransomware","ruleId":"3","ruleVersion":2},"attempt":1,"idempotencyKey":"t/9"}`
	if string(b) != want {
		t.Errorf("payload\n got %s\nwant %s", b, want)
	}
}

func TestParseResult(t *testing.T) {
	const secret = "s3cr3t-value"
	for name, c := range map[string]struct {
		in, def string
		want    weft.ActionResult
		wantErr string
	}{
		"Succeeded":      {`{"status":"succeeded","externalId":"x1","message":"ok"}`, "", weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: "x1", Message: "ok"}, ""},
		"Pending":        {" \n{\"status\":\"pending\"}\n", "", weft.ActionResult{ActionOutcome: weft.DispatchPending}, ""},
		"Default":        {`{"externalId":"x"}`, wire.StatusPending, weft.ActionResult{ActionOutcome: weft.DispatchPending, ExternalID: "x"}, ""},
		"EmptyDefault":   {"", wire.StatusSucceeded, weft.ActionResult{ActionOutcome: weft.DispatchSucceeded}, ""},
		"UnknownFields":  {`{"status":"succeeded","extra":[1,2]}`, "", weft.ActionResult{ActionOutcome: weft.DispatchSucceeded}, ""},
		"SecretScrubbed": {`{"status":"succeeded","message":"key s3cr3t-value","externalId":"s3cr3t-value"}`, "", weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, ExternalID: "[redacted]", Message: "key [redacted]"}, ""},
		"EscapedSecret":  {`{"status":"succeeded","message":"key \u00733cr3t-value"}`, "", weft.ActionResult{ActionOutcome: weft.DispatchSucceeded, Message: "key [redacted]"}, ""},
		"ErrEmpty":       {"  ", "", weft.ActionResult{}, `bad result: no result (want a JSON object with "status")`},
		"ErrNotJSON":     {"OK", "", weft.ActionResult{}, "bad result: not a JSON result object: syntax error at byte 1"},
		"ErrTruncated":   {`{"status":`, "", weft.ActionResult{}, "bad result: not a JSON result object: unexpected end"},
		"ErrArray":       {`["succeeded"]`, "", weft.ActionResult{}, "bad result: not a JSON result object: not an object"},
		"ErrStatusType":  {`{"status":1}`, "", weft.ActionResult{}, `bad result: not a JSON result object: status: must be a JSON string`},
		"ErrTwo":         {`{"status":"succeeded"} x`, "", weft.ActionResult{}, "bad result: more than one JSON value"},
		"ErrStatus":      {`{"status":"failed"}`, "", weft.ActionResult{}, `bad result: status "failed" is not "succeeded" or "pending"`},
		"ErrStatusShown": {`{"status":"s3cr3t-value"}`, "", weft.ActionResult{}, `bad result: status "[redacted]" is not "succeeded" or "pending"`},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := wire.ParseResult([]byte(c.in), c.def, secret)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr || !errors.Is(err, wire.ErrBadResult) {
					t.Fatalf("got (%+v, %v), want error %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got (%+v, %v), want %+v", got, err, c.want)
			}
		})
	}
	if _, err := wire.ParseResult([]byte(strings.Repeat(" ", wire.MaxResultSize+1)), "", ""); err == nil {
		t.Error("a result over MaxResultSize was read")
	}
}

func TestText(t *testing.T) {
	for name, c := range map[string]struct {
		in, secret string
		max        int
		want       string
	}{
		"Plain":           {"disk full", "", 100, "disk full"},
		"Controls":        {"a\x1b[0m\x00b\r\nc\u2028d", "", 100, "a [0m b \nc d"},
		"InvalidUTF8":     {"a\xffb", "", 100, "a\uFFFDb"},
		"Cut":             {"abcdef", "", 3, "abc…"},
		"CutRune":         {"aé", "", 2, "a…"},
		"Scrubbed":        {"token=hunter22hunter22 end", "hunter22hunter22", 100, "token=[redacted] end"},
		"ScrubBeforeCut":  {"xx hunter22hunter22", "hunter22hunter22", 10, "xx [redact…"},
		"ScrubAfterClean": {"key a\x01b", "a b", 100, "key [redacted]"},
	} {
		t.Run(name, func(t *testing.T) {
			got := wire.Text(c.in, c.secret, c.max)
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if c.secret != "" && strings.Contains(got, c.secret) {
				t.Errorf("%q holds the secret", got)
			}
			if !utf8.ValidString(got) {
				t.Errorf("%q is not valid UTF-8", got)
			}
		})
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	os.WriteFile(file, []byte("  abcdefghijklmnop\r\n"), 0o600)
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, wire.MaxSecretSize+1), 0o600)
	t.Setenv("WEFT_TEST_S", "from-env-0123456789")
	for name, c := range map[string]struct {
		path, env string
		min       int
		want      string
		wantErr   string
	}{
		"File":      {file, "", 16, "abcdefghijklmnop", ""},
		"Env":       {"", "WEFT_TEST_S", 16, "from-env-0123456789", ""},
		"None":      {"", "", 16, "", ""},
		"ErrShort":  {file, "", 20, "", "x: secretFile " + file + ": the secret is 16 bytes; it must be at least 20 (generate one with: openssl rand -hex 32)"},
		"ErrBig":    {big, "", 1, "", "x: secretFile " + big + ": larger than 4096 bytes; it must hold the secret alone"},
		"ErrUnset":  {"", "WEFT_TEST_UNSET_VARIABLE", 1, "", "x: environment variable WEFT_TEST_UNSET_VARIABLE: the secret is empty or unset"},
		"ErrNoFile": {filepath.Join(dir, "none"), "", 1, "", "x: secretFile: " + filepath.Join(dir, "none") + ": no such file or directory"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := wire.LoadSecret("x", c.path, c.env, c.min)
			if got != c.want || weft.ErrorMessage(err) != c.wantErr {
				t.Errorf("got (%q, %q), want (%q, %q)", got, weft.ErrorMessage(err), c.want, c.wantErr)
			}
		})
	}
}

func TestValidEnvName(t *testing.T) {
	for name, want := range map[string]bool{"PATH": true, "_x1": true, "a": true, "": false, "1A": false, "A-B": false, "A=B": false, "É": false} {
		if got := wire.ValidEnvName(name); got != want {
			t.Errorf("ValidEnvName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzParseResult: any input either parses to a known outcome with bounded,
// valid, secret-free text, or fails with ErrBadResult.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{`{"status":"succeeded"}`, `{"status":"pending","externalId":"a","message":"b"}`, ``, `{`, `[]`, `{"status":"x"} {}`, `{"message":"\u0000\ud800"}`} {
		f.Add([]byte(s))
	}
	const secret = "fuzz-secret"
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := wire.ParseResult(b, "", secret)
		if err != nil {
			if !errors.Is(err, wire.ErrBadResult) {
				t.Fatalf("error %v does not wrap ErrBadResult", err)
			}
			return
		}
		if res.ActionOutcome != weft.DispatchSucceeded && res.ActionOutcome != weft.DispatchPending {
			t.Fatalf("outcome %q", res.ActionOutcome)
		}
		for _, s := range []string{res.Message, res.ExternalID} {
			if !utf8.ValidString(s) || len(s) > wire.MaxMessage+len("…") || strings.Contains(s, secret) {
				t.Fatalf("text %q is invalid, too long or holds the secret", s)
			}
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
	})
}
