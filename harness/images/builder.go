package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/sandbox"
)

// Labels every image of ours carries.
const (
	LabelManaged = "sweval.managed"
	LabelLayer   = "sweval.layer"
	LabelKey     = "sweval.key"
	// LabelParent holds the key of the layer an image was built on, so Prune
	// can keep a parent whose child it had to keep.
	LabelParent = "sweval.parent"
	LabelRepo   = "sweval.repo"
	LabelCommit = "sweval.base_commit"
)

// Layer names (values of the sweval.layer label).
const (
	LayerBase     = "base"
	LayerEnv      = "env"
	LayerInstance = "instance"
	// LayerTask is an image built from a task's own Dockerfile (OpenSWE).
	LayerTask = "task"
	// LayerExternal is an image named by the task and used as it is; never
	// labelled by us, so never pruned by us.
	LayerExternal = "external"
)

// Ref names a built (or found) image.
type Ref struct {
	Tag   string // what to create containers from
	Key   string // content key; "" for external images
	Layer string
	// Digest identifies the image's content: its registry digest
	// (name@sha256:…) when it came from a registry, else its image ID.
	Digest string
	// Path is the image's own PATH (its ENV), kept for the containers
	// of an external image: a published image's tools live where it says
	// (SWE-bench's conda under /opt/miniconda3/bin). "" for sweval's
	// layers, which have no ENV.
	Path string
	// Pulled is set when PublishedImage pulled the image just now.
	Pulled bool
}

// Options configures a Builder. Zero values mean the defaults.
type Options struct {
	// Logger receives progress ("present", "building", timings). Default: discard.
	Logger *slog.Logger
	// CacheDir holds build logs and locks. Default: $XDG_CACHE_HOME/sweval,
	// else ~/.cache/sweval.
	CacheDir string
	// AptDir is where apt's sources are read from. Default: /etc/apt.
	AptDir string
	// TempDir is where rootfs and build contexts are prepared. Default: os.TempDir().
	TempDir string
	// Debootstrap and Git are the programs run; default: found on PATH.
	Debootstrap string
	Git         string
	// Arch is the Debian architecture for base images. Default: the host's.
	Arch string
	// PullConcurrency bounds the pulls running at once (independent of the
	// number of workers). Default: DefaultPullConcurrency.
	PullConcurrency int
	// PullRetries is how many times a failed pull that may pass is tried
	// again (negative: never); PullBackoff the first wait, doubled each
	// time. Defaults: DefaultPullRetries, DefaultPullBackoff.
	PullRetries int
	PullBackoff time.Duration
	// MinFreeDisk is the free space (bytes) a pull needs on the Engine's
	// data directory; 0 means DefaultMinFreeDisk, negative no check.
	MinFreeDisk int64
	// TestbedDepth, when positive, keeps only that many commits of history
	// (ending at base_commit) in instance layers, as `git clone --depth`
	// does; 0 keeps all of base_commit's history. Part of the content key.
	TestbedDepth int
	// CopyInContainer builds recipes that only copy files (instance
	// layers) as the others are built, through a container and a commit,
	// instead of writing their one layer directly; for side-by-side
	// benchmarks. The images are the same.
	CopyInContainer bool
}

// Builder builds and finds sweval images. Safe for concurrent use.
type Builder struct {
	cli   engine // nil when the images live in containerd alone
	store store
	opts  Options
	log   *slog.Logger
	pulls chan struct{} // semaphore: one slot per concurrent pull
}

