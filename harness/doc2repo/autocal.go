package doc2repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/result"
)

// calVersion changes when what a calibration measures changes (the
// runner, the planted tests), so old cached calibrations are not reused.
const calVersion = "sweval-calibration-v1"

// autoCal calibrates tasks that name no declared ids on their reference,
// once per calibration key: in memory for this process (concurrent
// rollouts of a task wait for one calibration) and, when dir is set, on
// disk for later runs.
type autoCal struct {
	dir string

	mu   sync.Mutex
	keys map[string]*calEntry
}

type calEntry struct {
	once sync.Once
	cal  Calibration
	err  error
}

// CalibrationKey is the content key of task's calibration in image: the
// reference's files, the hidden tests, the declared count and the
// environment image. A task renamed (the red team's copies) shares its
// original's key; a changed reference, test or image does not.
func CalibrationKey(task *benchmarks.Task, image string) (string, error) {
	d := task.Doc2Repo
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00image=%s\x00declared=%d\x00", calVersion, image, d.DeclaredTests)
	hidden, err := HiddenTests(task)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(hidden))
	for n := range hidden {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "test %s %d\x00", n, len(hidden[n]))
		h.Write(hidden[n])
	}
	// The reference as Calibrate archives it (lexical order, no times).
	ref, err := TarDir(d.Reference)
	if err != nil {
		return "", fmt.Errorf("calibration key of %s: %w", task.ID, err)
	}
	h.Write(ref)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// get returns task's calibration in image: cached, or measured now.
func (a *autoCal) get(ctx context.Context, calibrate func(context.Context) (Calibration, error), task *benchmarks.Task, image string) (Calibration, string, error) {
	key, err := CalibrationKey(task, image)
	if err != nil {
		return Calibration{}, "", err
	}
	a.mu.Lock()
	e, ok := a.keys[key]
	if !ok {
		e = &calEntry{}
		a.keys[key] = e
	}
	a.mu.Unlock()
	source := "cached"
	e.once.Do(func() {
		if c, ok := a.load(key); ok {
			e.cal = c
			return
		}
		source = "measured"
		// The calibration outlives the rollout that asked first: a
		// cancelled rollout must not leave every other one without it.
		e.cal, e.err = calibrate(context.WithoutCancel(ctx))
		if e.err == nil {
			e.err = a.store(key, e.cal)
		}
	})
	return e.cal, source + " " + key[:16], e.err
}

func (a *autoCal) path(key string) string { return filepath.Join(a.dir, key+".json") }

func (a *autoCal) load(key string) (Calibration, bool) {
	if a.dir == "" {
		return Calibration{}, false
	}
	b, err := os.ReadFile(a.path(key))
	if err != nil {
		return Calibration{}, false
	}
	var c Calibration
	if json.Unmarshal(b, &c) != nil || len(c.Passed) == 0 {
		return Calibration{}, false // a damaged cache entry is measured again
	}
	return c, true
}

func (a *autoCal) store(key string, c Calibration) error {
	if a.dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	if err := result.WriteFileAtomic(a.path(key), b); err != nil {
		return fmt.Errorf("cache the calibration of %s: %w", c.InstanceID, err)
	}
	return nil
}

// errNoReference: a task without declared ids and without a reference
// cannot be calibrated; it is scored against declared_tests.
var errNoReference = errors.New("no reference to calibrate on")

// calibrated returns task with its declared ids set from the reference
// (the task unchanged when it already names them), and a note for the
// report.
func (h *Hooks) calibrated(ctx context.Context, task benchmarks.Task, opts Options) (benchmarks.Task, string, error) {
	d := task.Doc2Repo
	if d == nil || len(d.DeclaredIDs) > 0 {
		return task, "", nil
	}
	if d.Reference == "" {
		return task, "", errNoReference
	}
	cal, note, err := h.cal.get(ctx, func(ctx context.Context) (Calibration, error) {
		h.opts.Logger.Info("calibrating on the reference (first rollout of this task and environment)", "instance", task.ID, "image", opts.Image)
		return Calibrate(ctx, h.rt, &task, opts)
	}, &task, opts.Image)
	if err != nil {
		return task, "", fmt.Errorf("automatic calibration of %s on its reference: %w (calibrate it with `sweval doc2repo calibrate --out` and pass --calibration to see why)", task.ID, err)
	}
	dd := *d
	task.Doc2Repo = &dd
	cal.Apply(&task)
	return task, fmt.Sprintf("declared ids calibrated on the reference (%s): %d pass, %d excluded", note, len(cal.Passed), len(cal.Excluded)), nil
}
