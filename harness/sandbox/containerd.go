package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"sync"

	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Containerd defaults for the CLI flags.
const (
	DefaultContainerdAddress   = "/run/containerd/containerd.sock"
	DefaultContainerdNamespace = "sweval"
)

// ContainerdOptions tune a containerd runtime on top of the shared Options.
type ContainerdOptions struct {
	Options
	// Namespace is the containerd namespace every object lives in
	// (default DefaultContainerdNamespace).
	Namespace string
	// Snapshotter is the snapshotter name (default "overlayfs").
	Snapshotter string
	// Source, when set, supplies a `docker save` tarball of an image that
	// is not in the namespace yet (e.g. from the Docker daemon the image
	// builder uses); Create imports it once. Images are named by their
	// content key, so an imported name never goes stale.
	Source func(ctx context.Context, ref string) (io.ReadCloser, error)
}

// Containerd is the Runtime backed by containerd's v2 client. It speaks to
// containerd 1.6 and newer. Images must already be in the namespace (see
// ImportImage): containerd does not see Docker's image store.
type Containerd struct {
	cli   *containerd.Client
	opts  ContainerdOptions
	log   *slog.Logger
	owner Owner

	importMu sync.Mutex
	mu       sync.Mutex
	live     map[string]*ctrSandbox
	creates  inFlight
}

var _ Runtime = (*Containerd)(nil)

// NewContainerd returns a Runtime creating locked-down containers through
// cli, with the same defaults as NewDocker.
func NewContainerd(cli *containerd.Client, opts ContainerdOptions) *Containerd {
	d := NewDocker(nil, opts.Options) // fills the shared defaults
	opts.Options = d.opts
	if opts.Namespace == "" {
		opts.Namespace = DefaultContainerdNamespace
	}
	if opts.Snapshotter == "" {
		opts.Snapshotter = "overlayfs"
	}
	return &Containerd{cli: cli, opts: opts, log: opts.Logger, owner: d.owner, live: map[string]*ctrSandbox{}}
}

// Client returns the containerd client the runtime uses.
func (c *Containerd) Client() *containerd.Client { return c.cli }

func (c *Containerd) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.opts.Namespace)
}

// ImportImage imports a `docker save` / OCI tarball into the runtime's
// namespace and unpacks it into the snapshotter, returning the image names.
func (c *Containerd) ImportImage(ctx context.Context, tarball io.Reader) ([]string, error) {
	ctx = c.ns(ctx)
	imgs, err := c.cli.Import(ctx, tarball)
	if err != nil {
		return nil, fmt.Errorf("sandbox: import image into containerd: %w (is the tarball from `docker save`?)", err)
	}
	var names []string
	for _, i := range imgs {
		img := containerd.NewImage(c.cli, i)
		if err := img.Unpack(ctx, c.opts.Snapshotter); err != nil {
			return nil, fmt.Errorf("sandbox: unpack %s into snapshotter %s: %w", i.Name, c.opts.Snapshotter, err)
		}
		names = append(names, i.Name)
	}
	return names, nil
}

// image looks ref up as given and as Docker normalises it (`docker save`
// names images docker.io/library/NAME:TAG).
func (c *Containerd) image(ctx context.Context, ref string) (containerd.Image, error) {
	img, err := c.cli.GetImage(ctx, ref)
	if err == nil || !cerrdefs.IsNotFound(err) {
		return img, err
	}
	if named, perr := reference.ParseDockerRef(ref); perr == nil && named.String() != ref {
		if img, nerr := c.cli.GetImage(ctx, named.String()); nerr == nil {
			return img, nil
		}
	}
	return nil, err
}

// importFromSource imports ref from opts.Source, one import at a time so
// concurrent workers do not each copy the same image.
func (c *Containerd) importFromSource(ctx context.Context, ref string) (containerd.Image, error) {
	c.importMu.Lock()
	defer c.importMu.Unlock()
	if img, err := c.image(ctx, ref); err == nil {
		return img, nil
	}
	rc, err := c.opts.Source(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("sandbox: export %s for containerd: %w", ref, err)
	}
	defer rc.Close()
	start := time.Now()
	if _, err := c.ImportImage(ctx, rc); err != nil {
		return nil, err
	}
	c.log.Info("sandbox: imported image into containerd", "image", ref, "namespace", c.opts.Namespace, "took", time.Since(start).Round(time.Millisecond))
	return c.image(ctx, ref)
}

// HasImage reports whether ref is in the runtime's namespace.
func (c *Containerd) HasImage(ctx context.Context, ref string) bool {
	_, err := c.image(c.ns(ctx), ref)
	return err == nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "sweval-" + hex.EncodeToString(b)
}

