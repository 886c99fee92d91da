package fs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
)

// editResult is the value of an edit.
type editResult struct {
	Path    string `json:"path"`
	Diff    string `json:"diff"`
	Applied bool   `json:"applied"`
	SHA256  string `json:"sha256,omitempty"` // the new content's hash, when applied
}

// maxCountedMatches bounds how far the matches of an ambiguous edit are
// counted for the message.
const maxCountedMatches = 100

// editMismatch reports an edit whose old text does not occur exactly once.
type editMismatch struct {
	index, count int
}

func (e *editMismatch) Error() string {
	switch {
	case e.count == 0:
		return fmt.Sprintf("edits[%d].old does not occur in the file (after the edits before it); it must match exactly, including spaces and line breaks.", e.index)
	case e.count >= maxCountedMatches:
		return fmt.Sprintf("edits[%d].old occurs %d or more times; include more surrounding text so that it occurs exactly once.", e.index, maxCountedMatches)
	}
	return fmt.Sprintf("edits[%d].old occurs %d times; include more surrounding text so that it occurs exactly once.", e.index, e.count)
}

// countMatches counts the occurrences of sub in s, overlapping ones too
// ("aa" occurs twice in "aaa"), up to limit.
func countMatches(s, sub string, limit int) int {
	n := 0
	for from := 0; n < limit; n++ {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			break
		}
		_, size := utf8.DecodeRuneInString(s[from+i:])
		from += i + size
	}
	return n
}

// applyEdits applies edits to s in order. Each old text must occur exactly
// once in the text as the edits before it left it. No intermediate result
// may exceed max bytes.
func applyEdits(s string, edits []edit, max int64) (string, error) {
	out, _, err := applyEditsShown(s, s, edits, max)
	return out, err
}

// applyEditsShown is applyEdits where the old texts are looked for in
// shown, s with the policy's secrets masked (same length): an old text
// never matches a secret, so edits cannot probe for one, as a search
// cannot. It returns s and shown, both edited.
func applyEditsShown(s, shown string, edits []edit, max int64) (string, string, error) {
	for i, e := range edits {
		if n := countMatches(shown, e.Old, maxCountedMatches); n != 1 {
			return "", "", &editMismatch{index: i, count: n}
		}
		if int64(len(s)-len(e.Old)+len(e.New)) > max {
			return "", "", errEditTooLarge
		}
		at := strings.Index(shown, e.Old)
		s = s[:at] + e.New + s[at+len(e.Old):]
		shown = shown[:at] + e.New + shown[at+len(e.Old):]
	}
	return s, shown, nil
}

var errEditTooLarge = errors.New("edit result exceeds the write limit")

// isText reports whether b is UTF-8 text without NUL bytes.
func isText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) }

func (m *mutation) edit() (*core.Result, error) {
	s, t := m.s, m.s.target
	switch {
	case t.missing:
		return nil, notFound(m.op, s.path, nil)
	case t.name == "" || t.info.IsDir():
		return nil, isDirectory(m.op, s.path)
	case !t.info.Mode().IsRegular():
		return nil, notRegularWrite(m.op, s.path)
	}
	d, cur, err := m.lockExisting(t, s.path)
	if err != nil {
		return nil, err
	}
	defer d.close()
	if err := m.checkReplaceable(t, cur, s.path); err != nil {
		return nil, err
	}
	f, err := d.openSame(t.name, cur)
	if err != nil {
		return nil, changedWrite(m.op, s.path, err)
	}
	old, oldSum, tooBig, err := readBounded(m.ctx, f, cur.Size(), m.c.limits.MaxWriteBytes)
	f.Close()
	switch {
	case err != nil:
		return nil, writeError(m.op, s.path, err)
	case tooBig:
		return nil, core.E(m.op, core.KindTooLarge, core.ReasonTooLarge,
			quote(s.path)+" is larger than the "+itoa(m.c.limits.MaxWriteBytes)+"-byte write limit, so it cannot be edited.", nil)
	case !isText(old):
		return nil, core.E(m.op, core.KindInvalid, core.ReasonToolFailed,
			quote(s.path)+" is not UTF-8 text; edit only changes text files. Use write to replace it.", nil)
	}
	shownOld := string(m.c.secrets.Mask(old, masked))
	updated, shown, err := applyEditsShown(string(old), shownOld, s.edits, m.c.limits.MaxWriteBytes)
	var mis *editMismatch
	switch {
	case errors.As(err, &mis):
		return nil, core.E(m.op, core.KindInvalid, core.ReasonNoMatch, mis.Error()+" Nothing was changed.", nil)
	case err != nil:
		return nil, tooLarge(m.op, "The edited file", m.c.limits.MaxWriteBytes)
	}
	// The diff's context lines may cut a secret that spans lines.
	diff := showMasked([]byte(unifiedDiff(t.rel, shownOld, shown)))
	res := editResult{Path: t.rel, Diff: diff}
	if s.dryRun {
		return &core.Result{Value: res}, nil
	}
	res.Applied = true
	if updated == string(old) {
		res.SHA256 = oldSum
		return &core.Result{Value: res}, nil
	}
	nf := newFile{perm: cur.Mode().Perm(), keep: true}
	nf.uid, nf.gid = owner(cur)
	after, err := m.commitFile(d, t, s.path, cur, oldSum, old, []byte(updated), nf)
	if err != nil {
		return nil, err
	}
	res.SHA256 = after.SHA256
	return &core.Result{Value: res, Bytes: after.Size}, nil
}
