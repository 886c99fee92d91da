// Package inside is the first process of a sandbox: Warden's own binary
// again, started by package sandbox in fresh namespaces. Its package init
// builds the sandbox's root, restates it to Landlock, loads the seccomp
// filter the parent assembled, sets the resource limits and replaces
// itself with the program.
//
// It runs before the rest of the binary is initialised. Go initialises
// packages with the fewest and earliest-sorting dependencies first, so a
// package that imports little is ready about a millisecond after exec,
// long before the parsers the rest of Warden links. Keep its imports to
// the standard library, golang.org/x/sys and Landlock's.
package inside
