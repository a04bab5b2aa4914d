// Package shell quotes words for POSIX shells (bash, sh, dash).
//
// Quote is the one function every part of sweval uses to put data it did
// not write itself — file names and test ids from a task, repository paths,
// a model's patch target — into a script or a command line run by a shell,
// on the host or in a sandbox. It is exercised by a round trip through the
// host's bash and a fuzz test.
package shell
