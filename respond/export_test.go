package respond

import (
	"context"
	"sync"
	"time"
)

// Step runs one round of the worker and waits for its dispatches to be
// recorded; it returns how long the worker would sleep after it. Tests
// drive the worker with it and an injected clock, round by round.
func (s *Service) Step(ctx context.Context) (time.Duration, error) {
	var wg sync.WaitGroup
	done := make(chan struct{}, s.opts.Batch)
	inFlight := 0
	wait, err := s.round(ctx, &wg, done, &inFlight)
	wg.Wait()
	return wait, err
}

// SamePerson is samePerson, for the external tests.
var SamePerson = samePerson
