package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Labels every sandbox container carries. The owner labels let a later
// start tell containers of a live harness process from those a killed one
// left behind (see Reap).
const (
	LabelManaged    = "sweval.managed"
	LabelRun        = "sweval.run"
	LabelInstance   = "sweval.instance"
	LabelOwnerHost  = "sweval.owner.host"
	LabelOwnerBoot  = "sweval.owner.boot"
	LabelOwnerPID   = "sweval.owner.pid"
	LabelOwnerStart = "sweval.owner.start"
)

// Package defaults for Spec limits left at zero.
const (
	DefaultMemoryBytes = 4 << 30
	DefaultPidsLimit   = 512
	DefaultTmpfsBytes  = 1 << 30
	DefaultExecTimeout = 30 * time.Minute
	DefaultOutputLimit = 1 << 20
)

// DefaultPath is the PATH set in every container: imported images have no
// ENV of their own.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options tune a Docker runtime. Zero values mean the package defaults.
type Options struct {
	Logger      *slog.Logger
	MemoryBytes int64 // default DefaultMemoryBytes
	NanoCPUs    int64 // default min(2, NumCPU) CPUs
	PidsLimit   int64 // default DefaultPidsLimit
	TmpfsBytes  int64 // default DefaultTmpfsBytes
	DiskBytes   int64 // default DefaultDiskBytes; <0 disables the watchdog
	ExecTimeout time.Duration
	OutputLimit int
	// KillGrace is how long past an exec's timeout the harness waits for
	// the in-container `timeout` before killing the exec itself (default 5s).
	KillGrace time.Duration
	// NoHostView stops the harness from reading containers' cgroups and
	// killing their processes from this host, as if the daemon were
	// remote: timeouts then rest on the in-container `timeout` alone.
	NoHostView bool
	// Owner labels containers with the creating process; default
	// CurrentOwner().
	Owner *Owner
}

// Docker is the Runtime backed by the Docker Engine API.
type Docker struct {
	cli   *client.Client
	opts  Options
	log   *slog.Logger
	owner Owner

	mu      sync.Mutex
	live    map[string]*dockerSandbox
	creates inFlight
}

var _ Runtime = (*Docker)(nil)

// NewDocker returns a Runtime creating locked-down containers through cli.
// The client negotiates the API version on its first request (Engine 20.10
// speaks 1.41; newer daemons work too).
func NewDocker(cli *client.Client, opts Options) *Docker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MemoryBytes == 0 {
		opts.MemoryBytes = DefaultMemoryBytes
	}
	if opts.NanoCPUs == 0 {
		opts.NanoCPUs = int64(min(2, runtime.NumCPU())) * 1e9
	}
	if opts.PidsLimit == 0 {
		opts.PidsLimit = DefaultPidsLimit
	}
	if opts.TmpfsBytes == 0 {
		opts.TmpfsBytes = DefaultTmpfsBytes
	}
	if opts.ExecTimeout == 0 {
		opts.ExecTimeout = DefaultExecTimeout
	}
	if opts.OutputLimit == 0 {
		opts.OutputLimit = DefaultOutputLimit
	}
	if opts.KillGrace == 0 {
		opts.KillGrace = 5 * time.Second
	}
	owner := CurrentOwner()
	if opts.Owner != nil {
		owner = *opts.Owner
	}
	return &Docker{cli: cli, opts: opts, log: opts.Logger, owner: owner, live: map[string]*dockerSandbox{}}
}

// Client returns the Docker client the runtime uses.
func (d *Docker) Client() *client.Client { return d.cli }

