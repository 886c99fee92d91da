package sandboxed

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sandbox"
)

// degradable are the sandbox layers a policy may accept missing.
var degradable = []string{sandbox.LayerLandlock, sandbox.LayerSeccomp}

// decodeResource reads a resource block of kind exec:
//
//	workdir: ./repo
//	programs: [go, git, /usr/bin/rg]
//	env: {GOFLAGS: -mod=mod}
//	limits: {timeout: 60s, memory: 1GiB, output_bytes: 1MiB}
//	sandbox: {allow_degraded: [seccomp]}
func decodeResource(n core.PolicyNode) any {
	name := resourceName(n)
	cfg := &Config{Limits: defaultLimits}
	if f := n.Field("workdir"); f == nil {
		n.Missing("workdir", "add workdir: ./path/to/dir, the directory programs run in", "resource %q of kind exec needs a workdir", name)
	} else if dir, ok := f.String("workdir"); ok {
		abs := n.Abs(dir)
		real, err := filepath.EvalSymlinks(abs)
		switch fi, serr := os.Stat(real); {
		case strings.TrimSpace(dir) == "":
			f.Problem("name the directory programs run in, such as workdir: ./repo", "workdir is empty")
		case err != nil || serr != nil:
			f.Problem("create the directory or fix the path", "workdir %q does not exist or cannot be read", dir)
		case !fi.IsDir():
			f.Problem("point workdir at a directory", "workdir %q is not a directory", dir)
		case real == "/":
			f.Problem("point workdir at the directory the programs need, such as ./repo", "workdir %q is the file system's root, which would let programs change the whole host", dir)
		default:
			cfg.Workdir = real
		}
	}
	if f := n.Field("programs"); f == nil {
		n.Missing("programs", "add programs: [go, git], the programs agents may run", "resource %q of kind exec needs programs", name)
	} else if list, nodes, ok := f.Strings("programs"); ok {
		if len(list) == 0 {
			f.Problem("name at least one program, such as programs: [go]", "programs is empty")
		}
		for i, p := range list {
			if prog, ok := resolveProgram(nodes[i], p); ok {
				if _, dup := cfg.program(prog.Name); dup {
					nodes[i].Problem("name each program once", "program %q is named twice", prog.Name)
					continue
				}
				cfg.Programs = append(cfg.Programs, prog)
			}
		}
	}
	if f := n.Field("env"); f != nil {
		for _, x := range f.Fields("env", nil) {
			v, ok := x.Value.String(x.Key)
			switch {
			case !ok:
			case !validEnvName(x.Key):
				x.Value.KeyProblem("use letters, digits and underscores, not starting with a digit", "%q is not an environment variable name", x.Key)
			case reservedEnv(x.Key):
				x.Value.KeyProblem("remove it: the sandbox sets it", "env %s is set by the sandbox", x.Key)
			case core.IsSecretRef(v):
				x.Value.Problem("programs run by an agent must not hold secrets: the agent could print them", "env %s names a secret", x.Key)
			default:
				cfg.Env = append(cfg.Env, x.Key+"="+v)
			}
		}
	}
	if f := n.Field("limits"); f != nil {
		cfg.Limits = decodeLimits(f, cfg.Limits, &cfg.WriteBytes)
	}
	if f := n.Field("sandbox"); f != nil {
		for _, x := range f.Fields("sandbox", []string{"allow_degraded"}) {
			list, nodes, ok := x.Value.Strings(x.Key)
			if !ok {
				continue
			}
			for i, l := range list {
				if !slices.Contains(degradable, l) {
					nodes[i].Problem("accept only "+strings.Join(degradable, " or ")+"; namespaces are never optional", "%q is not a sandbox layer that can be missing", l)
					continue
				}
				cfg.AllowDegraded = append(cfg.AllowDegraded, l)
			}
		}
	}
	return cfg
}

// limitKeys are the keys of a limits block, in a resource or a grant.
var limitKeys = []string{"timeout", "cpu", "memory", "output_bytes", "processes", "file_size", "open_files", "tmp_bytes", "write_bytes"}

// decodeLimits reads a limits block over base; write_bytes goes to
// writeBytes.
func decodeLimits(f core.PolicyNode, base sandbox.Limits, writeBytes *int64) sandbox.Limits {
	l := base
	for _, x := range f.Fields("limits", limitKeys) {
		v := x.Value
		switch x.Key {
		case "timeout":
			l.Wall, _ = v.Duration(x.Key, 1e8, 24*3600e9)
		case "cpu":
			l.CPU, _ = v.Duration(x.Key, 1e9, 24*3600e9)
		case "memory":
			l.Memory, _ = v.Size(x.Key, 16<<20, 1<<40)
		case "output_bytes":
			l.OutputBytes, _ = v.Size(x.Key, 1, 64<<20)
		case "processes":
			p, _ := v.Int(x.Key, 1, 100_000)
			l.Processes = int(p)
		case "file_size":
			l.FileSize, _ = v.Size(x.Key, 1, 1<<40)
		case "open_files":
			o, _ := v.Int(x.Key, 16, 1<<20)
			l.OpenFiles = int(o)
		case "tmp_bytes":
			l.TmpBytes, _ = v.Size(x.Key, 1<<20, 64<<30)
		case "write_bytes":
			*writeBytes, _ = v.Size(x.Key, 1, 64<<30)
		}
	}
	return l
}

// resolveProgram finds the file a policy's program names: a bare name on
// Warden's PATH as the policy loads, a path against the policy's
// directory.
func resolveProgram(n core.PolicyNode, p string) (Program, bool) {
	path := p
	if !strings.ContainsRune(p, '/') {
		found, err := exec.LookPath(p)
		if err != nil {
			n.Problem("install it, or write its absolute path", "program %q is not on PATH", p)
			return Program{}, false
		}
		path = found
	}
	path = n.Abs(path)
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			n.Problem("fix the path", "program %q does not exist", p)
		} else {
			n.Problem("", "program %q: %v", p, err)
		}
		return Program{}, false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		n.Problem("name an executable file", "program %q (%s) is not an executable file", p, real)
		return Program{}, false
	}
	name := filepath.Base(p)
	if !programName.Valid(name) {
		n.Problem("", "program %q has a name a call cannot give", p)
		return Program{}, false
	}
	return Program{Name: name, Path: real}, true
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// reservedEnv are the variables the sandbox sets itself.
func reservedEnv(name string) bool {
	return slices.Contains([]string{"PATH", "HOME", "TMPDIR", "PWD"}, name)
}

// resourceName is the name of the resource a block belongs to, for
// problems: the last element of "resources.NAME".
func resourceName(n core.PolicyNode) string {
	p := n.Path()
	return p[strings.LastIndex(p, ".")+1:]
}
