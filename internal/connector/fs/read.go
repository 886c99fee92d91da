package fs

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/warden-dev/warden/internal/bufpool"
	"github.com/warden-dev/warden/internal/core"
)

// readResult is the value of a read.
type readResult struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	Offset     int64  `json:"offset"`
	Length     int    `json:"length"`
	Encoding   string `json:"encoding"` // "text" or "base64"
	Truncated  bool   `json:"truncated"`
	NextOffset *int64 `json:"next_offset,omitempty"`
}

// openFileFlags opens the final file: read-only, and non-blocking so that a
// FIFO swapped in after the Lstat cannot block the open. os.Root adds
// O_NOFOLLOW and O_CLOEXEC.
const openFileFlags = os.O_RDONLY | syscall.O_NONBLOCK

// openRegular opens the final entry of t for reading. The entry's type is
// checked from the Lstat taken during Prepare before anything is opened, so
// devices and FIFOs are never opened; after opening, the handle must be the
// very object that Lstat saw (same device and inode) and still a regular
// file. If the name was swapped for a link in between, os.Root may follow
// it inside the directory, and the identity check refuses the result.
func openRegular(op, p string, t *target) (*os.File, iofs.FileInfo, error) {
	switch {
	case t.missing:
		return nil, nil, notFound(op, p, nil)
	case t.name == "" || t.info.IsDir():
		return nil, nil, isDirectory(op, p)
	case !t.info.Mode().IsRegular():
		return nil, nil, notRegular(op, p)
	}
	f, err := t.dir.OpenFile(t.name, openFileFlags, 0)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return nil, nil, notFound(op, p, err)
		}
		return nil, nil, changed(op, p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fsError(op, p, err)
	}
	if !os.SameFile(t.info, fi) {
		f.Close()
		return nil, nil, changed(op, p, errChanged)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(op, p)
	}
	return f, fi, nil
}

func (c *Connector) read(op string, s *call) (*core.Result, error) {
	f, fi, err := openRegular(op, s.path, s.target)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	size := fi.Size()
	// around is the window with up to a secret's length of bytes on each
	// side: a secret the window cuts is still recognised, so reads of
	// small windows never add up to it.
	var around, buf []byte
	var at int
	atEOF := true
	if s.offset < size {
		want := min(s.length, size-s.offset)
		margin := int64(c.secrets.Margin())
		lo, hi := max(s.offset-margin, 0), min(s.offset+want+margin, size)
		// Lent, not allocated: a fresh megabyte a call is zeroed, faulted
		// in and collected. It goes back below, or through Release when
		// the text shares it.
		around = bufpool.Get(int(hi - lo))
		n, err := f.ReadAt(around, lo)
		if err != nil && err != io.EOF {
			bufpool.Put(around)
			return nil, fsError(op, s.path, err)
		}
		around = around[:n]
		at = min(int(s.offset-lo), n)
		buf = around[at:min(at+int(want), n)]
		atEOF = int64(len(buf)) < want || s.offset+int64(len(buf)) >= size
	}
	res := readResult{Path: s.target.rel, Size: size, Offset: s.offset}
	chunk, text := textPrefix(buf, atEOF)
	var content string
	var release func()
	if text {
		res.Encoding = "text"
		if shown := c.secrets.Window(around, at, at+len(chunk)); len(chunk) > 0 && len(shown) == len(chunk) && &shown[0] == &chunk[0] {
			// Nothing redacted, and textPrefix checked it is UTF-8. The
			// string shares around's memory instead of copying a large
			// read: around is not written again until given back, which
			// the face does once the text is no longer referred to.
			content = unsafe.String(&chunk[0], len(chunk))
			release = releaser(around)
		} else {
			content = validText(shown)
		}
		if len(chunk) < len(buf) {
			atEOF = false
		}
	} else {
		chunk = buf
		res.Encoding, content = "base64", base64.StdEncoding.EncodeToString(c.secrets.Window(around, at, at+len(buf)))
	}
	if release == nil && around != nil {
		bufpool.Put(around) // content is a copy
	}
	res.Length = len(chunk)
	if !atEOF {
		next := s.offset + int64(len(chunk))
		res.NextOffset = &next
		res.Truncated = true
	}
	return &core.Result{Value: res, Content: &core.Content{Field: "content", Text: content, Release: release}, Bytes: int64(len(chunk)), Truncated: res.Truncated}, nil
}

// releaser returns a function that gives buf back once, however many
// times it is called: a buffer given back twice would be lent to two
// calls at once.
func releaser(buf []byte) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			bufpool.Put(buf)
		}
	}
}

// textPrefix reports whether b is text (valid UTF-8 without NUL bytes) and
// returns the part to send as text. When b stops in the middle of a
// multi-byte character and more data follows, the incomplete character is
// cut off so that the next window starts on it. A window holding nothing but
// part of one character is not text.
func textPrefix(b []byte, atEOF bool) ([]byte, bool) {
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, false
	}
	if utf8.Valid(b) {
		return b, true
	}
	if atEOF {
		return nil, false
	}
	cut := incompleteTail(b)
	if cut == 0 || cut == len(b) || !utf8.Valid(b[:len(b)-cut]) {
		return nil, false
	}
	return b[:len(b)-cut], true
}

// incompleteTail returns the length of an incomplete UTF-8 sequence at the
// end of b, or 0.
func incompleteTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return 0
			}
			return len(b) - i
		}
	}
	return 0
}

// statResult is the value of a stat, and one entry of a list.
type statResult struct {
	Path     string `json:"path"`
	Type     string `json:"type"` // "file", "dir", "symlink" or "other"
	Size     int64  `json:"size"`
	Mode     string `json:"mode,omitempty"`
	Modified string `json:"modified"`
}

func typeName(m iofs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&iofs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

func modified(fi iofs.FileInfo) string { return fi.ModTime().UTC().Format(time.RFC3339) }

func (c *Connector) stat(op string, s *call) (*core.Result, error) {
	t := s.target
	if t.missing {
		return nil, notFound(op, s.path, nil)
	}
	var fi iofs.FileInfo
	var err error
	if t.name == "" {
		fi, err = t.dir.Stat(".")
	} else {
		fi, err = t.dir.Lstat(t.name)
	}
	if err != nil {
		return nil, fsError(op, s.path, err)
	}
	if !os.SameFile(t.info, fi) {
		return nil, changed(op, s.path, errChanged)
	}
	return &core.Result{Value: statResult{
		Path:     t.rel,
		Type:     typeName(fi.Mode()),
		Size:     fi.Size(),
		Mode:     "0" + strconvOctal(fi.Mode().Perm()),
		Modified: modified(fi),
	}}, nil
}

func strconvOctal(m iofs.FileMode) string {
	const digits = "01234567"
	return string([]byte{digits[m>>6&7], digits[m>>3&7], digits[m&7]})
}

// validText returns b as text, with each invalid UTF-8 sequence (a rune a
// redaction cut) replaced by U+FFFD. Valid text, the common case, is
// checked by utf8.Valid's fast scan instead of strings.ToValidUTF8's rune
// by rune decoding.
func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