// engine is the part of the Engine API the builder uses.
type engine interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageHistory(ctx context.Context, image string, opts ...client.ImageHistoryOption) (client.ImageHistoryResult, error)
	ImageImport(ctx context.Context, source client.ImageImportSource, ref string, options client.ImageImportOptions) (client.ImageImportResult, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerRemove(ctx context.Context, container string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
}

// New returns a Builder talking to the Engine through cli.
func New(cli *client.Client, opts Options) *Builder {
	return newBuilder(cli, opts)
}

// NewContainerd returns a Builder that keeps its images in rt's containerd
// namespace and needs no Docker: bases are OCI images imported there,
// other layers are built in rt's sandboxes and committed (see store). What
// only the Engine does (pulls, save/load, prune, a task's own Dockerfile)
// is an error that says so.
func NewContainerd(rt *sandbox.Containerd, opts Options) *Builder {
	b := newBuilder(nil, opts)
	b.store = ctrStore{rt: rt, b: b}
	return b
}

func newBuilder(cli engine, opts Options) *Builder {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.AptDir == "" {
		opts.AptDir = "/etc/apt"
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.Debootstrap == "" {
		opts.Debootstrap = "debootstrap"
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.Arch == "" {
		opts.Arch = debianArch(runtime.GOARCH)
	}
	if opts.PullConcurrency < 1 {
		opts.PullConcurrency = DefaultPullConcurrency
	}
	if opts.PullRetries == 0 {
		opts.PullRetries = DefaultPullRetries
	}
	if opts.MinFreeDisk == 0 {
		opts.MinFreeDisk = DefaultMinFreeDisk
	}
	if opts.PullBackoff <= 0 {
		opts.PullBackoff = DefaultPullBackoff
	}
	// What a killed builder left in the temp dir goes now.
	sweepWorkDirs(opts.TempDir, opts.Logger)
	b := &Builder{cli: cli, opts: opts, log: opts.Logger, pulls: make(chan struct{}, opts.PullConcurrency)}
	b.store = dockerStore{b}
	return b
}

// DefaultCacheDir is $XDG_CACHE_HOME/sweval, else ~/.cache/sweval.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "sweval")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "sweval")
	}
	return filepath.Join(os.TempDir(), "sweval-cache")
}

// debianArch maps Go's GOARCH to Debian's architecture names.
func debianArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return goarch // amd64, arm64, s390x, riscv64, mips64le
}

// LogPath is where the build log of the image tagged tag is kept.
func (b *Builder) LogPath(tag string) string {
	name := strings.NewReplacer("/", "_", ":", "_").Replace(tag)
	return filepath.Join(b.opts.CacheDir, "images", "logs", name+".log")
}

// openLog truncates and opens the build log of tag.
func (b *Builder) openLog(tag string) (*os.File, error) {
	p := b.LogPath(tag)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("create build log directory (set a writable cache dir): %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("create build log: %w", err)
	}
	fmt.Fprintf(f, "# %s build of %s started %s\n", "sweval", tag, time.Now().UTC().Format(time.RFC3339))
	return f, nil
}

