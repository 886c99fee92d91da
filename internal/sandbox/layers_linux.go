package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// landlockRuleset builds the Landlock ruleset a sandbox enforces, on the
// host's paths: the sandbox's bind mounts share their inodes, so the rules
// hold inside whatever the mounts look like. It allows the system
// directories (read and execute), the devices, the mounts as granted and
// the program, and no TCP bind or connect and no abstract UNIX socket
// (where the kernel's ABI can say so). The sandbox adds its own /proc and
// /tmp. It returns the ruleset's file, or nil when Landlock is missing and
// the caller accepts that.
func landlockRuleset(spec *inside.Spec, degraded bool) (*os.File, error) {
	abi, err := llsys.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		if degraded {
			return nil, nil
		}
		return nil, &SetupError{Layer: LayerLandlock, Err: fmt.Errorf("the kernel offers no Landlock (%v); accept it with allow_degraded: [landlock]", err)}
	}
	var rules []landlock.Rule
	add := func(path string, dir bool, write bool) {
		switch {
		case dir && write:
			r := landlock.RWDirs(path)
			if abi >= 2 {
				r = r.WithRefer()
			}
			rules = append(rules, r)
		case dir:
			rules = append(rules, landlock.RODirs(path))
		case write:
			rules = append(rules, landlock.RWFiles(path))
		default:
			rules = append(rules, landlock.ROFiles(path))
		}
	}
	for _, p := range inside.SystemEntries {
		if fi, err := os.Stat(p); err == nil {
			add(p, fi.IsDir(), false)
		}
	}
	for _, d := range inside.Devices {
		rules = append(rules, landlock.RWFiles("/dev/"+d).IgnoreIfMissing())
	}
	for _, m := range spec.Mounts {
		add(m.Path, m.Dir, m.Write)
	}
	if spec.Program != "" && !inside.Covered(spec.Program, spec.Mounts) {
		rules = append(rules, landlock.PathAccess(llsys.AccessFSExecute|llsys.AccessFSReadFile, spec.Program))
	}
	fd, _, err := config.NewRulesetFD(rules...)
	if err != nil {
		return nil, &SetupError{Layer: LayerLandlock, Err: err}
	}
	read := uint64(llsys.AccessFSExecute | llsys.AccessFSReadFile | llsys.AccessFSReadDir)
	write := read | llsys.AccessFSWriteFile | llsys.AccessFSRemoveDir | llsys.AccessFSRemoveFile |
		llsys.AccessFSMakeChar | llsys.AccessFSMakeDir | llsys.AccessFSMakeReg | llsys.AccessFSMakeSock |
		llsys.AccessFSMakeFifo | llsys.AccessFSMakeBlock | llsys.AccessFSMakeSym
	if abi >= 2 {
		write |= llsys.AccessFSRefer
	}
	if abi >= 3 {
		write |= llsys.AccessFSTruncate
	}
	spec.LandlockRead, spec.LandlockWrite = read, write
	return os.NewFile(uintptr(fd), "landlock ruleset"), nil
}

// deniedSyscalls are kernel interfaces no tool needs and every escape
// wants: debugging other processes, mounting, new namespaces, loading code
// into the kernel, kernel keyrings, io_uring (which bypasses this filter),
// performance counters, and changing the machine's clock or state. They
// fail with EPERM.
var deniedSyscalls = []string{
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
}

// namespaceFlags are the clone flags that make new namespaces.
// (CLONE_NEWTIME is not one: clone(2) reads that bit as part of the exit
// signal; unshare, which takes it, is refused outright.)
const namespaceFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// filterPolicy is the sandbox's seccomp filter.
func filterPolicy() seccomp.Policy {
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno, Names: deniedSyscalls},
			{
				Action: seccomp.ActionErrno,
				NamesWithCondtions: []seccomp.NameWithConditions{
					// clone with a namespace flag. clone3 keeps its flags in
					// memory a filter cannot read, so it is refused with
					// ENOSYS below, and C libraries fall back to clone.
					{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: namespaceFlags}}},
					// Typing into the terminal of whoever started Warden.
					{Name: "ioctl", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: unix.TIOCSTI}}},
				},
			},
			{Action: seccomp.Action(uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)), Names: []string{"clone3"}},
		},
	}
}

// filter is the assembled filter, built once.
var filter = sync.OnceValues(func() ([]syscall.SockFilter, error) {
	policy := filterPolicy()
	insts, err := policy.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, err
	}
	out := make([]syscall.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = syscall.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
})

// seccompFilter returns the filter for a sandbox, or nil when the kernel
// has no seccomp and the caller accepts that.
func seccompFilter(degraded bool) ([]syscall.SockFilter, error) {
	if !seccomp.Supported() {
		if degraded {
			return nil, nil
		}
		return nil, &SetupError{Layer: LayerSeccomp, Err: errors.New("the kernel offers no seccomp filters; accept it with allow_degraded: [seccomp]")}
	}
	f, err := filter()
	if err != nil {
		return nil, &SetupError{Layer: LayerSeccomp, Err: fmt.Errorf("assemble the filter: %w", err)}
	}
	return slices.Clone(f), nil
}
