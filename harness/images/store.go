package images

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/sandbox"
)

// store is where a Builder keeps and builds images: the Docker Engine
// (New) or a containerd namespace alone (NewContainerd). Both build from
// the same recipes, so a layer's tag and content key are the same in
// either.
type store interface {
	// inspect reads an image; an absent one is an error for which
	// isNotFound holds.
	inspect(ctx context.Context, image string) (imageInfo, error)
	// importRootfs makes ref.Tag a one-layer image of the directory rootfs.
	importRootfs(ctx context.Context, rootfs string, ref Ref, lf io.Writer) error
	// importCached makes ref.Tag from an image archive an earlier
	// importRootfs kept, reporting false when there is none.
	importCached(ctx context.Context, ref Ref, lf io.Writer) (bool, error)
	// build builds r as tag with labels lbls, with no network.
	build(ctx context.Context, tag string, lbls map[string]string, r recipe, lf io.Writer) error
	tag(ctx context.Context, source, target string) error
	remove(ctx context.Context, image string) error
	// save writes image as an archive `docker load` and containerd's
	// import both read; load reads one and returns the images it named.
	save(ctx context.Context, image string, w io.Writer) error
	load(ctx context.Context, r io.Reader) ([]string, error)
	// puller prepares pulling image from its registry (credentials read
	// once) and returns one attempt; Builder.Pull retries it.
	puller(ctx context.Context, image string) (func(context.Context) error, error)
}

// imageInfo is what the builder reads of an image, in either store.
type imageInfo struct {
	ID          string // config digest
	Labels      map[string]string
	Env         []string
	RepoDigests []string // Docker's; containerd's for an image it pulled (sweval.repo-digest)
	Size        int64
}

// rootfsConfig is the config every base image gets, in either store.
func rootfsConfig(ref Ref) (env []string, labels map[string]string) {
	return []string{"PATH=" + DefaultPATH, "LANG=C.UTF-8"},
		map[string]string{LabelManaged: "1", LabelLayer: LayerBase, LabelKey: ref.Key}
}

// dockerStore keeps images in the Docker Engine.
type dockerStore struct{ b *Builder }

func (s dockerStore) inspect(ctx context.Context, image string) (imageInfo, error) {
	res, err := s.b.cli.ImageInspect(ctx, image)
	if err != nil {
		return imageInfo{}, err
	}
	info := imageInfo{ID: res.ID, RepoDigests: res.RepoDigests, Size: res.Size}
	if res.Config != nil {
		info.Labels, info.Env = res.Config.Labels, res.Config.Env
	}
	return info, nil
}

func (s dockerStore) build(ctx context.Context, tag string, lbls map[string]string, r recipe, lf io.Writer) error {
	if r.layerOnly() && !s.b.opts.CopyInContainer {
		return s.loadLayer(ctx, tag, lbls, r, lf)
	}
	return s.b.buildImage(ctx, tag, lbls, r.Dockerfile(), r.Files, r.Dirs, lf)
}

func (s dockerStore) importRootfs(ctx context.Context, rootfs string, ref Ref, lf io.Writer) error {
	return s.b.importRootfs(ctx, rootfs, ref, lf)
}

func (dockerStore) importCached(context.Context, Ref, io.Writer) (bool, error) { return false, nil }

func (s dockerStore) tag(ctx context.Context, source, target string) error {
	_, err := s.b.cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return err
}

func (s dockerStore) remove(ctx context.Context, image string) error {
	_, err := s.b.cli.ImageRemove(ctx, image, client.ImageRemoveOptions{PruneChildren: true})
	return err
}

// ctrStore keeps images in a containerd namespace and builds them with
// no Docker at all: a base is an OCI image written with
// go-containerregistry from the debootstrap tree and imported; a recipe
// runs in a locked-down sandbox of its FROM image (no network, as
// Docker's builds) and the sandbox is committed.
type ctrStore struct {
	rt *sandbox.Containerd
	b  *Builder
}

// buildRunID labels the sandboxes builds run in, so a killed build's are
// reaped like any dead run's.
const buildRunID = "sweval-image-build"

// buildStepTimeout bounds one RUN step of a recipe.
const buildStepTimeout = 30 * time.Minute

func (s ctrStore) inspect(ctx context.Context, image string) (imageInfo, error) {
	info, err := s.rt.ImageInfo(ctx, image)
	if err != nil {
		return imageInfo{}, err
	}
	out := imageInfo{ID: info.ID, Labels: info.Labels, Env: info.Env, Size: info.Size}
	if info.RepoDigest != "" {
		out.RepoDigests = []string{info.RepoDigest}
	}
	return out, nil
}

func (s ctrStore) tag(ctx context.Context, source, target string) error {
	return s.rt.TagImage(ctx, source, target)
}

func (s ctrStore) remove(ctx context.Context, image string) error {
	return s.rt.RemoveImage(ctx, image)
}

func (s ctrStore) save(ctx context.Context, image string, w io.Writer) error {
	return s.rt.ExportImage(ctx, image, w)
}

func (s ctrStore) load(ctx context.Context, r io.Reader) ([]string, error) {
	return s.rt.ImportImage(ctx, r)
}

// baseArchive is where the containerd store keeps a base's image archive:
// a namespace or a containerd wiped later imports it again in seconds
// instead of another debootstrap, and `docker load` takes it as it is.
func (s ctrStore) baseArchive(ref Ref) string {
	return filepath.Join(s.b.opts.CacheDir, "images", "oci", LayerBase+"-"+ref.Key+".tar")
}

