package fs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/glob"
	"github.com/warden-dev/warden/internal/redact"
)

const (
	// binarySniff is how much of a file is checked for NUL bytes before
	// its content is searched.
	binarySniff = 8 << 10
	// maxLineChunk is the longest piece of a line matched at once; longer
	// lines are matched in pieces of this size.
	maxLineChunk = 64 << 10
	// maxMatchText is the longest line excerpt returned with a match.
	maxMatchText = 240
	// masked replaces every byte of a secret in the content searched: it
	// never occurs in valid UTF-8, so no search text can match it, and
	// what is shown of a matching line has each run of it as a marker.
	masked = 0xFF
)

// Reasons a search stopped early, as reported in "stopped".
const (
	stopMaxResults = "max_results"
	stopMaxFiles   = "max_files"
	stopMaxBytes   = "max_bytes"
	stopTimeout    = "timeout"
)

// searchResult is the value of a search.
type searchResult struct {
	Path         string        `json:"path"`
	Matches      []searchMatch `json:"matches"`
	FilesScanned int           `json:"files_scanned"`
	Truncated    bool          `json:"truncated"`
	Stopped      string        `json:"stopped,omitempty"`
}

type searchMatch struct {
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	Text string `json:"text,omitempty"`
}

// globProblem explains, for the model, what is wrong with a name pattern,
// or returns "" if it is valid.
func globProblem(p string) string {
	switch {
	case p == "":
		return "name must not be empty."
	case len(p) > 255:
		return "name must be at most 255 bytes."
	case strings.Contains(p, "/"):
		return `name is matched against file names only and cannot contain "/"; choose the directory with path.`
	}
	if _, err := glob.CompileName(p, false); err != nil {
		return "name is not a valid pattern: use * for any run of characters, ? for one character, [abc] or [a-z] for one of a set, and \\ to quote a special character."
	}
	return ""
}

// searcher holds the state of one search.
type searcher struct {
	o          *opened
	limits     Limits
	ctx        context.Context // the caller's context: its end is an error
	sctx       context.Context // with the search timeout: its end stops the search
	name       *glob.Name      // nil: any name
	needle     []byte
	ignoreCase bool
	maxResults int
	secrets    *redact.Redactor

	res   searchResult
	bytes int64
	br    *bufio.Reader
	lower []byte
}

func (c *Connector) search(ctx context.Context, op string, s *call, scope core.Scope) (*core.Result, error) {
	o, dir, info, release, err := c.openWalk(op, s)
	if err != nil {
		return nil, err
	}
	defer release()

	sctx, cancel := context.WithTimeout(ctx, c.limits.SearchTimeout)
	defer cancel()
	sr := &searcher{
		limits: c.limits,
		ctx:    ctx,
		sctx:   sctx,

		needle:     []byte(s.text),
		ignoreCase: s.ignoreCase,
		maxResults: s.maxResults,
		secrets:    c.secrets,
		res:        searchResult{Path: s.target.rel, Matches: []searchMatch{}},
	}
	if s.name != "" {
		if sr.name, err = glob.CompileName(s.name, s.ignoreCase); err != nil {
			// globProblem accepted it in Prepare; this cannot happen.
			return nil, core.E(op, core.KindInvalid, core.ReasonInvalidArguments, "name is not a valid pattern.", err)
		}
	}
	if s.ignoreCase {
		sr.needle = appendLower(nil, sr.needle)
	}
	sr.o = o
	// A name-only search never opens files, so it needs no Lstat of them;
	// names that do not match are passed over before any other check.
	w := &walker{o: o, scope: scope, hook: c.hook, lazyFiles: s.text == "", prefilter: sr.wanted, budget: c.limits.MaxSearchFiles}
	err = w.walk(sctx, dir, info, s.target.rel, sr.visit)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctxError(op, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded) || (err == nil && sr.res.Stopped == "" && sctx.Err() != nil):
		sr.res.Stopped = stopTimeout
	case errors.Is(err, errTooManyNames), errors.Is(err, errWalkBudget):
		sr.res.Stopped = stopMaxFiles
	case err != nil:
		return nil, fsError(op, s.path, err)
	}
	sr.res.Truncated = sr.res.Stopped != ""
	return &core.Result{Value: sr.res, Bytes: sr.bytes, Truncated: sr.res.Truncated}, nil
}

// wanted reports whether an entry the directory listing typed can match:
// only regular files whose name fits the glob.
func (sr *searcher) wanted(name string, typ iofs.FileMode) bool {
	return typ.IsRegular() && (sr.name == nil || sr.name.Match(name))
}

