package sandbox

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RampOptions configure Ramp.
type RampOptions struct {
	// Max is the most container starts in flight at once (the run's
	// workers times the containers each grade starts together).
	Max int
	// Slow is how much slower than the usual start a start must be to
	// count as the daemon slowing down (default 3×, and at least
	// SlowFloor more).
	Slow float64
	// SlowFloor keeps a slow start from counting when it is only
	// slightly slower in absolute terms (default 2 s).
	SlowFloor time.Duration
	Logger    *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Ramp wraps rt so that container starts back off when the daemon slows
// down: every start that takes Slow× the usual time (or fails) halves the
// number allowed in flight, down to one; every start at the usual speed
// lets one more in, up to Max. Under a healthy daemon nothing waits; an
// overloaded one (many workers starting at once, a slow storage driver)
// gets fewer concurrent starts instead of timeouts, and the run goes on.
func Ramp(rt Runtime, opts RampOptions) Runtime {
	if opts.Max < 1 {
		opts.Max = 1
	}
	if opts.Slow <= 1 {
		opts.Slow = 3
	}
	if opts.SlowFloor <= 0 {
		opts.SlowFloor = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &ramped{Runtime: rt, opts: opts, limit: opts.Max}
	r.cond = sync.NewCond(&r.mu)
	return r
}

type ramped struct {
	Runtime
	opts RampOptions

	mu       sync.Mutex
	cond     *sync.Cond
	limit    int
	inFlight int
	usual    time.Duration // moving average of starts that were not slow
}

func (r *ramped) Create(ctx context.Context, spec Spec) (Sandbox, error) {
	if err := r.acquire(ctx); err != nil {
		return nil, err
	}
	start := r.opts.Now()
	sb, err := r.Runtime.Create(ctx, spec)
	r.release(r.opts.Now().Sub(start), err != nil && ctx.Err() == nil)
	return sb, err
}

func (r *ramped) acquire(ctx context.Context) error {
	// Wake the waiters when ctx ends, so a cancelled start does not wait
	// for a slot.
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.inFlight >= r.limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.cond.Wait()
	}
	r.inFlight++
	return nil
}

func (r *ramped) release(took time.Duration, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	slow := r.usual > 0 && float64(took) > r.opts.Slow*float64(r.usual) && took-r.usual > r.opts.SlowFloor
	switch {
	case failed || slow:
		if r.limit > 1 {
			r.limit = max(1, r.limit/2)
			r.opts.Logger.Warn("container starts are slow: fewer start at once", "took", took.Round(time.Millisecond), "usual", r.usual.Round(time.Millisecond), "failed", failed, "in_flight_limit", r.limit)
		}
	default:
		if r.usual == 0 {
			r.usual = took
		} else {
			r.usual = (4*r.usual + took) / 5
		}
		if r.limit < r.opts.Max {
			r.limit++
			if r.limit == r.opts.Max {
				r.opts.Logger.Info("container starts are back to their usual speed", "in_flight_limit", r.limit)
			}
		}
	}
	r.cond.Broadcast()
}
