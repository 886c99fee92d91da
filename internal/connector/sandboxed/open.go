package sandboxed

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sandbox"
)

// Open checks that this host builds the sandbox the resource needs and
// starts the launcher that will build it. It must run before the serving
// process confines itself with Landlock, which the engine's start-up
// ensures: a confined process can no longer build sandboxes itself.
func (c *Connector) Open(context.Context) error {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	if c.closed {
		return fmt.Errorf("resource %s: closed", c.name)
	}
	if c.launcher != nil {
		return nil
	}
	if err := c.checkHost(); err != nil {
		return err
	}
	// The scratch directory and the work directory are opened now, while
	// the serving process may still open anything.
	if _, err := c.scratchDir(); err != nil {
		return fmt.Errorf("resource %s: %w", c.name, err)
	}
	if c.workdir == nil {
		t, err := fs.OpenTree(context.Background(), c.name, c.cfg.Workdir, c.host.Reserved, writeLimitFor(c.cfg.WriteBytes, core.GrantOptions{}))
		if err != nil {
			return fmt.Errorf("resource %s: %w", c.name, err)
		}
		c.workdir = t
	}
	env := sandbox.Envelope{Paths: []sandbox.Path{{Path: c.cfg.Workdir, Access: sandbox.Write}, {Path: c.scratch, Access: sandbox.Write}}}
	for _, p := range c.cfg.Programs {
		env.Programs = append(env.Programs, p.Path)
	}
	l, err := sandbox.StartLauncher(env)
	if err != nil {
		return fmt.Errorf("resource %s: %w", c.name, err)
	}
	c.launcher, c.runner = l, l
	return nil
}

// Close stops the launcher; runs still going are killed with it.
func (c *Connector) Close() error {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	c.closed = true
	if c.workdir != nil {
		c.workdir.Close()
		c.workdir = nil
	}
	if c.scratch != "" {
		removeScratch(c.scratch)
		c.scratch = ""
	}
	if c.launcher == nil {
		return nil
	}
	err := c.launcher.Close()
	c.launcher = nil
	return err
}

// probe is what this host's sandbox lacks, found once per process.
var probe = sync.OnceValue(sandbox.ProbeProcess)

// checkHost refuses a host that lacks a layer the resource does not
// accept missing.
func (c *Connector) checkHost() error {
	missing := probe().Unaccepted(c.cfg.AllowDegraded)
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("resource %s: this host cannot sandbox its programs: missing %s; where a layer other than namespaces is missing, the resource may accept it with sandbox: {allow_degraded: [...]}", c.name, strings.Join(missing, "; "))
}