// Create starts a container from spec.Image whose init idles until
// commands are exec'd in it. The init is a shell loop rather than `sleep`
// so that orphaned processes are reaped (Docker's runtime uses docker-init).
func (c *Containerd) Create(ctx context.Context, spec Spec) (Sandbox, error) {
	if spec.Image == "" {
		return nil, errors.New("sandbox: Spec.Image is empty: name the image to run")
	}
	ctx = c.ns(ctx)
	img, err := c.image(ctx, spec.Image)
	if err != nil && cerrdefs.IsNotFound(err) && c.opts.Source != nil {
		img, err = c.importFromSource(ctx, spec.Image)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: containerd image %s: %w (import it: `docker save %s | ctr -n %s images import -`)", spec.Image, err, spec.Image, c.opts.Namespace)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: create containerd container from %s: %w", spec.Image, err)
	}
	defer c.creates.begin()()
	id := newID()
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	maps.Copy(labels, c.owner.Labels())
	labels[LabelManaged] = "1"
	labels[LabelRun] = spec.RunID
	labels[LabelInstance] = spec.Task

	// Not cancelled with ctx, as Docker's create: containerd may finish a
	// create whose client has gone, so it is seen through and, if ctx
	// ended meanwhile, the container removed here.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	cont, err := c.cli.NewContainer(cctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(c.opts.Snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithContainerLabels(labels),
		containerd.WithNewSpec(c.specOpts(img, spec)...),
	)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("sandbox: create containerd container from %s: %w", spec.Image, err)
	}
	sb := &ctrSandbox{c: c, id: id, cont: cont, spec: spec}
	c.mu.Lock()
	c.live[id] = sb
	c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		_ = sb.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: create containerd container from %s: %w", spec.Image, err)
	}
	task, err := cont.NewTask(ctx, cio.NullIO)
	if err != nil {
		_ = sb.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: create task for %s: %w", shortID(id), err)
	}
	sb.task = task
	if err := task.Start(ctx); err != nil {
		_ = sb.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: start task for %s: %w", shortID(id), err)
	}
	if !c.opts.NoHostView {
		sb.host = probeHost(int(task.Pid()), id)
	}
	if limit := diskBudget(spec.DiskBytes, c.opts.DiskBytes); limit > 0 {
		sb.watchContainerdDisk(limit)
	}
	c.log.Debug("sandbox created", "runtime", "containerd", "container", shortID(id), "image", spec.Image, "run", spec.RunID, "instance", spec.Task)
	return sb, nil
}

// idleInit is PID 1: it waits forever and, as a shell, reaps the orphans
// reparented to it.
var idleInit = []string{"sh", "-c", `trap 'exit 0' TERM; while :; do sleep 86400 & wait $!; done`}

// specOpts is the lockdown, the same as Docker's: a new network namespace
// (runc brings up lo and nothing else), no capabilities, no_new_privs,
// the default seccomp profile, the default masked/readonly /proc paths,
// pids/memory(=memory+swap)/CPU/cpuset limits, a tmpfs /tmp.
func (c *Containerd) specOpts(img containerd.Image, spec Spec) []oci.SpecOpts {
	mem := orDefault(spec.MemoryBytes, c.opts.MemoryBytes)
	pids := orDefault(spec.PidsLimit, c.opts.PidsLimit)
	tmpfs := orDefault(spec.TmpfsBytes, c.opts.TmpfsBytes)
	cpus := orDefault(spec.NanoCPUs, c.opts.NanoCPUs)
	const period = 100000
	workdir := spec.Workdir
	if workdir == "" {
		workdir = "/"
	}
	caps := []string{}
	if spec.SwitchUser {
		caps = []string{"CAP_SETUID", "CAP_SETGID"}
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(idleInit...),
		oci.WithEnv(mergeEnv(defaultEnv(), spec.Env)),
		oci.WithProcessCwd(workdir),
		oci.WithCapabilities(caps),
		oci.WithNoNewPrivileges,
		seccomp.WithDefaultProfile(),
		oci.WithMemoryLimit(uint64(mem)),
		oci.WithMemorySwap(mem),
		oci.WithPidsLimit(pids),
		oci.WithCPUCFS(cpus*period/1e9, period),
		oci.WithMounts([]specs.Mount{{
			Destination: "/tmp", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(tmpfs, 10)},
		}}),
	}
	if spec.Network {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostResolvconf, oci.WithHostHostsFile)
	}
	if spec.CpusetCpus != "" {
		opts = append(opts, oci.WithCPUs(spec.CpusetCpus))
	}
	if spec.ReadOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	return opts
}

