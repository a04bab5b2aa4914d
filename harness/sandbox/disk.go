package sandbox

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/moby/moby/client"
)

// DefaultDiskBytes is a sandbox's disk budget (Spec.DiskBytes): what its
// processes may add to its filesystem outside the tmpfs /tmp.
const DefaultDiskBytes = 8 << 30

// diskPoll is how often the watchdog measures a sandbox's writable layer.
const diskPoll = 2 * time.Second

// DiskLimiter is implemented by sandboxes that enforce a disk budget: the
// storage drivers sweval meets (overlay2 on ext4 without project quotas,
// containerd's overlayfs) cannot bound a container's writable layer, so a
// watchdog measures it and stops the whole sandbox at the budget.
type DiskLimiter interface {
	// DiskLimitHit reports whether the sandbox was stopped for writing
	// more than limit bytes (used is what the watchdog last measured).
	DiskLimitHit() (hit bool, used, limit int64)
}

var (
	_ DiskLimiter = (*dockerSandbox)(nil)
	_ DiskLimiter = (*ctrSandbox)(nil)
)

// diskBudget is the spec's budget, else the runtime's, else the default;
// a negative value switches the watchdog off.
func diskBudget(spec, runtime int64) int64 {
	b := orDefault(spec, orDefault(runtime, DefaultDiskBytes))
	return max(b, 0)
}

// diskWatch is one sandbox's watchdog.
type diskWatch struct {
	limit int64
	used  atomic.Int64
	hit   atomic.Bool
	stop  chan struct{}
	once  sync.Once
}

// watchDisk measures size every diskPoll and calls kill once it exceeds
// limit. Stop ends it.
func watchDisk(limit int64, size func(context.Context) (int64, error), kill func(context.Context) error, log *slog.Logger, id string) *diskWatch {
	w := &diskWatch{limit: limit, stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(diskPoll)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, err := size(ctx)
			if err == nil {
				w.used.Store(n)
				if n > limit {
					w.hit.Store(true)
					log.Warn("sandbox exceeded its disk budget; stopping it", "container", shortID(id), "used_bytes", n, "limit_bytes", limit)
					if kerr := kill(ctx); kerr != nil {
						log.Warn("could not stop the sandbox at its disk budget", "container", shortID(id), "err", kerr)
					}
					cancel()
					return
				}
			}
			cancel()
		}
	}()
	return w
}

func (w *diskWatch) Stop() {
	if w != nil {
		w.once.Do(func() { close(w.stop) })
	}
}

func (w *diskWatch) report() (bool, int64, int64) {
	if w == nil {
		return false, 0, 0
	}
	return w.hit.Load(), w.used.Load(), w.limit
}

// DiskLimitError is what a rollout reports when its sandbox hit the
// budget.
func DiskLimitError(used, limit int64) error {
	return fmt.Errorf("the sandbox wrote %d MiB to its filesystem, over its disk budget of %d MiB (--disk), and was stopped", used>>20, limit>>20)
}

func (s *dockerSandbox) DiskLimitHit() (bool, int64, int64) { return s.disk.report() }
func (s *ctrSandbox) DiskLimitHit() (bool, int64, int64)    { return s.disk.report() }

// watchDockerDisk measures the container's writable layer: on this host
// by walking its overlay upper directory when it is visible here (the
// daemon's own size computation stalls under heavy I/O), else through
// the daemon (SizeRw).
func (s *dockerSandbox) watchDockerDisk(limit int64) {
	upper := ""
	ictx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if res, err := s.d.cli.ContainerInspect(ictx, s.id, client.ContainerInspectOptions{}); err == nil && res.Container.GraphDriver != nil {
		if d := res.Container.GraphDriver.Data["UpperDir"]; d != "" {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				upper = d
			}
		}
	}
	cancel()
	s.disk = watchDisk(limit, func(ctx context.Context) (int64, error) {
		if upper != "" {
			return dirUsage(upper)
		}
		res, err := s.d.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{Size: true})
		if err != nil {
			return 0, err
		}
		if res.Container.SizeRw == nil {
			return 0, fmt.Errorf("no size reported")
		}
		return *res.Container.SizeRw, nil
	}, func(ctx context.Context) error {
		_, err := s.d.cli.ContainerKill(ctx, s.id, client.ContainerKillOptions{Signal: "SIGKILL"})
		return err
	}, s.d.log, s.id)
}

// watchContainerdDisk measures the container's active snapshot.
func (s *ctrSandbox) watchContainerdDisk(limit int64) {
	s.disk = watchDisk(limit, func(ctx context.Context) (int64, error) {
		u, err := s.c.cli.SnapshotService(s.c.opts.Snapshotter).Usage(s.c.ns(ctx), s.id)
		return u.Size, err
	}, func(ctx context.Context) error {
		return s.task.Kill(s.c.ns(ctx), syscall.SIGKILL, containerd.WithKillAll)
	}, s.c.log, s.id)
}

// dirUsage is the disk space the files below dir take (allocated blocks,
// so sparse files count what they hold).
func dirUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed while walking
		}
		if info, ierr := d.Info(); ierr == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}
