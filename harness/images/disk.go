package images

import (
	"context"
	"fmt"
	"syscall"

	"github.com/moby/moby/client"
)

// DefaultMinFreeDisk is the free space a pull needs on the Engine's disk:
// a SWE-bench instance image with its env and base layers is 1–3 GB
// unpacked, and an Engine that fills its disk mid-pull fails every
// container after it.
const DefaultMinFreeDisk = 5 << 30

// checkDisk refuses a pull when the Engine's data directory has less than
// Options.MinFreeDisk free. The directory is the Engine's DockerRootDir as
// seen from this host; a remote Engine's (not visible here) is not checked.
func (b *Builder) checkDisk(ctx context.Context, image string) error {
	if b.cli == nil {
		// containerd's root is not the builder's to read (it may be
		// another machine's): its pulls are not checked.
		return nil
	}
	if b.opts.MinFreeDisk < 0 {
		return nil
	}
	info, err := b.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: read the Engine's data directory for the free-disk check: %w", image, err)
	}
	root := info.Info.DockerRootDir
	free, ok := freeBytes(root)
	if !ok {
		b.log.Debug("Engine data directory not visible here; free-disk check skipped", "dir", root)
		return nil
	}
	if free < uint64(b.opts.MinFreeDisk) {
		return fmt.Errorf("pull %s: only %.1f GB free on %s, the Engine's data directory; a pull needs at least %.1f GB: free space (sweval images prune, docker image rm of images you no longer need) or lower the limit (--min-free-disk)",
			image, float64(free)/1e9, root, float64(b.opts.MinFreeDisk)/1e9)
	}
	return nil
}

// freeBytes is the space available to unprivileged writers on dir's file
// system; false when dir cannot be read.
func freeBytes(dir string) (uint64, bool) {
	if dir == "" {
		return 0, false
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
