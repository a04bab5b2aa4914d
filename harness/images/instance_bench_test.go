package images

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"

	"github.com/sweval/sweval/benchmarks"
	"github.com/sweval/sweval/harness/sandbox"
	"github.com/sweval/sweval/internal/testenv"
)

// BenchmarkInstanceLayersLargeRepo builds the instance layers of 16 tasks
// of one large repository and prints the seconds for all 16 with the full
// history (the default) and with --testbed-depth 1, in Docker's store and
// in containerd's (a private containerd; base from the kept archive). The repository is a
// stand-in for sympy (SWE-bench Lite has 77 sympy instances; the real one
// is not on this machine): SWEVAL_BENCH_COMMITS commits (default 30000)
// over 1500 files of ~30 KB, 12 lines of 3 files changed per commit (a
// pack near sympy's size), made once with
// git fast-import into SWEVAL_BENCH_REPO (default: a temp dir), and the 16
// base commits spread over its last 3000 commits, as real instances spread
// over a few years of history.
//
//	go test ./harness/images -run '^$' -bench InstanceLayersLargeRepo -benchtime 1x
//
// SWEVAL_BENCH_MODES=docker:1,containerd:1 runs only those store:depth
// pairs (the full history in Docker's store takes ~13 min here); the
// stores docker-copy and containerd-copy build the same images through a
// container and a commit (Options.CopyInContainer), for the side-by-side
// figure.
func BenchmarkInstanceLayersLargeRepo(b *testing.B) {
	commits := 30000
	if v := os.Getenv("SWEVAL_BENCH_COMMITS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3000 {
			b.Fatalf("SWEVAL_BENCH_COMMITS=%q: want a number ≥ 3000", v)
		}
		commits = n
	}
	root := os.Getenv("SWEVAL_BENCH_REPO")
	if root == "" {
		root = b.TempDir()
	}
	cache := filepath.Join(root, "cache")
	shas := largeRepo(b, filepath.Join(cache, "bench__large.git"), commits)
	var tasks []benchmarks.Task
	for i := range 16 {
		sha := shas[len(shas)-3000+i*3000/16]
		tasks = append(tasks, benchmarks.Task{ID: fmt.Sprintf("bench__large-%d", i), Kind: benchmarks.KindSWEBench, Repo: "bench/large", BaseCommit: sha})
	}
	cli := testenv.Docker(b)
	ctx := context.Background()
	inst := testenv.StartContainerd(b)
	ccli, err := containerd.New(inst.Address)
	if err != nil {
		b.Fatal(err)
	}
	defer ccli.Close()
	rt := sandbox.NewContainerd(ccli, sandbox.ContainerdOptions{Snapshotter: inst.Snapshotter})
	defer rt.CloseAll(context.Background())
	stores := []struct {
		name string
		mk   func(depth int) *Builder
	}{
		{"docker", func(depth int) *Builder {
			return New(cli, Options{CacheDir: b.TempDir(), TempDir: b.TempDir(), TestbedDepth: depth})
		}},
		{"containerd", func(depth int) *Builder {
			return NewContainerd(rt, Options{CacheDir: DefaultCacheDir(), TempDir: b.TempDir(), TestbedDepth: depth})
		}},
		// The same stores building the layer through a container and a
		// commit, as before the layer was written directly.
		{"docker-copy", func(depth int) *Builder {
			return New(cli, Options{CacheDir: b.TempDir(), TempDir: b.TempDir(), TestbedDepth: depth, CopyInContainer: true})
		}},
		{"containerd-copy", func(depth int) *Builder {
			return NewContainerd(rt, Options{CacheDir: DefaultCacheDir(), TempDir: b.TempDir(), TestbedDepth: depth, CopyInContainer: true})
		}},
	}
	// SWEVAL_BENCH_MODES picks store:depth pairs, e.g. "docker:1,containerd:1".
	modes := os.Getenv("SWEVAL_BENCH_MODES")
	for range b.N {
		var line []string
		for _, st := range stores {
			for _, depth := range []int{0, 1} {
				if modes != "" && !slices.Contains(strings.Split(modes, ","), fmt.Sprintf("%s:%d", st.name, depth)) {
					continue
				}
				bd := st.mk(depth)
				base, err := bd.Base(ctx, BaseSpec{})
				if err != nil {
					b.Fatal(err)
				}
				env, err := bd.Env(ctx, base, EnvSpec{})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				var size int64
				var built []string
				for _, task := range tasks {
					ref, err := bd.Instance(ctx, env, task, cache)
					if err != nil {
						b.Fatal(err)
					}
					if o, _, err := bd.Own(ctx, ref.Tag); err == nil {
						size = o.Size
					}
					built = append(built, ref.Tag)
				}
				secs := time.Since(t0).Seconds()
				// Gone before the next mode, which would find them present
				// (the same content key whichever way they were built).
				for _, tag := range built {
					if err := bd.Remove(context.Background(), tag); err != nil {
						b.Fatalf("remove %s: %v", tag, err)
					}
				}
				mode := "full history"
				if depth > 0 {
					mode = fmt.Sprintf("--testbed-depth %d", depth)
				}
				line = append(line, fmt.Sprintf("%s, %s: %.1f s for 16 (image %d MB)", st.name, mode, secs, size>>20))
				fmt.Printf("    %s\n", line[len(line)-1]) // as each finishes: a run takes minutes
				b.ReportMetric(secs, fmt.Sprintf("s/16-%s-depth%d", st.name, depth))
			}
		}
		b.Logf("%d-commit repository: %s; target ≤ 80 s", commits, strings.Join(line, "; "))
	}
}

