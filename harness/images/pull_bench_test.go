package images

import (
	"context"
	"os/exec"
	"testing"

	"github.com/moby/moby/client"

	"github.com/sweval/sweval/internal/testenv"
)

// Pull throughput from the loopback registry: sweval's Pull (Engine API,
// auth lookup, disk check) against `docker pull` of the same image. Each
// iteration removes the image first, so every pull fetches its layers
// (those shared with sweval's base stay, as they do for real instance
// images sharing an env).
//
//	go test -run XXX -bench BenchmarkPull -benchtime 5x ./harness/images/
func BenchmarkPull(b *testing.B) {
	base := testenv.BaseImage(b)
	reg := testenv.StartRegistry(b)
	bld, cli, _ := testBuilder(b)
	name := reg.Addr + "/swebench/sweb.eval.x86_64.bench_1776_pull-1:latest"
	publishFixture(b, bld, cli, base, name)
	rmi := func(b *testing.B) {
		if _, err := cli.ImageRemove(context.Background(), name, client.ImageRemoveOptions{}); err != nil && !isNotFound(err) {
			b.Fatal(err)
		}
	}
	b.Run("sweval", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			rmi(b)
			b.StartTimer()
			if err := bld.Pull(context.Background(), name); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("docker-pull", func(b *testing.B) {
		docker, err := exec.LookPath("docker")
		if err != nil {
			b.Skip("no docker CLI to compare with")
		}
		for b.Loop() {
			b.StopTimer()
			rmi(b)
			b.StartTimer()
			if out, err := exec.Command(docker, "pull", "-q", name).CombinedOutput(); err != nil {
				b.Fatalf("docker pull: %v\n%s", err, out)
			}
		}
	})
	rmi(b)
}
