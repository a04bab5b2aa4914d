// Package solver adapts a scaffold's agent loop to the harness's Agent
// seam (harness/run.Agent): it opens the tools in the rollout's sandbox (the
// persistent shell or one exec per command, the editor), guards the shell,
// runs the loop, audits the trajectory with the task's auditor and, when
// configured, asks the LLM judge. `sweval run` and `sweval redteam` wire it.
package solver
