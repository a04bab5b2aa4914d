package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// DefaultSuite is the Debian release base images are made from.
const DefaultSuite = "bookworm"

// DefaultPackages are installed in every base image unless BaseSpec.Packages
// replaces them.
var DefaultPackages = []string{
	"python3", "python3-pytest", "python3-pip", "python3-setuptools", "python3-wheel",
	"python3-poetry-core", "python3-hatchling", "flit", "git", "patch", "procps",
	// SWE-bench test commands and many repos' scripts call `python`.
	"python-is-python3",
}

// DefaultPATH is set in base images: imported rootfs tarballs carry no ENV.
const DefaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BaseSpec describes a base image.
type BaseSpec struct {
	Suite    string   // default DefaultSuite
	Packages []string // nil: DefaultPackages
	Extra    []string // added to Packages
	// Mirror overrides the mirror read from apt's sources (not part of the key).
	Mirror string
	// Aliases are extra tags to give the image, e.g. "sweval/base:test".
	Aliases []string
}

// packages returns the normalised package list of s.
func (s BaseSpec) packages() []string {
	p := s.Packages
	if p == nil {
		p = DefaultPackages
	}
	return normPackages(append(slices.Clone(p), s.Extra...))
}

func (s BaseSpec) suite() string {
	if s.Suite == "" {
		return DefaultSuite
	}
	return s.Suite
}

// BaseRef returns the ref the base image of spec has, built or not.
func (b *Builder) BaseRef(spec BaseSpec) Ref {
	key := BaseKey(spec.suite(), b.opts.Arch, spec.packages())
	return Ref{Tag: BaseRepo + ":" + key, Key: key, Layer: LayerBase}
}

// pkgName accepts Debian package and suite names (policy §5.6.1), which
// also keeps option-like text out of debootstrap's argv.
func pkgName(p string) bool {
	if p == "" || p[0] == '-' {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("+-.:=", c)) {
			return false
		}
	}
	return true
}

