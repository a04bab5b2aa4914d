// Package slurm runs a sweval run as a Slurm job array: array task I runs
// `sweval ARGS --shard I/N` on its node (harness/run's sharding: its own
// results file and writer lock, the union read by every report).
//
// Submit writes the sbatch script into the run directory and submits it;
// Status joins what Slurm says (squeue, then scontrol for tasks that left
// the queue) with what each shard recorded itself (run's shard status
// files), so a shard that Slurm lost track of still shows as done or failed;
// Resume resubmits only the shards whose rollouts are not all recorded.
// Everything Slurm is asked goes through its command-line tools (sbatch,
// squeue, scontrol), found on PATH, so a site's wrappers keep working.
package slurm
