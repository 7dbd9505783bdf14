// Package simulator is weft's default response-action connector: it stands
// for the EDR, the identity provider and the mail system, keeping in memory
// the state the actions leave each target in (a device isolated, a user
// disabled, an email quarantined), so that the demo, the incident graph and
// the asset views show containment without any real system
// (docs/respond.md, "Connectors"; docs/connectors.md).
//
// It answers after a configurable delay and fails, retryably, at a
// configurable rate, with an injectable random source so that tests choose
// the dice. Like any connector it treats a repeat of an idempotency key as
// the same request: the effect is applied once and every repeat gets the
// first answer (invariant 3).
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weftxdr/weft"
)

// DefaultName is the name of a simulator whose Config gives none.
const DefaultName = "simulator"

// Config configures a Simulator. The zero value is a simulator that answers
// at once and never fails.
type Config struct {
	// Name is the connector's name; "" is DefaultName.
	Name string
	// Delay is how long each dispatch takes before it answers, as a call
	// to a real system would; 0 answers at once. A context that ends
	// first ends the dispatch with a retryable error, applying nothing.
	Delay time.Duration
	// FailureRate is the probability, from 0 to 1, that a dispatch fails
	// with a retryable error (a simulated outage), applying nothing.
	FailureRate float64
	// Rand is the source of the failure dice; nil seeds one at random.
	// The simulator serialises its use, so it need not be safe for
	// concurrent use.
	Rand rand.Source
	// Now stamps applied actions; nil is time.Now.
	Now func() time.Time
}

// Validate returns an EINVALID *weft.Error naming the first field that is
// wrong.
func (c Config) Validate() error {
	switch {
	case c.Delay < 0:
		return weft.Errorf(weft.EINVALID, "simulator: delay: %s is negative", c.Delay)
	case math.IsNaN(c.FailureRate) || c.FailureRate < 0 || c.FailureRate > 1:
		return weft.Errorf(weft.EINVALID, "simulator: failureRate: %v is not between 0 and 1", c.FailureRate)
	}
	return nil
}

// Applied is one action the simulator applied, in the order it applied
// them.
type Applied struct {
	TenantID       string            `json:"tenantId"`
	ActionID       int64             `json:"actionId,string"`
	Type           string            `json:"type"`
	EntityType     weft.EntityType   `json:"entityType"`
	Target         string            `json:"target"`
	Parameters     map[string]string `json:"parameters,omitempty"`
	Attempt        int               `json:"attempt"`
	IdempotencyKey string            `json:"idempotencyKey"`
	ExternalID     string            `json:"externalId"`
	Message        string            `json:"message"`
	At             time.Time         `json:"appliedDateTime"`
}

// Simulator is the simulated connector. It is safe for concurrent use.
type Simulator struct {
	name   string
	delay  time.Duration
	rate   float64
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	rng     *rand.Rand
	states  map[stateKey]*EntityState
	answers map[string]weft.ActionResult // by idempotency key
	applied []Applied
}

type stateKey struct{ tenant, target string }

var _ weft.Connector = (*Simulator)(nil)

// New returns a simulator with no state, or the error of cfg.Validate. A nil
// logger discards.
func New(cfg Config, logger *slog.Logger) (*Simulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Simulator{
		name:    cfg.Name,
		delay:   cfg.Delay,
		rate:    cfg.FailureRate,
		now:     cfg.Now,
		logger:  logger,
		rng:     rand.New(cfg.Rand),
		states:  map[stateKey]*EntityState{},
		answers: map[string]weft.ActionResult{},
	}, nil
}

// Name returns the connector's name.
func (s *Simulator) Name() string { return s.name }

// ErrSimulatedFailure is the cause of the retryable failures the failure
// rate draws.
var ErrSimulatedFailure = errors.New("simulated outage")

