// Package swegrade grades SWE-bench-style tasks so that the model patch's
// code cannot forge the verdict (issue 11, the SWE half; package testrun
// is the Doc2Repo half and lends its reporting plugin and cross-checks).
//
// Grading runs in two containers of the task's image:
//
//   - Apply phase (grade.ApplyPhase), as root: the model patch goes in
//     through the cascade, the test patch on top, with the grader's own git
//     (private GIT_DIR, pinned config). No code of the repository runs.
//     What changed is listed with git status and copied out.
//   - Test phase, in a fresh container created at the same time as the
//     apply container (Prepare; Grade for a caller that has its apply
//     container already). A root supervisor starts in it at once (the
//     container keeps CAP_SETUID/CAP_SETGID for root, nothing else) and,
//     for pytest, imports the runner from the interpreter's own site
//     directories before any file of the agent is in the container. Given
//     the applied files, it lays the changed regular files over the
//     image's pristine tree, except what the model patch wrote that the
//     runner or interpreter reads (grade.KeptFromTests: conftest.py,
//     pytest.ini/.pytest.ini/tox.ini/setup.cfg/pyproject.toml,
//     sitecustomize/usercustomize, .pth, *.egg-info/*.dist-info metadata,
//     top-level pytest/_pytest/pluggy shadows). Every file stays root's and
//     read-only; directories outside .git become sticky and world-writable
//     so honest tests can create files where they always did, but cannot
//     change, rename or delete the repository's (hidden tests included).
//     It then forks the test run, which drops to uid 1000 (no
//     capabilities, no-new-privileges): the interpreter, the runner, /etc
//     and site-packages are root's and unwritable, /tmp and new files in
//     the repository are the only writable places, and no process of the
//     apply phase exists. When the run ends the supervisor kills every
//     uid-1000 process and only then writes the output, the records and
//     the JUnit report, length-framed, to its own stdout, which no test
//     process ever held. No grading secret lives in this container at all.
//
// For pytest commands the harness's runner stands in for `pytest`: the
// bootstrap, run in the forked child (or cold, `python -I -B -c
// <bootstrap>`, for pytest's own repository or when a normal start would
// find other modules than the supervisor imported) (isolated: no PYTHON* variables, no cwd on
// sys.path, PYTEST_ADDOPTS/PYTEST_PLUGINS removed) calls pytest.main with
// the task's own options, the directive files, -p no:cacheprovider,
// --maxfail=0 and JUnit into a harness directory, and passes testrun's
// reporting plugin as an object. The repository's configuration is the
// image's (the model's edits to it were kept out), so honest collection is
// unchanged; plugin autoload stays on because entry points come only from
// the image's installed metadata, which the model cannot reach. One
// must-fail canary and one must-pass control are planted per run into each
// directive file of the test patch; testrun.Check cross-checks the plugin
// records, JUnit and the observed exit code (1 is the only honest one) and
// flags grade:tamper-<kind>. Only FAIL_TO_PASS / PASS_TO_PASS ids count.
//
// Other test commands (Django's runtests.py, sympy's bin/test, tox) cannot
// take the plugin: they get the phase split and the unprivileged user, and
// their printed log stays the channel, cross-checked with the observed exit
// code (exit 0 while a declared test is reported failing is flagged
// grade:tamper-exit-code). Canaries are not planted there.
package swegrade
