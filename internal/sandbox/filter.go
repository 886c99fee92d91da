package sandbox

//go:generate go run ./internal/filtergen -o filter_linux_amd64.go

// FilterRules say what a sandbox's seccomp filter refuses; everything else
// is allowed.
type FilterRules struct {
	Denied        []string // system calls refused with EPERM
	CloneFlags    uint64   // clone(2) with any of these flags is refused with EPERM
	DeniedIoctls  []uint64 // ioctl(2) requests refused with EPERM
	Unimplemented []string // system calls refused with ENOSYS
}

// SeccompRules returns the rules of the sandbox's seccomp filter: kernel
// interfaces no tool needs and every escape wants. Debugging other
// processes, mounting, new namespaces, loading code into the kernel,
// kernel keyrings, io_uring (which bypasses the filter), performance
// counters, changing the machine's clock or state.
func SeccompRules() FilterRules {
	return FilterRules{
		Denied: []string{
			"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
			"mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
			"unshare", "setns",
			"bpf", "perf_event_open", "userfaultfd",
			"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
			"keyctl", "add_key", "request_key",
			"io_uring_setup", "io_uring_enter", "io_uring_register",
			"open_by_handle_at", "name_to_handle_at",
			"swapon", "swapoff", "reboot", "acct", "quotactl", "syslog",
			"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
			"sethostname", "setdomainname", "vhangup", "iopl", "ioperm",
			"fanotify_init", "lookup_dcookie", "uselib", "ustat", "sysfs", "_sysctl",
		},
		// CLONE_NEWUSER, NEWNS, NEWPID, NEWNET, NEWIPC, NEWUTS and
		// NEWCGROUP. Not CLONE_NEWTIME: clone(2) reads that bit as part of
		// the exit signal; unshare, which takes it, is refused outright.
		CloneFlags: 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000,
		// TIOCSTI: typing into the terminal of whoever started Warden.
		DeniedIoctls: []uint64{0x5412},
		// clone3 keeps its flags in memory a filter cannot read: refused
		// with ENOSYS, C libraries fall back to clone.
		Unimplemented: []string{"clone3"},
	}
}
