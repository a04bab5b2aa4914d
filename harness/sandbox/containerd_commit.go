package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/rootfs"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var _ Committer = (*ctrSandbox)(nil)

// ImageChange is what a new layer changes in its image's config besides
// the layer itself.
type ImageChange struct {
	// Labels are merged into the config's labels; an empty value blanks one.
	Labels map[string]string
	// Workdir, when set, becomes the config's working directory.
	Workdir string
	// Comment is the history entry's comment.
	Comment string
}

// Commit implements Committer on containerd the way `nerdctl commit`
// does: the container's snapshot is diffed against its image (the task
// paused meanwhile; /tmp is a tmpfs mount, not in the snapshot), the diff
// becomes one more layer of a copy of the image's config and manifest, and
// the new image is unpacked so containers can start from it. The
// container's own labels (run, instance) are blanked, as on Docker.
func (s *ctrSandbox) Commit(ctx context.Context, ref string, labels map[string]string) (string, error) {
	return s.CommitChange(ctx, ref, ImageChange{Labels: labels})
}

// CommitChange is Commit with change applied to the new image's config:
// how the image builder sets a layer's working directory.
func (s *ctrSandbox) CommitChange(ctx context.Context, ref string, change ImageChange) (string, error) {
	c := s.c
	ctx = c.ns(ctx)
	ctx, done, err := c.cli.WithLease(ctx)
	if err != nil {
		return "", fmt.Errorf("commit %s: lease: %w", shortID(s.id), err)
	}
	defer done(context.WithoutCancel(ctx))
	if err := s.task.Pause(ctx); err == nil {
		defer func() { _ = s.task.Resume(context.WithoutCancel(ctx)) }()
	}
	info, err := s.cont.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("commit %s: container info: %w", shortID(s.id), err)
	}
	parent, err := s.cont.Image(ctx)
	if err != nil {
		return "", fmt.Errorf("commit %s: its image: %w", shortID(s.id), err)
	}
	layer, err := rootfs.CreateDiff(ctx, info.SnapshotKey, c.cli.SnapshotService(info.Snapshotter), c.cli.DiffService(),
		// Uncompressed: the layer stays local unless pushed, and gzip of
		// a large diff costs more than the diff itself.
		diff.WithReference("sweval-commit-"+s.id), diff.WithMediaType(ocispec.MediaTypeImageLayer))
	if err != nil {
		return "", fmt.Errorf("commit %s: diff its filesystem: %w", shortID(s.id), err)
	}
	// Uncompressed, the layer is its own diff ID.
	if layer.MediaType != ocispec.MediaTypeImageLayer {
		return "", fmt.Errorf("commit %s: the differ wrote a %s layer, not the uncompressed one asked for", shortID(s.id), layer.MediaType)
	}
	change.Labels = imageLabels(change.Labels)
	if change.Comment == "" {
		change.Comment = "sweval commit " + s.id
	}
	img, err := c.appendLayer(ctx, parent, layer, layer.Digest, ref, change)
	if err != nil {
		return "", fmt.Errorf("commit %s to %s: %w", shortID(s.id), ref, err)
	}
	return img, nil
}

// AppendLayer makes ref the image parent plus one layer, the uncompressed
// tar read from layer, with change applied to its config, and unpacks it:
// how the image builder writes a layer whose content it knows (a copy of
// files) without starting a container. It returns the new config digest.
func (c *Containerd) AppendLayer(ctx context.Context, parent, ref string, layer io.Reader, change ImageChange) (string, error) {
	ctx = c.ns(ctx)
	ctx, done, err := c.cli.WithLease(ctx)
	if err != nil {
		return "", fmt.Errorf("append a layer to %s: lease: %w", parent, err)
	}
	defer done(context.WithoutCancel(ctx))
	img, err := c.image(ctx, parent)
	if err != nil {
		return "", fmt.Errorf("append a layer to %s: %w", parent, err)
	}
	cs := c.cli.ContentStore()
	w, err := content.OpenWriter(ctx, cs, content.WithRef("sweval-layer-"+ref+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)))
	if err != nil {
		return "", fmt.Errorf("append a layer to %s: open the content store: %w", parent, err)
	}
	defer w.Close()
	n, err := io.Copy(w, layer)
	if err != nil {
		return "", fmt.Errorf("append a layer to %s: write the layer: %w", parent, err)
	}
	dgst := w.Digest()
	if err := w.Commit(ctx, n, dgst); err != nil && !cerrdefs.IsAlreadyExists(err) {
		return "", fmt.Errorf("append a layer to %s: commit the layer: %w", parent, err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: dgst, Size: n}
	change.Labels = imageLabels(change.Labels)
	if change.Comment == "" {
		change.Comment = "sweval layer"
	}
	id, err := c.appendLayer(ctx, img, desc, dgst, ref, change)
	if err != nil {
		return "", fmt.Errorf("append a layer to %s as %s: %w", parent, ref, err)
	}
	return id, nil
}

