// Package sandbox confines Warden's own process with Landlock, the Linux
// security module that lets an unprivileged process give up file access.
//
// It is the third layer of defence, under the policy and os.Root: once
// [Restrict] returns, every thread of the process can open only the paths
// it was given, read-only or read-write, so even a bug in Warden's own code
// cannot read ~/.ssh. [Probe] reports what the kernel offers without
// restricting anything, [Plan] what Restrict would do, and [SystemPaths]
// lists the few system files the Go runtime, TLS and DNS need.
//
// Landlock governs opening, creating, writing, truncating, renaming, linking
// and removing; the kernel does not yet let it restrict stat, chmod, chown
// or changing times, nor files opened before Restrict.
//
// Landlock restrictions cannot be lifted: call Restrict once, after
// everything that needs other paths (loading the policy, opening the state
// directory) is done. The package imports nothing from Warden.
package sandbox
