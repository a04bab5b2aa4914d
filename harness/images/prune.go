package images

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Image is one image of ours, as List reports it.
type Image struct {
	ID      string
	Tags    []string
	Layer   string
	Key     string
	Parent  string // key of the layer it was built on ("" for base)
	Repo    string // instance layers: the task repository
	Commit  string // instance layers: base_commit
	Created time.Time
	Size    int64 // bytes, including shared parent layers
}

// layerRank orders layers children first: removing an image whose children
// still exist fails.
func layerRank(layer string) int {
	switch layer {
	case LayerInstance, LayerTask:
		return 0
	case LayerEnv:
		return 1
	case LayerBase:
		return 2
	}
	return 0
}

// List returns every image labelled sweval.managed=1, children before
// parents (instance, task, env, base), then newest first.
func (b *Builder) List(ctx context.Context) ([]Image, error) {
	if b.cli == nil {
		return nil, errNeedsDocker("listing images")
	}
	res, err := b.cli.ImageList(ctx, client.ImageListOptions{
		Filters: client.Filters{}.Add("label", LabelManaged+"=1"),
	})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []Image
	for _, s := range res.Items {
		l := s.Labels
		var tags []string
		for _, t := range s.RepoTags {
			if t != "<none>:<none>" {
				tags = append(tags, t)
			}
		}
		sort.Strings(tags)
		out = append(out, Image{
			ID: s.ID, Tags: tags, Layer: l[LabelLayer], Key: l[LabelKey], Parent: l[LabelParent],
			Repo: l[LabelRepo], Commit: l[LabelCommit], Created: time.Unix(s.Created, 0), Size: s.Size,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := layerRank(out[i].Layer), layerRank(out[j].Layer); ri != rj {
			return ri < rj
		}
		return out[i].Created.After(out[j].Created)
	})
	return out, nil
}

// PruneOptions selects what Prune removes.
type PruneOptions struct {
	// Layers limits pruning to these layers ("instance", "env", "base",
	// "task"); empty means all.
	Layers []string
	// Keep are tags never removed (e.g. "sweval/base:test"); an image with a
	// kept tag keeps its parents too.
	Keep []string
	// Force removes images used by containers (running ones included),
	// removing those containers first. Without it such images are skipped
	// and reported in the error.
	Force bool
	// Match, when set, limits pruning to images it accepts (Go API only;
	// tests use it to touch nothing but their own images).
	Match func(Image) bool
	// DryRun reports what would be removed without removing anything.
	DryRun bool
}

// Prune removes our images (label sweval.managed=1), children before
// parents. An image used by a container is skipped unless opts.Force, and so
// is every parent of a skipped image; stopped containers of ours (labelled
// sweval.managed=1) do not count, they are removed with the image. It returns
// the removed image tags (or IDs); err lists what was skipped or failed.
func (b *Builder) Prune(ctx context.Context, opts PruneOptions) (removed []string, err error) {
	if b.cli == nil {
		return nil, errNeedsDocker("pruning images")
	}
	imgs, err := b.List(ctx)
	if err != nil {
		return nil, err
	}
	cres, err := b.cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	users := map[string][]int{} // image ID -> indexes of containers using it
	for i, c := range cres.Items {
		users[c.ImageID] = append(users[c.ImageID], i)
	}

	kept := map[string]bool{} // keys that must stay because a child stays
	keep := func(im Image) {
		for k := im.Parent; k != ""; {
			if kept[k] {
				break
			}
			kept[k] = true
			next := ""
			for _, p := range imgs {
				if p.Key == k {
					next = p.Parent
				}
			}
			k = next
		}
	}
	var problems []string
	for _, im := range imgs {
		name := im.ID
		if len(im.Tags) > 0 {
			name = strings.Join(im.Tags, ",")
		}
		if len(opts.Layers) > 0 && !slices.Contains(opts.Layers, im.Layer) || kept[im.Key] {
			keep(im)
			continue
		}
		if opts.Match != nil && !opts.Match(im) {
			keep(im)
			continue
		}
		if slices.ContainsFunc(im.Tags, func(t string) bool { return slices.Contains(opts.Keep, t) }) {
			keep(im)
			continue
		}
		var blockers []string
		for _, ci := range users[im.ID] {
			c := cres.Items[ci]
			running := c.State == "running" || c.State == "paused" || c.State == "restarting"
			if running || c.Labels[LabelManaged] != "1" {
				blockers = append(blockers, fmt.Sprintf("%s (%s)", shortID(c.ID), c.State))
			}
		}
		if len(blockers) > 0 && !opts.Force {
			problems = append(problems, fmt.Sprintf("%s: used by container(s) %s (stop them, or prune with force)", name, strings.Join(blockers, ", ")))
			keep(im)
			continue
		}
		if opts.DryRun {
			removed = append(removed, name)
			continue
		}
		failed := false
		for _, ci := range users[im.ID] {
			c := cres.Items[ci]
			if _, err := b.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
				problems = append(problems, fmt.Sprintf("%s: remove container %s: %v", name, shortID(c.ID), err))
				failed = true
			}
		}
		if !failed {
			// Untag each name (the last one deletes the image); an untagged
			// image is removed by ID.
			targets := im.Tags
			if len(targets) == 0 {
				targets = []string{im.ID}
			}
			for _, t := range targets {
				if _, err := b.cli.ImageRemove(ctx, t, client.ImageRemoveOptions{PruneChildren: true}); err != nil && !isNotFound(err) {
					problems = append(problems, fmt.Sprintf("%s: %v", t, err))
					failed = true
				}
			}
		}
		if failed {
			keep(im)
			continue
		}
		b.log.Info("removed image", "image", name, "layer", im.Layer)
		removed = append(removed, name)
	}
	if len(problems) > 0 {
		return removed, fmt.Errorf("prune: kept %d image(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return removed, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