// visit handles one entry of the walk.
func (sr *searcher) visit(rel string, typ iofs.FileMode, fi iofs.FileInfo, dirOf func() (*os.Root, error), name string) (enter, stop bool, err error) {
	if err := sr.sctx.Err(); err != nil {
		return false, true, err
	}
	if typ.IsDir() {
		return true, false, nil
	}
	if !typ.IsRegular() {
		return false, false, nil // links are never followed; pipes and devices never opened
	}
	if sr.res.FilesScanned == sr.limits.MaxSearchFiles {
		sr.res.Stopped = stopMaxFiles
		return false, true, nil
	}
	sr.res.FilesScanned++
	if sr.name != nil && !sr.name.Match(name) {
		return false, false, nil
	}
	if len(sr.needle) == 0 {
		return false, !sr.add(searchMatch{Path: rel}), nil
	}
	dir, err := dirOf()
	if err != nil {
		return false, false, nil // the directory changed identity: skip it
	}
	if fi == nil {
		// The walk only knew the type from the directory listing.
		if fi, err = dir.Lstat(name); err != nil || !fi.Mode().IsRegular() || sr.o.isReserved(fi) {
			return false, false, nil
		}
	}
	if fi.Size() > sr.limits.MaxFileBytes {
		return false, false, nil
	}
	if sr.bytes >= sr.limits.MaxSearchBytes {
		sr.res.Stopped = stopMaxBytes
		return false, true, nil
	}
	return false, sr.scan(rel, fi, dir, name), nil
}

// add records a match unless the result is full, in which case it marks
// the search as stopped and reports false.
func (sr *searcher) add(m searchMatch) bool {
	if len(sr.res.Matches) == sr.maxResults {
		sr.res.Stopped = stopMaxResults
		return false
	}
	sr.res.Matches = append(sr.res.Matches, m)
	return true
}

// scan searches one file's content line by line in bounded memory. The
// file is opened from its directory's handle and must be the object the
// walk examined. scan reports whether the search must stop.
func (sr *searcher) scan(rel string, fi iofs.FileInfo, dir *os.Root, name string) (stop bool) {
	f, err := dir.OpenFile(name, openFileFlags, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	ffi, err := f.Stat()
	if err != nil || !os.SameFile(fi, ffi) || !ffi.Mode().IsRegular() || sr.o.isReserved(ffi) {
		return false // replaced since the walk examined it: skip
	}
	budget := sr.limits.MaxSearchBytes - sr.bytes
	lr := &io.LimitedReader{R: f, N: min(budget, ffi.Size())}
	// The policy's secrets are masked before matching, whatever their
	// form: a search answers for them exactly as for text that is absent,
	// so no sequence of searches spells one out.
	content := sr.secrets.MaskReader(lr, masked)
	if sr.br == nil {
		sr.br = bufio.NewReaderSize(content, maxLineChunk)
	} else {
		sr.br.Reset(content)
	}
	head, _ := sr.br.Peek(binarySniff)
	if bytes.IndexByte(head, 0) >= 0 {
		sr.bytes += int64(len(head))
		return false // binary
	}
	var read int64
	line, lastHit := 1, 0
	for chunks := 1; ; chunks++ {
		chunk, err := sr.br.ReadSlice('\n')
		read += int64(len(chunk))
		sr.bytes += int64(len(chunk))
		if line != lastHit {
			if i := sr.index(chunk); i >= 0 {
				if !sr.add(searchMatch{Path: rel, Line: line, Text: excerpt(chunk, i)}) {
					return true
				}
				lastHit = line
			}
		}
		switch err {
		case nil:
			line++
		case bufio.ErrBufferFull:
			// The line goes on in the next chunk.
		case io.EOF:
			if read < ffi.Size() && lr.N == 0 && budget < ffi.Size() {
				sr.res.Stopped = stopMaxBytes
				return true
			}
			return false
		default:
			return false // a read error: skip the rest of the file
		}
		if chunks%256 == 0 && sr.sctx.Err() != nil {
			return false // the walk notices the timeout at the next entry
		}
	}
}

// index returns the position of the needle in chunk, or -1.
func (sr *searcher) index(chunk []byte) int {
	if !sr.ignoreCase {
		return bytes.Index(chunk, sr.needle)
	}
	sr.lower = appendLower(sr.lower[:0], chunk)
	i := bytes.Index(sr.lower, sr.needle)
	if i > len(chunk) {
		i = len(chunk) // lower-casing changed byte lengths; the excerpt is approximate
	}
	return i
}

// appendLower appends the lower-case form of b to dst. Invalid UTF-8 bytes
// are copied unchanged.
func appendLower(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	return dst
}

// excerpt returns the matching line without its line ending, cut to
// maxMatchText bytes on character boundaries. When the match lies beyond
// the first maxMatchText bytes, the excerpt starts a little before it.
func excerpt(line []byte, at int) string {
	line = bytes.TrimRight(line, "\r\n")
	start := 0
	if at > maxMatchText*3/4 && len(line) > maxMatchText {
		start = min(at-maxMatchText/4, len(line)-maxMatchText)
		for start > 0 && !utf8.RuneStart(line[start]) {
			start--
		}
	}
	end := min(start+maxMatchText, len(line))
	for end < len(line) && end > start && !utf8.RuneStart(line[end]) {
		end--
	}
	return strings.ToValidUTF8(showMasked(line[start:end]), "\uFFFD")
}

// showMasked turns each run of masked bytes into [redact.Marker].
func showMasked(b []byte) string {
	if bytes.IndexByte(b, masked) < 0 {
		return string(b)
	}
	var out strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != masked {
			out.WriteByte(b[i])
			continue
		}
		out.WriteString(redact.Marker)
		for i+1 < len(b) && b[i+1] == masked {
			i++
		}
	}
	return out.String()
}
