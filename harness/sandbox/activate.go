package sandbox

// ActivateEnv is shell text (bash) that activates the Python environment a
// published image is graded in, when the image has one: SWE-bench's (and
// SWE-Gym's and SWE-rebench's) images keep it as the conda env "testbed"
// under /opt/miniconda3, and their harnesses run `source
// /opt/miniconda3/bin/activate && conda activate testbed` before anything
// else. It does nothing in an image without that env (sweval's own), and
// its status is non-zero when activation fails. The scripts it sources are
// the image's, in a container no code of the task has run in, or one the
// agent works in as itself. One line, so it can lead a shell's input.
const ActivateEnv = `if [ -f /opt/miniconda3/bin/activate ] && [ -d /opt/miniconda3/envs/testbed ]; then ` +
	`. /opt/miniconda3/bin/activate && conda activate testbed || { echo "sweval: source /opt/miniconda3/bin/activate && conda activate testbed failed" >&2; false; }; fi`
