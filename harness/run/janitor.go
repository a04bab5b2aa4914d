package run

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/images"
	"github.com/sweval/sweval/harness/result"
)

// imageRemover is the part of an image builder that frees disk
// (*images.Builder): it only ever removes what sweval built or pulled.
type imageRemover interface {
	Own(ctx context.Context, image string) (images.Owned, bool, error)
	Remove(ctx context.Context, image string) error
}

// janitor removes the images a run no longer needs: by cache level once
// the instances using them are graded (SWE-bench's --cache_level), and
// least recently finished first while the images it tracks exceed the
// disk budget (--max-image-disk). It never removes an image sweval did
// not build or pull, nor one a task still to run resolved to.
type janitor struct {
	rm     imageRemover
	level  string
	budget int64 // bytes; 0: no budget
	log    *slog.Logger

	mu       sync.Mutex
	pending  map[string]int    // task id → rollouts still to run
	imageOf  map[string]string // task id → the image it resolved to
	tracked  map[string]int64  // our images of this run's tasks → size
	finished []string          // tracked images of finished tasks, oldest first
	usage    result.ImageUsage
}

func newJanitor(b ImageBuilder, level string, budget int64, log *slog.Logger) *janitor {
	j := &janitor{level: level, budget: budget, log: log, pending: map[string]int{}, imageOf: map[string]string{}, tracked: map[string]int64{}}
	j.usage = result.ImageUsage{CacheLevel: level, MaxImageDiskBytes: budget, Removed: []string{}}
	if rm, ok := b.(imageRemover); ok {
		j.rm = rm
	}
	return j
}

// start is handed the jobs still to run.
func (j *janitor) start(_ context.Context, jobs []Job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, job := range jobs {
		j.pending[job.Task.ID]++
	}
}

// resolved notes the image task runs in (pulled just now or not).
func (j *janitor) resolved(ctx context.Context, task benchmarks.Task, ref images.Ref) {
	if j.rm == nil {
		return
	}
	o, ours, err := j.rm.Own(ctx, ref.Tag)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.imageOf[task.ID] = ref.Tag
	if err != nil {
		j.usage.Errors = append(j.usage.Errors, err.Error())
		return
	}
	if ref.Pulled {
		j.usage.Pulled++
		j.usage.PulledBytes += o.Size
	}
	if ours && layerOfInstance(o.Layer) {
		j.tracked[ref.Tag] = o.Size
	}
	j.enforceLocked(ctx)
}

// layerOfInstance: images one task (or the rows naming it) runs in.
func layerOfInstance(layer string) bool {
	switch layer {
	case images.LayerInstance, images.LayerTask, images.LayerDoc2Repo, images.LayerExternal:
		return true
	}
	return false
}

// jobDone is called after each job; the task's image may go once its
// last rollout is done.
func (j *janitor) jobDone(ctx context.Context, taskID string) {
	if ctx.Err() != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.pending[taskID]--; j.pending[taskID] > 0 {
		return
	}
	img := j.imageOf[taskID]
	if _, ok := j.tracked[img]; !ok || j.neededLocked(img) {
		return
	}
	if images.Removes(j.level, images.LayerInstance) {
		j.removeLocked(ctx, img)
		return
	}
	j.finished = append(j.finished, img)
	j.enforceLocked(ctx)
}

// neededLocked reports whether a task with rollouts still to run resolved
// to img.
func (j *janitor) neededLocked(img string) bool {
	for id, n := range j.pending {
		if n > 0 && j.imageOf[id] == img {
			return true
		}
	}
	return false
}

// enforceLocked removes finished tasks' images, oldest first, while the
// tracked images exceed the budget.
func (j *janitor) enforceLocked(ctx context.Context) {
	if j.budget <= 0 {
		return
	}
	total := j.totalLocked()
	for total > j.budget && len(j.finished) > 0 {
		img := j.finished[0]
		j.finished = j.finished[1:]
		total -= j.tracked[img]
		j.removeLocked(ctx, img)
	}
}

// totalLocked is the size of the tracked images.
func (j *janitor) totalLocked() int64 {
	total := int64(0)
	for _, size := range j.tracked {
		total += size
	}
	return total
}

func (j *janitor) removeLocked(ctx context.Context, img string) {
	size := j.tracked[img]
	delete(j.tracked, img)
	j.finished = slices.DeleteFunc(j.finished, func(s string) bool { return s == img })
	if err := j.rm.Remove(ctx, img); err != nil {
		j.log.Warn("could not remove an image the run no longer needs", "image", img, "err", err)
		j.usage.Errors = append(j.usage.Errors, err.Error())
		return
	}
	j.usage.Removed = append(j.usage.Removed, img)
	j.usage.RemovedBytes += size
}

// waitRoom returns once the tracked images are under the budget (at
// once without one), or when ctx ends: the prefetcher does not pull ahead
// past it, since only finished instances' images can be removed.
func (j *janitor) waitRoom(ctx context.Context) {
	for {
		j.mu.Lock()
		over := j.budget > 0 && j.totalLocked() >= j.budget
		j.mu.Unlock()
		if !over {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finish removes the shared layers the cache level does not keep (after
// a run that was not interrupted) and reports the run's image use.
func (j *janitor) finish(ctx context.Context, shared ...images.Ref) *result.ImageUsage {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rm != nil && ctx.Err() == nil {
		for _, ref := range shared {
			if ref.Tag == "" || !images.Removes(j.level, ref.Layer) {
				continue
			}
			if o, ours, err := j.rm.Own(ctx, ref.Tag); err == nil && ours {
				j.tracked[ref.Tag] = o.Size
				j.removeLocked(ctx, ref.Tag)
			}
		}
	}
	u := j.usage
	u.Removed = slices.Clone(u.Removed)
	u.Errors = slices.Clone(u.Errors)
	for _, size := range j.tracked {
		u.Kept++
		u.KeptBytes += size
	}
	return &u
}