// Create starts a container from spec.Image that idles (sleep infinity
// under docker-init, which reaps zombies) until commands are exec'd in it.
func (d *Docker) Create(ctx context.Context, spec Spec) (Sandbox, error) {
	if spec.Image == "" {
		return nil, errors.New("sandbox: Spec.Image is empty: name the image to run")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: create container from %s: %w", spec.Image, err)
	}
	defer d.creates.begin()()
	cfg, hc := d.containerConfig(spec)
	// Not cancelled with ctx: the Engine finishes a create whose client has
	// gone, so the create is seen through and, if ctx ended meanwhile,
	// the container removed here.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	created, err := d.cli.ContainerCreate(cctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("sandbox: create container from %s: %w (is the image built? `sweval images ls`)", spec.Image, err)
	}
	sb := &dockerSandbox{d: d, id: created.ID, spec: spec, readOnly: spec.ReadOnly}
	d.mu.Lock()
	d.live[sb.id] = sb
	d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		_ = sb.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: create container from %s: %w", spec.Image, err)
	}
	if _, err := d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		_ = sb.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: start container %.12s from %s: %w", created.ID, spec.Image, err)
	}
	// Probe in the background whether the container's processes are visible
	// here; the first Exec needs the answer.
	go sb.hostV(context.WithoutCancel(ctx))
	if limit := diskBudget(spec.DiskBytes, d.opts.DiskBytes); limit > 0 {
		sb.watchDockerDisk(limit)
	}
	d.log.Debug("sandbox created", "container", shortID(created.ID), "image", spec.Image, "run", spec.RunID, "instance", spec.Task)
	return sb, nil
}

// containerConfig turns a Spec into the locked-down create request.
func (d *Docker) containerConfig(spec Spec) (*container.Config, *container.HostConfig) {
	mem := orDefault(spec.MemoryBytes, d.opts.MemoryBytes)
	pids := orDefault(spec.PidsLimit, d.opts.PidsLimit)
	tmpfs := orDefault(spec.TmpfsBytes, d.opts.TmpfsBytes)
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	maps.Copy(labels, d.owner.Labels())
	labels[LabelManaged] = "1"
	labels[LabelRun] = spec.RunID
	labels[LabelInstance] = spec.Task

	workdir := spec.Workdir
	if workdir == "" {
		workdir = "/"
	}
	init := true
	netMode := container.NetworkMode("none")
	if spec.Network {
		netMode = "default"
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: []string{"sleep", "infinity"},
		Env:        mergeEnv(defaultEnv(), spec.Env),
		WorkingDir: workdir,
		Labels:     labels,
		// No StopSignal/healthcheck: the harness always kills and removes.
	}
	var capAdd []string
	if spec.SwitchUser {
		capAdd = []string{"SETUID", "SETGID"}
	}
	hc := &container.HostConfig{
		NetworkMode:    netMode,
		CapAdd:         capAdd,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: spec.ReadOnly,
		Init:           &init,
		LogConfig:      container.LogConfig{Type: "none"}, // PID 1 prints nothing
		Tmpfs: map[string]string{
			"/tmp": fmt.Sprintf("rw,nosuid,nodev,exec,mode=1777,size=%d", tmpfs),
		},
		Resources: container.Resources{
			Memory:     mem,
			MemorySwap: mem, // memory + swap = memory: no swap
			NanoCPUs:   orDefault(spec.NanoCPUs, d.opts.NanoCPUs),
			CpusetCpus: spec.CpusetCpus,
			PidsLimit:  &pids,
		},
	}
	return cfg, hc
}

