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
package sandboxed
