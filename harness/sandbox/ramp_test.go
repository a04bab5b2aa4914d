package sandbox

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// slowRuntime is a Runtime whose starts take what the test says, on a
// fake clock, and can be held to measure concurrency.
type slowRuntime struct {
	mu       sync.Mutex
	now      time.Time
	took     time.Duration
	fail     bool
	hold     chan struct{}
	inFlight int
	peak     int
}

func (s *slowRuntime) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *slowRuntime) Create(ctx context.Context, spec Spec) (Sandbox, error) {
	s.mu.Lock()
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	hold, fail := s.hold, s.fail
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	s.now = s.now.Add(s.took)
	if fail {
		return nil, errors.New("daemon: timeout")
	}
	return nil, nil
}

func (s *slowRuntime) waitInFlight(n int) {
	for {
		s.mu.Lock()
		got := s.inFlight
		s.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRampBacksOffAndRecovers(t *testing.T) {
	fake := &slowRuntime{now: time.Unix(0, 0)}
	rt := Ramp(fake, RampOptions{Max: 8, Now: fake.clock}).(*ramped)
	ctx := context.Background()
	steps := []struct {
		took  time.Duration
		fail  bool
		limit int // after the start
	}{
		{took: time.Second, limit: 8}, // sets the usual speed
		{took: 1100 * time.Millisecond, limit: 8},
		{took: 10 * time.Second, limit: 4}, // slow: halved
		{took: 12 * time.Second, limit: 2},
		{took: time.Second, fail: true, limit: 1}, // a failure too
		{took: 20 * time.Second, limit: 1},        // never below one
		{took: 2500 * time.Millisecond, limit: 2}, // slower, but not by SlowFloor: usual
		{took: time.Second, limit: 3},
	}
	for i, s := range steps {
		fake.took, fake.fail = s.took, s.fail
		rt.Create(ctx, Spec{})
		if got := rt.limitNow(); got != s.limit {
			t.Fatalf("step %d (took %v, fail %v): limit %d, want %d", i, s.took, s.fail, got, s.limit)
		}
	}
}

func TestRampHoldsStartsAtTheLimit(t *testing.T) {
	fake := &slowRuntime{now: time.Unix(0, 0), hold: make(chan struct{})}
	rt := Ramp(fake, RampOptions{Max: 2, Now: fake.clock})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.Create(context.Background(), Spec{})
		}()
	}
	// Two are in flight, and no third gets in while they are held.
	fake.waitInFlight(2)
	time.Sleep(50 * time.Millisecond)
	for range 5 {
		fake.hold <- struct{}{}
	}
	wg.Wait()
	if fake.peak != 2 {
		t.Errorf("peak %d starts in flight, want the limit, 2", fake.peak)
	}
	// A waiting start gives up with its context.
	held := &slowRuntime{now: time.Unix(0, 0), hold: make(chan struct{})}
	one := Ramp(held, RampOptions{Max: 1, Now: held.clock})
	go one.Create(context.Background(), Spec{}) // holds the only slot
	held.waitInFlight(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := one.Create(ctx, Spec{}); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v, want context.Canceled", err)
	}
	held.hold <- struct{}{}
}

// limitNow is the current in-flight limit.
func (r *ramped) limitNow() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.limit
}
