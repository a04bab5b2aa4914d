// Package sandbox runs untrusted code in locked-down containers.
//
// Sandbox is the seam: start a container from an image, run commands in it
// with a hard timeout and capped output, stream a long-lived process (the
// agent's persistent shell), copy files in and out as tar, and remove it.
// The Docker implementation talks to the Engine API through
// github.com/moby/moby/client, the maintained continuation of
// github.com/docker/docker/client, negotiating the API version (Engine
// 20.10 speaks 1.41).
//
// # Docker
//
//	rt := sandbox.NewDocker(cli, sandbox.Options{})
//	n, err := rt.Reap(ctx, runID)        // at startup: remove orphans of dead runs
//	sb, err := rt.Create(ctx, sandbox.Spec{Image: img, RunID: runID, Task: id})
//	defer sb.Close(ctx)
//	res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "-c", script}, Timeout: time.Minute})
//
// Every container gets: NetworkMode none (Spec.Network opts out), CapDrop
// ALL (Spec.SwitchUser keeps SETUID and SETGID for root), no-new-privileges,
// a pids limit, memory with swap = memory, a CPU quota and
// Spec.CpusetCpus, a sized tmpfs on /tmp (exec allowed), a read-only
// rootfs when Spec.ReadOnly, docker-init as PID 1 running
// `sleep infinity` (imported images have no CMD), PATH and friends in Env,
// and the labels sweval.managed=1, sweval.run, sweval.instance plus the
// creating process (host, boot id, pid, pid start time).
//
// Exec runs the command under `timeout` inside the container (SIGTERM,
// SIGKILL 2 s later) with stderr joined to stdout so output keeps its
// order; output streams into a CapBuffer (head + tail kept, the middle
// counted), so memory does not grow with output. The harness also keeps
// its own deadline: when the harness shares the daemon's host (a local
// socket; detected by reading the container's cgroup from /proc and
// /sys/fs/cgroup), it kills the exec's process group itself, since the
// Engine API cannot kill an exec, and after every Exec it kills whatever
// the command left in its process group (a daemon that must outlive its
// Exec has to setsid). ExitCode comes from ExecInspect after Running turns
// false. OOMKilled is read from the cgroup's oom_kill counter.
//
// CopyIn and CopyOut pipe tar through `tar -x`/`tar -c` execs: the Engine's
// archive endpoint refuses a read-only rootfs and cannot see tmpfs mounts.
//
// # Orphans and signals
//
// Reap (at startup) removes managed containers whose owner process is dead
// on this host (kill -9, crash, reboot), never those of a live process.
// On SIGINT/SIGTERM, the caller cancels its context (signal.NotifyContext)
// and calls Docker.CloseAll, which removes this process's containers with
// a fresh context; RemoveRun removes every container of one run id.
package sandbox
