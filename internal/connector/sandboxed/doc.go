// Package sandboxed is the exec resource kind: programs an agent may run,
// each call in a sandbox of its own (package sandbox) that shows it the
// resource's work directory, writable, and nothing else of the host but
// the system directories, read-only.
//
//	resources:
//	  build:
//	    kind: exec
//	    workdir: ./repo
//	    programs: [go, git, rg]
//
// A program is named in the policy and resolved to its file when the
// policy loads; a call names one of them and passes its arguments as an
// array, never through a shell.
//
// The work directory a program sees is an overlay: its changes land in a
// scratch directory of the call's, and the host's directory is unchanged
// while it runs. Once it has ended, Warden applies the changes through the
// fs kind's code (package fs, Tree), as one journal entry that warden undo
// reverts; within limits: {write_bytes}, or not at all. Symbolic links,
// FIFOs, sockets and devices it made are reported, not applied.
package sandboxed
