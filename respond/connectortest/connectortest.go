// Package connectortest is the suite every response-action connector must
// pass (docs/respond.md, "Connectors"; house rule 6): a success, an
// asynchronous acceptance, a retryable and a permanent failure each end as
// the weft.Connector contract says, a repeat of an idempotency key is
// answered as the same request, a cancelled dispatch is retryable, and no
// error, result or log line contains the connector's secret, even when the
// far side echoes it back (invariant 7).
//
// A connector package's test calls Run with a function that builds the
// connector, and the far side it talks to, for one case:
//
//	func TestConnector(t *testing.T) {
//		connectortest.Run(t, func(t *testing.T, s *connectortest.Setup) weft.Connector {
//			// start a receiver that answers s.Answer, mentioning s.Secret
//			// in what it says; configure the connector with s.Secret and
//			// s.Logger.
//		})
//	}
package connectortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// Answer is how the far side of a connector (a webhook receiver, a command,
// the simulator's dice) answers a dispatch.
type Answer int

// Answers.
const (
	// AnswerSucceeded: the effect is in place. The far side answers an
	// external id derived from the action's idempotency key (so that a
	// repeated key gets the same id, as from a receiver that honours it)
	// and a message that contains the secret.
	AnswerSucceeded Answer = iota
	// AnswerPending: accepted, to be completed later. A connector that
	// never answers pending calls t.Skip.
	AnswerPending
	// AnswerRetryable: a failure another attempt may cure (a 503, exit
	// code 75, a simulated outage), with a message that contains the
	// secret.
	AnswerRetryable
	// AnswerPermanent: a failure no retry will cure (a 400, exit code 1,
	// an action the simulator does not know), with a message that
	// contains the secret.
	AnswerPermanent
)

func (a Answer) String() string {
	switch a {
	case AnswerSucceeded:
		return "Succeeded"
	case AnswerPending:
		return "Pending"
	case AnswerRetryable:
		return "Retryable"
	case AnswerPermanent:
		return "Permanent"
	}
	return fmt.Sprintf("Answer(%d)", int(a))
}

// Setup is what the suite gives the connector under test for one case.
type Setup struct {
	// Secret is the connector's secret (a random 40-character string).
	// The connector must be configured with it the way an operator would
	// (a file or an environment variable), and the far side should put
	// it in every message it answers, so that the suite proves the
	// connector scrubs it.
	Secret string
	// Logger must be the connector's logger: the suite scans what it
	// writes, at every level.
	Logger *slog.Logger
	// Answer is how the far side must answer every dispatch of this case.
	Answer Answer
	// Action is the action the suite will dispatch. newConnector may
	// change it when the action is how its connector is made to fail
	// (the simulator refuses an action type it does not know).
	Action *weft.Action
}

// Run runs the suite on the connectors newConnector builds, one per case.
func Run(t *testing.T, newConnector func(t *testing.T, s *Setup) weft.Connector) {
	t.Helper()
	for _, answer := range []Answer{AnswerSucceeded, AnswerPending, AnswerRetryable, AnswerPermanent} {
		t.Run(answer.String(), func(t *testing.T) {
			c, s, logs := build(t, newConnector, answer)
			if c.Name() == "" {
				t.Error("Name() is empty")
			}
			res, err := c.Dispatch(t.Context(), s.Action)
			checkAnswer(t, answer, res, err)
			checkNoSecret(t, s.Secret, "", res, err, logs)
		})
	}
	t.Run("RepeatedKeyIsOneRequest", func(t *testing.T) {
		c, s, logs := build(t, newConnector, AnswerSucceeded)
		first, err := c.Dispatch(t.Context(), s.Action)
		if err != nil {
			t.Fatalf("first dispatch: %v", err)
		}
		checkNoSecret(t, s.Secret, "first dispatch", first, nil, logs)
		again := *s.Action
		again.Attempt++
		second, err := c.Dispatch(t.Context(), &again)
		if err != nil {
			t.Fatalf("second dispatch of key %q: %v", again.IdempotencyKey(), err)
		}
		checkNoSecret(t, s.Secret, "second dispatch", second, nil, logs)
		if second.ActionOutcome != first.ActionOutcome || second.ExternalID != first.ExternalID {
			t.Errorf("repeat of key %q answered (%s, %q), want the first answer (%s, %q)",
				again.IdempotencyKey(), second.ActionOutcome, second.ExternalID, first.ActionOutcome, first.ExternalID)
		}
	})
	t.Run("CancelledIsRetryable", func(t *testing.T) {
		c, s, logs := build(t, newConnector, AnswerSucceeded)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		res, err := c.Dispatch(ctx, s.Action)
		if err == nil {
			t.Fatalf("dispatch with a cancelled context answered %+v, want a retryable error", res)
		}
		if !weft.IsRetryable(err) {
			t.Errorf("dispatch with a cancelled context: %v is permanent, want retryable", err)
		}
		checkNoSecret(t, s.Secret, "", res, err, logs)
	})
}

