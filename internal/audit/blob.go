package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/redact"
)

// BlobDir is the directory, inside the state directory, holding the
// contents that records reference by hash: <BlobDir>/ab/cdef… for the
// SHA-256 abcdef….
const BlobDir = "audit-blobs"

// Bounds of what a record holds inline.
const (
	// InlineArgsBytes: arguments this small are stored whole in the record.
	InlineArgsBytes = 1 << 10
	// inlineValueBytes: in larger arguments, a value whose JSON is longer
	// is stored as a blob, unless it says what the call does.
	inlineValueBytes = 256
	// MaxInlineArgsBytes: if the arguments left inline are still longer,
	// the whole arguments are stored as one blob, so a record line stays
	// far below the longest line a reader accepts.
	MaxInlineArgsBytes = 1 << 20
	// maxBlobBytes bounds one blob: the policy's largest argument size.
	maxBlobBytes = 64 << 20
)

// Blob references, from a record or an approval, a value of the call's
// arguments stored in [BlobDir]. The record's hash covers the reference,
// and the reference names the content's hash, so the content is as
// tamper-evident as the record; [Verify] checks every blob.
type Blob struct {
	// Pointer is the RFC 6901 pointer, into the arguments, of the value
	// the blob holds; "" means the whole arguments.
	Pointer string `json:"pointer"`
	SHA256  string `json:"sha256"` // lower-case hex SHA-256 of the stored bytes
	Bytes   int64  `json:"bytes"`  // size of the stored bytes
	// Text means the value is a JSON string, stored as its text;
	// otherwise the blob is the value's JSON encoding.
	Text bool `json:"text,omitempty"`
}

// Errors of [ReadBlob], also reported by [Verify].
var (
	ErrBlobMissing = errors.New("blob missing")
	ErrBlobAltered = errors.New("blob altered (its content no longer has its hash)")
)

// SplitArgs returns the arguments of a call as a record stores them, and
// the blobs it wrote for the rest. Arguments up to [InlineArgsBytes] are
// kept whole. In larger ones, each top-level value whose JSON is longer
// than 256 bytes is written to a blob and replaced by a short note, except
// the values whose key keep accepts (the SQL statement, the HTTP method
// and path: what the call does). If what remains is still over
// [MaxInlineArgsBytes], the whole arguments go to one blob instead.
//
// Secrets are redacted from each blob before it is hashed and written, as
// from the record. Blobs are flushed to disk before SplitArgs returns, so
// a record that references one is never on disk without it. A call thus
// adds at most about its own argument size to the store, once: identical
// contents share one file.
//
// With [SyncAlways] each blob is flushed before SplitArgs returns. With
// [SyncInterval] the blobs are flushed by the same flush as the records,
// just before the log, so a record never reaches the disk before its
// blobs: this keeps a write of a few KiB from paying two more flushes.
func (l *Log) SplitArgs(args json.RawMessage, keep func(key string) bool) (json.RawMessage, []Blob, error) {
	return l.SplitDecoded(args, nil, keep)
}

// SplitDecoded is [Log.SplitArgs] for a caller that decoded the arguments
// already: values must be what encoding/json decodes args to, and args
// must be valid UTF-8 without a repeated key (the engine refuses any
// other). The arguments are then split without being parsed again: a
// write's content, decoded once by the caller, is not decoded twice more
// here. Nil values means SplitArgs.
func (l *Log) SplitDecoded(args json.RawMessage, values map[string]any, keep func(key string) bool) (json.RawMessage, []Blob, error) {
	st := &storer{dir: l.dir, r: l.opts.Redactor, dirs: &l.blobDirs}
	if l.opts.Sync == SyncInterval {
		st.later = &l.blobs
	}
	return st.split(args, values, keep)
}

// storer writes the blobs of one call.
type storer struct {
	dir   string
	r     *redact.Redactor
	later *pendingSync // nil: flush each blob at once
	dirs  *sync.Map    // the blob directories known to exist
}

