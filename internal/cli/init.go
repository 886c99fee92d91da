package cli

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/warden-dev/warden/internal/policy"
)

const initHelp = `Writes warden.yaml, a commented starter policy for the current directory:
one agent that may read, list, search and stat files here, with .git
denied and secrets hidden. Refuses to overwrite an existing file unless
--force is given. The written policy is checked before the command returns.`

// starterPolicy is what "warden init" writes: a commented policy with an
// example of each kind.
//
//go:embed starter.yaml
var starterPolicy string

func runInit(e *env, args []string) int {
	fs := newFlags(e, "init", "init [--force] [FILE]", initHelp)
	force := fs.Bool("force", false, "overwrite an existing file")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) > 1 {
		fs.Usage()
		return ExitUsage
	}
	file := "warden.yaml"
	if len(pos) == 1 {
		file = pos[0]
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(file, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return usageErr(e, "%s already exists; use --force to overwrite it", file)
	}
	// The file cannot be written: a failure (exit 1), said once.
	if err != nil {
		return writeFailed(e, file, err)
	}
	if _, err := io.WriteString(f, starterPolicy); err != nil {
		f.Close()
		return writeFailed(e, file, err)
	}
	if err := f.Close(); err != nil {
		return writeFailed(e, file, err)
	}
	if _, err := policy.Load(file); err != nil {
		return usageErr(e, "the starter policy does not load (a bug, please report it): %v", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s: agent \"assistant\" may read, list, search and stat files here.\nNext: warden serve --policy %s   (or: warden policy check %s)\n", file, file, file)
	return ExitOK
}

// readLimited reads at most max bytes, and fails if there are more.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("more than %d bytes", max)
	}
	return b, nil
}
