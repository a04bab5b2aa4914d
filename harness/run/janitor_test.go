package run

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/images"
)

// fakeRemover owns every image named "ours/…" (size 100) and the shared
// layers; "user/…" images are someone else's.
type fakeRemover struct {
	present map[string]bool
	removed []string
}

func (f *fakeRemover) Own(_ context.Context, image string) (images.Owned, bool, error) {
	if !f.present[image] {
		return images.Owned{}, false, nil
	}
	layer := images.LayerExternal
	switch image {
	case "ours/env":
		layer = images.LayerEnv
	case "ours/base":
		layer = images.LayerBase
	}
	return images.Owned{Image: image, Layer: layer, Size: 100}, image[:5] == "ours/", nil
}

func (f *fakeRemover) Remove(ctx context.Context, image string) error {
	if _, ok, _ := f.Own(ctx, image); !ok {
		return fmt.Errorf("image %s was not built or pulled by sweval", image)
	}
	delete(f.present, image)
	f.removed = append(f.removed, image)
	return nil
}

func TestJanitor(t *testing.T) {
	ctx := context.Background()
	type step struct {
		task, image string // resolve task to image, then its one job is done
	}
	six := []step{{"t1", "ours/1"}, {"t2", "ours/2"}, {"t3", "user/3"}, {"t4", "ours/4"}, {"t5", "ours/5"}, {"t6", "ours/6"}}
	cases := []struct {
		name    string
		level   string
		budget  int64
		steps   []step
		removed []string
		kept    int
	}{
		{"no budget keeps all", images.CacheInstance, 0, six, nil, 5},
		// Least recently finished first; a user's image is never touched.
		{"budget of two", images.CacheInstance, 250, six, []string{"ours/1", "ours/2", "ours/4"}, 2},
		{"env level removes each instance image", images.CacheEnv, 0, six, []string{"ours/1", "ours/2", "ours/4", "ours/5", "ours/6"}, 0},
		{"base level also removes the env layer", images.CacheBase, 0, six[:1], []string{"ours/1", "ours/env"}, 0},
		{"none removes the base too", images.CacheNone, 0, six[:1], []string{"ours/1", "ours/env", "ours/base"}, 0},
		// Two rows naming one image: it stays until both are done.
		{"shared image", images.CacheEnv, 0, []step{{"a", "ours/x"}, {"b", "ours/x"}}, []string{"ours/x"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeRemover{present: map[string]bool{"ours/env": true, "ours/base": true}}
			j := newJanitor(nil, c.level, c.budget, slog.New(slog.DiscardHandler))
			j.rm = f
			var jobs []Job
			for _, s := range c.steps {
				f.present[s.image] = true
				jobs = append(jobs, Job{Task: benchmarks.Task{ID: s.task}})
			}
			j.start(ctx, jobs)
			shared := len(c.steps) == 2
			if shared {
				// Both resolve before either is done.
				for _, s := range c.steps {
					j.resolved(ctx, benchmarks.Task{ID: s.task}, images.Ref{Tag: s.image, Pulled: true})
				}
			}
			for i, s := range c.steps {
				if !shared {
					j.resolved(ctx, benchmarks.Task{ID: s.task}, images.Ref{Tag: s.image, Pulled: true})
				}
				j.jobDone(ctx, s.task)
				if shared && i == 0 && len(f.removed) > 0 {
					t.Fatalf("removed %v while task b still needs it", f.removed)
				}
			}
			u := j.finish(ctx, images.Ref{Tag: "ours/env", Layer: images.LayerEnv}, images.Ref{Tag: "ours/base", Layer: images.LayerBase})
			if !slices.Equal(f.removed, c.removed) || !slices.Equal(u.Removed, c.removed) {
				t.Errorf("removed %v (report %v), want %v", f.removed, u.Removed, c.removed)
			}
			if u.Kept != c.kept || c.budget > 0 && u.KeptBytes > c.budget {
				t.Errorf("kept %d (%d bytes), want %d under %d", u.Kept, u.KeptBytes, c.kept, c.budget)
			}
			if want := len(c.steps); u.Pulled != want {
				t.Errorf("pulled %d, want %d", u.Pulled, want)
			}
		})
	}
}