func (s ctrStore) importCached(ctx context.Context, ref Ref, lf io.Writer) (bool, error) {
	f, err := os.Open(s.baseArchive(ref))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fmt.Fprintf(lf, "# importing the kept image archive %s\n", f.Name())
	if _, err := s.rt.ImportImage(ctx, f); err != nil {
		return false, fmt.Errorf("import the kept base archive %s: %w (remove it to build the base again)", f.Name(), err)
	}
	return true, nil
}

// importRootfs writes rootfs as a one-layer OCI image (go-containerregistry)
// in a `docker save`-format archive, kept in the cache dir, and imports
// it: the same image description `docker load` or a registry push takes.
func (s ctrStore) importRootfs(ctx context.Context, rootfs string, ref Ref, lf io.Writer) error {
	work, err := newWorkDir(s.b.opts.TempDir, rootfsPrefix)
	if err != nil {
		return err
	}
	defer work.Remove()
	layerTar := filepath.Join(work.Path, "layer.tar")
	fmt.Fprintf(lf, "$ tar --numeric-owner -C %s -cf %s .\n", rootfs, layerTar)
	cmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", rootfs, "-cf", layerTar, ".")
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("tar of rootfs: %w", err)
	}
	layer, err := tarball.LayerFromFile(layerTar, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return fmt.Errorf("OCI layer of rootfs: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("OCI image of rootfs: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.b.opts.Arch
	env, lbls := rootfsConfig(ref)
	cf.Config = v1.Config{Env: env, Labels: lbls, WorkingDir: "/"}
	cf.Created = v1.Time{Time: time.Now().UTC()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("OCI config of rootfs: %w", err)
	}
	archive := s.baseArchive(ref)
	if err := writeAtomic(archive, func(w io.Writer) error { return WriteImageTarball(w, ref.Tag, img) }); err != nil {
		return fmt.Errorf("keep the base archive %s: %w", archive, err)
	}
	fmt.Fprintf(lf, "# OCI image %s written to %s (layer gzip, fastest)\n", ref.Tag, archive)
	ok, err := s.importCached(ctx, ref, lf)
	if err == nil && !ok {
		err = fmt.Errorf("the base archive %s went missing", archive)
	}
	return err
}

// build runs r in a sandbox of r.From and commits it as tag: copies go in
// as tar streams, RUN steps are exec'd as the image's user (root) with the
// sandbox's lockdown and no network, and the working directory of the last
// WORKDIR step is set on the image.
func (s ctrStore) build(ctx context.Context, tag string, lbls map[string]string, r recipe, lf io.Writer) error {
	if r.layerOnly() && !s.b.opts.CopyInContainer {
		return s.appendLayer(ctx, tag, lbls, r, lf)
	}
	fmt.Fprintf(lf, "# recipe (run in a containerd sandbox, then committed):\n%s\n", r.Dockerfile())
	sb, err := s.rt.Create(ctx, sandbox.Spec{Image: r.From, RunID: buildRunID, Task: tag, Workdir: "/"})
	if err != nil {
		return fmt.Errorf("start a build sandbox of %s: %w", r.From, err)
	}
	defer sb.Close(context.WithoutCancel(ctx))
	workdir := ""
	for _, st := range r.Steps {
		switch {
		case st.Copy != "":
			entries, err := r.subtree(st.Copy)
			if err != nil {
				return fmt.Errorf("COPY %s: %w", st.Copy, err)
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(sandbox.WriteFiles(pw, entries...)) }()
			err = sb.CopyIn(ctx, st.Dest, pr)
			pr.Close()
			if err != nil {
				return fmt.Errorf("COPY %s %s: %w", st.Copy, st.Dest, err)
			}
		case len(st.Run) > 0:
			res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: st.Run, Dir: workdir, Timeout: buildStepTimeout})
			lf.Write(res.Output)
			if err != nil {
				return fmt.Errorf("RUN %s: %w", strings.Join(st.Run, " "), err)
			}
			if res.ExitCode != 0 || res.TimedOut || res.OOMKilled {
				return fmt.Errorf("RUN %s: exit %d (timed out %v, OOM %v); last output:\n%s", strings.Join(st.Run, " "), res.ExitCode, res.TimedOut, res.OOMKilled, tailBytes(res.Output, 2000))
			}
		case st.Workdir != "":
			if _, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"mkdir", "-p", st.Workdir}}); err != nil {
				return fmt.Errorf("WORKDIR %s: %w", st.Workdir, err)
			}
			workdir = st.Workdir
		}
	}
	c, ok := sb.(interface {
		CommitChange(ctx context.Context, ref string, change sandbox.ImageChange) (string, error)
	})
	if !ok {
		return errors.New("the containerd sandbox cannot commit")
	}
	_, err = c.CommitChange(ctx, tag, sandbox.ImageChange{Labels: lbls, Workdir: workdir, Comment: "sweval build " + tag})
	return err
}

// tailBytes is the last n bytes of b, as text.
func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// errNeedsDocker is what a Docker-only operation returns on a builder
// that keeps its images in containerd.
func errNeedsDocker(what string) error {
	return fmt.Errorf("%s needs the Docker Engine: this builder keeps its images in containerd alone (--image-store containerd); do it on a machine with Docker and move the image with `sweval images save` / `ctr images import`", what)
}