// Dispatch waits for the delay, then applies a to its target's state and
// answers DispatchSucceeded with an external id and what it did. A key it
// has applied before is answered as the first time, without applying
// anything (invariant 3). It fails, applying nothing:
//   - retryably, when ctx ends first or the failure rate's dice say so
//     (the cause is ErrSimulatedFailure);
//   - permanently, for an action without tenant or target, an action type
//     it does not know, or one that does not apply to the entity type.
func (s *Simulator) Dispatch(ctx context.Context, a *weft.Action) (weft.ActionResult, error) {
	key := a.IdempotencyKey()
	if err := s.wait(ctx); err != nil {
		s.logger.DebugContext(ctx, "simulator: dispatch cancelled", "connector", s.name, "tenant", a.TenantID, "action", a.ID, "attempt", a.Attempt)
		return weft.ActionResult{}, weft.RetryableError(fmt.Errorf("simulator: action %d: %w", a.ID, err))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if res, ok := s.answers[key]; ok {
		s.logger.DebugContext(ctx, "simulator: repeated key answered as before", "connector", s.name, "tenant", a.TenantID, "action", a.ID, "attempt", a.Attempt)
		return res, nil
	}
	eff, err := check(a)
	if err != nil {
		s.logger.DebugContext(ctx, "simulator: action refused", "connector", s.name, "tenant", a.TenantID, "action", a.ID, "err", err)
		return weft.ActionResult{}, err
	}
	if s.rate > 0 && s.rng.Float64() < s.rate {
		s.logger.DebugContext(ctx, "simulator: simulated failure", "connector", s.name, "tenant", a.TenantID, "action", a.ID, "attempt", a.Attempt)
		return weft.ActionResult{}, weft.RetryableError(fmt.Errorf("simulator: action %d: %w", a.ID, ErrSimulatedFailure))
	}

	sk := stateKey{a.TenantID, a.Target}
	st := s.states[sk]
	if st == nil {
		st = &EntityState{}
		s.states[sk] = st
	}
	msg := eff.apply(st, a.Parameters)
	res := weft.ActionResult{
		ActionOutcome: weft.DispatchSucceeded,
		ExternalID:    "sim-" + strconv.Itoa(len(s.applied)+1),
		Message:       "simulated: " + msg,
	}
	s.answers[key] = res
	s.applied = append(s.applied, Applied{
		TenantID: a.TenantID, ActionID: a.ID, Type: a.Type, EntityType: a.EntityType, Target: a.Target,
		Parameters: maps.Clone(a.Parameters), Attempt: a.Attempt, IdempotencyKey: key,
		ExternalID: res.ExternalID, Message: res.Message, At: s.now(),
	})
	s.logger.InfoContext(ctx, "simulator: action applied", "connector", s.name, "tenant", a.TenantID, "action", a.ID,
		"type", a.Type, "target", a.Target, "attempt", a.Attempt, "externalId", res.ExternalID)
	return res, nil
}

// wait waits for the delay or the end of ctx, whichever comes first.
func (s *Simulator) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.delay <= 0 {
		return nil
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check returns the effect of a, or a permanent error saying why the
// simulated systems refuse it.
func check(a *weft.Action) (effect, error) {
	switch {
	case a.TenantID == "":
		return effect{}, fmt.Errorf("simulator: action %d has no tenant", a.ID)
	case a.Target == "":
		return effect{}, fmt.Errorf("simulator: action %d has no target", a.ID)
	}
	eff, ok := effects[a.Type]
	if !ok {
		return effect{}, fmt.Errorf("simulator: action %d: no system runs action type %q", a.ID, a.Type)
	}
	if !slices.Contains(eff.entities, a.EntityType) {
		return effect{}, fmt.Errorf("simulator: action %d: %q does not apply to a %q", a.ID, a.Type, a.EntityType)
	}
	return eff, nil
}

// State returns the state of target in tenant: the zero EntityState when no
// action touched it.
func (s *Simulator) State(tenantID, target string) EntityState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.states[stateKey{tenantID, target}]; st != nil {
		return *st
	}
	return EntityState{}
}

// States returns the state of every target of tenant some action touched,
// by target.
func (s *Simulator) States(tenantID string) map[string]EntityState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]EntityState{}
	for k, st := range s.states {
		if k.tenant == tenantID {
			out[k.target] = *st
		}
	}
	return out
}

// Applied returns the actions applied so far, oldest first; a repeated
// key is not applied again, so it is listed once.
func (s *Simulator) Applied() []Applied {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Applied, len(s.applied))
	for i, ap := range s.applied {
		ap.Parameters = maps.Clone(ap.Parameters)
		out[i] = ap
	}
	return out
}
