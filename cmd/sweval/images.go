package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/sandbox"
)

// storeBuilder is the image builder of --image-store: the Docker Engine
// (the default; commands without the flag) or containerd alone.
func storeBuilder(c *cli.Context, opts images.Options) (*images.Builder, func(), error) {
	switch store := c.String("image-store"); store {
	case "", "docker":
	case "containerd":
		rt, done, err := containerdRuntime(c, "sweval-images", nil)
		if err != nil {
			return nil, nil, err
		}
		return images.NewContainerd(rt, opts), func() { done(context.Background()) }, nil
	default:
		return nil, nil, fmt.Errorf("--image-store %q: use docker or containerd", store)
	}
	cli, err := dockerClient(c.Context)
	if err != nil {
		return nil, nil, err
	}
	return images.New(cli, opts), func() { cli.Close() }, nil
}

// storeFlags select the image store of an images command. A func: each
// command needs flags of its own (their env vars are added per flag).
func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image-store", Value: "docker", Usage: "where images are built and kept: docker, or containerd (no Docker needed)"},
		&cli.StringFlag{Name: "containerd-address", Value: sandbox.DefaultContainerdAddress, Usage: "containerd socket for --image-store containerd"},
		&cli.StringFlag{Name: "containerd-namespace", Value: sandbox.DefaultContainerdNamespace, Usage: "containerd namespace for --image-store containerd"},
	}
}

