package journal

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// inlineMax is the largest file Keep copies into its entry line instead of
// linking: copying it costs less than the inode a link keeps alive.
const inlineMax = 64 << 10

// inlineTxMax bounds what one Tx keeps inline, so its line, in base64 and
// with its changes, stays far below maxEntryBytes; later files are linked.
const inlineTxMax = 8 << 20

// readInline reads name in dir, the file info describes, whole and checks
// it hashes to sum. It returns the content in base64, as the entry line
// holds it.
func readInline(dir *os.File, name string, info fs.FileInfo, sum string, max int64) (string, error) {
	f, err := openRead(dir, name)
	if err != nil {
		if errors.Is(err, errLoop) || isNotExist(err) {
			err = fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return "", fmt.Errorf("open %q: %w", name, err)
	}
	defer f.Close()
	st, err := statFile(f)
	if err != nil {
		return "", fmt.Errorf("open %q: %w", name, err)
	}
	if !st.regular() || !st.describes(info) {
		return "", fmt.Errorf("open %q: %w", name, ErrChanged)
	}
	// One byte more than the size shows a file that grew since.
	data := make([]byte, min(info.Size(), max)+1)
	n, err := io.ReadFull(f, data)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("read %q: %w", name, err)
	}
	data = data[:n]
	if int64(len(data)) != info.Size() || hashOf(data) != sum {
		return "", fmt.Errorf("read %q: %w", name, ErrChanged)
	}
	return toBase64(data), nil
}

// inlineContent is readInline for a caller that read the file already:
// content must be what name in dir, the file info describes, holds, and
// hash to sum. It returns the content in base64.
func inlineContent(dir *os.File, name string, info fs.FileInfo, sum string, content []byte) (string, error) {
	st, err := statAt(dir, name)
	if err != nil {
		if isNotExist(err) {
			err = fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return "", fmt.Errorf("stat %q: %w", name, err)
	}
	if !st.regular() || !st.describes(info) || int64(len(content)) != info.Size() || hashOf(content) != sum {
		return "", fmt.Errorf("keep %q: %w", name, ErrChanged)
	}
	return toBase64(content), nil
}

// toBase64 is base64.StdEncoding.EncodeToString written into the string's
// own memory, rather than encoded into a slice and copied.
func toBase64(data []byte) string {
	var b strings.Builder
	b.Grow(base64.StdEncoding.EncodedLen(len(data)))
	w := base64.NewEncoder(base64.StdEncoding, &b)
	w.Write(data) // a strings.Builder does not fail
	w.Close()
	return b.String()
}

func hashOf(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// openInline returns a private copy of the object sum that an entry line
// holds inline, or ErrNotFound. Any live entry's line holding it will do,
// since the content is checked against sum: one in memory, else the first
// in the log.
func (s *Store) openInline(sum string) (*os.File, error) {
	var efs []*entryFile
	err := s.reading("journal.Open", func(x *index) error {
		return s.readLocked(func(f *os.File) error {
			for id, m := range x.hot {
				if m == nil {
					continue
				}
				if _, ok := m.inline[sum]; ok {
					ef, err := readLine(f, id, m.off, m.n)
					if err != nil {
						return err
					}
					efs = append(efs, ef)
					return nil
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(efs) == 0 {
		// Half the hash finds the lines (a needle short enough for the
		// vector search); the decoded line is then checked whole.
		efs, err = s.scanLive("journal.Open", []byte(sum[:32]), func(ef *entryFile) bool {
			_, ok := ef.Inline[sum] // "" is an empty file's content
			return ok
		}, true)
		if err != nil {
			return nil, err
		}
	}
	if len(efs) == 0 {
		return nil, ErrNotFound
	}
	b64, ok := efs[0].Inline[sum]
	if !ok {
		return nil, fmt.Errorf("entry %q: no inline content: %w", efs[0].ID, ErrCorrupt)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("entry %q: %w: %w", efs[0].ID, ErrCorrupt, err)
	}
	if got := hashOf(data); got != sum {
		return nil, fmt.Errorf("entry %q: content hashes to %s: %w", efs[0].ID, got, ErrCorrupt)
	}
	dst, err := openTemp(s.objects)
	if err != nil {
		return nil, fmt.Errorf("temp file: %w", err)
	}
	_, err = dst.Write(data)
	if err == nil {
		_, err = dst.Seek(0, io.SeekStart)
	}
	if err != nil {
		dst.Close()
		return nil, err
	}
	return dst, nil
}
