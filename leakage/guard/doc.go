// Package guard vets the agent's shell commands before they run. It
// implements scaffolds/tools.Guard structurally (it imports nothing of the
// scaffolds) and refuses: git network operations (clone, fetch, pull, ...),
// git history digging (reflog, fsck, cat-file, log --all, ...), reading
// .git internals directly, installing/downloading/showing the reference
// package under any PEP 503 spelling with any Python package tool, and HTTP
// clients aimed at code hosts or package indexes.
//
// Shell text is parsed with mvdan.cc/sh/v3/syntax, a complete bash parser,
// rather than a hand-written splitter: quoting, escapes, operators, command
// and process substitution, functions, heredocs and here-strings all come
// out as a tree, and mvdan.cc/sh/v3/expand resolves quotes and variables the
// same way bash would. Nested scripts (bash -c, eval, su -c, find -exec,
// xargs, interpreters' -c/-e and heredocs) are inspected recursively; text
// the parser rejects, and interpreter source (python -c ...), is checked by
// a conservative lexical pass instead.
//
// The rules are tables, one file per concern: parse.go (shell parsing and
// the per-command dispatch), wrappers.go (env, timeout, sudo, xargs, …),
// git.go, packages.go (pip, uv, pipx, poetry, conda, …) and network.go
// (HTTP clients, code-host CLIs, other VCSs, blocked hosts).
//
// The guard is a second layer: the sandbox has no network and the purge
// removes the reference; the guard makes attempts visible and counted.
package guard
