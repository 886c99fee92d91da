// Package sandbox confines processes: Warden's own, and the programs it
// runs for an agent.
//
// Warden's own process is confined with Landlock, the Linux security
// module that lets an unprivileged process give up file access. It is the
// third layer of defence, under the policy and os.Root: once [Restrict]
// returns, every thread of the process can open only the paths it was
// given, read-only or read-write, so even a bug in Warden's own code
// cannot read ~/.ssh. [Probe] reports what the kernel offers without
// restricting anything, [Plan] what Restrict would do, and [SystemPaths]
// lists the few system files the Go runtime, TLS and DNS need. Landlock
// governs opening, creating, writing, truncating, renaming, linking and
// removing; the kernel does not yet let it restrict stat, chmod, chown or
// changing times, nor files opened before Restrict. Its restrictions
// cannot be lifted: call Restrict once, after everything that needs other
// paths (loading the policy, opening the state directory) is done.
//
// A program is run with [Run] in a sandbox of its own, built from layers
// that each hold if another has a bug: fresh user, mount, pid, ipc, uts
// and network namespaces with a minimal root of bind mounts (package
// inside, the sandbox's first process, builds it); a Landlock ruleset on
// the same paths that also refuses TCP and abstract UNIX sockets; a
// seccomp filter refusing the kernel interfaces no tool needs; and
// resource limits. No daemon, no setuid helper: the first process is
// Warden's own binary, re-executed.
//
// The package imports nothing from Warden but its own package inside.
package sandbox
