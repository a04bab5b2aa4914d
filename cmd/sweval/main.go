package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp(os.Stdout, os.Stderr)
	if err := app.RunContext(ctx, interspersed(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "sweval:", err)
		os.Exit(1)
	}
}

// newApp builds the command tree; tests call it with their own writers.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "sweval",
		Usage:     "evaluate code agents on SWE-bench-style and Doc2Repo tasks in locked-down Docker sandboxes",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.BoolFlag{Name: "json", Usage: "write logs as JSON lines"},
		},
		Commands: []*cli.Command{
			evalCommand(),
			validateCommand(),
			runCommand(),
			serveReplayCommand(),
			imagesCommand(),
			doc2repoCommand(),
			redteamCommand(),
			boardCommand(),
			reportCommand(),
			difficultyCommand(),
			curateCommand(),
			importCommand(),
			viewCommand(),
			slurmCommand(),
		},
		Before: func(c *cli.Context) error {
			logger, err := newLogger(c.String("log-level"), c.Bool("json"), stderr)
			if err != nil {
				return err
			}
			c.App.Metadata = map[string]any{"logger": logger}
			return nil
		},
		EnableBashCompletion: true,
	}
	bindEnv(app.Flags)
	for _, cmd := range app.Commands {
		bindCommandEnv(cmd)
	}
	return app
}

func newLogger(level string, asJSON bool, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// logger returns the logger the app's Before hook made.
func logger(c *cli.Context) *slog.Logger {
	if l, ok := c.App.Metadata["logger"].(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

func bindCommandEnv(cmd *cli.Command) {
	bindEnv(cmd.Flags)
	for _, sub := range cmd.Subcommands {
		bindCommandEnv(sub)
	}
}

// bindEnv lets every flag be set from SWEVAL_<NAME>, so a cluster job can
// configure a run entirely through its environment. Commands share some
// flag values, so a flag already bound is left as it is.
func bindEnv(flags []cli.Flag) {
	for _, f := range flags {
		env := "SWEVAL_" + strings.ToUpper(strings.ReplaceAll(f.Names()[0], "-", "_"))
		bind := func(vars *[]string) {
			if !slices.Contains(*vars, env) {
				*vars = append(*vars, env)
			}
		}
		switch f := f.(type) {
		case *cli.StringFlag:
			bind(&f.EnvVars)
		case *cli.BoolFlag:
			bind(&f.EnvVars)
		case *cli.IntFlag:
			bind(&f.EnvVars)
		case *cli.Int64Flag:
			bind(&f.EnvVars)
		case *cli.Float64Flag:
			bind(&f.EnvVars)
		case *cli.DurationFlag:
			bind(&f.EnvVars)
		case *cli.StringSliceFlag:
			bind(&f.EnvVars)
		case *cli.PathFlag:
			bind(&f.EnvVars)
		}
	}
}
