package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sweval/sweval/harness/result"
	"github.com/sweval/sweval/scaffolds/replay"
)

// TestRunRedoesWhatTheDeadEndpointLeft kills the model endpoint while the
// second rollout waits for its reply: that rollout ends as an
// infrastructure failure with the error text (not recorded, not graded),
// the run exits non-zero saying so, and the same command with the endpoint
// back on the same address redoes exactly that rollout.
func TestRunRedoesWhatTheDeadEndpointLeft(t *testing.T) {
	e := setup(t)
	patches := goldPatches(t, e)
	var first, second string
	for _, task := range e.all {
		if _, ok := patches[task.ID]; ok {
			if first == "" {
				first = task.ID
			} else if second == "" {
				second = task.ID
			}
		}
	}
	script := func(slowSecond bool) replay.Script {
		s := replay.SolutionScript(map[string]string{first: patches[first], second: patches[second]}, "/testbed", false)
		if slowSecond {
			s.Instances[second][0].Fault = &replay.Fault{Kind: replay.FaultSlow, DelayMS: 20000}
		}
		return s
	}
	serve := func(ln net.Listener, s replay.Script, onRequest func(n int64)) *http.Server {
		srv, err := replay.New(replay.Config{Script: s})
		if err != nil {
			t.Fatal(err)
		}
		var n atomic.Int64
		h := srv.Handler()
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if onRequest != nil && strings.HasSuffix(r.URL.Path, "/chat/completions") {
				onRequest(n.Add(1))
			}
			h.ServeHTTP(w, r)
		})}
		go hs.Serve(ln)
		return hs
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	third := make(chan struct{})
	// The first rollout takes two calls (fix, submit); the third call is
	// the second rollout's first: the endpoint dies while it waits.
	hs := serve(ln, script(true), func(n int64) {
		if n == 3 {
			close(third)
		}
	})
	go func() {
		select {
		case <-third:
			time.Sleep(300 * time.Millisecond)
			hs.Close() // listener and connections: connection refused from now on
		case <-time.After(10 * time.Minute):
		}
	}()
	out, runID := t.TempDir(), rid("infra")
	args := append([]string{"run", "--scaffold", "openhands", "--model", "replay", "--base-url", "http://" + addr + "/v1",
		"--workers", "1", "--max-retries", "1", "--request-timeout", "30s", "--instance-ids", first + "," + second}, e.common(out, runID)...)
	if _, err := e.sweval(t, args...); err == nil {
		t.Fatal("a run whose endpoint died exited 0")
	}
	dir := filepath.Join(out, runID)
	rep := readReport(t, dir)
	if len(rep.CompletedIDs) != 1 || rep.CompletedIDs[0] != first || !strings.Contains(rep.InfraErrors[second], "model endpoint") {
		t.Fatalf("after the endpoint died: completed %v, infra errors %v", rep.CompletedIDs, rep.InfraErrors)
	}
	if _, err := os.Stat(filepath.Join(result.RolloutDir(dir, second, 0), "attempts", "1", "result.json")); err != nil {
		t.Errorf("the failed attempt was not kept: %v", err)
	}

	// The endpoint is back on the same address.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs2 := serve(ln2, script(false), nil)
	defer hs2.Close()
	if _, err := e.sweval(t, args...); err != nil {
		t.Fatalf("the same command with the endpoint back: %v", err)
	}
	rep = readReport(t, dir)
	if len(rep.ResolvedIDs) != 2 || rep.InfraErrors != nil {
		t.Fatalf("after the redo: resolved %v, infra %v", rep.ResolvedIDs, rep.InfraErrors)
	}
	if n := lines(t, filepath.Join(dir, "results.jsonl")); n != 2 {
		t.Errorf("results.jsonl has %d lines, want each rollout once", n)
	}
}
