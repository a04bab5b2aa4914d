package main

import (
	"fmt"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/sweval/sweval/harness/images"
)

// publishedImageCommands are `images pull|save|load`: fetch a dataset's
// published images, and move them to and from machines with no registry.
func publishedImageCommands(cacheFlag cli.Flag) []*cli.Command {
	builder := func(c *cli.Context) (*images.Builder, func(), error) {
		opts, err := pullOptions(c, images.Options{Logger: logger(c), CacheDir: c.String("cache-dir")})
		if err != nil {
			return nil, nil, err
		}
		return storeBuilder(c, opts)
	}
	// datasetImages is the published image of every selected task.
	datasetImages := func(c *cli.Context) ([]string, error) {
		pub, err := published(c)
		if err != nil {
			return nil, err
		}
		if !pub.Enabled() {
			return nil, fmt.Errorf("give --namespace (swebench, swerebench, REGISTRY/NS, or auto): with none, sweval builds its own images and there is nothing published to fetch")
		}
		tasks, err := loadTasks(c)
		if err != nil {
			return nil, err
		}
		var out []string
		seen := map[string]bool{}
		for _, t := range tasks {
			if im := pub.ImageFor(t); im != "" && !seen[im] {
				seen[im] = true
				out = append(out, im)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no selected task has a published image", c.String("dataset"))
		}
		return out, nil
	}
	// datasetBuilder is the dataset's images and a builder to fetch them.
	datasetBuilder := func(c *cli.Context) (*images.Builder, []string, func(), error) {
		ims, err := datasetImages(c)
		if err != nil {
			return nil, nil, nil, err
		}
		b, done, err := builder(c)
		return b, ims, done, err
	}
	flags := append(append(append(datasetFlags(), publishedFlags()...), cacheFlag), storeFlags()...)
	return []*cli.Command{
		{
			Name:  "pull",
			Usage: "pull the published image of every task of a dataset not present locally, into the Engine or (--image-store containerd) containerd (e.g. sweval images pull -d verified.jsonl --namespace swebench)",
			Flags: flags,
			Action: func(c *cli.Context) error {
				b, ims, done, err := datasetBuilder(c)
				if err != nil {
					return err
				}
				defer done()
				// Builder.Pull bounds the pulls at once (--pull-concurrency).
				var wg sync.WaitGroup
				var mu sync.Mutex
				failed := 0
				for _, im := range ims {
					wg.Go(func() {
						what, err := "present", error(nil)
						if ok, perr := b.Present(c.Context, im); perr != nil || !ok {
							what, err = "pulled", b.Pull(c.Context, im)
						}
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							failed++
							fmt.Fprintf(c.App.Writer, "failed  %s: %v\n", im, err)
							return
						}
						fmt.Fprintf(c.App.Writer, "%-7s %s\n", what, im)
					})
				}
				wg.Wait()
				if failed > 0 {
					return fmt.Errorf("%d of %d images could not be pulled (listed above)", failed, len(ims))
				}
				return nil
			},
		},
		{
			Name:  "save",
			Usage: "save the published image of every task of a dataset as docker-archive tarballs in a directory, for machines with no registry (e.g. sweval images save -d verified.jsonl --namespace swebench -o imgs/)",
			Flags: append(flags, &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "(required) directory to write one .tar per image into"}),
			Action: func(c *cli.Context) error {
				if err := requireFlags(c, "output"); err != nil {
					return err
				}
				b, ims, done, err := datasetBuilder(c)
				if err != nil {
					return err
				}
				defer done()
				for _, im := range ims {
					path, err := b.SaveFile(c.Context, im, c.String("output"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "saved   %s -> %s\n", im, path)
				}
				return nil
			},
		},
		{
			Name:      "load",
			Usage:     "load docker-archive tarballs (files, or directories of .tar files, as images save and export write) into the Engine, or containerd with --image-store containerd (e.g. sweval images load imgs/)",
			ArgsUsage: "DIR|FILE...",
			Flags:     append([]cli.Flag{cacheFlag}, storeFlags()...),
			Action: func(c *cli.Context) error {
				if c.NArg() == 0 {
					return fmt.Errorf("give the tarballs (or directories of them) to load")
				}
				files, err := images.ArchiveFiles(c.Args().Slice())
				if err != nil {
					return err
				}
				b, done, err := builder(c)
				if err != nil {
					return err
				}
				defer done()
				for _, f := range files {
					loaded, err := b.LoadFile(c.Context, f)
					if err != nil {
						return err
					}
					for _, im := range loaded {
						fmt.Fprintf(c.App.Writer, "loaded  %s <- %s\n", im, f)
					}
				}
				return nil
			},
		},
	}
}
