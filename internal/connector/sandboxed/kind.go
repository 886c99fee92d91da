package sandboxed

import (
	"fmt"

	"github.com/warden-dev/warden/internal/core"
)

// Kind is the "exec" resource kind: programs run in a sandbox. It is not
// registered yet: serving it needs the sandbox launcher started before
// Warden confines itself, and undo of what a run changed.
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
	New: func(spec *core.ResourceSpec, host core.Host) (core.Connector, error) {
		c, err := New(spec, host)
		if err != nil {
			return nil, err
		}
		return c, nil
	},
	Describe: func(spec *core.ResourceSpec) string {
		cfg := config(spec)
		names := make([]string, len(cfg.Programs))
		for i, p := range cfg.Programs {
			names[i] = p.Name
		}
		return fmt.Sprintf("programs %v run in a sandbox that sees only the work directory, with no network", names)
	},
	// The sandbox's first process reads the work directory and the
	// programs; Warden itself opens neither.
	HostPaths: func(*core.ResourceSpec, bool) []core.HostPath { return nil },
}

// config returns a resource's configuration; never nil.
var config = core.ConfigOf[Config]