func defaultEnv() []string {
	return []string{"PATH=" + DefaultPath, "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}
}

// mergeEnv returns base with over's keys replacing base's.
func mergeEnv(base, over []string) []string {
	out := make([]string, 0, len(base)+len(over))
	idx := map[string]int{}
	for _, kv := range append(append([]string{}, base...), over...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// CloseAll removes every sandbox this runtime created and has not closed
// yet. Call it on SIGINT/SIGTERM (e.g. after signal.NotifyContext fires);
// it ignores ctx cancellation for the removals themselves.
func (d *Docker) CloseAll(ctx context.Context) error {
	d.creates.wait(ctx)
	return closeLive(ctx, &d.mu, d.live)
}

// createTimeout bounds one container create, which is not cancelled with
// its caller's context.
const createTimeout = 2 * time.Minute

// inFlight counts the creates in progress, which CloseAll waits for: a
// create the runtime finishes after its caller gave up would otherwise
// leave a container nobody tracks.
type inFlight struct {
	mu sync.Mutex
	n  int
}

// begin counts one create; call the returned func when it has returned.
func (f *inFlight) begin() (done func()) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.n--
		f.mu.Unlock()
	}
}

// wait returns when no create is in progress or ctx ends.
func (f *inFlight) wait(ctx context.Context) {
	for {
		f.mu.Lock()
		n := f.n
		f.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// closeLive closes every sandbox in live (guarded by mu) for both runtimes'
// CloseAll, outside the lock, since Close removes itself from live.
func closeLive[S interface{ Close(context.Context) error }](ctx context.Context, mu *sync.Mutex, live map[string]S) error {
	mu.Lock()
	sbs := make([]S, 0, len(live))
	for _, sb := range live {
		sbs = append(sbs, sb)
	}
	mu.Unlock()
	var errs []error
	for _, sb := range sbs {
		errs = append(errs, sb.Close(ctx))
	}
	return errors.Join(errs...)
}

// dockerSandbox is one container.
type dockerSandbox struct {
	d        *Docker
	id       string
	spec     Spec
	readOnly bool

	hostOnce sync.Once
	host     *hostView // nil when the daemon's processes are not visible here

	oomMu   sync.Mutex
	oomSeen int64

	disk *diskWatch // nil when the budget is off

	closeMu sync.Mutex
	closed  bool
}

var _ Sandbox = (*dockerSandbox)(nil)

func (s *dockerSandbox) ID() string { return s.id }

// hostV probes once whether this process can see the container's processes.
func (s *dockerSandbox) hostV(ctx context.Context) *hostView {
	s.hostOnce.Do(func() {
		if s.d.opts.NoHostView {
			return
		}
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		res, err := s.d.cli.ContainerInspect(ictx, s.id, client.ContainerInspectOptions{})
		if err != nil || res.Container.State == nil {
			return
		}
		s.host = probeHost(res.Container.State.Pid, s.id)
		if s.host == nil {
			s.d.log.Debug("sandbox: container processes not visible from this host; relying on in-container timeouts", "container", shortID(s.id))
		}
	})
	return s.host
}

// Close kills and removes the container (with its anonymous volumes). It is
// idempotent and works with a cancelled ctx.
func (s *dockerSandbox) Close(ctx context.Context) error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.disk.Stop()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	_, err := s.d.cli.ContainerRemove(rctx, s.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return fmt.Errorf("sandbox: remove container %s: %w (remove it by hand: docker rm -f %s)", shortID(s.id), err, s.id)
	}
	s.closed = true
	s.d.mu.Lock()
	delete(s.d.live, s.id)
	s.d.mu.Unlock()
	return nil
}

func isRemovalInProgress(err error) bool {
	return err != nil && strings.Contains(err.Error(), "already in progress")
}

// oomSince reports whether the container's OOM-kill counter grew since the
// last look. It reads the cgroup from the host when it can, else inside
// the container.
func (s *dockerSandbox) oomSince(ctx context.Context) bool {
	n, ok := s.hostV(ctx).oomKills()
	if !ok {
		n, ok = s.oomKillsInside(ctx)
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

func (s *dockerSandbox) oomKillsInside(ctx context.Context) (int64, bool) {
	// One of the two files exists (v2, v1); cat fails on the other.
	out, _ := s.run(ctx, []string{"cat", "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}, nil, 10*time.Second)
	return parseOOMKill(out)
}

// containerOOMKilled asks the daemon whether the container itself died of
// OOM (then every exec fails).
func (s *dockerSandbox) containerState(ctx context.Context) (running, oom bool) {
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := s.d.cli.ContainerInspect(ictx, s.id, client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil {
		return false, false
	}
	return res.Container.State.Running, res.Container.State.OOMKilled
}

// parseOOMKill finds the "oom_kill N" line of memory.oom_control (cgroup
// v1) or memory.events (v2).
func parseOOMKill(data []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "oom_kill" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
