package sandbox_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sweval/sweval/harness/sandbox"
)

// BenchmarkRuntimes measures, for Docker and containerd in one run and
// alternating per iteration: container ready for its first command
// (Create + first `true`), one no-op agent step through the persistent
// shell (write `:` + marker, read the marker back), and one exec per
// command (`true`). It reports each median and containerd/Docker ratios.
//
//	go test ./harness/sandbox -run '^$' -bench BenchmarkRuntimes -benchtime 10x
func BenchmarkRuntimes(b *testing.B) {
	type side struct {
		name              string
		rt                sandbox.Runtime
		img               string
		ready, step, exec []time.Duration
	}
	var sides []*side
	for _, r := range runtimes() {
		rt, img, _ := r.setup(b)
		sides = append(sides, &side{name: r.name, rt: rt, img: img})
	}
	ctx := context.Background()
	one := func(s *side) {
		t0 := time.Now()
		sb, err := s.rt.Create(ctx, sandbox.Spec{Image: s.img, RunID: "bench", Task: "runtimes"})
		if err != nil {
			b.Fatal(err)
		}
		defer sb.Close(ctx)
		if res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"true"}}); err != nil || res.ExitCode != 0 {
			b.Fatalf("%s first exec: %v %+v", s.name, err, res)
		}
		s.ready = append(s.ready, time.Since(t0))
		t0 = time.Now()
		if res, err := sb.Exec(ctx, sandbox.ExecRequest{Cmd: []string{"true"}}); err != nil || res.ExitCode != 0 {
			b.Fatalf("%s exec: %v %+v", s.name, err, res)
		}
		s.exec = append(s.exec, time.Since(t0))
		p, err := sb.Start(ctx, sandbox.ExecRequest{Cmd: []string{"bash", "--noprofile", "--norc"}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		out := bufio.NewReader(p.Output())
		step := func() {
			go io.WriteString(p.Stdin(), ": ; echo __DONE__\n")
			for {
				line, err := out.ReadString('\n')
				if err != nil {
					b.Fatalf("%s shell: %v", s.name, err)
				}
				if strings.HasPrefix(line, "__DONE__") {
					return
				}
			}
		}
		step() // the shell's start is not part of a step
		t0 = time.Now()
		step()
		s.step = append(s.step, time.Since(t0))
	}
	for i := 0; b.Loop(); i++ {
		for j := range sides {
			one(sides[(i+j)%len(sides)]) // alternate who goes first
		}
	}
	base := sides[0]
	for _, s := range sides {
		b.ReportMetric(ms(median(s.ready)), s.name+"-ready-ms")
		b.ReportMetric(ms(median(s.step)), s.name+"-step-ms")
		b.ReportMetric(ms(median(s.exec)), s.name+"-exec-ms")
		if s != base {
			b.Logf("%s vs %s (medians, n=%d): ready %v vs %v (ratio %.2f), shell step %v vs %v (ratio %.2f), exec %v vs %v (ratio %.2f)",
				s.name, base.name, len(s.ready),
				median(s.ready), median(base.ready), ratio(s.ready, base.ready),
				median(s.step), median(base.step), ratio(s.step, base.step),
				median(s.exec), median(base.exec), ratio(s.exec, base.exec))
			b.ReportMetric(ratio(s.ready, base.ready), s.name+"/"+base.name+"-ready")
			b.ReportMetric(ratio(s.step, base.step), s.name+"/"+base.name+"-step")
			b.ReportMetric(ratio(s.exec, base.exec), s.name+"/"+base.name+"-exec")
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratio(a, b []time.Duration) float64 {
	if median(b) == 0 {
		return 0
	}
	return float64(median(a)) / float64(median(b))
}
