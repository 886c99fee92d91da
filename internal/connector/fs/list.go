package fs

import (
	"context"
	"encoding/base64"
	"errors"
	iofs "io/fs"
	"os"

	"github.com/warden-dev/warden/internal/core"
)

// listResult is the value of a list.
type listResult struct {
	Path       string       `json:"path"`
	Entries    []statResult `json:"entries"`
	NextCursor string       `json:"next_cursor,omitempty"`
	Truncated  bool         `json:"truncated"`
}

func (c *Connector) list(ctx context.Context, op string, s *call, scope core.Scope) (*core.Result, error) {
	o, dir, info, release, err := c.openWalk(op, s)
	if err != nil {
		return nil, err
	}
	defer release()

	entries := []statResult{}
	more := false
	w := &walker{o: o, scope: scope, hook: c.hook, budget: c.limits.MaxSearchFiles}
	if s.cursor != "" {
		// Pass over whatever sorts before the cursor without examining it,
		// but enter the directories on the cursor's own path.
		w.skip = func(rel string) bool { return comparePaths(rel, s.cursor) < 0 && !under(s.cursor, rel) }
	}
	err = w.walk(ctx, dir, info, s.target.rel, func(rel string, _ iofs.FileMode, fi iofs.FileInfo, _ func() (*os.Root, error), _ string) (bool, bool, error) {
		if s.cursor == "" || comparePaths(rel, s.cursor) > 0 {
			if len(entries) == s.limit {
				more = true
				return false, true, nil
			}
			entries = append(entries, statResult{
				Path:     rel,
				Type:     typeName(fi.Mode()),
				Size:     fi.Size(),
				Modified: modified(fi),
			})
		}
		return s.recursive, false, nil
	})
	switch {
	case errors.Is(err, errWalkBudget) && len(entries) > 0:
		more = true // the next page continues after the last entry
	case errors.Is(err, errWalkBudget), errors.Is(err, errTooManyNames):
		return nil, core.E(op, core.KindTooLarge, core.ReasonTooLarge,
			quote(s.path)+" holds too many entries to list in one call; list a smaller directory, or without recursive.", err)
	case err != nil:
		return nil, fsError(op, s.path, err)
	}
	res := listResult{Path: s.target.rel, Entries: entries, Truncated: more}
	if more {
		res.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(entries[len(entries)-1].Path))
	}
	return &core.Result{Value: res, Truncated: more}, nil
}
