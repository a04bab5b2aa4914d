package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/reports/board"
	"github.com/sweval/sweval/reports/view"
)

func viewCommand() *cli.Command {
	return &cli.Command{
		Name:      "view",
		Usage:     "browse runs in a local web page: board rows, filterable instances, trajectories step by step, patches, grading, side-by-side compare (e.g. sweval view runs/my-run); --static DIR writes the same pages as files",
		ArgsUsage: "RUN_DIR...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "listen address (loopback; port 0 = a free port, printed)"},
			&cli.StringFlag{Name: "static", Usage: "write a self-contained static site into this directory instead of serving"},
			&cli.IntFlag{Name: "per-page", Value: 100, Usage: "instance rows per page in the static site"},
			&cli.IntFlag{Name: "k", Value: 4, Usage: "k of pass@k on the Runs page (as sweval board)"},
		},
		Action: func(c *cli.Context) error {
			paths, err := requireRuns(c)
			if err != nil {
				return err
			}
			log := logger(c)
			v, err := view.Open(c.Context, view.Options{Board: board.Options{K: c.Int("k")}, Logger: log}, paths...)
			if err != nil {
				return err
			}
			if dir := c.String("static"); dir != "" {
				n, err := v.WriteStatic(c.Context, dir, c.Int("per-page"))
				if err != nil {
					return fmt.Errorf("write static site: %w", err)
				}
				fmt.Fprintf(c.App.Writer, "wrote %d pages to %s (open %s/index.html)\n", n, dir, dir)
				return nil
			}
			return serveView(c.Context, c, v)
		},
	}
}

func serveView(ctx context.Context, c *cli.Context, v *view.Viewer) error {
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("listen on %s (pick another --addr): %w", c.String("addr"), err)
	}
	srv := &http.Server{Handler: v.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(c.App.Writer, "sweval view: http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
