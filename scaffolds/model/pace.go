package model

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacer is one run's budget of model calls, shared by every worker (and
// by every client made with it): at most RequestsPerMinute calls start per
// minute, at most MaxConcurrent are in flight, and a Retry-After from the
// server pauses every caller, not just the one that was told.
type Pacer struct {
	limiter *rate.Limiter // nil: no rate limit
	slots   chan struct{} // nil: no concurrency cap
	mu      sync.Mutex
	until   time.Time // no call starts before this (Retry-After)
}

// NewPacer makes a Pacer; zero for either limit means none.
func NewPacer(requestsPerMinute, maxConcurrent int) *Pacer {
	p := &Pacer{}
	if requestsPerMinute > 0 {
		// A burst of one: calls are spread evenly over the minute rather
		// than all sent at its start.
		p.limiter = rate.NewLimiter(rate.Limit(float64(requestsPerMinute)/60), 1)
	}
	if maxConcurrent > 0 {
		p.slots = make(chan struct{}, maxConcurrent)
	}
	return p
}

// acquire waits until a call may start and returns the function that ends
// it. A nil Pacer lets every call through.
func (p *Pacer) acquire(ctx context.Context) (release func(), err error) {
	if p == nil {
		return func() {}, nil
	}
	for {
		p.mu.Lock()
		wait := time.Until(p.until)
		p.mu.Unlock()
		if wait <= 0 {
			break
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, fmt.Errorf("model: waiting for the server's Retry-After: %w", err)
		}
	}
	if p.limiter != nil {
		if err := p.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("model: waiting for --max-requests-per-minute: %w", err)
		}
	}
	if p.slots != nil {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("model: waiting for --max-concurrent-requests: %w", ctx.Err())
		}
		return func() { <-p.slots }, nil
	}
	return func() {}, nil
}

// pause holds every caller back for d (a server's Retry-After).
func (p *Pacer) pause(d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := time.Now().Add(d); t.After(p.until) {
		p.until = t
	}
}
