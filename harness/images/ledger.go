package images

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// pulledLedger is the file (under the cache directory) that lists the
// images sweval pulled, one JSON object a line, so that removing images to
// save disk never touches one a user pulled or built: a pulled image
// carries no label of ours.
const pulledLedger = "pulled.jsonl"

type ledgerEntry struct {
	Image  string    `json:"image"`
	ID     string    `json:"id"`
	Pulled time.Time `json:"pulled"`
}

// recordPull appends image (by its ID now) to the ledger, under an
// exclusive lock: several runs may pull at once.
func (b *Builder) recordPull(ctx context.Context, image string) error {
	res, err := b.store.inspect(ctx, image)
	if err != nil {
		return fmt.Errorf("inspect pulled image %s: %w", image, err)
	}
	line, err := json.Marshal(ledgerEntry{Image: image, ID: res.ID, Pulled: time.Now().UTC()})
	if err != nil {
		return err
	}
	path := filepath.Join(b.opts.CacheDir, pulledLedger)
	if err := os.MkdirAll(b.opts.CacheDir, 0o755); err != nil {
		return fmt.Errorf("record pulled image: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("record pulled image: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	_, err = f.Write(append(line, '\n'))
	return err
}

// pulledByUs reports whether the ledger lists image with the given ID.
func (b *Builder) pulledByUs(image, id string) (bool, error) {
	f, err := os.Open(filepath.Join(b.opts.CacheDir, pulledLedger))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e ledgerEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Image == image && e.ID == id {
			return true, nil
		}
	}
	return false, sc.Err()
}

// Owned is an image sweval may remove: one it built (labelled
// sweval.managed=1) or pulled (in the ledger, with the same ID).
type Owned struct {
	Image string
	ID    string
	Layer string // sweval's layer, or LayerExternal for a pulled image
	Size  int64  // bytes, as docker images reports it (shared layers included)
}

// Own reports whether sweval built or pulled image, with its size; ok is
// false for an image it did not (a user's own, or one loaded by hand) and
// for one that is not present.
func (b *Builder) Own(ctx context.Context, image string) (o Owned, ok bool, err error) {
	res, err := b.store.inspect(ctx, image)
	if err != nil {
		if isNotFound(err) {
			return o, false, nil
		}
		return o, false, fmt.Errorf("inspect image %s: %w", image, err)
	}
	o = Owned{Image: image, ID: res.ID, Size: res.Size, Layer: LayerExternal}
	if res.Labels[LabelManaged] == "1" && res.Labels[LabelKey] != "" {
		o.Layer = res.Labels[LabelLayer]
		return o, true, nil
	}
	mine, err := b.pulledByUs(image, res.ID)
	if err != nil {
		return o, false, fmt.Errorf("read the pulled-images ledger: %w", err)
	}
	return o, mine, nil
}

// Remove removes an image sweval built or pulled (see Own), by name; one
// it did not is refused. An image a container still uses is not removed
// (the Engine refuses without force).
func (b *Builder) Remove(ctx context.Context, image string) error {
	o, ok, err := b.Own(ctx, image)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("image %s was not built or pulled by sweval: left alone", image)
	}
	if err := b.store.remove(ctx, image); err != nil {
		return fmt.Errorf("remove image %s: %w", image, err)
	}
	b.log.Info("removed image", "image", image, "id", shortID(o.ID), "layer", o.Layer, "mb", o.Size>>20)
	return nil
}

// layersAbove are the layers a cache level removes once an instance is
// graded (SWE-bench's --cache_level): none keeps nothing, base keeps the
// base, env keeps base and env, instance keeps everything.
func layersAbove(level string) []string {
	switch level {
	case CacheNone:
		return []string{LayerInstance, LayerTask, LayerDoc2Repo, LayerExternal, LayerEnv, LayerBase}
	case CacheBase:
		return []string{LayerInstance, LayerTask, LayerDoc2Repo, LayerExternal, LayerEnv}
	case CacheEnv:
		return []string{LayerInstance, LayerTask, LayerDoc2Repo, LayerExternal}
	}
	return nil
}

// Cache levels (SWE-bench's --cache_level): which images are kept after
// the instances that use them are graded.
const (
	CacheNone     = "none"
	CacheBase     = "base"
	CacheEnv      = "env"
	CacheInstance = "instance"
)

// ParseCacheLevel checks a --cache-level value.
func ParseCacheLevel(s string) (string, error) {
	if s == "" {
		return CacheInstance, nil
	}
	if slices.Contains([]string{CacheNone, CacheBase, CacheEnv, CacheInstance}, s) {
		return s, nil
	}
	return "", fmt.Errorf("--cache-level %q: use none, base, env or instance (SWE-bench's meaning: which images are kept after an instance is graded)", s)
}

// Removes reports whether level removes images of layer once they are no
// longer needed.
func Removes(level, layer string) bool { return slices.Contains(layersAbove(level), layer) }
