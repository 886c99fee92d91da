package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Open returns the content of the object that hashes to sum, for undo. An
// object kept by hard link shares its inode with the file it was kept from,
// so another program holding that file open could have written to it:
// Open hashes the content into a private unnamed file while copying it and
// fails with ErrCorrupt if it no longer hashes to sum. The returned file is
// that copy, positioned at its start; the caller closes it. A small object
// kept inline comes from its entry line, hashed the same way. An object not
// in the journal is ErrNotFound.
func (s *Store) Open(sum string) (*os.File, error) {
	const op = "journal.Store.Open"
	if !validHash(sum) {
		return nil, fmt.Errorf("%s: invalid hash %q: %w", op, sum, ErrNotFound)
	}
	src, err := openRead(s.objects, sum)
	if isNotExist(err) {
		f, ierr := s.openInline(sum)
		if ierr == nil {
			return f, nil
		}
		if !errors.Is(ierr, ErrNotFound) {
			return nil, fmt.Errorf("%s: object %s: %w", op, sum, ierr)
		}
	}
	if err != nil {
		switch {
		case isNotExist(err):
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		case errors.Is(err, errLoop):
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("%s: object %s: %w", op, sum, err)
	}
	defer src.Close()
	if st, err := statFile(src); err != nil {
		return nil, fmt.Errorf("%s: object %s: %w", op, sum, err)
	} else if !st.regular() {
		return nil, fmt.Errorf("%s: object %s: not a regular file: %w", op, sum, ErrCorrupt)
	}
	dst, err := openTemp(s.objects)
	if err != nil {
		return nil, fmt.Errorf("%s: object %s: temp file: %w", op, sum, err)
	}
	got, _, err := copyHashing(dst, src)
	if err == nil && got != sum {
		err = fmt.Errorf("content hashes to %s: %w", got, ErrCorrupt)
	}
	if err == nil {
		_, err = dst.Seek(0, io.SeekStart)
	}
	if err != nil {
		dst.Close()
		return nil, fmt.Errorf("%s: object %s: %w", op, sum, err)
	}
	return dst, nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyHashing copies src to dst and returns the SHA-256 of what it copied,
// in lower-case hex, and the count of bytes.
func copyHashing(dst io.Writer, src io.Reader) (string, int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	h := sha256.New()
	var n int64
	for {
		r, err := src.Read(buf)
		if r > 0 {
			h.Write(buf[:r])
			if _, werr := dst.Write(buf[:r]); werr != nil {
				return "", n, werr
			}
			n += int64(r)
		}
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), n, nil
		}
		if err != nil {
			return "", n, err
		}
	}
}
