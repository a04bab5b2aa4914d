package images

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"

	"github.com/sweval/sweval/internal/testenv"
)

// pullPayloadBytes is the size of the benchmark image's one incompressible
// layer, so a pull moves real data (gzip'd in the registry, decompressed
// and unpacked by the Engine) rather than only manifests.
const pullPayloadBytes = 128 << 20

// publishRandom writes an image of one random layer of size bytes straight
// to the registry (go-containerregistry, no Engine): the daemon never held
// its layer, so removing the pulled image removes the layer too, and every
// pull fetches it again (an image built here would leave its layer in the
// build cache, and pulls would find it present).
func publishRandom(b *testing.B, ref string, size int64) {
	b.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		b.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH // the Engine pulls for its own platform
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		b.Fatal(err)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		b.Fatalf("write %s to the registry: %v", ref, err)
	}
}

// BenchmarkPull compares pulls from the loopback registry: sweval's Pull
// (Engine API, auth lookup, disk check, retries, ledger) against `docker
// pull` of the same image, interleaved in one run. Each pull starts with
// the image removed, so its layer is fetched again. It reports each one's
// throughput and the ratio of their times (sweval/docker).
//
//	go test -run XXX -bench BenchmarkPull -benchtime 5x ./harness/images/
func BenchmarkPull(b *testing.B) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		b.Skip("no docker CLI to compare with")
	}
	reg := testenv.StartRegistry(b)
	bld, cli, _ := testBuilder(b)
	name := reg.Addr + "/swebench/sweb.eval.x86_64.bench_1776_pull-1:latest"
	publishRandom(b, name, pullPayloadBytes)
	rmi := func() {
		if _, err := cli.ImageRemove(context.Background(), name, client.ImageRemoveOptions{}); err != nil && !isNotFound(err) {
			b.Fatal(err)
		}
	}
	pulls := []struct {
		name string
		pull func() error
		took time.Duration
	}{
		{"sweval", func() error { return bld.Pull(context.Background(), name) }, 0},
		{"docker-pull", func() error {
			if out, err := exec.Command(docker, "pull", "-q", name).CombinedOutput(); err != nil {
				return fmt.Errorf("docker pull: %w\n%s", err, out)
			}
			return nil
		}, 0},
	}
	b.ResetTimer()
	for range b.N {
		for i := range pulls {
			b.StopTimer()
			rmi()
			b.StartTimer()
			start := time.Now()
			if err := pulls[i].pull(); err != nil {
				b.Fatalf("%s: %v", pulls[i].name, err)
			}
			pulls[i].took += time.Since(start)
		}
	}
	b.StopTimer()
	rmi()
	mb := float64(pullPayloadBytes) / 1e6 * float64(b.N)
	for _, p := range pulls {
		b.ReportMetric(mb/p.took.Seconds(), p.name+"-MB/s")
	}
	b.ReportMetric(float64(pulls[0].took)/float64(pulls[1].took), "sweval/docker")
}
