package sandbox

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
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
		// Beneath an overlay, the host's directory is only read (by the
		// overlay); the sandbox allows the overlay itself.
		add(m.Path, m.Dir, m.Write && m.Scratch == "")
	}
	if spec.Program != "" && !inside.Covered(spec.Program, spec.Mounts) {
		rules = append(rules, landlock.PathAccess(llsys.AccessFSExecute|llsys.AccessFSReadFile, spec.Program))
	}
	if spec.Egress != 0 {
		// The egress listener's port is the one TCP connection allowed;
		// every other connect and every bind stays refused.
		rules = append(rules, landlock.ConnectTCP(spec.Egress))
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

// filter is the assembled filter, built once.
var filter = sync.OnceValues(assembleFilter)

// seccompFilter returns the filter for a sandbox, or nil when the kernel
// has no seccomp and the caller accepts that.
func seccompFilter(degraded bool) ([]syscall.SockFilter, error) {
	if !seccompSupported() {
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

// seccompSupported reports whether the kernel takes seccomp filters: the
// call with an invalid flag fails with EINVAL where it exists.
func seccompSupported() bool {
	_, _, e := syscall.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_STRICT, 1, 0)
	return e == syscall.EINVAL
}
