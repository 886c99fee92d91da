package sandboxed

import (
	"time"

	"github.com/warden-dev/warden/internal/sandbox"
)

// Config is one exec resource.
type Config struct {
	// Workdir is the absolute directory the program runs in and may
	// change.
	Workdir string
	// Programs are the programs the resource offers, in policy order.
	Programs []Program
	// Env is the environment of every run besides what the sandbox sets
	// (PATH, HOME, TMPDIR), "NAME=value" each.
	Env []string
	// Limits are the resource's bounds on one run; a grant may narrow
	// them.
	Limits sandbox.Limits
	// AllowDegraded are sandbox layers the policy accepts the host not
	// providing.
	AllowDegraded []string
	// WriteBytes bounds the bytes of files a run may write to the work
	// directory (limits: {write_bytes}); over it, nothing is applied.
	// Zero: defaultWriteBytes.
	WriteBytes int64
}

// defaultWriteBytes is WriteBytes where the policy sets none.
const defaultWriteBytes = 256 << 20

// Program is one program a resource offers.
type Program struct {
	Name string // as the policy and a call name it: "go"
	Path string // the file, absolute, symbolic links resolved
}

// program returns the resource's program called name.
func (c *Config) program(name string) (Program, bool) {
	for _, p := range c.Programs {
		if p.Name == name {
			return p, true
		}
	}
	return Program{}, false
}

// Defaults for a resource that sets no limits: a build or a test run, not
// a service.
var defaultLimits = sandbox.Limits{
	Wall:        60 * time.Second,
	CPU:         120 * time.Second,
	Memory:      2 << 30,
	OutputBytes: 1 << 20,
}
