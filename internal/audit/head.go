package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
	// mac seals the three fields above in a keyed log (see headSealer);
	// "" in an unkeyed log.
	mac string
}

var (
	// errHeadEmpty means the head file is empty: a log that was never
	// written, or a deleted head.
	errHeadEmpty = errors.New("head file is empty")
	// errHeadGarbled means the head file is not in the head format.
	errHeadGarbled = errors.New("head file is garbled")
	// errHeadUnsealed means a keyed log's head has no MAC, or a wrong one:
	// it was written without the key.
	errHeadUnsealed = errors.New("head file is not sealed with the log's key")
)

// headKeyLabel derives the key that seals heads from the log's key, so a
// head's MAC can never be mistaken for a record's hash.
const headKeyLabel = "warden audit head v1"

// headSealer seals and checks heads with a key derived from the log's key.
// Without a key it does nothing: an unkeyed head is a hint, not evidence.
type headSealer struct {
	key []byte // nil for an unkeyed log
}

func newHeadSealer(logKey []byte) headSealer {
	return headSealer{key: DeriveKey(logKey, headKeyLabel)}
}

// DeriveKey returns the key for one use of the log's key (label names the
// use), so a MAC made for one use is never valid for another; nil without
// a log key.
func DeriveKey(logKey []byte, label string) []byte {
	if len(logKey) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, logKey)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// sum returns the hex MAC of h's seq, hash and size: HMAC-SHA-256 under the
// head key of the head as encoded without its mac field.
func (s headSealer) sum(h head) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(h.body())
	return hex.EncodeToString(m.Sum(nil))
}

// seal returns h with its MAC set, or unchanged without a key.
func (s headSealer) seal(h head) head {
	h.mac = ""
	if s.key != nil {
		h.mac = s.sum(h)
	}
	return h
}

// check reports whether h carries the right MAC; without a key every head
// passes. The error wraps errHeadUnsealed.
func (s headSealer) check(h head) error {
	switch {
	case s.key == nil:
		return nil
	case h.mac == "":
		return fmt.Errorf("%w: it has no MAC, so it was written without the key: by a Warden older than sealed heads (check the log, then run \"warden audit reseal\"), or by someone rewriting the log", errHeadUnsealed)
	case !hmac.Equal([]byte(h.mac), []byte(s.sum(h))):
		return fmt.Errorf("%w: its MAC does not match, so it was rewritten without the key", errHeadUnsealed)
	}
	return nil
}

// body is the head as encoded without its mac field: what the MAC covers.
func (h head) body() []byte {
	b := make([]byte, 0, headSize)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, h.seq, 10)
	b = append(b, `,"hash":"`...)
	b = append(b, h.hash...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, h.size, 10)
	return append(b, '}')
}

func (h head) encode() []byte {
	b := h.body()
	if h.mac != "" {
		b = append(b[:len(b)-1], `,"mac":"`...)
		b = append(b, h.mac...)
		b = append(b, `"}`...)
	}
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
	s, ok = bytes.CutSuffix(s, []byte("}"))
	if !ok {
		return head{}, fmt.Errorf("%w: no closing brace", errHeadGarbled)
	}
	num, mac, sealed := bytes.Cut(s, []byte(`,"mac":"`))
	if sealed {
		mac, ok = bytes.CutSuffix(mac, []byte(`"`))
		if !ok || len(mac) != 64 || !isLowerHex(mac) {
			return head{}, fmt.Errorf("%w: bad mac", errHeadGarbled)
		}
		h.mac = string(mac)
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

// writeHead replaces the head file's content with h, sealed by s, in one
// write.
func writeHead(f *os.File, s headSealer, h head) error {
	if _, err := f.WriteAt(s.seal(h).encode(), 0); err != nil {
		return fmt.Errorf("write head: %w", err)
	}
	return nil
}
