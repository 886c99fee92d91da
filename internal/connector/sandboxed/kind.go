package sandboxed

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
)

// Kind is the "exec" resource kind: programs run in a sandbox.
var Kind = &core.ResourceKind{
	Name:    "exec",
	Summary: "programs run in a sandbox",
	Actions: []string{"run"},
	// A run may change its work directory: never read-only, and a human
	// approves by default.
	ApprovalByDefault: []string{"run"},
	Resource: core.ResourceSyntax{
		Keys:   []string{"workdir", "programs", "env", "limits", "sandbox"},
		Decode: decodeResource,
	},
	Rules: core.RuleSyntax{
		GrantKeys: []string{keyPrograms, keyEnv, keyLimits},
		DenyKeys:  []string{keyPrograms},
		Decode:    decodeRule,
	},
	New: connector.Constructor(New),
	Describe: func(spec *core.ResourceSpec) string {
		cfg := config(spec)
		names := make([]string, len(cfg.Programs))
		for i, p := range cfg.Programs {
			names[i] = p.Name
		}
		return fmt.Sprintf("programs %v run in a sandbox that sees only the work directory, with no network", names)
	},
	// The sandbox's first process reads the programs. Warden itself
	// applies a run's changes to the work directory from the scratch
	// directories, where the overlay put them.
	HostPaths: func(spec *core.ResourceSpec, _ bool) []core.HostPath {
		return []core.HostPath{
			{Path: config(spec).Workdir, Write: true, Dir: true, Why: "resource " + spec.Name + " (work directory)"},
			{Path: scratchBase(), Write: true, Dir: true, Why: "resource " + spec.Name + " (changes of runs before they are applied)"},
		}
	},
	Doctor:  doctor,
	Example: example,
}

// example is a work directory and the shell: what the contract suite runs
// the kind through.
var example = core.KindExample{
	Setup: func(dir string) (string, func(), error) {
		if err := os.Mkdir(filepath.Join(dir, "repo"), 0o755); err != nil {
			return "", nil, err
		}
		return "{kind: exec, workdir: ./repo, programs: [/bin/sh]}", func() {}, nil
	},
	Grant: "{actions: [run], approval: none}",
	Valid: core.Invocation{Op: OpRun, Args: []byte(`{"program":"sh","args":["-c","echo hello"]}`)},
	Invalid: []core.Invocation{
		{Op: OpRun, Args: []byte(`{"program":"rm","args":["-rf","/"]}`)},
		{Op: OpRun, Args: []byte(`{"program":"/bin/sh"}`)},
		{Op: OpRun, Args: []byte(`{"program":"sh","args":"-c rm -rf /"}`)},
		{Op: OpRun, Args: []byte(`{"program":"sh","args":["a\u0000b"]}`)},
		{Op: OpRun, Args: []byte(`{"program":"sh","env":{"PATH":"/tmp"}}`)},
		{Op: OpRun, Args: []byte(`{"program":"sh","env":{"1X":"y"}}`)},
		{Op: OpRun, Args: []byte(`{"args":["-c","true"]}`)},
		{Op: OpRun, Args: []byte(`{"program":"sh","extra":1}`)},
	},
}

func init() { connector.Register(Kind) }

// config returns a resource's configuration; never nil.
var config = core.ConfigOf[Config]
