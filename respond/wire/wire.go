// Package wire holds the JSON that weft's connectors exchange with the
// systems they drive: the action payload a webhook receiver or a command
// gets, and the result it answers (docs/connectors.md). Both the webhook and
// the command connector speak it, so that one receiver program can serve
// either; keeping it here keeps those two packages from importing each
// other.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// Payload is the JSON document a connector sends for one dispatch of an
// action. Its fields are a stable, documented contract (docs/connectors.md,
// "The action payload"): add fields, never rename or remove one. Ids are
// strings, as in the API.
type Payload struct {
	ActionID    string            `json:"actionId"`
	TenantID    string            `json:"tenantId"`
	Type        string            `json:"type"`
	EntityType  weft.EntityType   `json:"entityType"`
	Target      string            `json:"target"`
	TargetName  string            `json:"targetName,omitempty"`
	Parameters  map[string]string `json:"parameters"`
	IncidentID  string            `json:"incidentId,omitempty"`
	RequestedBy weft.ActionActor  `json:"requestedBy"`
	// Attempt counts dispatches of this action, from 1. A receiver sees a
	// higher attempt with the same IdempotencyKey when weft retries or
	// re-dispatches after a crash.
	Attempt int `json:"attempt"`
	// IdempotencyKey is the same for every attempt of one action: a receiver
	// must apply the action at most once per key (docs/respond.md,
	// invariant 3).
	IdempotencyKey string `json:"idempotencyKey"`
	// CallbackURL is where a receiver that answered "pending" posts the
	// outcome later; empty when the connector has none configured.
	CallbackURL string `json:"callbackUrl,omitempty"`
}

// NewPayload is the payload of a's current attempt. Parameters is never
// null, so that receivers need not tell null from {}.
func NewPayload(a *weft.Action, callbackURL string) Payload {
	params := a.Parameters
	if params == nil {
		params = map[string]string{}
	}
	p := Payload{
		ActionID:       strconv.FormatInt(a.ID, 10),
		TenantID:       a.TenantID,
		Type:           a.Type,
		EntityType:     a.EntityType,
		Target:         a.Target,
		TargetName:     a.TargetName,
		Parameters:     params,
		RequestedBy:    a.RequestedBy,
		Attempt:        a.Attempt,
		IdempotencyKey: a.IdempotencyKey(),
		CallbackURL:    callbackURL,
	}
	if a.IncidentID != 0 {
		p.IncidentID = strconv.FormatInt(a.IncidentID, 10)
	}
	return p
}

// Marshal encodes p as the exact bytes that are sent (and signed).
func (p Payload) Marshal() ([]byte, error) {
	return json.Marshal(p)
}

// Result is the answer a receiver or a command gives to a dispatch that did
// not fail: {"status":"succeeded"|"pending","externalId":"…","message":"…"}.
type Result struct {
	Status     string `json:"status"`
	ExternalID string `json:"externalId"`
	Message    string `json:"message"`
}

// Statuses of a Result.
const (
	StatusSucceeded = "succeeded"
	StatusPending   = "pending"
)

// MaxResultSize bounds a result document and MaxMessage a message or
// external id kept from one (in bytes), so that a receiver cannot fill the
// action log.
const (
	MaxResultSize = 64 << 10
	MaxMessage    = 1000
)

// ErrBadResult is wrapped by every error of ParseResult.
var ErrBadResult = errors.New("bad result")

