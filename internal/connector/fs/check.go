package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/warden-dev/warden/internal/core"
)

// Check reports whether the root is a directory Warden can open and list.
// It reads nothing below it and changes nothing; offline changes nothing,
// since a root is always local.
func (c *Connector) Check(ctx context.Context, offline bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(c.rootPath)
	if err != nil {
		return fmt.Errorf("cannot open the root directory %s: %s", c.rootPath, core.Cause(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot open the root directory %s: %s", c.rootPath, core.Cause(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("the root %s is not a directory", c.rootPath)
	}
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot list the root directory %s: %s", c.rootPath, core.Cause(err))
	}
	return nil
}

var _ core.Checker = (*Connector)(nil)
