package sandboxed

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sandbox"
)

// Grant keys of the kind.
const (
	keyPrograms = "programs"
	keyEnv      = "env"
	keyLimits   = "limits"
)

// Caps a grant's limits set (core.GrantOptions): each lowers the
// resource's own bound for the calls the grant covers.
const (
	capTimeoutMS   = "timeout_ms"
	capCPUMS       = "cpu_ms"
	capMemory      = "memory"
	capOutputBytes = "output_bytes"
	capProcesses   = "processes"
	capFileSize    = "file_size"
	capOpenFiles   = "open_files"
	capTmpBytes    = "tmp_bytes"
	capWriteBytes  = "write_bytes"
)

// decodeRule reads a grant's or deny rule's programs, and a grant's env
// and limits:
//
//   - resource: build
//     actions: [run]
//     programs: [go, rg]
//     env: [GOFLAGS]
//     limits: {timeout: 60s, memory: 1GiB, output_bytes: 1MiB}
func decodeRule(n core.PolicyNode, r *core.RuleDraft) {
	var c constraint
	if f := n.Field(keyPrograms); f != nil {
		list, nodes, ok := f.Strings(keyPrograms)
		if ok && len(list) == 0 {
			f.Problem("name the programs the grant covers, or leave programs out for all of the resource's", "programs is empty")
		}
		for i, p := range list {
			if !programName.Valid(p) {
				nodes[i].Problem("name a program as the resource's programs list does, such as go", "%q is not a program name", p)
				continue
			}
			c.programs = append(c.programs, p)
		}
	}
	if f := n.Field(keyEnv); f != nil && !r.Deny {
		list, nodes, _ := f.Strings(keyEnv)
		for i, e := range list {
			if !validEnvName(e) || reservedEnv(e) {
				nodes[i].Problem("name variables the agent may set, such as GOFLAGS; PATH, HOME, TMPDIR and PWD are the sandbox's", "%q is not a variable an agent may set", e)
				continue
			}
			c.env = append(c.env, e)
		}
	}
	if f := n.Field(keyLimits); f != nil && !r.Deny {
		var writeBytes int64
		l := decodeLimits(f, sandbox.Limits{}, &writeBytes)
		for _, cp := range []struct {
			name string
			v    int64
		}{
			{capTimeoutMS, l.Wall.Milliseconds()}, {capCPUMS, l.CPU.Milliseconds()}, {capMemory, l.Memory},
			{capOutputBytes, l.OutputBytes}, {capProcesses, int64(l.Processes)}, {capFileSize, l.FileSize},
			{capOpenFiles, int64(l.OpenFiles)}, {capTmpBytes, l.TmpBytes}, {capWriteBytes, writeBytes},
		} {
			if cp.v > 0 {
				r.Options = r.Options.WithCap(cp.name, cp.v)
			}
		}
	}
	// Always a constraint, even an empty one: a grant that names no env
	// lets no variable be set.
	c.deny = r.Deny
	r.Constraint = c
}

// constraint is what an exec grant covers beyond its action: which
// programs, and which environment variables a call may set.
type constraint struct {
	programs []string // empty: all of the resource's
	env      []string // what a call may set; nothing when empty
	deny     bool     // a deny rule: only its programs narrow it
}

// Admits reports whether the grant covers running program target with the
// call's environment.
func (c constraint) Admits(req *core.Request, target string) (bool, string) {
	if len(c.programs) > 0 && !slices.Contains(c.programs, target) {
		return false, fmt.Sprintf("program %s is not granted; granted: %s", target, strings.Join(c.programs, ", "))
	}
	if d, ok := req.Detail.(*runDetail); ok && !c.deny {
		for _, e := range d.Env {
			if !slices.Contains(c.env, e) {
				return false, fmt.Sprintf("environment variable %s may not be set", e)
			}
		}
	}
	return true, ""
}

// Scope states the grant in words for tool descriptions.
func (c constraint) Scope() string {
	var parts []string
	if len(c.programs) > 0 {
		parts = append(parts, "programs "+strings.Join(c.programs, ", "))
	}
	if len(c.env) > 0 {
		parts = append(parts, "may set "+strings.Join(c.env, ", "))
	}
	return strings.Join(parts, "; ")
}

// limitsFor is the resource's limits lowered by a call's grant caps.
func limitsFor(base sandbox.Limits, o core.GrantOptions) sandbox.Limits {
	low := func(v, c int64) int64 {
		if c > 0 && c < v {
			return c
		}
		return v
	}
	l := base.WithDefaults()
	l.Wall = time.Duration(low(int64(l.Wall), o.Cap(capTimeoutMS)*int64(time.Millisecond)))
	l.CPU = time.Duration(low(int64(l.CPU), o.Cap(capCPUMS)*int64(time.Millisecond)))
	l.Memory = low(l.Memory, o.Cap(capMemory))
	l.OutputBytes = low(l.OutputBytes, o.Cap(capOutputBytes))
	l.Processes = int(low(int64(l.Processes), o.Cap(capProcesses)))
	l.FileSize = low(l.FileSize, o.Cap(capFileSize))
	l.OpenFiles = int(low(int64(l.OpenFiles), o.Cap(capOpenFiles)))
	l.TmpBytes = low(l.TmpBytes, o.Cap(capTmpBytes))
	return l
}

// writeLimitFor is the resource's bound on the bytes a run writes to the
// work directory, lowered by a call's grant cap.
func writeLimitFor(base int64, o core.GrantOptions) int64 {
	if base <= 0 {
		base = defaultWriteBytes
	}
	if c := o.Cap(capWriteBytes); c > 0 && c < base {
		return c
	}
	return base
}
