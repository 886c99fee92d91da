// Package seccompfilter assembles the sandbox's seccomp filter with
// github.com/elastic/go-seccomp-bpf. That library builds tables for every
// architecture when its package initialises (about 0.3 ms at every start
// of any binary that links it), so Warden's amd64 build carries the filter
// this package assembles as a generated table (package sandbox,
// filter_linux_amd64.go, from go generate) and links this package only in tests
// and on other architectures.
package seccompfilter

import (
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
)

// Assemble returns the filter program for the architecture this binary
// runs on: the system calls in denied, clone with any of cloneFlags and
// ioctl with any of ioctls refused with EPERM, those in unimplemented with
// ENOSYS, everything else allowed.
func Assemble(denied []string, cloneFlags uint64, ioctls []uint64, unimplemented []string) ([]syscall.SockFilter, error) {
	var conds []seccomp.NameWithConditions
	if cloneFlags != 0 {
		conds = append(conds, seccomp.NameWithConditions{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: cloneFlags}}})
	}
	for _, req := range ioctls {
		conds = append(conds, seccomp.NameWithConditions{Name: "ioctl", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.Equal, Value: req}}})
	}
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno, Names: denied},
			{Action: seccomp.ActionErrno, NamesWithCondtions: conds},
			{Action: seccomp.Action(uint32(seccomp.ActionErrno) | uint32(syscall.ENOSYS)), Names: unimplemented},
		},
	}
	insts, err := policy.Assemble()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return nil, err
	}
	out := make([]syscall.SockFilter, len(raw))
	for i, in := range raw {
		out[i] = syscall.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out, nil
}
