package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Reseal seals the head of the keyed log in dir, for a log whose head was
// written without the key (by a Warden older than sealed heads). It first
// verifies the whole log under key, and the anchor if given, accepting an
// unsealed head; only if that passes, and the head and log are unchanged
// since, does it write the sealed head. The Report says what was checked;
// the error is for failures to read or write the files.
//
// Resealing is the operator's statement that the log's end is trusted: an
// old head cannot be told from one rewritten after cutting records off,
// which is why the head is sealed from then on. Check an anchor kept
// elsewhere first when there is one.
func Reseal(dir string, key []byte, anchor *Anchor) (*Report, error) {
	if len(key) == 0 {
		return nil, errors.New("audit reseal: the log has no key (set audit.key in the policy)")
	}
	before, herr := readHeadFile(dir)
	rep, err := Verify(dir, VerifyOptions{Key: key, Anchor: anchor, unsealed: true})
	if err != nil {
		return nil, fmt.Errorf("audit reseal: %w", err)
	}
	if !rep.OK {
		return rep, nil
	}
	if herr != nil {
		rep.OK, rep.Problem = false, fmt.Sprintf("%s: %v", HeadFile, herr)
		return rep, nil
	}
	if err := resealHead(dir, newHeadSealer(key), before); err != nil {
		return nil, fmt.Errorf("audit reseal: %w", err)
	}
	return rep, nil
}

// resealHead writes h sealed, under the log's lock, if the head file still
// holds h and the log is at least as long as it says.
func resealHead(dir string, seal headSealer, h head) error {
	lf, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer lf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	if err := lockFile(ctx, lf, true); err != nil {
		return fmt.Errorf("lock log: %w", err)
	}
	defer unlockFile(lf)
	hf, err := os.OpenFile(filepath.Join(dir, HeadFile), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer hf.Close()
	now, err := readHead(hf)
	if err != nil {
		return err
	}
	st, err := lf.Stat()
	if err != nil {
		return err
	}
	if now != h || st.Size() < h.size {
		return errors.New("the log or its head changed while it was verified; run reseal again")
	}
	if err := writeHead(hf, seal, h); err != nil {
		return err
	}
	return hf.Sync()
}
