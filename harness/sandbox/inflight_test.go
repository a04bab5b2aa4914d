package sandbox

import (
	"context"
	"testing"
	"time"
)

func TestInFlightWaitsForCreates(t *testing.T) {
	var f inFlight
	f.wait(context.Background()) // none in progress: returns at once

	done := f.begin()
	returned := make(chan struct{})
	go func() {
		f.wait(context.Background())
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("wait returned while a create was in progress")
	case <-time.After(100 * time.Millisecond):
	}
	done()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the create finished")
	}

	stuck := f.begin()
	defer stuck()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stopped := make(chan struct{})
	go func() {
		f.wait(ctx)
		close(stopped)
	}()
	select {
	case <-stopped: // an ended context stops the wait
	case <-time.After(5 * time.Second):
		t.Fatal("wait went on after its context ended")
	}
}