// appendLayer writes the config and manifest of parent plus layer, names
// them ref and unpacks the image.
func (c *Containerd) appendLayer(ctx context.Context, parent containerd.Image, layer ocispec.Descriptor, diffID digest.Digest, ref string, change ImageChange) (string, error) {
	cs := c.cli.ContentStore()
	plat := platforms.Default()
	manifest, err := images.Manifest(ctx, cs, parent.Target(), plat)
	if err != nil {
		return "", fmt.Errorf("read %s's manifest: %w", parent.Name(), err)
	}
	raw, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return "", fmt.Errorf("read %s's config: %w", parent.Name(), err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return "", fmt.Errorf("decode %s's config: %w", parent.Name(), err)
	}
	now := time.Now().UTC()
	cfg.Created = &now
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	cfg.History = append(cfg.History, ocispec.History{Created: &now, CreatedBy: "sweval", Comment: change.Comment})
	if len(change.Labels) > 0 {
		l := map[string]string{}
		maps.Copy(l, cfg.Config.Labels)
		maps.Copy(l, change.Labels)
		cfg.Config.Labels = l
	}
	if change.Workdir != "" {
		cfg.Config.WorkingDir = change.Workdir
	}
	cfgDesc, err := writeJSON(ctx, cs, manifest.Config.MediaType, cfg, nil)
	if err != nil {
		return "", fmt.Errorf("write the config: %w", err)
	}
	manifest.Config = cfgDesc
	manifest.Layers = append(manifest.Layers, layer)
	// The GC labels keep the config and layers alive while the manifest is.
	gc := map[string]string{"containerd.io/gc.ref.content.config": cfgDesc.Digest.String()}
	for i, l := range manifest.Layers {
		gc["containerd.io/gc.ref.content.l."+strconv.Itoa(i)] = l.Digest.String()
	}
	mt := manifest.MediaType
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
		if manifest.Config.MediaType == images.MediaTypeDockerSchema2Config {
			mt = images.MediaTypeDockerSchema2Manifest
		}
	}
	mDesc, err := writeJSON(ctx, cs, mt, manifest, gc)
	if err != nil {
		return "", fmt.Errorf("write the manifest: %w", err)
	}
	mDesc.Platform = &ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	rec := images.Image{Name: ref, Target: mDesc, Labels: map[string]string{LabelManaged: "1"}}
	if err := c.putImage(ctx, rec, "target", "labels"); err != nil {
		return "", err
	}
	img := containerd.NewImageWithPlatform(c.cli, rec, plat)
	if err := img.Unpack(ctx, c.opts.Snapshotter); err != nil {
		return "", fmt.Errorf("unpack %s into %s: %w", ref, c.opts.Snapshotter, err)
	}
	return cfgDesc.Digest.String(), nil
}

// writeJSON writes v as a blob of media type mt to the content store.
func writeJSON(ctx context.Context, cs content.Store, mt string, v any, labels map[string]string) (ocispec.Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	var opts []content.Opt
	if labels != nil {
		opts = append(opts, content.WithLabels(labels))
	}
	if err := content.WriteBlob(ctx, cs, "sweval-"+desc.Digest.Encoded(), bytes.NewReader(b), desc, opts...); err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, nil
}

// RemoveImage deletes image ref from the runtime's namespace (its
// snapshots and blobs go with the next garbage collection).
func (c *Containerd) RemoveImage(ctx context.Context, ref string) error {
	ctx = c.ns(ctx)
	if err := c.cli.ImageService().Delete(ctx, ref); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("sandbox: remove containerd image %s: %w", ref, err)
	}
	return nil
}

// ImageInfo is what the image builder reads of an image.
type ImageInfo struct {
	ID     string // the config digest
	Labels map[string]string
	Env    []string
	Size   int64 // bytes of the image's content
	// RepoDigest is name@digest in the registry it was pulled from (""
	// for an image that was not pulled).
	RepoDigest string
}

// ImageInfo reads image ref of the runtime's namespace; an absent image is
// an error for which errdefs.IsNotFound holds.
func (c *Containerd) ImageInfo(ctx context.Context, ref string) (ImageInfo, error) {
	ctx = c.ns(ctx)
	img, err := c.image(ctx, ref)
	if err != nil {
		return ImageInfo{}, err
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("sandbox: config of %s: %w", ref, err)
	}
	spec, err := img.Spec(ctx)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("sandbox: read the config of %s: %w", ref, err)
	}
	size, _ := img.Size(ctx)
	return ImageInfo{ID: cfg.Digest.String(), Labels: spec.Config.Labels, Env: spec.Config.Env, Size: size, RepoDigest: img.Labels()[LabelRepoDigest]}, nil
}

// TagImage names the image source also target.
func (c *Containerd) TagImage(ctx context.Context, source, target string) error {
	ctx = c.ns(ctx)
	img, err := c.image(ctx, source)
	if err != nil {
		return fmt.Errorf("sandbox: tag %s: %w", source, err)
	}
	rec := images.Image{Name: target, Target: img.Target(), Labels: img.Labels()}
	if err := c.putImage(ctx, rec, "target"); err != nil {
		return fmt.Errorf("sandbox: tag %s as %s: %w", source, target, err)
	}
	return nil
}

// putImage creates the image record rec, or updates fields of the one
// already under its name.
func (c *Containerd) putImage(ctx context.Context, rec images.Image, fields ...string) error {
	is := c.cli.ImageService()
	if _, err := is.Create(ctx, rec); err != nil {
		if !cerrdefs.IsAlreadyExists(err) {
			return fmt.Errorf("create image %s: %w", rec.Name, err)
		}
		if _, err := is.Update(ctx, rec, fields...); err != nil {
			return fmt.Errorf("update image %s: %w", rec.Name, err)
		}
	}
	return nil
}

// ExportImage writes image ref as an archive that both `docker load` and
// containerd's import read (an OCI layout with Docker's manifest.json),
// for this platform.
func (c *Containerd) ExportImage(ctx context.Context, ref string, w io.Writer) error {
	ctx = c.ns(ctx)
	img, err := c.image(ctx, ref)
	if err != nil {
		return fmt.Errorf("sandbox: export %s: %w", ref, err)
	}
	if err := c.cli.Export(ctx, w, archive.WithImage(c.cli.ImageService(), img.Name()), archive.WithPlatform(platforms.Default())); err != nil {
		return fmt.Errorf("sandbox: export %s: %w", ref, err)
	}
	return nil
}
