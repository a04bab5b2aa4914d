package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"
)

// runWith parses args with the run command's own flags and returns the
// configuration the command would record in run.json.
func runWith(t *testing.T, args ...string) resolvedConfig {
	t.Helper()
	var got resolvedConfig
	cmd := runCommand()
	cmd.Action = func(c *cli.Context) error {
		if err := applyFrom(c); err != nil {
			return err
		}
		got = resolveConfig(c)
		return nil
	}
	app := &cli.App{Name: "sweval", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard}
	if err := app.Run(append([]string{"sweval", "run"}, args...)); err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	// Compare as run.json holds it.
	data, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var back resolvedConfig
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func TestRunJSONRoundTripsThroughFrom(t *testing.T) {
	first := runWith(t, "--dataset", "tasks.jsonl", "--model", "m", "--base-url", "http://127.0.0.1:1/v1",
		"--rollouts", "3", "--temperature", "0.5", "--max-steps", "7", "--instance-ids", "a,b", "--instance-ids", "c",
		"--wall-time", "90s", "--seed", "1000000", "--header", "Authorization: Bearer secret", "--run-id", "r1")
	if _, ok := first.Flags["header"]; ok {
		t.Fatal("run.json records --header, which may carry a key")
	}
	if first.Flags["model"] != "m" || first.Flags["max-steps"] != float64(7) {
		t.Fatalf("resolved config: %v", first.Flags)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	data, _ := json.Marshal(map[string]any{"run_id": "r1", "config": first})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		override map[string]any
	}{
		{"same", []string{"--from", path}, nil},
		{"explicit-flag-wins", []string{"--from", path, "--max-steps", "9", "--model", "other"}, map[string]any{"max-steps": float64(9), "model": "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			again := runWith(t, tc.args...)
			want := resolvedConfig{Command: first.Command, Flags: map[string]any{}}
			for k, v := range first.Flags {
				want.Flags[k] = v
			}
			for k, v := range tc.override {
				want.Flags[k] = v
			}
			if !reflect.DeepEqual(again, want) {
				for k := range want.Flags {
					if !reflect.DeepEqual(again.Flags[k], want.Flags[k]) {
						t.Errorf("flag %s: %#v after --from, want %#v", k, again.Flags[k], want.Flags[k])
					}
				}
				t.Fatalf("config differs")
			}
		})
	}
}