// lock takes the per-key build lock (flock on a file in the cache dir; it
// excludes other processes and other goroutines of this one alike, since
// each call opens its own file description). Cancelling ctx gives up.
func (b *Builder) lock(ctx context.Context, key string) (unlock func(), err error) {
	dir := filepath.Join(b.opts.CacheDir, "images", "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lock directory (set a writable cache dir): %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if !logged {
			b.log.Info("waiting for another builder of the same image", "key", key, "lock", f.Name())
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// buildOnce makes sure the image ref names exists: present already, or built
// by build under the key's lock, so that concurrent builders (goroutines or
// processes) build it once. build writes to the image's fresh build log and
// returns its error worded for the caller (recording the failure in the log
// itself). A build is logged as "<what> built" with the seconds it took;
// built is false when the image was already there.
func (b *Builder) buildOnce(ctx context.Context, ref Ref, what string, log *slog.Logger, build func(lf *os.File) error) (built bool, err error) {
	unlock, err := b.lock(ctx, ref.Key)
	if err != nil {
		return false, err
	}
	defer unlock()
	if ok, err := b.present(ctx, ref.Tag); err != nil || ok {
		return false, err // there already, or cannot tell
	}
	lf, err := b.openLog(ref.Tag)
	if err != nil {
		return false, err
	}
	defer lf.Close()
	t0 := time.Now()
	if err := build(lf); err != nil {
		return false, err
	}
	log.Info(what+" built", "seconds", time.Since(t0).Round(time.Millisecond).Seconds())
	return true, nil
}

// Present reports whether an image exists locally.
func (b *Builder) Present(ctx context.Context, image string) (bool, error) {
	return b.present(ctx, image)
}

// present reports whether an image tag exists locally.
func (b *Builder) present(ctx context.Context, tag string) (bool, error) {
	_, err := b.store.inspect(ctx, tag)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspect image %s: %w", tag, err)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// drainJSON copies an Engine JSON message stream to the log and returns the
// first error message in it.
func drainJSON(r io.Reader, log io.Writer) error {
	t0 := time.Now()
	dec := json.NewDecoder(r)
	var first error
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return first
			}
			return fmt.Errorf("read Engine response: %w", err)
		}
		switch {
		case m.Error != nil:
			fmt.Fprintf(log, "ERROR: %s\n", m.Error.Message)
			if first == nil {
				first = errors.New(m.Error.Message)
			}
		case m.Stream != "":
			if strings.HasPrefix(m.Stream, "Step ") { // time each build step
				fmt.Fprintf(log, "[%6.1fs] ", time.Since(t0).Seconds())
			}
			io.WriteString(log, m.Stream)
		case m.Status != "":
			fmt.Fprintf(log, "%s %s\n", m.Status, m.ID)
		}
	}
}

// tagAliases adds extra tags to an image.
func (b *Builder) tagAliases(ctx context.Context, tag string, aliases []string) error {
	for _, a := range aliases {
		if a == "" || a == tag {
			continue
		}
		if err := b.store.tag(ctx, tag, a); err != nil {
			return fmt.Errorf("tag %s as %s: %w", tag, a, err)
		}
		b.log.Info("tagged", "image", tag, "alias", a)
	}
	return nil
}

func labels(layer, key, parent string, extra map[string]string) map[string]string {
	l := map[string]string{LabelManaged: "1", LabelLayer: layer, LabelKey: key}
	if parent != "" {
		l[LabelParent] = parent
	}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// Digest returns an image's ID, the sha256 digest of its configuration:
// it names the exact bytes a run started from, where a tag may move.
func (b *Builder) Digest(ctx context.Context, image string) (string, error) {
	res, err := b.store.inspect(ctx, image)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", image, err)
	}
	return res.ID, nil
}

// Resolve returns the Ref of an existing image: its sweval key and layer when
// it is ours, else layer "external" with the image ID as key (an ID is a
// content hash too, so layers built on it are keyed by its content).
func (b *Builder) Resolve(ctx context.Context, image string) (Ref, error) {
	res, err := b.store.inspect(ctx, image)
	if err != nil {
		if isNotFound(err) {
			return Ref{}, fmt.Errorf("image %s is not present locally: build it (sweval images base) or load it (docker load): %w", image, err)
		}
		return Ref{}, fmt.Errorf("inspect image %s: %w", image, err)
	}
	lbl := res.Labels
	digest := imageDigest(image, res.RepoDigests, res.ID)
	if lbl[LabelManaged] == "1" && lbl[LabelKey] != "" {
		return Ref{Tag: image, Key: lbl[LabelKey], Layer: lbl[LabelLayer], Digest: digest}, nil
	}
	ref := Ref{Tag: image, Key: "id:" + res.ID, Layer: LayerExternal, Digest: digest}
	for _, kv := range res.Env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			ref.Path = p
		}
	}
	return ref, nil
}

// imageDigest picks the registry digest of image's own repository among an
// image's repo digests (an image pulled under two names has one per name),
// else the image ID.
func imageDigest(image string, repoDigests []string, id string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err == nil {
		for _, d := range repoDigests {
			if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
				return d
			}
		}
	}
	return id
}