// largeRepo makes (once) a bare repository of n commits with git
// fast-import and returns the commit ids, oldest first.
func largeRepo(b *testing.B, bare string, n int) []string {
	marks := bare + ".marks"
	if data, err := os.ReadFile(marks); err == nil {
		shas := make([]string, n)
		found := 0
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(l)
			if len(f) != 2 {
				continue
			}
			if m, err := strconv.Atoi(strings.TrimPrefix(f[0], ":")); err == nil && m >= 1 && m <= n {
				shas[m-1] = f[1]
				found++
			}
		}
		if found == n {
			return shas
		}
	}
	os.RemoveAll(bare)
	if out, err := exec.Command("git", "init", "-q", "--bare", bare).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v %s", err, out)
	}
	t0 := time.Now()
	cmd := exec.Command("git", "-C", bare, "fast-import", "--quiet", "--export-marks="+marks)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	const files, lines = 1500, 400
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz_"
		var s strings.Builder
		for range 3 + rng.IntN(8) {
			s.WriteByte(letters[rng.IntN(len(letters))])
		}
		return s.String()
	}
	codeLine := func() string {
		return fmt.Sprintf("    %s = %s(%s, %d)  # %s %s\n", word(), word(), word(), rng.IntN(100000), word(), word())
	}
	tree := make([][]string, files)
	for i := range tree {
		for range lines {
			tree[i] = append(tree[i], codeLine())
		}
	}
	blob := func(i int) {
		data := strings.Join(tree[i], "")
		fmt.Fprintf(w, "M 100644 inline pkg/mod%02d/file%04d.py\ndata %d\n%s\n", i%40, i, len(data), data)
	}
	for c := 1; c <= n; c++ {
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\ncommitter Bench <bench@example.invalid> %d +0000\ndata 12\ncommit %5d\n", c, 1500000000+c*600, c%100000)
		if c > 1 {
			fmt.Fprintf(w, "from :%d\n", c-1)
		}
		if c == 1 {
			for i := range files {
				blob(i)
			}
		} else {
			for range 3 {
				i := rng.IntN(files)
				for range 12 {
					tree[i][rng.IntN(lines)] = codeLine()
				}
				blob(i)
			}
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("git fast-import: %v", err)
	}
	// A deltified pack, as a clone from a forge leaves it (fast-import
	// deltas only against the blob it read last).
	if out, err := exec.Command("git", "-C", bare, "repack", "-a", "-d", "-f", "-q", "--window=10", "--depth=50").CombinedOutput(); err != nil {
		b.Fatalf("git repack: %v %s", err, out)
	}
	b.Logf("made a %d-commit repository in %s", n, time.Since(t0).Round(time.Second))
	return largeRepo(b, bare, n)
}
