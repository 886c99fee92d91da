package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Filter selects records for [Read]. Zero fields match everything.
type Filter struct {
	Agent    string // exact agent name
	Tool     string // exact tool name
	Decision string // exact decision: "allow", "deny" or "approval_required"
	// Since and Until bound Record.Time: Since is inclusive, Until
	// exclusive.
	Since, Until time.Time
	// Follow keeps reading as records are appended, until the context
	// ends. It stays with the file it opened: if the log is moved aside,
	// start a new Read to see the new one.
	Follow bool
	// PollInterval is how often Follow checks for new records. Default
	// 200ms.
	PollInterval time.Duration
}

// Match reports whether r passes the filter.
func (f *Filter) Match(r *Record) bool {
	return (f.Agent == "" || r.Agent == f.Agent) &&
		(f.Tool == "" || r.Tool == f.Tool) &&
		(f.Decision == "" || r.Decision == f.Decision) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Until.IsZero() || r.Time.Before(f.Until))
}

// Read calls fn, in log order, for each record of the log in dir that
// matches f. It does not verify hashes or the chain; use [Verify] for that.
// A trailing partial record is skipped, or with f.Follow, waited for.
//
// Read returns fn's error unchanged if fn fails, so fn can stop it with a
// sentinel. Otherwise it returns nil at the end of the log, or the
// context's error once ctx ends (the only way a Follow ends without an
// error of its own).
func Read(ctx context.Context, dir string, f Filter, fn func(Record) error) error {
	if f.PollInterval <= 0 {
		f.PollInterval = 200 * time.Millisecond
	}
	lf, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		return fmt.Errorf("audit read: %w", err)
	}
	defer lf.Close()

	lr := newLineReader(lf)
	var off int64 // the end of the last complete line
	var timer *time.Timer
	for lineNo := 1; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := lr.next()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if !f.Follow {
				return nil
			}
			if err := followWait(ctx, &timer, f.PollInterval); err != nil {
				return err
			}
			if err := rewindIfChanged(lf, lr, off, line); err != nil {
				return fmt.Errorf("audit read: %w", err)
			}
			continue
		case errors.Is(err, errLineTooLong):
			return fmt.Errorf("audit read: line %d: longer than %d MiB", lineNo, maxLine>>20)
		default:
			return fmt.Errorf("audit read: %w", err)
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("audit read: line %d: malformed record: %w", lineNo, err)
		}
		off += int64(len(line))
		lineNo++
		if !f.Match(&r) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
}

func followWait(ctx context.Context, timer **time.Timer, d time.Duration) error {
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-ctx.Done():
		(*timer).Stop()
		return ctx.Err()
	case <-(*timer).C:
		return nil
	}
}

// rewindIfChanged handles a followed log that changed under a partial
// line: an Append recovering from a crash cuts the partial line off and
// writes a new record in its place. If the bytes after off (the end of the
// last complete line) are no longer partial, reading resumes at off.
func rewindIfChanged(lf *os.File, lr *lineReader, off int64, partial []byte) error {
	st, err := lf.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size < off {
		return fmt.Errorf("log shrank to %d bytes below the %d already read: %w", size, off, ErrTampered)
	}
	if len(partial) == 0 {
		return nil
	}
	if size >= off+int64(len(partial)) {
		now := make([]byte, len(partial))
		if _, err := lf.ReadAt(now, off); err != nil {
			return err
		}
		if bytes.Equal(now, partial) {
			return nil
		}
	}
	if _, err := lf.Seek(off, io.SeekStart); err != nil {
		return err
	}
	lr.reset(lf)
	return nil
}
