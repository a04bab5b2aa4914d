package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PushTarget is where Push puts image under registry (HOST[:PORT][/PATH]):
// the image's own repository path and tag below it, e.g. sweval/env:KEY
// under 127.0.0.1:5000 → 127.0.0.1:5000/sweval/env:KEY.
func PushTarget(registry, image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	named = reference.TagNameOnly(named)
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return "", fmt.Errorf("image %q has no tag to push under", image)
	}
	return registry + "/" + reference.Path(named) + ":" + tagged.Tag(), nil
}

// Push copies image from the builder's store (Docker or containerd) to
// the registry reference target with go-containerregistry, and returns
// target@digest. The archive the store saves is the image description:
// the pushed config is byte for byte the store's, so the image ID a pull
// gives back, like the content key in its labels, is the one built.
// Credentials come from the standard Docker config, as for pulls; a
// loopback or private-network registry is spoken to over plain HTTP.
func (b *Builder) Push(ctx context.Context, image, target string) (string, error) {
	ref, err := name.ParseReference(target)
	if err != nil {
		return "", fmt.Errorf("push target %q: %w", target, err)
	}
	work, err := newWorkDir(b.opts.TempDir, rootfsPrefix)
	if err != nil {
		return "", err
	}
	defer work.Remove()
	path := filepath.Join(work.Path, "image.tar")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	err = b.store.save(ctx, image, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("push %s: save it from the store: %w", image, err)
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return os.Open(path) }, nil)
	if err != nil {
		return "", fmt.Errorf("push %s: read the saved image: %w", image, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", image, target, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	b.log.Info("pushed", "image", image, "to", target, "digest", d.String())
	return ref.Context().Digest(d.String()).String(), nil
}
