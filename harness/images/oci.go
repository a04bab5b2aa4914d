package images

import (
	"bytes"
	"fmt"
	"io"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// OCILayer is one image layer built without Docker: a tar of files (as
// sandbox.WriteFiles writes them) whose content key is recorded as a label.
type OCILayer struct {
	// Tar is the layer's uncompressed tar stream.
	Tar []byte
	// Layer and Key become the labels sweval.layer and sweval.key.
	Layer, Key string
}

// OCIImage stacks layers on base (nil: an empty image) as an image
// description that does not depend on where it goes: WriteImageTarball's
// output loads into Docker (`docker load`) and imports into containerd
// with the same config digest, so the image id, like the content key,
// is identical in both.
func OCIImage(base v1.Image, layers ...OCILayer) (v1.Image, error) {
	img := base
	if img == nil {
		return nil, fmt.Errorf("images: OCI image: a base image is required (read one with ImageFromTarball)")
	}
	for _, l := range layers {
		data := l.Tar
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		if err != nil {
			return nil, fmt.Errorf("images: OCI layer %s: %w", l.Key, err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, fmt.Errorf("images: append OCI layer %s: %w", l.Key, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("images: read config: %w", err)
		}
		cfg := cf.Config.DeepCopy()
		labels := map[string]string{}
		maps.Copy(labels, cfg.Labels)
		labels[LabelManaged] = "1"
		labels[LabelLayer] = l.Layer
		labels[LabelKey] = l.Key
		cfg.Labels = labels
		if img, err = mutate.Config(img, *cfg); err != nil {
			return nil, fmt.Errorf("images: label OCI layer %s: %w", l.Key, err)
		}
	}
	return img, nil
}

// ImageFromTarball reads an image from a `docker save` or OCI tarball
// (opened anew on every read, as the library streams layers lazily); tag
// picks one image of several, or "" for the only one.
func ImageFromTarball(open func() (io.ReadCloser, error), tag string) (v1.Image, error) {
	var t *name.Tag
	if tag != "" {
		nt, err := name.NewTag(tag)
		if err != nil {
			return nil, fmt.Errorf("images: tag %q: %w", tag, err)
		}
		t = &nt
	}
	img, err := tarball.Image(tarball.Opener(open), t)
	if err != nil {
		return nil, fmt.Errorf("images: read image tarball: %w", err)
	}
	return img, nil
}

// WriteImageTarball writes img tagged ref as a `docker save`-format
// tarball, which both `docker load` and containerd's Import accept.
func WriteImageTarball(w io.Writer, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("images: tag %q: %w", ref, err)
	}
	if err := tarball.Write(tag, img, w); err != nil {
		return fmt.Errorf("images: write image tarball %s: %w", ref, err)
	}
	return nil
}
