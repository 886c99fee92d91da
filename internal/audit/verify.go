package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// lockWait bounds how long Verify and Head wait for appenders to let go of
// the log; appends hold the lock for microseconds.
const lockWait = 10 * time.Second

// Anchor is a head recorded outside the log's directory ("the log had
// reached seq N with hash H"). Only an anchor, or an HMAC key kept
// elsewhere, catches someone who rewrites both the log and its head.
type Anchor struct {
	Seq  uint64
	Hash string
}

// VerifyOptions configures [Verify]. The zero value is valid.
type VerifyOptions struct {
	// Key is the HMAC key the log was written with, if any.
	Key []byte
	// Anchor, if set, must match the record with its seq.
	Anchor *Anchor
	// unsealed accepts a keyed log's head without its seal, for Reseal.
	unsealed bool
}

// Report is the result of [Verify].
type Report struct {
	// OK reports whether no problem was found. A trailing partial record
	// (Partial) and records after the head (Unanchored) do not clear it.
	OK bool
	// Records counts the whole records that verified, up to the first
	// problem.
	Records int
	// LastSeq and LastHash identify the last record that verified.
	LastSeq  uint64
	LastHash string
	// Problem describes the first problem found, or is "" if OK.
	Problem string
	// Line is the 1-based line of the problem, or 0 when the problem is
	// with the log as a whole (a missing head, truncation, an anchor
	// beyond the end).
	Line int
	// Seq is the seq of the record at Line, when it could be read.
	Seq uint64
	// Partial describes a trailing partial record left by a crash during
	// append, or is "". It is not tampering: the next Append removes it.
	Partial string
	// Unanchored counts whole records after the one the head names. A
	// crash between writing a record and updating the head leaves one
	// (per crashed writer), and the next Append adopts it; without a key,
	// a forger who appends chaining records looks the same.
	Unanchored int
}

// String summarises the report in one line for operators.
func (r *Report) String() string {
	if !r.OK {
		return fmt.Sprintf("FAILED: %s (%d records verified before it)", r.Problem, r.Records)
	}
	s := fmt.Sprintf("OK: %d records, last seq %d hash %s", r.Records, r.LastSeq, r.LastHash)
	if r.Unanchored > 0 {
		s += fmt.Sprintf("; %d records after the head (a crash before the head was updated, or an unkeyed forgery)", r.Unanchored)
	}
	if r.Partial != "" {
		s += "; " + r.Partial
	}
	return s
}

