package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"path"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/sandbox"
)

// A recipe whose steps only copy files and set the working directory (an
// instance layer: the repository at /testbed) is one layer whose content
// is known before any container exists. Both stores write that layer as a
// tar and append it to the FROM image's config, instead of copying the
// files into a container and diffing its filesystem afterwards: on a FUSE
// overlay the Engine's commit walks the whole tree (seconds per image),
// and the classic builder commits once per step.

// layerOnly reports whether r can be written as one layer.
func (r recipe) layerOnly() bool {
	for _, st := range r.Steps {
		if len(st.Run) > 0 {
			return false
		}
	}
	return len(r.Steps) > 0
}

// workdir is the working directory r's last WORKDIR step sets ("" for none).
func (r recipe) workdir() string {
	w := ""
	for _, st := range r.Steps {
		if st.Workdir != "" {
			w = st.Workdir
		}
	}
	return w
}

// layerEntries are the entries of r's one layer, as the Engine's COPY and
// WORKDIR leave them: each destination directory root's 0755, the copied
// entries under it with their context modes and times, owned by root.
func (r recipe) layerEntries() ([]sandbox.File, error) {
	var out []sandbox.File
	seen := map[string]bool{}
	dir := func(p string) {
		for _, d := range parentsOf(p) {
			if !seen[d] {
				seen[d] = true
				out = append(out, sandbox.File{Name: d, Mode: fs.ModeDir | 0o755, ModTime: contextEpoch})
			}
		}
	}
	for _, st := range r.Steps {
		switch {
		case st.Copy != "":
			dest := strings.Trim(path.Clean("/"+st.Dest), "/")
			if dest == "" {
				return nil, fmt.Errorf("COPY %s %s: a layer into / is not written directly", st.Copy, st.Dest)
			}
			dir(dest)
			entries, err := r.subtree(st.Copy)
			if err != nil {
				return nil, fmt.Errorf("COPY %s: %w", st.Copy, err)
			}
			for _, e := range entries {
				e.Name = dest + "/" + e.Name
				if e.Mode&fs.ModeDir != 0 {
					seen[e.Name] = true
				}
				out = append(out, e)
			}
		case st.Workdir != "":
			if d := strings.Trim(path.Clean("/"+st.Workdir), "/"); d != "" {
				dir(d)
			}
		}
	}
	return out, nil
}

// parentsOf lists p and its parent directories, outermost first.
func parentsOf(p string) []string {
	var out []string
	for d := p; d != "." && d != "/" && d != ""; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

// countingHash is a writer that only hashes and counts.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// layerDigest writes entries once to learn the layer's size and digest
// (its diff ID: the layer is uncompressed) without keeping it anywhere.
func layerDigest(entries []sandbox.File) (size int64, sum string, err error) {
	c := &countingHash{h: sha256.New()}
	if err := sandbox.WriteFiles(c, entries...); err != nil {
		return 0, "", err
	}
	return c.n, hex.EncodeToString(c.h.Sum(nil)), nil
}

// loadLayer builds r (layerOnly) in the Engine as tag: a docker-archive
// holding only the new layer and a config of r.From's plus that layer is
// loaded; the Engine finds r.From's layers by their chain IDs and does not
// read them from the archive, so only the new layer is written, once.
func (s dockerStore) loadLayer(ctx context.Context, tag string, lbls map[string]string, r recipe, lf io.Writer) error {
	start := time.Now()
	parent, err := s.b.cli.ImageInspect(ctx, r.From)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", r.From, err)
	}
	entries, err := r.layerEntries()
	if err != nil {
		return err
	}
	size, sum, err := layerDigest(entries)
	if err != nil {
		return fmt.Errorf("write the layer: %w", err)
	}
	diffID := "sha256:" + sum
	// The parent's whole config, Docker's extensions (healthcheck, shell,
	// onbuild) included.
	var cfg dockerspec.DockerOCIImageConfig
	if parent.Config != nil {
		cfg = *parent.Config
	}
	labels := map[string]string{}
	maps.Copy(labels, cfg.Labels)
	maps.Copy(labels, lbls)
	cfg.Labels = labels
	if w := r.workdir(); w != "" {
		cfg.WorkingDir = w
	}
	now := time.Now().UTC()
	diffIDs := append(append([]string{}, parent.RootFS.Layers...), diffID)
	history := append(s.parentHistory(ctx, r.From, len(parent.RootFS.Layers)),
		map[string]any{"created": now, "created_by": "sweval: " + strings.ReplaceAll(strings.TrimSpace(r.Dockerfile()), "\n", "; ")})
	config := map[string]any{
		"architecture": parent.Architecture, "os": parent.Os, "created": now,
		"config": cfg, "history": history,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	if parent.Variant != "" {
		config["variant"] = parent.Variant
	}
	cfgJSON, err := json.Marshal(config)
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfgJSON)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	layers := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		layers[i] = strings.TrimPrefix(d, "sha256:") + "/layer.tar"
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": layers}})
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeLayerArchive(pw, manifest, cfgName, cfgJSON, layers[len(layers)-1], size, sum, entries))
	}()
	defer pr.Close()
	res, err := s.b.cli.ImageLoad(ctx, pr, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load the layer of %s: %w", tag, err)
	}
	defer res.Close()
	if err := drainJSON(res, lf); err != nil {
		return fmt.Errorf("load the layer of %s: %w", tag, err)
	}
	fmt.Fprintf(lf, "# %s: one %d-byte layer (%s) on %s, written and loaded in %s\n", tag, size, diffID, r.From, time.Since(start).Round(time.Millisecond))
	return nil
}

