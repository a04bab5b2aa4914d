package main

import (
	"context"
	"fmt"
	"io"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/moby/moby/client"
	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/harness/run"
	"github.com/sweval/sweval/harness/sandbox"
)

// useContainerd switches env.Runtime to containerd when --runtime
// containerd is given with Docker's image store: images are built by the
// Docker image builder, and the runtime imports each one (`docker save`,
// named by its content key) into the containerd namespace the first time
// a sandbox needs it. (--image-store containerd needs no Docker at all:
// see environment.)
func useContainerd(c *cli.Context, env *run.Environment, dcli *client.Client, runID string) (func(context.Context), error) {
	switch c.String("runtime") {
	case "", "docker":
		return func(context.Context) {}, nil
	case "containerd":
	default:
		return nil, fmt.Errorf("--runtime %q: use docker or containerd", c.String("runtime"))
	}
	rt, closeCtr, err := containerdRuntime(c, runID, func(ctx context.Context, ref string) (io.ReadCloser, error) {
		res, err := dcli.ImageSave(ctx, []string{ref})
		if err != nil {
			return nil, err
		}
		return res, nil
	})
	if err != nil {
		return nil, err
	}
	env.Runtime = rt
	return closeCtr, nil
}

// containerdRuntime connects to --containerd-address and reaps what a
// killed run left there; source, when set, supplies images the namespace
// lacks. The returned func removes this process's sandboxes and closes
// the connection.
func containerdRuntime(c *cli.Context, runID string, source func(ctx context.Context, ref string) (io.ReadCloser, error)) (*sandbox.Containerd, func(context.Context), error) {
	addr := c.String("containerd-address")
	ccli, err := containerd.New(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to containerd at %s: %w (start one with scripts/containerd-up.sh DIR and pass --containerd-address)", addr, err)
	}
	log := logger(c)
	mem, _ := parseBytes(c.String("memory")) // validated by environment
	disk, _ := diskFlag(c)
	rt := sandbox.NewContainerd(ccli, sandbox.ContainerdOptions{
		Options:   sandbox.Options{Logger: log, MemoryBytes: mem, PidsLimit: c.Int64("pids"), DiskBytes: disk},
		Namespace: c.String("containerd-namespace"),
		Source:    source,
	})
	if n, err := rt.Reap(c.Context, runID); err != nil {
		log.Warn("could not reap orphaned containerd sandboxes", "err", err)
	} else if n > 0 {
		log.Info("removed containerd sandboxes left by a killed run", "count", n)
	}
	return rt, func(ctx context.Context) {
		if err := rt.CloseAll(ctx); err != nil {
			log.Warn("could not remove every containerd sandbox", "err", err)
		}
		// Again at the end: a sandbox a killed run asked for can land
		// after the first reap.
		if _, err := rt.Reap(ctx, runID); err != nil {
			log.Warn("could not reap orphaned containerd sandboxes", "err", err)
		}
		ccli.Close()
	}, nil
}
