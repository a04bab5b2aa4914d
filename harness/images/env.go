package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// EnvSpec describes an env layer: local files installed offline on a base.
type EnvSpec struct {
	// DebsDir holds .deb files, installed together with dpkg -i.
	DebsDir string
	// WheelsDir holds .whl files, installed with pip --no-index.
	WheelsDir string
}

// Names are checked so nothing odd reaches the builder's shell glob, and so a
// wheel keeps the name pip parses its version from.
var (
	debFileName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+~%-]*\.deb$`)
	wheelFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+!-]*\.whl$`)
)

// Paths inside env images.
const (
	envDebsDir   = "/tmp/sweval-env/debs"
	envWheelsDir = "/tmp/sweval-env/wheels"
)

// EnvFiles lists and hashes the files an env spec adds, sorted by kind and
// name. Files that are neither .deb nor .whl are an error, so a typo'd
// directory does not silently build an empty layer.
func EnvFiles(spec EnvSpec) ([]EnvFile, error) {
	var out []EnvFile
	for _, d := range []struct {
		kind, dir, ext string
		re             *regexp.Regexp
		flag           string
	}{
		{"deb", spec.DebsDir, ".deb", debFileName, "--env-debs"},
		{"wheel", spec.WheelsDir, ".whl", wheelFileName, "--env-wheels"},
	} {
		if d.dir == "" {
			continue
		}
		ents, err := os.ReadDir(d.dir)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", d.flag, d.dir, err)
		}
		n := 0
		for _, e := range ents {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") {
				continue
			}
			if !strings.HasSuffix(name, d.ext) {
				return nil, fmt.Errorf("%s %s: %s is not a %s file: remove it or move it elsewhere", d.flag, d.dir, name, d.ext)
			}
			if !d.re.MatchString(name) {
				return nil, fmt.Errorf("%s %s: file name %q has characters outside %s: rename it", d.flag, d.dir, name, d.re)
			}
			p := filepath.Join(d.dir, name)
			sum, err := fileSHA256(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.flag, err)
			}
			out = append(out, EnvFile{Kind: d.kind, Name: name, SHA256: sum, Path: p})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s %s: no %s files in it", d.flag, d.dir, d.ext)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EnvDockerfile is the Dockerfile of an env layer on base with files.
func EnvDockerfile(base string, files []EnvFile) string {
	return envBuild(base, files).Dockerfile()
}

// envBuild installs files on base: the .debs with one dpkg -i (so they
// may depend on each other; with no network a missing dependency fails
// the build, as it should), then the wheels with pip, offline.
func envBuild(base string, files []EnvFile) recipe {
	r := recipe{From: base}
	var debs, wheels bool
	for _, f := range files {
		dir := "debs"
		if f.Kind == "wheel" {
			dir = "wheels"
		}
		r.Files = append(r.Files, ctxFile{Name: dir + "/" + f.Name, Path: f.Path})
		debs = debs || f.Kind == "deb"
		wheels = wheels || f.Kind == "wheel"
	}
	if debs {
		r.Steps = append(r.Steps, step{Copy: "debs/", Dest: envDebsDir + "/"},
			step{Run: []string{"/bin/sh", "-c", fmt.Sprintf("dpkg -i %s/*.deb && rm -rf %s", envDebsDir, envDebsDir)}})
	}
	if wheels {
		r.Steps = append(r.Steps, step{Copy: "wheels/", Dest: envWheelsDir + "/"},
			step{Run: []string{"/bin/sh", "-c", fmt.Sprintf("python3 -m pip install --no-index --no-cache-dir --disable-pip-version-check --break-system-packages --find-links %s %s/*.whl && rm -rf %s", envWheelsDir, envWheelsDir, envWheelsDir)}})
	}
	return r
}

// EnvRef returns the ref of the env layer of spec on base, built or not; with
// no files the env is the base itself.
func (b *Builder) EnvRef(base Ref, spec EnvSpec) (Ref, []EnvFile, error) {
	files, err := EnvFiles(spec)
	if err != nil {
		return Ref{}, nil, err
	}
	if len(files) == 0 {
		return base, nil, nil
	}
	if base.Key == "" {
		return Ref{}, nil, fmt.Errorf("base %s has no key: get its Ref from Base or Resolve", base.Tag)
	}
	key := EnvKey(base.Key, files)
	return Ref{Tag: EnvRepo + ":" + key, Key: key, Layer: LayerEnv}, files, nil
}

// Env builds (or finds) base plus the .debs and wheels of spec, installed
// with no network. With no files it returns base unchanged.
func (b *Builder) Env(ctx context.Context, base Ref, spec EnvSpec) (Ref, error) {
	ref, files, err := b.EnvRef(base, spec)
	if err != nil {
		return Ref{}, fmt.Errorf("env image: %w", err)
	}
	if len(files) == 0 {
		return base, nil
	}
	log := b.log.With("image", ref.Tag)
	unlock, err := b.lock(ctx, ref.Key)
	if err != nil {
		return Ref{}, err
	}
	defer unlock()
	if ok, err := b.present(ctx, ref.Tag); err != nil {
		return Ref{}, err
	} else if ok {
		log.Info("env image present", "layer", LayerEnv)
		return ref, nil
	}
	if ok, err := b.present(ctx, base.Tag); err != nil {
		return Ref{}, err
	} else if !ok {
		return Ref{}, fmt.Errorf("env image: base image %s is not present: build it first (sweval images base)", base.Tag)
	}
	lf, err := b.openLog(ref.Tag)
	if err != nil {
		return Ref{}, err
	}
	defer lf.Close()
	for _, f := range files {
		fmt.Fprintf(lf, "# %s %s sha256:%s\n", f.Kind, f.Name, f.SHA256)
	}
	t0 := time.Now()
	log.Info("building env image", "base", base.Tag, "files", len(files), "log", lf.Name())
	err = b.store.build(ctx, ref.Tag, labels(LayerEnv, ref.Key, base.Key, nil), envBuild(base.Tag, files), lf)
	if err != nil {
		fmt.Fprintf(lf, "FAILED: %v\n", err)
		return Ref{}, fmt.Errorf("env image %s: %w (full log: %s)", ref.Tag, err, lf.Name())
	}
	log.Info("env image built", "seconds", time.Since(t0).Round(time.Millisecond).Seconds())
	return ref, nil
}