// parentHistory is image's history as config entries, oldest first, so
// that `docker history` of the new image still names each parent layer.
// The Engine's history API does not say which entries made no layer; an
// entry of size 0 is taken as one that did not, and when that does not
// account for the layers exactly, one plain entry per layer stands in.
func (s dockerStore) parentHistory(ctx context.Context, image string, layers int) []map[string]any {
	plain := func() []map[string]any {
		out := make([]map[string]any, layers)
		for i := range out {
			out[i] = map[string]any{"created_by": fmt.Sprintf("layer %d of %s", i+1, image)}
		}
		return out
	}
	res, err := s.b.cli.ImageHistory(ctx, image)
	if err != nil {
		return plain()
	}
	var out []map[string]any
	made := 0
	for i := len(res.Items) - 1; i >= 0; i-- {
		h := res.Items[i]
		e := map[string]any{"created": time.Unix(h.Created, 0).UTC(), "created_by": h.CreatedBy}
		if h.Comment != "" {
			e["comment"] = h.Comment
		}
		if h.Size == 0 {
			e["empty_layer"] = true
		} else {
			made++
		}
		out = append(out, e)
	}
	if made != layers {
		return plain()
	}
	return out
}

// writeLayerArchive writes a docker-archive: manifest, config, and the
// layer, whose bytes must hash to sum (the files changed in between
// otherwise).
func writeLayerArchive(w io.Writer, manifest []byte, cfgName string, cfgJSON []byte, layerName string, size int64, sum string, entries []sandbox.File) error {
	tw := tar.NewWriter(w)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", manifest}, {cfgName, cfgJSON}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: contextEpoch}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: layerName, Mode: 0o644, Size: size, ModTime: contextEpoch}); err != nil {
		return err
	}
	h := sha256.New()
	if err := sandbox.WriteFiles(io.MultiWriter(tw, h), entries...); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return errors.New("the layer's files changed while it was written")
	}
	return tw.Close()
}

// appendLayer builds r (layerOnly) in the containerd namespace as tag:
// the layer goes straight into the content store and onto a copy of
// r.From's config and manifest, then is unpacked; no sandbox runs.
func (s ctrStore) appendLayer(ctx context.Context, tag string, lbls map[string]string, r recipe, lf io.Writer) error {
	start := time.Now()
	entries, err := r.layerEntries()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sandbox.WriteFiles(pw, entries...)) }()
	defer pr.Close()
	if _, err := s.rt.AppendLayer(ctx, r.From, tag, pr, sandbox.ImageChange{Labels: lbls, Workdir: r.workdir(), Comment: "sweval build " + tag}); err != nil {
		return err
	}
	fmt.Fprintf(lf, "# %s: one layer on %s, written and unpacked in %s\n", tag, r.From, time.Since(start).Round(time.Millisecond))
	return nil
}
