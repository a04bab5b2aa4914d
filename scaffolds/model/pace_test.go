package model_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweval/sweval/scaffolds/model"
	"github.com/sweval/sweval/scaffolds/replay"
)

// watched serves the replay server and records when each chat request
// arrived and how many were in flight at once.
type watched struct {
	mu       sync.Mutex
	arrivals []time.Time
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

func serveWatched(t *testing.T, cfg replay.Config) (*watched, string) {
	t.Helper()
	srv, err := replay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &watched{}
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n := w.inFlight.Add(1)
		defer w.inFlight.Add(-1)
		for m := w.maxSeen.Load(); n > m && !w.maxSeen.CompareAndSwap(m, n); m = w.maxSeen.Load() {
		}
		w.mu.Lock()
		w.arrivals = append(w.arrivals, time.Now())
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	return w, ts.URL + "/v1"
}

// TestPacerIsSharedByEveryWorker drives several workers' calls through
// one Pacer over real HTTP: the concurrency cap, the rate and a server's
// Retry-After hold for all of them together.
func TestPacerIsSharedByEveryWorker(t *testing.T) {
	const workers = 4
	script := func(slow bool, rateLimitFirst bool) replay.Script {
		s := replay.Script{Instances: map[string][]replay.Reply{}}
		for i := range workers {
			r := bashCall
			if slow {
				r.Fault = &replay.Fault{Kind: replay.FaultSlow, DelayMS: 150, Always: true}
			}
			if rateLimitFirst && i == 0 {
				r.Fault = &replay.Fault{Kind: replay.FaultRateLimit, RetryAfter: 1}
			}
			s.Instances[fmt.Sprint("inst-", i)] = []replay.Reply{r}
		}
		return s
	}
	for _, tc := range []struct {
		name      string
		rpm, conc int
		script    replay.Script
		check     func(t *testing.T, w *watched, start time.Time)
	}{
		{"max concurrent 1", 0, 1, script(true, false), func(t *testing.T, w *watched, _ time.Time) {
			if m := w.maxSeen.Load(); m != 1 {
				t.Errorf("%d calls in flight at once, want 1", m)
			}
		}},
		{"600 per minute spreads the calls", 600, 0, script(false, false), func(t *testing.T, w *watched, start time.Time) {
			// Burst 1 at 10/s: the 4th call cannot start before 0.3 s.
			w.mu.Lock()
			defer w.mu.Unlock()
			if last := w.arrivals[len(w.arrivals)-1].Sub(start); last < 250*time.Millisecond {
				t.Errorf("4 calls at 600/min all arrived within %v", last)
			}
		}},
		{"one worker's Retry-After pauses all", 0, 0, script(false, true), func(t *testing.T, w *watched, _ time.Time) {
			// After the 429 (the first arrival of inst-0), nobody may call
			// within the second the server asked for.
			w.mu.Lock()
			defer w.mu.Unlock()
			if len(w.arrivals) != workers+1 {
				t.Fatalf("%d requests, want %d (one 429 and its retry)", len(w.arrivals), workers+1)
			}
			first := w.arrivals[0]
			for _, a := range w.arrivals[1:] {
				if d := a.Sub(first); d > 50*time.Millisecond && d < 900*time.Millisecond {
					t.Errorf("a call arrived %v after the 429's Retry-After: 1", d)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, url := serveWatched(t, replay.Config{Script: tc.script})
			p := model.NewPacer(tc.rpm, tc.conc)
			m := client(t, url, &sleeps{}, func(c *model.Config) { c.Pacer = p })
			start := time.Now()
			var wg sync.WaitGroup
			// inst-0 first; the others start once the server has seen it
			// (for the rate-limit case: after the 429, while inst-0 backs off).
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.Complete(context.Background(), req("inst-0")); err != nil {
					t.Error(err)
				}
			}()
			for {
				w.mu.Lock()
				n := len(w.arrivals)
				w.mu.Unlock()
				if n > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			for i := 1; i < workers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := m.Complete(context.Background(), req(fmt.Sprint("inst-", i))); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			tc.check(t, w, start)
		})
	}
}