// Verify checks the audit log in dir from the first record to the last:
// every line's hash, that seqs run 1, 2, 3, … without gaps, that each
// record's prev is the previous record's hash, and that the head file (and
// opts.Anchor, if set) match. It stops at the first problem and describes
// it in the Report; the error is for failures to read the log at all.
//
// Verify streams the log and may run while other processes append: it
// checks the log as it was when it started.
func Verify(dir string, opts VerifyOptions) (*Report, error) {
	lf, h, herr, size, err := snapshot(dir)
	if errors.Is(err, fs.ErrNotExist) && herr == nil && h.seq > 0 {
		return &Report{Problem: fmt.Sprintf("log missing: the head records seq %d", h.seq)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	defer lf.Close()

	v := verifier{
		chk:    newChecker(opts.Key),
		seal:   newHeadSealer(opts.Key),
		sealOK: opts.unsealed,
		head:   h,
		anchor: opts.Anchor,
		rep:    &Report{LastHash: zeroHash},
		blobs:  newBlobCheck(dir),
	}
	lr := newLineReader(io.LimitReader(lf, size))
	if err := v.run(lr); err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	rep := v.rep
	if rep.Problem != "" {
		return rep, nil
	}
	switch {
	case errors.Is(herr, errHeadEmpty) && (rep.Records > 0 || rep.Partial != ""):
		rep.Problem = "head file missing or empty, so truncation cannot be ruled out; the log itself verifies"
	case errors.Is(herr, errHeadEmpty):
		// A log that was never written.
	case herr != nil:
		rep.Problem = fmt.Sprintf("head file: %v", herr)
	default:
		v.checkHead()
	}
	if rep.Problem == "" {
		v.checkAnchor()
	}
	rep.OK = rep.Problem == ""
	return rep, nil
}

// snapshot opens the log and reads the head and the log's size together
// under a shared lock, so appends in flight are not mistaken for damage.
// herr is errHeadEmpty or wraps errHeadGarbled when the head is unusable.
func snapshot(dir string) (lf *os.File, h head, herr error, size int64, err error) {
	lf, err = os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		h, herr = readHeadFile(dir)
		return nil, h, herr, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	if err := lockFile(ctx, lf, false); err != nil {
		lf.Close()
		return nil, head{}, nil, 0, fmt.Errorf("lock log: %w", err)
	}
	defer unlockFile(lf)
	h, herr = readHeadFile(dir)
	if herr != nil && !errors.Is(herr, errHeadEmpty) && !errors.Is(herr, errHeadGarbled) {
		lf.Close()
		return nil, head{}, nil, 0, herr
	}
	st, err := lf.Stat()
	if err != nil {
		lf.Close()
		return nil, head{}, nil, 0, err
	}
	return lf, h, herr, st.Size(), nil
}

// readHeadFile reads the head file by name; a missing file is an empty head.
func readHeadFile(dir string) (head, error) {
	b, err := os.ReadFile(filepath.Join(dir, HeadFile))
	if errors.Is(err, fs.ErrNotExist) {
		return head{}, errHeadEmpty
	}
	if err != nil {
		return head{}, fmt.Errorf("read head: %w", err)
	}
	return parseHead(b)
}

type verifier struct {
	chk    *checker
	seal   headSealer
	sealOK bool // accept an unsealed head (Reseal)
	head   head
	anchor *Anchor
	rep    *Report
	blobs  *blobCheck

	// At the record the head (or anchor) names, if reached.
	headFound, anchorFound bool
	headHash, anchorHash   string
	headEnd                int64
	headLine, anchorLine   int
}

func (v *verifier) run(lr *lineReader) error {
	rep := v.rep
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := lr.next()
		switch {
		case errors.Is(err, errLineTooLong):
			v.fail(lineNo, 0, false, fmt.Sprintf("malformed record (line longer than %d MiB)", maxLine>>20))
			return nil
		case errors.Is(err, io.EOF) && len(line) > 0:
			rep.Partial = fmt.Sprintf("the log ends with a partial record of %d bytes at line %d, likely a crash during append; the %d whole records before it verify",
				len(line), lineNo, rep.Records)
			return nil
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		info, problem := v.chk.check(line)
		switch {
		case problem != "":
		case lineNo == 1 && info.seq != 1:
			problem = fmt.Sprintf("first record must have seq 1, found %d", info.seq)
		case info.seq != rep.LastSeq+1:
			problem = fmt.Sprintf("records missing or reordered (expected seq %d, found %d)", rep.LastSeq+1, info.seq)
		case info.prev != rep.LastHash && lineNo == 1:
			problem = "chain broken (the first record's prev must be 64 zeros)"
		case info.prev != rep.LastHash:
			problem = fmt.Sprintf("chain broken (prev does not match the hash of seq %d)", rep.LastSeq)
		}
		if problem != "" {
			v.fail(lineNo, info.seq, info.hasSeq, problem)
			return nil
		}
		if problem := v.blobs.check(line); problem != "" {
			v.fail(lineNo, info.seq, true, problem)
			return nil
		}
		off += int64(len(line))
		rep.Records++
		rep.LastSeq, rep.LastHash = info.seq, info.hash
		if info.seq == v.head.seq {
			v.headFound, v.headHash, v.headEnd, v.headLine = true, info.hash, off, lineNo
		}
		if v.anchor != nil && info.seq == v.anchor.Seq {
			v.anchorFound, v.anchorHash, v.anchorLine = true, info.hash, lineNo
		}
	}
}

func (v *verifier) fail(line int, seq uint64, hasSeq bool, problem string) {
	v.rep.Line = line
	if hasSeq {
		v.rep.Seq = seq
		v.rep.Problem = fmt.Sprintf("line %d (seq %d): %s", line, seq, problem)
	} else {
		v.rep.Problem = fmt.Sprintf("line %d: %s", line, problem)
	}
}

// checkHead compares the head file with the verified records.
func (v *verifier) checkHead() {
	rep, h := v.rep, v.head
	if err := v.seal.check(h); err != nil && !v.sealOK {
		// Someone who cut records off the end and wrote a head naming the
		// last one left would otherwise pass.
		rep.Problem = fmt.Sprintf("%s: %v; records may have been cut off the end", HeadFile, err)
		return
	}
	switch {
	case h.seq > rep.LastSeq:
		rep.Problem = fmt.Sprintf("log truncated: the head records seq %d but the log ends at seq %d", h.seq, rep.LastSeq)
	case h.seq == 0 && h.size != 0:
		rep.Problem = "head file garbled: seq 0 with a size"
	case h.seq > 0 && v.headHash != h.hash:
		rep.Line, rep.Seq = v.headLine, h.seq
		rep.Problem = fmt.Sprintf("line %d (seq %d): the head records hash %s for this record, but it hashes to %s: the log or the head was rewritten", v.headLine, h.seq, h.hash, v.headHash)
	case h.seq > 0 && v.headEnd != h.size:
		rep.Line, rep.Seq = v.headLine, h.seq
		rep.Problem = fmt.Sprintf("line %d (seq %d): the head records the log size after this record as %d bytes, but it ends at byte %d: the log or the head was rewritten", v.headLine, h.seq, h.size, v.headEnd)
	default:
		rep.Unanchored = int(rep.LastSeq - h.seq)
	}
}

// checkAnchor compares the external anchor with the verified records.
func (v *verifier) checkAnchor() {
	a, rep := v.anchor, v.rep
	switch {
	case a == nil || a.Seq == 0:
	case !v.anchorFound:
		rep.Problem = fmt.Sprintf("anchor not found: the anchor records seq %d but the log ends at seq %d: the log was truncated or rewritten", a.Seq, rep.LastSeq)
	case v.anchorHash != a.Hash:
		rep.Line, rep.Seq = v.anchorLine, a.Seq
		rep.Problem = fmt.Sprintf("line %d (seq %d): the anchor records hash %s, but the record hashes to %s: the log was rewritten", v.anchorLine, a.Seq, a.Hash, v.anchorHash)
	}
}

// Head returns the seq and hash of the last record of the log in dir, as
// the head file records them, for keeping as an external [Anchor]. A new
// log yields seq 0 and a hash of 64 zeros.
func Head(dir string) (seq uint64, hash string, err error) {
	lf, h, herr, _, err := snapshot(dir)
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	lf.Close()
	switch {
	case errors.Is(herr, errHeadEmpty):
		return 0, zeroHash, nil
	case errors.Is(herr, errHeadGarbled):
		return 0, "", fmt.Errorf("audit head: %w: %w", herr, ErrTampered)
	case herr != nil:
		return 0, "", fmt.Errorf("audit head: %w", herr)
	}
	return h.seq, h.hash, nil
}

var errLineTooLong = errors.New("line too long")

// lineReader yields lines of up to maxLine bytes. After io.EOF with a
// partial line, a later call continues that line if more data arrived, so
// it can follow a growing file.
type lineReader struct {
	br      *bufio.Reader
	pending []byte // a line begun but not yet ended
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next complete line, including its "\n"; the slice is
// valid until the next call. At the end of the input it returns io.EOF,
// along with the partial line so far if there is one.
func (r *lineReader) next() ([]byte, error) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == nil && len(r.pending) == 0 {
			return chunk, nil
		}
		if len(r.pending)+len(chunk) > maxLine {
			r.pending = r.pending[:0]
			return nil, errLineTooLong
		}
		r.pending = append(r.pending, chunk...)
		switch {
		case err == nil:
			line := r.pending
			r.pending = r.pending[:0]
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		}
		return r.pending, err
	}
}

// reset drops any partial line and reads from rd.
func (r *lineReader) reset(rd io.Reader) {
	r.pending = r.pending[:0]
	r.br.Reset(rd)
}