// CloseAll removes every sandbox this runtime created and has not closed.
func (c *Containerd) CloseAll(ctx context.Context) error {
	c.creates.wait(ctx)
	return closeLive(ctx, &c.mu, c.live)
}

// Reap removes managed containers (and their tasks) whose owner process is
// gone, by the same rules as (*Docker).Reap.
func (c *Containerd) Reap(ctx context.Context, currentRunID string) (removed int, err error) {
	ctx = c.ns(ctx)
	list, err := c.cli.Containers(ctx, "labels."+strconv.Quote(LabelManaged)+"==1")
	if err != nil {
		return 0, fmt.Errorf("sandbox: reap: list containerd containers: %w (is containerd running at the given address?)", err)
	}
	var errs []error
	for _, cont := range list {
		info, err := cont.Info(ctx, containerd.WithoutRefreshedMetadata)
		if err != nil {
			continue
		}
		owner, hasOwner := ownerFromLabels(info.Labels)
		switch {
		case hasOwner:
			if alive, known := owner.liveness(c.owner); !known || alive {
				continue
			}
		case time.Since(info.CreatedAt) > unownedGrace:
		default:
			continue
		}
		if err := removeContainer(ctx, cont); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		c.log.Info("sandbox: reaped orphan container", "runtime", "containerd", "container", shortID(cont.ID()),
			"run", info.Labels[LabelRun], "current_run", info.Labels[LabelRun] == currentRunID)
	}
	return removed, errors.Join(errs...)
}

// removeContainer kills and deletes the task, then the container and its
// snapshot.
func removeContainer(ctx context.Context, cont containerd.Container) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if task, err := cont.Task(rctx, nil); err == nil {
		_, err := task.Delete(rctx, containerd.WithProcessKill)
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("sandbox: delete task %s: %w (ctr -n NS task kill -s KILL %s)", shortID(cont.ID()), err, cont.ID())
		}
	}
	if err := cont.Delete(rctx, containerd.WithSnapshotCleanup); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("sandbox: delete container %s: %w (ctr -n NS containers rm %s)", shortID(cont.ID()), err, cont.ID())
	}
	return nil
}

// ctrSandbox is one containerd container with its running task.
type ctrSandbox struct {
	c    *Containerd
	id   string
	cont containerd.Container
	task containerd.Task
	spec Spec
	host *hostView

	procOnce sync.Once
	proc     *specs.Process // the container's process, template of every exec
	disk     *diskWatch     // nil when the budget is off
	procErr  error

	oomMu   sync.Mutex
	oomSeen int64

	closeMu sync.Mutex
	closed  bool
}

var _ Sandbox = (*ctrSandbox)(nil)

func (s *ctrSandbox) ID() string { return s.id }

// Close kills the task and removes the container. Idempotent.
func (s *ctrSandbox) Close(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.disk.Stop()
	if err := removeContainer(s.c.ns(ctx), s.cont); err != nil {
		return err
	}
	s.closed = true
	s.c.mu.Lock()
	delete(s.c.live, s.id)
	s.c.mu.Unlock()
	return nil
}

// taskState reports whether the init still runs and whether it died
// by SIGKILL with the OOM counter up (the container OOM-killed as a whole).
func (s *ctrSandbox) taskState(ctx context.Context) (running, oom bool) {
	st, err := s.task.Status(s.c.ns(context.WithoutCancel(ctx)))
	if err != nil {
		return false, false
	}
	if st.Status == containerd.Running {
		return true, false
	}
	n, ok := s.host.oomKills()
	return false, st.ExitStatus == exitKilled && ok && n > 0
}

func (s *ctrSandbox) oomSince(ctx context.Context) bool {
	n, ok := s.host.oomKills()
	if !ok {
		out, _ := s.run(ctx, []string{"cat", "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}, nil, 10*time.Second)
		n, ok = parseOOMKill(out)
	}
	if !ok {
		return false
	}
	s.oomMu.Lock()
	defer s.oomMu.Unlock()
	grew := n > s.oomSeen
	s.oomSeen = max(s.oomSeen, n)
	return grew
}

// killTree kills an exec's leftovers (its process group) from the host when
// visible; containerd itself kills only the exec's own process.
func (s *ctrSandbox) killTree(pid uint32, exited bool) {
	if s.host != nil && pid > 0 {
		s.host.killTree(int(pid), exited)
	}
}