// Base builds (or finds) the base image: debootstrap --variant=minbase of the
// suite with the packages, imported into the Engine. debootstrap needs root.
func (b *Builder) Base(ctx context.Context, spec BaseSpec) (Ref, error) {
	pkgs := spec.packages()
	for _, p := range pkgs {
		if !pkgName(p) {
			return Ref{}, fmt.Errorf("base image: %q is not a Debian package name", p)
		}
	}
	if !pkgName(spec.suite()) {
		return Ref{}, fmt.Errorf("base image: %q is not a Debian suite name", spec.suite())
	}
	ref := b.BaseRef(spec)
	log := b.log.With("image", ref.Tag)

	unlock, err := b.lock(ctx, ref.Key)
	if err != nil {
		return Ref{}, err
	}
	defer unlock()

	ok, err := b.present(ctx, ref.Tag)
	if err != nil {
		return Ref{}, err
	}
	if ok {
		log.Info("base image present", "layer", LayerBase)
		return ref, b.tagAliases(ctx, ref.Tag, spec.Aliases)
	}

	if ok, err := b.store.importCached(ctx, ref, io.Discard); err != nil {
		return Ref{}, fmt.Errorf("base image %s: %w", ref.Tag, err)
	} else if ok {
		log.Info("base image imported from the kept archive", "layer", LayerBase)
		return ref, b.tagAliases(ctx, ref.Tag, spec.Aliases)
	}

	mirror := spec.Mirror
	if mirror == "" {
		srcs, err := ReadAptSources(b.opts.AptDir)
		if err != nil {
			return Ref{}, fmt.Errorf("base image: read apt sources: %w", err)
		}
		if mirror, err = PickMirror(srcs, spec.suite()); err != nil {
			return Ref{}, fmt.Errorf("base image: %w", err)
		}
	}
	if strings.HasPrefix(mirror, "-") {
		return Ref{}, fmt.Errorf("base image: mirror %q is not a URI", mirror)
	}

	lf, err := b.openLog(ref.Tag)
	if err != nil {
		return Ref{}, err
	}
	defer lf.Close()
	fail := func(what string, err error) (Ref, error) {
		fmt.Fprintf(lf, "FAILED: %s: %v\n", what, err)
		return Ref{}, fmt.Errorf("base image %s: %s: %w (full log: %s)", ref.Tag, what, err, lf.Name())
	}

	work, err := newWorkDir(b.opts.TempDir, rootfsPrefix)
	if err != nil {
		return Ref{}, fmt.Errorf("base image: temp dir: %w", err)
	}
	tmp := work.Path
	rootfs := filepath.Join(tmp, "rootfs")
	defer func() {
		if err := work.Remove(); err != nil {
			log.Warn("could not remove rootfs", "dir", tmp, "err", err)
		}
	}()

	log.Info("building base image", "suite", spec.suite(), "mirror", mirror, "packages", len(pkgs), "log", lf.Name())
	t0 := time.Now()
	args := []string{"--variant=minbase", "--arch=" + b.opts.Arch, "--include=" + strings.Join(pkgs, ","), spec.suite(), rootfs, mirror}
	fmt.Fprintf(lf, "$ %s %s\n", b.opts.Debootstrap, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, b.opts.Debootstrap, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if os.Geteuid() != 0 {
			err = fmt.Errorf("%w (debootstrap needs root)", err)
		}
		return fail("debootstrap", fmt.Errorf("%w; last lines:\n%s", err, tailFile(lf.Name(), 15)))
	}
	log.Info("debootstrap done", "seconds", time.Since(t0).Round(time.Second).Seconds())
	// Downloaded .debs and apt lists are dead weight in an offline image.
	for _, g := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages", "var/lib/apt/lists/*_InRelease", "var/lib/apt/lists/*_Release"} {
		m, _ := filepath.Glob(filepath.Join(rootfs, g))
		for _, f := range m {
			os.Remove(f)
		}
	}

	if err := b.store.importRootfs(ctx, rootfs, ref, lf); err != nil {
		return fail("import", err)
	}
	if ok, err := b.present(ctx, ref.Tag); err != nil || !ok {
		return fail("import", fmt.Errorf("image not present after import (err %v)", err))
	}
	fmt.Fprintf(lf, "# done in %s\n", time.Since(t0).Round(time.Second))
	log.Info("base image built", "seconds", time.Since(t0).Round(time.Second).Seconds())
	return ref, b.tagAliases(ctx, ref.Tag, spec.Aliases)
}

// importRootfs streams `tar -C rootfs -c .` into the Engine's image import.
func (b *Builder) importRootfs(ctx context.Context, rootfs string, ref Ref, lf io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tar := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", rootfs, "-c", ".")
	tar.Stderr = lf
	out, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	if err := tar.Start(); err != nil {
		return fmt.Errorf("start tar: %w", err)
	}
	env, lbls := rootfsConfig(ref)
	changes := []string{"WORKDIR /", labelInstruction(lbls)}
	for _, kv := range env {
		changes = append(changes, "ENV "+kv)
	}
	fmt.Fprintf(lf, "$ tar -C %s -c . | import %s %q\n", rootfs, ref.Tag, changes)
	res, err := b.cli.ImageImport(ctx, client.ImageImportSource{Source: out, SourceName: "-"}, ref.Tag,
		client.ImageImportOptions{Changes: changes, Message: "sweval base " + ref.Key})
	if err != nil {
		cancel()
		tar.Wait()
		return fmt.Errorf("image import: %w", err)
	}
	derr := drainJSON(res, lf)
	res.Close()
	// The daemon has read everything it wants; tar must have ended cleanly.
	terr := tar.Wait()
	if derr != nil {
		return fmt.Errorf("image import: %w", derr)
	}
	if terr != nil {
		return fmt.Errorf("tar of rootfs: %w", terr)
	}
	return nil
}

// removeRootfs removes a debootstrap target, first unmounting anything a
// failed debootstrap left mounted inside (proc, sys): removing through a
// live mount would delete from the host.
func removeRootfs(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
	if left, _ := mountsUnder(dir); len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %v; unmount them, then remove it by hand", dir, left)
	}
	return os.RemoveAll(dir)
}

func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	abs, _ := filepath.Abs(dir)
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 4 {
			mp := unescapeMount(fs[4])
			if mp == abs || strings.HasPrefix(mp, abs+"/") {
				out = append(out, mp)
			}
		}
	}
	return out, sc.Err()
}

// unescapeMount decodes mountinfo's octal escapes (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