func imagesCommand() *cli.Command {
	builder := func(c *cli.Context) (*images.Builder, func(), error) {
		return storeBuilder(c, images.Options{Logger: logger(c), CacheDir: c.String("cache-dir")})
	}
	cacheFlag := &cli.StringFlag{Name: "cache-dir", Usage: "where build logs and locks live (default ~/.cache/sweval)"}
	cmd := &cli.Command{
		Name:  "images",
		Usage: "build, list and prune sweval's images; pull, save and load published ones (e.g. sweval images base)",
		Subcommands: []*cli.Command{
			{
				Name:  "base",
				Usage: "debootstrap a minbase Debian rootfs from apt's configured mirror and import it (into Docker, or containerd with --image-store containerd); skipped when present (e.g. sweval images base --tag sweval/base:test)",
				Flags: append([]cli.Flag{
					cacheFlag,
					&cli.StringSliceFlag{Name: "packages", Usage: "replace the default package list"},
					&cli.StringSliceFlag{Name: "extra", Usage: "add packages to the default list"},
					&cli.StringFlag{Name: "suite", Usage: "Debian suite (default " + images.DefaultSuite + ")"},
					&cli.StringFlag{Name: "mirror", Usage: "override the mirror read from apt's sources"},
					&cli.StringSliceFlag{Name: "tag", Usage: "extra tag(s) for the image"},
				}, storeFlags()...),
				Action: func(c *cli.Context) error {
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					ref, err := b.Base(c.Context, images.BaseSpec{
						Suite: c.String("suite"), Packages: c.StringSlice("packages"), Extra: c.StringSlice("extra"),
						Mirror: c.String("mirror"), Aliases: c.StringSlice("tag"),
					})
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, ref.Tag)
					return nil
				},
			},
			{
				Name:  "env",
				Usage: "build an env layer on the base from local .deb files and wheels, offline (e.g. sweval images env --env-wheels ./wheels)",
				Flags: append([]cli.Flag{
					cacheFlag,
					&cli.StringFlag{Name: "base-image", Usage: "base image (default: the default base, built if missing)"},
					&cli.StringFlag{Name: "env-debs", Usage: "directory of .deb files"},
					&cli.StringFlag{Name: "env-wheels", Usage: "directory of .whl files"},
				}, storeFlags()...),
				Action: func(c *cli.Context) error {
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					var base images.Ref
					if img := c.String("base-image"); img != "" {
						base, err = b.Resolve(c.Context, img)
					} else {
						base, err = b.Base(c.Context, images.BaseSpec{})
					}
					if err != nil {
						return err
					}
					ref, err := b.Env(c.Context, base, images.EnvSpec{DebsDir: c.String("env-debs"), WheelsDir: c.String("env-wheels")})
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, ref.Tag)
					return nil
				},
			},
			{
				Name:      "push",
				Usage:     "push images from the store (Docker or containerd) to a registry under their own names: the same image ID and content key there (e.g. sweval images push --registry 127.0.0.1:5000 sweval/env:KEY)",
				ArgsUsage: "IMAGE...",
				Flags: append([]cli.Flag{
					cacheFlag,
					&cli.StringFlag{Name: "registry", Required: true, Usage: "HOST[:PORT][/PATH] to push under (credentials from the Docker config; loopback is plain HTTP)"},
				}, storeFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return fmt.Errorf("name the images to push (sweval images ls shows sweval's)")
					}
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					for _, im := range c.Args().Slice() {
						target, err := images.PushTarget(c.String("registry"), im)
						if err != nil {
							return err
						}
						pushed, err := b.Push(c.Context, im, target)
						if err != nil {
							return err
						}
						fmt.Fprintf(c.App.Writer, "%s -> %s\n", im, pushed)
					}
					return nil
				},
			},
			{
				Name:      "export",
				Usage:     "write images from the store (Docker or containerd) as archives `docker load`, `ctr images import` and `sweval images load` read, one .tar each (e.g. sweval images export -o DIR sweval/env:KEY)",
				ArgsUsage: "IMAGE...",
				Flags: append([]cli.Flag{
					cacheFlag,
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Required: true, Usage: "directory to write the archives into"},
				}, storeFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return fmt.Errorf("name the images to export (sweval images ls shows sweval's)")
					}
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					for _, im := range c.Args().Slice() {
						path, err := b.SaveFile(c.Context, im, c.String("output"))
						if err != nil {
							return err
						}
						fmt.Fprintf(c.App.Writer, "%s -> %s\n", im, path)
					}
					return nil
				},
			},
			{
				Name:  "ls",
				Usage: "list sweval's images (label sweval.managed=1) (e.g. sweval images ls)",
				Flags: []cli.Flag{cacheFlag},
				Action: func(c *cli.Context) error {
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					imgs, err := b.List(c.Context)
					if err != nil {
						return err
					}
					t := newTable(c.App.Writer)
					t.Header("layer", "tags", "repo@commit", "size MB", "created")
					for _, im := range imgs {
						at := ""
						switch {
						case im.Repo != "" && im.Commit != "":
							at = im.Repo + "@" + shortSHA(im.Commit)
						case im.Repo != "":
							at = im.Repo
						}
						_ = t.Append(im.Layer, strings.Join(im.Tags, " "), at, fmt.Sprintf("%.0f", float64(im.Size)/1e6), im.Created.Format("2006-01-02 15:04"))
					}
					return t.Render()
				},
			},
			{
				Name:  "prune",
				Usage: "remove sweval's images, children before parents (e.g. sweval images prune --layer instance)",
				Flags: []cli.Flag{
					cacheFlag,
					&cli.StringSliceFlag{Name: "layer", Usage: "only these layers: instance, env, base, task"},
					&cli.StringSliceFlag{Name: "keep", Usage: "never remove these tags (and their parents)"},
					&cli.BoolFlag{Name: "force", Usage: "also remove images used by containers"},
					&cli.BoolFlag{Name: "dry-run", Usage: "only print what would be removed"},
				},
				Action: func(c *cli.Context) error {
					b, done, err := builder(c)
					if err != nil {
						return err
					}
					defer done()
					removed, err := b.Prune(c.Context, images.PruneOptions{
						Layers: c.StringSlice("layer"), Keep: c.StringSlice("keep"), Force: c.Bool("force"), DryRun: c.Bool("dry-run"),
					})
					for _, r := range removed {
						fmt.Fprintln(c.App.Writer, "removed", r)
					}
					return err
				},
			},
		},
	}
	cmd.Subcommands = append(cmd.Subcommands, publishedImageCommands(cacheFlag)...)
	return cmd
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
