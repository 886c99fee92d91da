package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// headSize is the fixed size of the head file. Fixed, so every update is
// one write at offset 0 that never changes the file's length.
const headSize = 256

// head is the content of the head file: the last record's seq and hash,
// and the log's size just after it.
type head struct {
	seq  uint64
	hash string
	size int64
}

var (
	// errHeadEmpty means the head file is empty: a log that was never
	// written, or a deleted head.
	errHeadEmpty = errors.New("head file is empty")
	// errHeadGarbled means the head file is not in the head format.
	errHeadGarbled = errors.New("head file is garbled")
)

func (h head) encode() []byte {
	b := make([]byte, 0, headSize)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, h.seq, 10)
	b = append(b, `,"hash":"`...)
	b = append(b, h.hash...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, h.size, 10)
	b = append(b, '}')
	for len(b) < headSize-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// parseHead parses exactly what encode writes.
func parseHead(b []byte) (head, error) {
	if len(b) == 0 {
		return head{}, errHeadEmpty
	}
	if len(b) != headSize || b[headSize-1] != '\n' {
		return head{}, fmt.Errorf("%w: %d bytes, want %d ending in a newline", errHeadGarbled, len(b), headSize)
	}
	s := bytes.TrimRight(b[:headSize-1], " ")
	var h head
	var ok bool
	if s, ok = bytes.CutPrefix(s, []byte(`{"seq":`)); !ok {
		return head{}, fmt.Errorf("%w: no seq", errHeadGarbled)
	}
	num, s, _ := bytes.Cut(s, []byte(`,"hash":"`))
	seq, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		return head{}, fmt.Errorf("%w: bad seq", errHeadGarbled)
	}
	h.seq = seq
	if len(s) < 64 || !isLowerHex(s[:64]) {
		return head{}, fmt.Errorf("%w: bad hash", errHeadGarbled)
	}
	h.hash = string(s[:64])
	s, ok = bytes.CutPrefix(s[64:], []byte(`","size":`))
	if !ok {
		return head{}, fmt.Errorf("%w: no size", errHeadGarbled)
	}
	num, ok = bytes.CutSuffix(s, []byte("}"))
	if !ok {
		return head{}, fmt.Errorf("%w: no closing brace", errHeadGarbled)
	}
	size, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || size < 0 {
		return head{}, fmt.Errorf("%w: bad size", errHeadGarbled)
	}
	h.size = size
	if h.seq == 0 && (h.hash != zeroHash || h.size != 0) {
		return head{}, fmt.Errorf("%w: seq 0 with a hash or size", errHeadGarbled)
	}
	return h, nil
}

// readHead reads the head file through f.
func readHead(f *os.File) (head, error) {
	var buf [headSize + 1]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return head{}, fmt.Errorf("read head: %w", err)
	}
	return parseHead(buf[:n])
}

// writeHead replaces the head file's content with h in one write.
func writeHead(f *os.File, h head) error {
	if _, err := f.WriteAt(h.encode(), 0); err != nil {
		return fmt.Errorf("write head: %w", err)
	}
	return nil
}
