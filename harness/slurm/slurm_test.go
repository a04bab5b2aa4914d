package slurm

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestArraySpec(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{[]int{1, 2, 3, 4}, "1-4"},
		{[]int{2}, "2"},
		{[]int{6, 2, 5, 9, 10, 11}, "2,5-6,9-11"},
	} {
		if got := arraySpec(tc.in); got != tc.want {
			t.Errorf("arraySpec(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The script is run by bash on the node: every value from the user is
// quoted, and bash must parse it back to the same words.
func TestScriptQuotesEverything(t *testing.T) {
	o := Options{RunDir: "/shared/runs/my run", RunID: "my run", Shards: 4, Parallel: 2, Partition: "gpu", Time: "04:00:00", CPUsPerTask: 3,
		Sweval: "/opt/sweval/bin/sweval", Args: []string{"eval", "-d", "tasks $(touch /tmp/pwned).jsonl", "-p", "it's gold"}}
	s := Script(o, []int{1, 2, 3, 4})
	for _, want := range []string{"#SBATCH --array=1-4%2\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=04:00:00\n", "#SBATCH --cpus-per-task=3\n", "#SBATCH --requeue\n",
		"--shard \"$SLURM_ARRAY_TASK_ID/4\"\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	// Replace exec by printing the words bash parsed.
	body := strings.Replace(s, "exec /opt/sweval/bin/sweval", "printf '%s\\n'", 1)
	cmd := exec.Command("bash", "-c", body)
	cmd.Env = []string{"SLURM_ARRAY_TASK_ID=3"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	words := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"eval", "-d", "tasks $(touch /tmp/pwned).jsonl", "-p", "it's gold", "--run-id", "my run", "--output", "/shared/runs", "--no-progress", "--shard", "3/4"}
	if strings.Join(words, "|") != strings.Join(want, "|") {
		t.Errorf("bash parsed %q, want %q", words, want)
	}
}

func TestSubmitRefusesWhatItSets(t *testing.T) {
	for _, args := range [][]string{nil, {"board", "runs/x"}, {"eval", "--shard", "1/2"}, {"run", "--run-id=x"}, {"eval", "--output", "o"}} {
		if _, err := Submit(context.Background(), Options{RunDir: t.TempDir(), RunID: "r", Shards: 2, Args: args}); err == nil {
			t.Errorf("Submit accepted the command %q", args)
		}
	}
}
