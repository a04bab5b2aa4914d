package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// resolvedConfig is run.json's "config": every flag of the command as it
// took effect (given or default), so `--from runs/ID/run.json` repeats the
// run. Headers are left out: they may carry credentials.
type resolvedConfig struct {
	Command string         `json:"command"`
	Flags   map[string]any `json:"flags"`
}

// notRepeated reports the flags --from never copies: the run's identity,
// the replay source itself, values that may hold secrets, and the shard
// (run.json is shared by a run's shards).
func notRepeated(name string) bool {
	switch name {
	case "from", "run-id", "header", "shard":
		return true
	}
	return false
}

func fromFlag() cli.Flag {
	return &cli.StringFlag{Name: "from", Usage: "repeat the configuration recorded in a run's run.json (flags given explicitly still win), e.g. --from runs/ID/run.json"}
}

// resolveConfig records every flag of c's command.
func resolveConfig(c *cli.Context) resolvedConfig {
	cfg := resolvedConfig{Command: c.Command.Name, Flags: map[string]any{}}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if notRepeated(name) {
			continue
		}
		switch f.(type) {
		case *cli.StringSliceFlag:
			cfg.Flags[name] = c.StringSlice(name)
		case *cli.DurationFlag:
			cfg.Flags[name] = c.Duration(name).String()
		default:
			cfg.Flags[name] = c.Value(name)
		}
	}
	return cfg
}

// applyFrom sets every flag recorded in --from's run.json that was not
// given on the command line.
func applyFrom(c *cli.Context) error {
	path := c.String("from")
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	var meta struct {
		Config resolvedConfig `json:"config"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // ints stay ints ("1000000", not "1e+06")
	if err := dec.Decode(&meta); err != nil {
		return fmt.Errorf("--from %s: %w", path, err)
	}
	if meta.Config.Command != c.Command.Name || meta.Config.Flags == nil {
		return fmt.Errorf("--from %s: recorded by %q with no resolved flags, not by %q: repeat it with the same command (runs before this version cannot be repeated)", path, meta.Config.Command, c.Command.Name)
	}
	for name, v := range meta.Config.Flags {
		if notRepeated(name) || c.IsSet(name) {
			continue
		}
		values := []any{v}
		if list, ok := v.([]any); ok {
			values = list
		}
		for _, x := range values {
			if x == nil {
				continue
			}
			if err := c.Set(name, fmt.Sprint(x)); err != nil {
				return fmt.Errorf("--from %s: flag %s=%v: %w", path, name, x, err)
			}
		}
	}
	return nil
}

// requireFlags replaces cli's Required, which is checked before --from
// could supply the value.
func requireFlags(c *cli.Context, names ...string) error {
	for _, n := range names {
		if c.String(n) == "" {
			return fmt.Errorf("flag --%s is required (or --from a run.json that has it)", n)
		}
	}
	return nil
}
