package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// childSpec checks c and turns it into what the sandbox's first process
// needs. Grant paths are resolved through symbolic links: the sandbox
// shows each at its real path.
func (c Command) childSpec(lim Limits) (*inside.Spec, error) {
	bad := func(field, format string, args ...any) error {
		return &CommandError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !filepath.IsAbs(c.Program) || filepath.Clean(c.Program) != c.Program {
		return nil, bad("program", "%q is not an absolute, clean path", c.Program)
	}
	fi, err := os.Stat(c.Program)
	if err != nil {
		return nil, bad("program", "%v", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return nil, bad("program", "%s is not an executable file", c.Program)
	}
	for i, a := range c.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, bad("args", "argument %d holds a NUL byte", i+1)
		}
	}
	for _, e := range c.Env {
		name, _, ok := strings.Cut(e, "=")
		if !ok || name == "" || strings.IndexByte(e, 0) >= 0 {
			return nil, bad("env", "%q is not NAME=value", e)
		}
	}
	paths := make([]inside.Mount, 0, len(c.Paths))
	for _, p := range c.Paths {
		if !filepath.IsAbs(p.Path) {
			return nil, bad("paths", "%q is not absolute", p.Path)
		}
		real, err := filepath.EvalSymlinks(p.Path)
		if err != nil {
			return nil, bad("paths", "%v", err)
		}
		if real == "/" {
			return nil, bad("paths", "%s would show the whole host: name the directories the program needs", p.Path)
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, bad("paths", "%v", err)
		}
		m := inside.Mount{Path: real, Dir: st.IsDir(), Write: p.Access == Write}
		if p.Scratch != "" {
			if !m.Dir || !m.Write || !filepath.IsAbs(p.Scratch) {
				return nil, bad("paths", "%s: changes kept apart need a writable directory and an absolute scratch directory", p.Path)
			}
			if m.Scratch, err = filepath.EvalSymlinks(p.Scratch); err != nil {
				return nil, bad("paths", "%v", err)
			}
		}
		paths = append(paths, m)
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	} else {
		if !filepath.IsAbs(dir) {
			return nil, bad("dir", "%q is not absolute", dir)
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return nil, bad("dir", "%v", err)
		}
		dir = real
		beneath := false
		for _, p := range paths {
			beneath = beneath || (p.Dir && inside.Within(dir, p.Path))
		}
		if !beneath {
			return nil, bad("dir", "%s is not beneath a path the sandbox shows", c.Dir)
		}
	}
	env := c.Env
	var egress uint16
	if c.Egress != nil {
		egress, env = EgressPort, withProxy(env)
	}
	spec := &inside.Spec{
		Program:  c.Program,
		Argv:     append([]string{filepath.Base(c.Program)}, c.Args...),
		Env:      env,
		Egress:   egress,
		Dir:      dir,
		Mounts:   paths,
		TmpBytes: uint64(lim.TmpBytes),
		Rlimits: []inside.Rlimit{
			{Resource: unix.RLIMIT_CPU, Value: uint64(max(1, lim.CPU.Round(1e9)/1e9))},
			{Resource: unix.RLIMIT_DATA, Value: uint64(lim.Memory)},
			{Resource: unix.RLIMIT_FSIZE, Value: uint64(lim.FileSize)},
			{Resource: unix.RLIMIT_NPROC, Value: uint64(lim.Processes)},
			{Resource: unix.RLIMIT_NOFILE, Value: uint64(lim.OpenFiles)},
			{Resource: unix.RLIMIT_CORE, Value: 0},
		},
	}
	if lim.CPU < 0 {
		spec.Rlimits = slices.DeleteFunc(spec.Rlimits, func(r inside.Rlimit) bool { return r.Resource == unix.RLIMIT_CPU })
	}
	return spec, nil
}

// withProxy returns env with every proxy variable naming the egress
// listener, and no other value of them.
func withProxy(env []string) []string {
	names := []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
	out := slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		name, _, _ := strings.Cut(e, "=")
		return slices.Contains(names, name)
	})
	for _, n := range names {
		out = append(out, fmt.Sprintf("%s=http://127.0.0.1:%d", n, EgressPort))
	}
	return out
}