// pendingSync is the blob files and directories written but not yet
// flushed, for a Log in SyncInterval mode.
type pendingSync struct {
	mu    sync.Mutex
	paths map[string]bool
}

func (p *pendingSync) add(paths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paths == nil {
		p.paths = map[string]bool{}
	}
	for _, path := range paths {
		p.paths[path] = true
	}
}

// flush syncs every pending path. A path that failed stays pending, and
// the error is returned: the log must not be flushed ahead of its blobs.
func (p *pendingSync) flush() error {
	p.mu.Lock()
	paths := p.paths
	p.paths = nil
	p.mu.Unlock()
	var failed []string
	var errs []error
	for path := range paths {
		if err := syncPath(path); err != nil {
			failed = append(failed, path)
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		p.add(failed)
		return fmt.Errorf("sync blobs: %w", errors.Join(errs...))
	}
	return nil
}

func (st *storer) split(args json.RawMessage, values map[string]any, keep func(string) bool) (json.RawMessage, []Blob, error) {
	if len(args) <= InlineArgsBytes {
		return args, nil, nil
	}
	var members map[string]json.RawMessage
	if values != nil {
		members = topMembers(args, len(values))
	}
	if members == nil {
		if err := json.Unmarshal(args, &members); err != nil {
			return nil, nil, fmt.Errorf("split arguments: %w", err)
		}
		values = nil
	}
	var blobs []Blob
	for _, k := range slices.Sorted(maps.Keys(members)) {
		v := members[k]
		if len(v) <= inlineValueBytes || keep != nil && keep(k) {
			continue
		}
		text, isText := values[k].(string)
		b, err := st.put(pointerTo(k), v, text, isText)
		if err != nil {
			return nil, nil, err
		}
		blobs = append(blobs, b)
		// The note is ASCII with nothing to escape.
		members[k] = fmt.Appendf(nil, `"[%d bytes in blob sha256:%s]"`, b.Bytes, b.SHA256)
	}
	inline, err := encodeJSON(members)
	if err != nil {
		return nil, nil, fmt.Errorf("split arguments: %w", err)
	}
	if len(inline) <= MaxInlineArgsBytes {
		return inline, blobs, nil
	}
	whole, err := st.put("", args, "", false)
	if err != nil {
		return nil, nil, err
	}
	return nil, []Blob{whole}, nil
}

// put redacts one JSON value and stores it as a blob: a string as its
// text, anything else as its JSON. When isText is set, text is v decoded.
func (st *storer) put(ptr string, v json.RawMessage, text string, isText bool) (Blob, error) {
	r := st.r
	b := Blob{Pointer: ptr}
	var data []byte
	if !isText && len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &text) == nil {
		isText = true
	}
	if isText {
		b.Text = true
		data = []byte(r.String(text))
	} else {
		red, err := redactJSON(r, v)
		if err != nil {
			return Blob{}, fmt.Errorf("store blob: redact: %w", err)
		}
		data = red
	}
	sum := sha256.Sum256(data)
	b.SHA256, b.Bytes = hex.EncodeToString(sum[:]), int64(len(data))
	toSync, err := writeBlob(st.dir, b.SHA256, data, st.dirs)
	if err == nil && st.later == nil {
		for _, p := range toSync {
			if err = syncPath(p); err != nil {
				break
			}
		}
	}
	if err != nil {
		return Blob{}, fmt.Errorf("store blob: %w", err)
	}
	if st.later != nil {
		st.later.add(toSync)
	}
	return b, nil
}

// Built once: a Replacer builds its tables on first use.
var (
	pointerEscape   = strings.NewReplacer("~", "~0", "/", "~1")
	pointerUnescape = strings.NewReplacer("~1", "/", "~0", "~")
)

// pointerTo is the RFC 6901 pointer to a top-level key.
func pointerTo(key string) string {
	return "/" + pointerEscape.Replace(key)
}

// keyOf is the top-level key a pointer names.
func keyOf(ptr string) (string, bool) {
	rest, ok := strings.CutPrefix(ptr, "/")
	if !ok || strings.Contains(rest, "/") {
		return "", false
	}
	return pointerUnescape.Replace(rest), true
}

