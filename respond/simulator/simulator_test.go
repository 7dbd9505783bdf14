package simulator_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/respond/connectortest"
	"github.com/weftxdr/weft/respond/simulator"
)

func TestConnector(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, s *connectortest.Setup) weft.Connector {
		cfg := simulator.Config{}
		switch s.Answer {
		case connectortest.AnswerPending:
			t.Skip("the simulator answers at once, never pending")
		case connectortest.AnswerRetryable:
			cfg.FailureRate = 1
		case connectortest.AnswerPermanent:
			s.Action.Type = "selfDestruct"
		}
		return newSim(t, cfg, s)
	})
}

func newSim(t *testing.T, cfg simulator.Config, s *connectortest.Setup) *simulator.Simulator {
	t.Helper()
	var sim *simulator.Simulator
	var err error
	if s != nil {
		sim, err = simulator.New(cfg, s.Logger)
	} else {
		sim, err = simulator.New(cfg, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

func action(id int64, tenant, typ string, et weft.EntityType, target string, params map[string]string) *weft.Action {
	return &weft.Action{ID: id, TenantID: tenant, Type: typ, EntityType: et, Target: target, Parameters: params, Attempt: 1}
}

func TestEffects(t *testing.T) {
	const dev, usr, msg, file, ip = "device.fqdn:ws1.contoso.com", "user.upn:bob@contoso.com", "message.internet:<a@b>", "file.sha256:ab12", "ip:203.0.113.9"
	steps := []struct {
		a      *weft.Action
		target string
		want   simulator.EntityState
	}{
		{action(1, "t", "isolate", weft.EntityDevice, dev, map[string]string{"isolationType": "selective"}), dev, simulator.EntityState{Isolation: "selective"}},
		{action(2, "t", "restrictAppExecution", weft.EntityDevice, dev, nil), dev, simulator.EntityState{Isolation: "selective", Restricted: true}},
		{action(3, "t", "runAntivirusScan", weft.EntityDevice, dev, map[string]string{"scanType": "full"}), dev, simulator.EntityState{Isolation: "selective", Restricted: true, Scans: 1}},
		{action(4, "t", "collectInvestigationPackage", weft.EntityDevice, dev, nil), dev, simulator.EntityState{Isolation: "selective", Restricted: true, Scans: 1, Packages: 1}},
		{action(5, "t", "release", weft.EntityDevice, dev, nil), dev, simulator.EntityState{Restricted: true, Scans: 1, Packages: 1}},
		{action(6, "t", "removeAppRestriction", weft.EntityDevice, dev, nil), dev, simulator.EntityState{Scans: 1, Packages: 1}},
		{action(7, "t", "isolate", weft.EntityDevice, dev, nil), dev, simulator.EntityState{Isolation: "full", Scans: 1, Packages: 1}},

		{action(10, "t", "disable", weft.EntityUser, usr, nil), usr, simulator.EntityState{Disabled: true}},
		{action(11, "t", "forcePasswordReset", weft.EntityUser, usr, nil), usr, simulator.EntityState{Disabled: true, PasswordReset: true}},
		{action(12, "t", "revokeSessions", weft.EntityUser, usr, nil), usr, simulator.EntityState{Disabled: true, PasswordReset: true, SessionRevocations: 1}},
		{action(13, "t", "confirmCompromised", weft.EntityUser, usr, nil), usr, simulator.EntityState{Disabled: true, PasswordReset: true, SessionRevocations: 1, Compromised: true}},
		{action(14, "t", "enable", weft.EntityUser, usr, nil), usr, simulator.EntityState{PasswordReset: true, SessionRevocations: 1, Compromised: true}},

		{action(20, "t", "softDelete", weft.EntityEmailMessage, msg, nil), msg, simulator.EntityState{Mail: simulator.MailDeleted}},
		{action(21, "t", "moveToInbox", weft.EntityEmailMessage, msg, nil), msg, simulator.EntityState{}},
		{action(22, "t", "moveToJunk", weft.EntityEmailMessage, msg, nil), msg, simulator.EntityState{Mail: simulator.MailJunk}},
		{action(23, "t", "quarantine", weft.EntityEmailMessage, msg, nil), msg, simulator.EntityState{Mail: simulator.MailQuarantined}},
		{action(24, "t", "releaseFromQuarantine", weft.EntityEmailMessage, msg, nil), msg, simulator.EntityState{}},

		{action(30, "t", "stopAndQuarantine", weft.EntityFile, file, nil), file, simulator.EntityState{Quarantined: true}},
		{action(31, "t", "addIndicator", weft.EntityFile, file, map[string]string{"indicatorAction": "block"}), file, simulator.EntityState{Quarantined: true, Indicator: "block"}},
		{action(32, "t", "releaseFromQuarantine", weft.EntityFile, file, nil), file, simulator.EntityState{Indicator: "block"}},
		{action(33, "t", "removeIndicator", weft.EntityFile, file, nil), file, simulator.EntityState{}},
		{action(34, "t", "addIndicator", weft.EntityIP, ip, map[string]string{"indicatorAction": "allow"}), ip, simulator.EntityState{Indicator: "allow"}},
	}
	sim := newSim(t, simulator.Config{}, nil)
	for _, st := range steps {
		res, err := sim.Dispatch(t.Context(), st.a)
		if err != nil {
			t.Fatalf("%s %s: %v", st.a.Type, st.a.Target, err)
		}
		if res.ActionOutcome != weft.DispatchSucceeded || res.ExternalID == "" || res.Message == "" {
			t.Errorf("%s %s: result %+v, want succeeded with an external id and a message", st.a.Type, st.a.Target, res)
		}
		if got := sim.State("t", st.target); got != st.want {
			t.Errorf("after %s %s: state %+v, want %+v", st.a.Type, st.a.Target, got, st.want)
		}
	}
	if got := len(sim.Applied()); got != len(steps) {
		t.Errorf("%d actions applied, want %d", got, len(steps))
	}
	if got := sim.State("other", dev); got != (simulator.EntityState{}) {
		t.Errorf("tenant other sees tenant t's device: %+v", got)
	}
	if got := sim.States("t"); len(got) != 5 || got[dev].Isolation != "full" {
		t.Errorf("States(t) = %+v, want the 5 targets touched", got)
	}
}

// TestEffectsCoverCatalogue holds the simulator's table to the catalogue:
// every action weft can request runs on the entity types it applies to.
func TestEffectsCoverCatalogue(t *testing.T) {
	sim := newSim(t, simulator.Config{}, nil)
	var id int64
	for _, d := range weft.ActionDefinitions() {
		for _, et := range weft.EntityTypes {
			id++
			_, err := sim.Dispatch(t.Context(), action(id, "t", d.Type, et, "x:"+string(et), d.WithDefaults(nil)))
			if applies := slices.Contains(d.EntityTypes, et); applies && err != nil {
				t.Errorf("%s on a %s: %v, want it applied", d.Type, et, err)
			} else if !applies && (err == nil || weft.IsRetryable(err)) {
				t.Errorf("%s on a %s: err %v, want a permanent refusal", d.Type, et, err)
			}
		}
	}
}

func TestRefused(t *testing.T) {
	for name, a := range map[string]*weft.Action{
		"UnknownType":   action(1, "t", "selfDestruct", weft.EntityDevice, "device.host:a", nil),
		"WrongEntity":   action(2, "t", "isolate", weft.EntityUser, "user.upn:a@b", nil),
		"NoTenant":      action(3, "", "isolate", weft.EntityDevice, "device.host:a", nil),
		"NoTarget":      action(4, "t", "isolate", weft.EntityDevice, "", nil),
		"EmptyType":     action(5, "t", "", weft.EntityDevice, "device.host:a", nil),
		"IndicatorUser": action(6, "t", "addIndicator", weft.EntityUser, "user.upn:a@b", nil),
	} {
		t.Run(name, func(t *testing.T) {
			sim := newSim(t, simulator.Config{}, nil)
			res, err := sim.Dispatch(t.Context(), a)
			if err == nil || weft.IsRetryable(err) {
				t.Fatalf("got (%+v, %v), want a permanent error", res, err)
			}
			if n := len(sim.Applied()); n != 0 {
				t.Errorf("%d actions applied, want 0", n)
			}
		})
	}
}

func TestRepeatedKeyAppliedOnce(t *testing.T) {
	sim := newSim(t, simulator.Config{}, nil)
	a := action(9, "t", "runAntivirusScan", weft.EntityDevice, "device.host:a", nil)
	first, err := sim.Dispatch(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for attempt := 2; attempt < 10; attempt++ {
		wg.Go(func() {
			again := *a
			again.Attempt = attempt
			res, err := sim.Dispatch(context.Background(), &again)
			if err != nil || res != first {
				t.Errorf("attempt %d: (%+v, %v), want the first answer %+v", attempt, res, err, first)
			}
		})
	}
	wg.Wait()
	if got := sim.State("t", "device.host:a").Scans; got != 1 {
		t.Errorf("scans %d, want 1: a repeated key ran again", got)
	}
	if got := sim.Applied(); len(got) != 1 || got[0].Attempt != 1 || got[0].IdempotencyKey != "t/9" {
		t.Errorf("applied %+v, want attempt 1 of key t/9 only", got)
	}
	// Another action on the same target is another key: it applies.
	if _, err := sim.Dispatch(t.Context(), action(10, "t", "runAntivirusScan", weft.EntityDevice, "device.host:a", nil)); err != nil {
		t.Fatal(err)
	}
	if got := sim.State("t", "device.host:a").Scans; got != 2 {
		t.Errorf("scans %d, want 2", got)
	}
}

func TestConcurrentFirstDispatchAppliesOnce(t *testing.T) {
	sim := newSim(t, simulator.Config{}, nil)
	var wg sync.WaitGroup
	results := make([]weft.ActionResult, 16)
	for i := range results {
		wg.Go(func() {
			a := action(5, "t", "revokeSessions", weft.EntityUser, "user.upn:a@b", nil)
			a.Attempt = i + 1
			res, err := sim.Dispatch(context.Background(), a)
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	for i, r := range results {
		if r != results[0] {
			t.Errorf("dispatch %d answered %+v, dispatch 0 %+v", i, r, results[0])
		}
	}
	if got := sim.State("t", "user.upn:a@b").SessionRevocations; got != 1 {
		t.Errorf("sessions revoked %d times, want 1", got)
	}
}

// dice is a rand.Source that answers the values it was given, in turn:
// rollFail makes Float64 0 (below any rate), rollPass makes it just under 1.
type dice struct{ rolls []uint64 }

const (
	rollFail = 0
	rollPass = math.MaxUint64
)

func (d *dice) Uint64() uint64 {
	if len(d.rolls) == 0 {
		panic("dice: no rolls left")
	}
	r := d.rolls[0]
	d.rolls = d.rolls[1:]
	return r
}

func TestFailureRate(t *testing.T) {
	d := &dice{rolls: []uint64{rollFail, rollFail, rollPass}}
	sim := newSim(t, simulator.Config{FailureRate: 0.3, Rand: d}, nil)
	a := action(1, "t", "disable", weft.EntityUser, "user.upn:a@b", nil)
	for attempt := 1; attempt <= 2; attempt++ {
		a.Attempt = attempt
		_, err := sim.Dispatch(t.Context(), a)
		if !weft.IsRetryable(err) || !errors.Is(err, simulator.ErrSimulatedFailure) {
			t.Fatalf("attempt %d: %v, want a retryable simulated failure", attempt, err)
		}
		if sim.State("t", a.Target).Disabled {
			t.Fatalf("attempt %d failed but the user is disabled", attempt)
		}
	}
	// A failed attempt applied nothing and recorded no answer: the next
	// attempt of the same key is tried afresh.
	a.Attempt = 3
	if res, err := sim.Dispatch(t.Context(), a); err != nil || res.ActionOutcome != weft.DispatchSucceeded {
		t.Fatalf("attempt 3: (%+v, %v), want success", res, err)
	}
	if !sim.State("t", a.Target).Disabled {
		t.Error("user not disabled after the successful attempt")
	}
	// A repeat after the success draws no dice (none are left) and
	// answers the success.
	a.Attempt = 4
	if _, err := sim.Dispatch(t.Context(), a); err != nil {
		t.Fatalf("attempt 4: %v", err)
	}
}

func TestDelay(t *testing.T) {
	t.Run("AnswersAfterDelay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			sim := newSim(t, simulator.Config{Delay: 3 * time.Second}, nil)
			done := make(chan error, 1)
			go func() {
				_, err := sim.Dispatch(context.Background(), action(1, "t", "isolate", weft.EntityDevice, "device.host:a", nil))
				done <- err
			}()
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("answered (%v) before the delay", err)
			default:
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got != 3*time.Second {
				t.Errorf("answered after %s, want 3s", got)
			}
		})
	})
	t.Run("CancelledDuringDelay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sim := newSim(t, simulator.Config{Delay: time.Minute}, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := sim.Dispatch(ctx, action(1, "t", "isolate", weft.EntityDevice, "device.host:a", nil))
			if !weft.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want a retryable deadline error", err)
			}
			if sim.State("t", "device.host:a").Isolation != "" || len(sim.Applied()) != 0 {
				t.Error("a cancelled dispatch applied its action")
			}
		})
	})
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]struct {
		cfg  simulator.Config
		want string
	}{
		"OK":              {simulator.Config{Delay: time.Second, FailureRate: 0.5}, ""},
		"Zero":            {simulator.Config{}, ""},
		"ErrDelay":        {simulator.Config{Delay: -1}, "simulator: delay: -1ns is negative"},
		"ErrRateAboveOne": {simulator.Config{FailureRate: 1.5}, "simulator: failureRate: 1.5 is not between 0 and 1"},
		"ErrRateNegative": {simulator.Config{FailureRate: -0.1}, "simulator: failureRate: -0.1 is not between 0 and 1"},
		"ErrRateNaN":      {simulator.Config{FailureRate: math.NaN()}, "simulator: failureRate: NaN is not between 0 and 1"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.cfg.Validate()
			if got := weft.ErrorMessage(err); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if err != nil && weft.ErrorCode(err) != weft.EINVALID {
				t.Errorf("code %q, want %q", weft.ErrorCode(err), weft.EINVALID)
			}
			if _, err := simulator.New(c.cfg, nil); (err == nil) != (c.want == "") {
				t.Errorf("New: %v", err)
			}
		})
	}
}
