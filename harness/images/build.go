package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/harness/sandbox"
)

// ctxFile is one host file placed in a build context.
type ctxFile struct {
	Name string // path inside the context (slash-separated)
	Path string // host path
}

// ctxDir is a host directory placed (recursively) in a build context.
type ctxDir struct {
	Name string // path inside the context
	Path string // host directory
}

// contextEpoch is the mtime given to every context entry, so two builds of
// the same content send the same bytes.
var contextEpoch = time.Unix(0, 0).UTC()

// writeContext writes a build context tar: the Dockerfile, then files, then
// directory trees. Entries are owned by root; symlinks are kept as links.
func writeContext(w io.Writer, dockerfile string, files []ctxFile, dirs []ctxDir) error {
	entries, err := contextEntries(files, dirs)
	if err != nil {
		return err
	}
	df := sandbox.File{Name: "Dockerfile", Data: []byte(dockerfile), Mode: 0o644, ModTime: contextEpoch}
	return sandbox.WriteFiles(w, append([]sandbox.File{df}, entries...)...)
}

// contextEntries are the entries of a build context's files and directory
// trees, in that order.
func contextEntries(files []ctxFile, dirs []ctxDir) ([]sandbox.File, error) {
	var entries []sandbox.File
	for _, f := range files {
		fi, err := os.Stat(f.Path)
		if err != nil {
			return nil, err
		}
		e, ok, err := contextEntry(f.Name, f.Path, fi)
		if err != nil {
			return nil, err
		}
		if ok {
			entries = append(entries, e)
		}
	}
	for _, d := range dirs {
		err := filepath.WalkDir(d.Path, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(d.Path, p)
			if err != nil {
				return err
			}
			name := d.Name
			if rel != "." {
				name = d.Name + "/" + filepath.ToSlash(rel)
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			e, ok, err := contextEntry(name, p, fi)
			if ok {
				entries = append(entries, e)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// recipe is one image build, the one description both stores build from:
// the Docker Engine as a Dockerfile with the context (Files, Dirs);
// containerd by running the steps in a sandbox of From and committing.
type recipe struct {
	From  string
	Steps []step
	Files []ctxFile
	Dirs  []ctxDir
}

// step is one instruction of a recipe: exactly one field group is set.
type step struct {
	// Copy is a context path (a directory's contents when it ends in "/"
	// or names a directory) copied to Dest.
	Copy, Dest string
	// Run is a command in exec form, run as root with no network.
	Run []string
	// Workdir becomes the working directory of later steps and the image.
	Workdir string
}

// Dockerfile renders r for the Engine's builder.
func (r recipe) Dockerfile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", r.From)
	for _, st := range r.Steps {
		switch {
		case st.Copy != "":
			fmt.Fprintf(&b, "COPY %s %s\n", st.Copy, st.Dest)
		case len(st.Run) > 0:
			fmt.Fprintf(&b, "RUN %s\n", dockerfileQuote(st.Run...))
		case st.Workdir != "":
			fmt.Fprintf(&b, "WORKDIR %s\n", st.Workdir)
		}
	}
	return b.String()
}

// subtree is the context entries under src, named relative to it: what
// COPY src dest puts into dest.
func (r recipe) subtree(src string) ([]sandbox.File, error) {
	all, err := contextEntries(r.Files, r.Dirs)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(src, "/")
	var out []sandbox.File
	for _, e := range all {
		rel, ok := strings.CutPrefix(e.Name, prefix+"/")
		if !ok || rel == "" {
			continue // the directory itself: dest is made by the copy
		}
		e.Name = rel
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nothing in the context under %s", src)
	}
	return out, nil
}

// contextEntry describes the host file path as the context entry name;
// ok is false for sockets, fifos and devices, which have no place in a
// build context. Regular files are streamed from disk when written.
func contextEntry(name, path string, fi fs.FileInfo) (e sandbox.File, ok bool, err error) {
	mode := fi.Mode()
	e = sandbox.File{Name: name, Mode: mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky), ModTime: contextEpoch}
	switch {
	case mode&fs.ModeSymlink != 0:
		l, err := os.Readlink(path)
		if err != nil {
			return e, false, err
		}
		e.Mode |= fs.ModeSymlink
		e.Link = l
	case fi.IsDir():
		e.Mode |= fs.ModeDir
	case mode.IsRegular():
		e.Path = path
	default:
		return e, false, nil
	}
	return e, true, nil
}

// buildImage runs the Engine's classic builder (works on API 1.41, no
// BuildKit session needed) with no network and no pull, streaming the
// context from a pipe and the output into lf.
func (b *Builder) buildImage(ctx context.Context, tag string, lbls map[string]string, dockerfile string, files []ctxFile, dirs []ctxDir, lf io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One LABEL line of our own: the classic builder turns the Labels option
	// into one build step (a container and a commit) per label.
	dockerfile = strings.TrimRight(dockerfile, "\n") + "\n" + labelInstruction(lbls) + "\n"
	fmt.Fprintf(lf, "# Dockerfile:\n%s\n", dockerfile)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContext(pw, dockerfile, files, dirs))
	}()
	defer pr.Close() // unblocks the writer if the Engine stops reading
	res, err := b.cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		NetworkMode: "none",
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	defer res.Body.Close()
	if err := drainJSON(res.Body, lf); err != nil {
		return fmt.Errorf("image build: %w", err)
	}
	ok, err := b.present(ctx, tag)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("image build ended without producing %s", tag)
	}
	return nil
}

// labelInstruction is a LABEL instruction setting every label, sorted.
func labelInstruction(lbls map[string]string) string {
	keys := slices.Sorted(maps.Keys(lbls))
	var b strings.Builder
	b.WriteString("LABEL")
	for _, k := range keys {
		b.WriteString(" " + dockerfileString(k) + "=" + dockerfileString(lbls[k]))
	}
	return b.String()
}

// dockerfileString double-quotes s for a LABEL instruction; newlines, which
// would end the instruction, become spaces.
func dockerfileString(s string) string {
	s = strings.NewReplacer("\\", "\\\\", `"`, `\"`, "\n", " ", "\r", " ", "$", "\\$").Replace(s)
	return `"` + s + `"`
}

// dockerfileQuote makes a JSON-array (exec form) argument, so nothing in it
// is ever interpreted by a shell.
func dockerfileQuote(args ...string) string {
	b, _ := json.Marshal(args) // []string always marshals
	return string(b)
}
