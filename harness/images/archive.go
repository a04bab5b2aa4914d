package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
)

// ArchiveName is the file an image is saved to by SaveFile: its reference
// with "/" and ":" made safe, plus ".tar".
func ArchiveName(image string) string {
	return strings.NewReplacer("/", "_", ":", "_", "@", "_").Replace(image) + ".tar"
}

// SaveFile writes image (present locally) as a docker-archive tarball
// (what `docker save` writes; `docker load` and `sweval images load` read
// it) into dir and returns its path. The file appears whole or not at all:
// it is written under a temporary name and renamed.
func (b *Builder) SaveFile(ctx context.Context, image, dir string) (string, error) {
	if ok, err := b.present(ctx, image); err != nil {
		return "", err
	} else if !ok {
		return "", fmt.Errorf("save %s: not present locally: pull it first (sweval images pull)", image)
	}
	path := filepath.Join(dir, ArchiveName(image))
	if err := writeAtomic(path, func(w io.Writer) error { return b.store.save(ctx, image, w) }); err != nil {
		return "", fmt.Errorf("save %s to %s: %w", image, path, err)
	}
	return path, nil
}

// writeAtomic writes path with write: under a temporary name in its
// directory (made if missing), synced, then renamed, so the file appears
// whole or not at all.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// LoadFile loads a docker-archive (or OCI) tarball into the builder's
// store and returns the images it named.
func (b *Builder) LoadFile(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	loaded, err := b.store.load(ctx, f)
	if err != nil {
		return loaded, fmt.Errorf("load %s: %w", path, err)
	}
	b.log.Info("loaded", "file", path, "images", loaded)
	return loaded, nil
}

func (s dockerStore) save(ctx context.Context, image string, w io.Writer) error {
	rc, err := s.b.cli.ImageSave(ctx, []string{image})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

func (s dockerStore) load(ctx context.Context, r io.Reader) ([]string, error) {
	res, err := s.b.cli.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var loaded []string
	dec := json.NewDecoder(res)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return loaded, fmt.Errorf("read Engine response: %w", err)
		}
		if m.Error != nil {
			return loaded, fmt.Errorf("is it a docker-archive tarball, as docker save and sweval images save write? %s", m.Error.Message)
		}
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if s, ok := strings.CutPrefix(strings.TrimSpace(m.Stream), prefix); ok {
				loaded = append(loaded, s)
			}
		}
	}
	if len(loaded) == 0 {
		return nil, errors.New("the Engine loaded no image from it")
	}
	return loaded, nil
}

// ArchiveFiles expands the arguments of `images load`: a directory stands
// for the .tar files directly in it.
func ArchiveFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.tar"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("load: %s holds no .tar files", a)
		}
		out = append(out, m...)
	}
	return out, nil
}
