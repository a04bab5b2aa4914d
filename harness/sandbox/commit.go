package sandbox

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Committer is a sandbox whose filesystem can become an image: a Doc2Repo
// task's own image after the purge, graded in fresh containers of the
// commit. Both runtimes' sandboxes implement it.
type Committer interface {
	// Commit writes the container's filesystem (not /tmp, a tmpfs) to a
	// new image named ref, with labels set on it, and returns its ID.
	Commit(ctx context.Context, ref string, labels map[string]string) (string, error)
}

var _ Committer = (*dockerSandbox)(nil)

// Commit implements Committer with the Engine's commit (the container is
// paused meanwhile). The container's own labels (run, instance, owner)
// are blanked on the image: they name a container, not an image.
func (s *dockerSandbox) Commit(ctx context.Context, ref string, labels map[string]string) (string, error) {
	all := imageLabels(labels)
	var changes []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		changes = append(changes, "LABEL "+strconv.Quote(k)+"="+strconv.Quote(all[k]))
	}
	res, err := s.d.cli.ContainerCommit(ctx, s.id, client.ContainerCommitOptions{Reference: ref, Changes: changes, Comment: "sweval"})
	if err != nil {
		return "", fmt.Errorf("commit container %.12s to %s: %w", s.id, ref, err)
	}
	return res.ID, nil
}

// imageLabels are the labels a commit sets: labels, with the container's
// own run and instance labels blanked (they name a container, not an
// image).
func imageLabels(labels map[string]string) map[string]string {
	all := map[string]string{LabelRun: "", LabelInstance: ""}
	maps.Copy(all, labels)
	return all
}

// RemoveImage removes image ref (a commit, say) from the daemon; one that
// is already gone is not an error.
func (d *Docker) RemoveImage(ctx context.Context, ref string) error {
	if _, err := d.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("sandbox: remove image %s: %w", ref, err)
	}
	return nil
}