// ParseResult reads one JSON result object from b; whitespace may surround
// it, nothing else may follow it. When b is empty (or whitespace) and
// defaultStatus is not empty, the result is {"status": defaultStatus}; a
// document without "status" takes defaultStatus too. The message and the
// external id pass through Text with secret. Errors wrap ErrBadResult and
// say what is wrong; they never quote b.
func ParseResult(b []byte, defaultStatus, secret string) (weft.ActionResult, error) {
	if len(b) > MaxResultSize {
		return weft.ActionResult{}, fmt.Errorf("%w: larger than %d bytes", ErrBadResult, MaxResultSize)
	}
	var r Result
	if len(bytes.TrimSpace(b)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&r); err != nil {
			return weft.ActionResult{}, fmt.Errorf("%w: not a JSON result object: %s", ErrBadResult, jsonProblem(err))
		}
		if _, err := dec.Token(); err == nil || !errors.Is(err, io.EOF) {
			return weft.ActionResult{}, fmt.Errorf("%w: more than one JSON value", ErrBadResult)
		}
	}
	if r.Status == "" {
		r.Status = defaultStatus
	}
	var out weft.ActionResult
	switch r.Status {
	case StatusSucceeded:
		out.ActionOutcome = weft.DispatchSucceeded
	case StatusPending:
		out.ActionOutcome = weft.DispatchPending
	case "":
		return weft.ActionResult{}, fmt.Errorf("%w: no result (want a JSON object with \"status\")", ErrBadResult)
	default:
		return weft.ActionResult{}, fmt.Errorf("%w: status %q is not %q or %q", ErrBadResult, Text(r.Status, secret, 40), StatusSucceeded, StatusPending)
	}
	out.ExternalID = Text(r.ExternalID, secret, 200)
	out.Message = Text(r.Message, secret, MaxMessage)
	return out, nil
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ) && typ.Field == "":
		return "not an object"
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: must be a JSON string", typ.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end"
	}
	return "malformed"
}

// Clean makes text from outside (a receiver's message, a program's stderr)
// fit to show in the action log: valid UTF-8, control characters but
// newline and tab replaced by spaces, at most max bytes (cut at a rune
// boundary, "…" appended).
func Clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Redacted replaces the secret in text.
const Redacted = "[redacted]"

// Scrub replaces every occurrence of secret in s by Redacted, so that text a
// connector did not write itself (a receiver's answer, a program's stderr)
// cannot carry the secret into an error, a log line or the action log
// (docs/respond.md, invariant 7). An empty secret changes nothing.
func Scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, Redacted)
}

// Text is s from outside made fit for an error or the action log: the
// secret scrubbed before it is cut (so no part of it survives), then
// cleaned and bounded by Clean, then scrubbed again (cleaning turns
// control characters into spaces, which could complete a secret that has
// a space).
func Text(s, secret string, max int) string {
	return Scrub(Clean(Scrub(s, secret), max), secret)
}

// MaxSecretSize bounds a secret file.
const MaxSecretSize = 4 << 10

// LoadSecret reads a connector's secret from the file path or, when path is
// empty, from the environment variable env (docs/respond.md, invariant 7:
// secrets come from files or the environment only). Surrounding whitespace
// (a file's final newline) is not part of the secret. It returns an EINVALID
// *weft.Error, prefixed by what, when the file cannot be read, the variable
// is unset, or the secret is empty or shorter than minLen bytes; the
// error names the file or variable, never the secret. With both path and
// env empty it returns "" and no error.
func LoadSecret(what, path, env string, minLen int) (string, error) {
	var secret, from string
	switch {
	case path != "":
		from = "secretFile " + path
		f, err := os.Open(path)
		if err != nil {
			return "", weft.Errorf(weft.EINVALID, "%s: secretFile: %s", what, fileProblem(err))
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
		if err != nil {
			return "", weft.Errorf(weft.EINVALID, "%s: secretFile: %s", what, fileProblem(err))
		}
		if len(b) > MaxSecretSize {
			return "", weft.Errorf(weft.EINVALID, "%s: secretFile %s: larger than %d bytes; it must hold the secret alone", what, path, MaxSecretSize)
		}
		secret = string(b)
	case env != "":
		from = "environment variable " + env
		secret = os.Getenv(env)
	default:
		return "", nil
	}
	secret = strings.TrimSpace(secret)
	switch {
	case secret == "":
		return "", weft.Errorf(weft.EINVALID, "%s: %s: the secret is empty or unset", what, from)
	case len(secret) < minLen:
		return "", weft.Errorf(weft.EINVALID, "%s: %s: the secret is %d bytes; it must be at least %d (generate one with: openssl rand -hex 32)", what, from, len(secret), minLen)
	}
	return secret, nil
}

// fileProblem says why a file could not be read, naming the file but not
// repeating the operation.
func fileProblem(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// ValidEnvName says whether name can be an environment variable's name:
// letters, digits and underscores, not starting with a digit.
func ValidEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