// topMembers returns the members of the JSON object doc, each value as
// its text in doc, or nil if doc is not an object with n members whose
// keys need no unescaping. doc must be JSON that encoding/json decoded
// without error and without a repeated key: it is scanned, not checked.
func topMembers(doc []byte, n int) map[string]json.RawMessage {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil
	}
	m := make(map[string]json.RawMessage, n)
	i++
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil
		}
		switch doc[i] {
		case '}':
			if len(m) != n {
				return nil
			}
			return m
		case ',':
			i = skipSpace(doc, i+1)
		}
		end := valueEnd(doc, i)
		if end < 0 || doc[i] != '"' {
			return nil
		}
		key := doc[i+1 : end-1]
		for _, c := range key {
			if c == '\\' || c >= utf8.RuneSelf || c < 0x20 {
				return nil // a key to unescape: rare, leave it to encoding/json
			}
		}
		i = skipSpace(doc, end)
		if i >= len(doc) || doc[i] != ':' {
			return nil
		}
		i = skipSpace(doc, i+1)
		if end = valueEnd(doc, i); end < 0 {
			return nil
		}
		m[string(key)] = doc[i:end:end]
		i = end
	}
}

func skipSpace(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at i in
// valid JSON, or -1.
func valueEnd(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	depth := 0
	for ; i < len(doc); i++ {
		switch c := doc[i]; c {
		case '"':
			for i++; i < len(doc) && doc[i] != '"'; i++ {
				if doc[i] == '\\' {
					i++
				}
			}
			if i >= len(doc) {
				return -1
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a number or literal
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i // the end of a number or literal
			}
		}
	}
	if depth == 0 {
		return i
	}
	return -1
}

// encodeJSON encodes v without escaping <, > and &, so a statement such as
// "a < 5" reads the same in the log as it was sent.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// blobPath returns where the blob with this hash lives, refusing anything
// but 64 hex digits (a forged record must not name another file).
func blobPath(dir, sum string) (string, error) {
	if len(sum) != 64 || !isLowerHex([]byte(sum)) {
		return "", fmt.Errorf("blob %q: not a SHA-256 in hex", sum)
	}
	return filepath.Join(dir, BlobDir, sum[:2], sum[2:]), nil
}

// writeBlob stores data under its hash: a temporary file renamed into
// place, so a reader never sees part of a blob. It returns the file and
// the directories to flush before a record may reference the blob. A blob
// already there with the right content is left alone (nothing to flush:
// the record that first referenced it flushed it); a damaged one is
// replaced.
//
// dirs holds the blob directories known to exist, whose creation has been
// flushed or is pending like this blob's: they are not made again.
func writeBlob(dir, sum string, data []byte, dirs *sync.Map) (toSync []string, err error) {
	name, err := blobPath(dir, sum)
	if err != nil {
		return nil, err
	}
	// sum is data's hash (blobPath checked its form): only what is there
	// is hashed.
	if got, err := os.ReadFile(name); err == nil && len(got) == len(data) {
		if h := sha256.Sum256(got); hex.EncodeToString(h[:]) == sum {
			return nil, nil
		}
	}
	sub := filepath.Dir(name)
	var created []string
	_, known := dirs.Load(sub)
	if !known {
		if created, err = mkdirs(dir, sub); err != nil {
			return nil, err
		}
	}
	tmp, err := writeTemp(sub, data)
	if known && errors.Is(err, fs.ErrNotExist) {
		// Removed since: make it again.
		if created, err = mkdirs(dir, sub); err != nil {
			return nil, err
		}
		tmp, err = writeTemp(sub, data)
	}
	if err != nil {
		dirs.Delete(sub)
		return nil, err
	}
	dirs.Store(sub, true)
	if err := renameBlob(tmp, name); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return append([]string{name, sub}, created...), nil
}

// mkdirs creates BlobDir and sub (mode 0700) as needed, and returns the
// directories whose entries changed and must be flushed.
func mkdirs(dir, sub string) ([]string, error) {
	top := filepath.Join(dir, BlobDir)
	var changed []string
	for _, d := range []string{top, sub} {
		err := os.Mkdir(d, 0o700)
		switch {
		case err == nil:
			changed = append(changed, filepath.Dir(d))
		case !errors.Is(err, fs.ErrExist):
			return nil, err
		}
	}
	return changed, nil
}

// ReadBlob returns the content b references in the state directory dir,
// checking its size and hash: a missing blob is [ErrBlobMissing], a
// changed one [ErrBlobAltered].
func ReadBlob(dir string, b Blob) ([]byte, error) {
	name, err := blobPath(dir, b.SHA256)
	if err != nil {
		return nil, err
	}
	if b.Bytes < 0 || b.Bytes > maxBlobBytes {
		return nil, fmt.Errorf("blob sha256:%s: size %d out of range", b.SHA256, b.Bytes)
	}
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob sha256:%s: %w", b.SHA256, ErrBlobMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("blob sha256:%s: %w", b.SHA256, err)
	}
	defer f.Close()
	// One byte more than expected is enough to tell it grew.
	data, err := io.ReadAll(io.LimitReader(f, b.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("blob sha256:%s: %w", b.SHA256, err)
	}
	if sum := sha256.Sum256(data); int64(len(data)) != b.Bytes || hex.EncodeToString(sum[:]) != b.SHA256 {
		return nil, fmt.Errorf("blob sha256:%s: %w", b.SHA256, ErrBlobAltered)
	}
	return data, nil
}

// ExpandArgs returns args with each blob's content put back in its place,
// read and checked from the state directory dir: the arguments as they
// were sent, with secrets redacted.
func ExpandArgs(dir string, args json.RawMessage, blobs []Blob) (json.RawMessage, error) {
	if len(blobs) == 0 {
		return args, nil
	}
	var members map[string]json.RawMessage
	for _, b := range blobs {
		data, err := ReadBlob(dir, b)
		if err != nil {
			return nil, err
		}
		v := json.RawMessage(data)
		if b.Text {
			if v, err = encodeJSON(string(data)); err != nil {
				return nil, err
			}
		} else if !json.Valid(v) {
			return nil, fmt.Errorf("blob sha256:%s: not JSON", b.SHA256)
		}
		if b.Pointer == "" {
			// The whole arguments; other blobs would be inside them.
			return v, nil
		}
		key, ok := keyOf(b.Pointer)
		if !ok {
			return nil, fmt.Errorf("blob sha256:%s: pointer %q is not a top-level key", b.SHA256, b.Pointer)
		}
		if members == nil {
			if err := json.Unmarshal(args, &members); err != nil {
				return nil, fmt.Errorf("expand arguments: %w", err)
			}
		}
		members[key] = v
	}
	return encodeJSON(members)
}

// blobsKey is how the blobs field starts in a record line. Only lines that
// contain it are decoded to check their blobs.
var blobsKey = []byte(`"blobs":[`)

// blobCheck checks, for Verify, the blobs that record lines reference.
type blobCheck struct {
	dir  string
	seen map[string]bool // blobs already found intact
}

func newBlobCheck(dir string) *blobCheck {
	return &blobCheck{dir: dir, seen: map[string]bool{}}
}

// check returns the problem with the blobs a verified record line
// references, or "".
func (c *blobCheck) check(line []byte) string {
	if !bytes.Contains(line, blobsKey) {
		return ""
	}
	var r struct {
		ID    string `json:"id"`
		Blobs []Blob `json:"blobs"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Sprintf("malformed blobs field: %v", err)
	}
	for _, b := range r.Blobs {
		key := fmt.Sprintf("%s %d", b.SHA256, b.Bytes)
		if c.seen[key] {
			continue
		}
		if _, err := ReadBlob(c.dir, b); err != nil {
			return fmt.Sprintf("record %s: argument %q: %v", r.ID, b.Pointer, err)
		}
		c.seen[key] = true
	}
	return ""
}