// build makes one case's setup and connector.
func build(t *testing.T, newConnector func(*testing.T, *Setup) weft.Connector, answer Answer) (weft.Connector, *Setup, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s := &Setup{
		Secret: newSecret(t),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug - 4})),
		Answer: answer,
		Action: NewAction(),
	}
	c := newConnector(t, s)
	if c == nil {
		t.Fatal("newConnector returned nil")
	}
	return c, s, logs
}

// NewAction is the action the suite dispatches unless newConnector changes
// it: the first attempt of isolating a device, in tenant "contoso".
func NewAction() *weft.Action {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &weft.Action{
		ID:           42,
		TenantID:     "contoso",
		Type:         "isolate",
		EntityType:   weft.EntityDevice,
		Target:       "device:ws-0042",
		TargetName:   "WS-0042",
		Parameters:   map[string]string{"isolationType": "full"},
		IncidentID:   7,
		ActionStatus: weft.ActionDispatched,
		Version:      3,
		RequestedBy:  weft.ActionActor{Kind: weft.ActorUser, Name: "alice"},
		Connector:    "test",
		Attempt:      1,
		ExpiresAt:    now.Add(72 * time.Hour),
		Created:      now,
		Updated:      now,
	}
}

// newSecret is a random secret unlikely to appear anywhere by chance.
func newSecret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "sekret" + hex.EncodeToString(b) + "x"
}

func checkAnswer(t *testing.T, answer Answer, res weft.ActionResult, err error) {
	t.Helper()
	switch answer {
	case AnswerSucceeded, AnswerPending:
		want := weft.DispatchSucceeded
		if answer == AnswerPending {
			want = weft.DispatchPending
		}
		if err != nil {
			t.Fatalf("dispatch failed: %v, want outcome %s", err, want)
		}
		if res.ActionOutcome != want {
			t.Errorf("outcome %q, want %q", res.ActionOutcome, want)
		}
	case AnswerRetryable:
		if err == nil {
			t.Fatalf("dispatch answered %+v, want a retryable error", res)
		}
		if !weft.IsRetryable(err) {
			t.Errorf("error %v is permanent, want retryable", err)
		}
	case AnswerPermanent:
		if err == nil {
			t.Fatalf("dispatch answered %+v, want a permanent error", res)
		}
		if weft.IsRetryable(err) {
			t.Errorf("error %v is retryable, want permanent", err)
		}
	}
}

// checkNoSecret fails when the secret is in the error (any error of its
// chain, in any format), the result, or the log lines written so far.
func checkNoSecret(t *testing.T, secret, when string, res weft.ActionResult, err error, logs *syncBuffer) {
	t.Helper()
	if when != "" {
		when += ": "
	}
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
	}
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("%serror contains the secret: %s", when, s)
		}
	}
	if strings.Contains(res.Message, secret) || strings.Contains(res.ExternalID, secret) {
		t.Errorf("%sresult contains the secret: %+v", when, res)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, secret) {
			t.Errorf("%slog line contains the secret: %s", when, line)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
