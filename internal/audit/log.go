package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-dev/warden/internal/redact"
)

// File names inside the state directory.
const (
	LogFile  = "audit.log"
	HeadFile = "audit.head"
)

// maxLine is the longest record line accepted when reading.
const maxLine = 16 << 20

// maxRecover caps how many unaccounted bytes after the head Append will
// examine; a crash leaves at most one record per writer.
const maxRecover = 4 * maxLine

var (
	// ErrTampered is wrapped by errors that mean the log or its head was
	// truncated, edited or replaced. Appending stops until an operator
	// investigates.
	ErrTampered = errors.New("audit log truncated or tampered with")
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("audit log is closed")
	// ErrKeyRequired is returned by Open without a key for a log written
	// with one.
	ErrKeyRequired = errors.New("audit log needs its key")
)

// SyncMode says when appended records are flushed to stable storage.
type SyncMode int

const (
	// SyncInterval flushes from a background goroutine at most every
	// Options.SyncEvery, and on Close. A process crash loses nothing; a
	// power loss can lose the last interval.
	SyncInterval SyncMode = iota
	// SyncAlways flushes the log and then the head before Append returns.
	SyncAlways
)

// String returns "interval" or "always".
func (m SyncMode) String() string {
	if m == SyncAlways {
		return "always"
	}
	return "interval"
}

// Options configures [Open]. The zero value is valid.
type Options struct {
	// Redactor removes secrets from each record before it is hashed and
	// written. Nil redacts nothing.
	Redactor *redact.Redactor
	// Key, if set, makes record hashes HMAC-SHA-256 with this key instead
	// of SHA-256, and seals the head with a key derived from it, so records
	// cut off the end are found even if the head is rewritten. Verification
	// then needs the same key. Keep it where the log's writers cannot read.
	Key []byte
	// Sync chooses when records reach stable storage. Default SyncInterval.
	Sync SyncMode
	// SyncEvery is the flush period for SyncInterval. Default 1s.
	SyncEvery time.Duration
	// Now returns the current time. Default time.Now; for tests.
	Now func() time.Time
}

// Log appends records to the audit log in one directory. It is safe for
// concurrent use by many goroutines, and several processes may have the
// same log open at once.
type Log struct {
	dir  string
	opts Options

	// files guards log and head against being swapped (only ever under
	// sem) while the flusher syncs them.
	files sync.RWMutex
	log   *os.File // audit.log, O_APPEND
	head  *os.File // audit.head
	// blobs written for records not yet flushed (SyncInterval only).
	blobs pendingSync
	// blobDirs are the blob directories known to exist.
	blobDirs sync.Map

	// sem serialises appends within the process; the flock on log
	// serialises them between processes. A channel, not a mutex, so a
	// waiting Append can give up when its context ends.
	sem     chan struct{}
	closed  bool // guarded by sem
	enc     encoder
	chk     *checker
	seal    headSealer
	ids     idGen
	syncErr error // guarded by sem: a failed flush fails every later append
	// nameChecked is when lock last found audit.log to be the open file;
	// guarded by sem.
	nameChecked time.Time
	// last is the head this process last wrote, and lastOK whether it may
	// stand in for reading the head file: while the log still has the size
	// it records, no other process has appended since. Guarded by sem.
	last   head
	lastOK bool

	dirty     atomic.Bool
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open opens the audit log in dir, creating dir (mode 0700) and the log and
// head files (mode 0600) if they are missing. With a key, Open fails with an
// error wrapping [ErrTampered] if the head is not sealed with it (see the
// package doc); otherwise it does not check the log: each Append does, and
// [Verify] checks it fully. Close the Log when done.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SyncEvery <= 0 {
		opts.SyncEvery = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	seal := newHeadSealer(opts.Key)
	lf, hf, err := openFiles(context.Background(), dir, seal)
	if err != nil {
		return nil, fmt.Errorf("audit open: %w", err)
	}
	l := &Log{
		dir:  dir,
		log:  lf,
		head: hf,
		opts: opts,
		sem:  make(chan struct{}, 1),
		enc:  encoder{mac: newHash(opts.Key), redact: opts.Redactor},
		chk:  newChecker(opts.Key),
		seal: seal,
		done: make(chan struct{}),
	}
	if opts.Sync == SyncInterval {
		l.wg.Add(1)
		go l.syncLoop()
	}
	return l, nil
}

// openFiles opens (creating if missing) the log and head files in dir, and
// gives a new log its empty head.
func openFiles(ctx context.Context, dir string, seal headSealer) (lf, hf *os.File, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	lf, err = os.OpenFile(filepath.Join(dir, LogFile), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	hf, err = os.OpenFile(filepath.Join(dir, HeadFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		lf.Close()
		return nil, nil, err
	}
	if err := initHead(ctx, dir, lf, hf, seal); err != nil {
		lf.Close()
		hf.Close()
		return nil, nil, err
	}
	return lf, hf, nil
}

// initHead writes the empty head of a new log, so that from the first
// append on, an empty head file next to a non-empty log means tampering
// rather than a crash before the first head write. In a keyed log whose
// head exists, it checks the head's seal, so a head rewritten without the
// key stops the log at once rather than at its first append.
func initHead(ctx context.Context, dir string, lf, hf *os.File, seal headSealer) error {
	if err := lockFile(ctx, lf, true); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer unlockFile(lf)
	ls, err := lf.Stat()
	if err != nil {
		return err
	}
	hs, err := hf.Stat()
	if err != nil {
		return err
	}
	if ls.Size() != 0 || hs.Size() != 0 {
		h, err := readHead(hf)
		switch {
		case errors.Is(err, errHeadEmpty) || errors.Is(err, errHeadGarbled):
			return nil // each append reports these with the log's size
		case err != nil:
			return err
		}
		if err := seal.check(h); err != nil {
			return tamperedIn(dir, fmt.Sprintf("%s: %v", HeadFile, err))
		}
		if seal.key == nil && h.mac != "" {
			// Unkeyed records would break a keyed chain for good.
			return fmt.Errorf("%s in %s is sealed, so the log is written with a key: use the policy that sets audit.key: %w", HeadFile, dir, ErrKeyRequired)
		}
		return nil
	}
	if err := writeHead(hf, seal, head{hash: zeroHash}); err != nil {
		return err
	}
	for _, f := range []*os.File{lf, hf} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	// Make the new files' directory entries durable too.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append writes rec as the next record and returns the record as stored:
// with Seq, ID, Time (if zero; always converted to UTC), Prev and Hash set,
// and redacted. rec itself is not modified.
//
// Append fails closed: if it returns an error, the record may or may not
// be in the log, and the caller should refuse the action it describes. An
// error wrapping [ErrTampered] means the log no longer matches its head;
// every later Append fails the same way until an operator runs
// "warden audit verify" and moves the log aside.
func (l *Log) Append(ctx context.Context, rec *Record) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, fmt.Errorf("audit append: %w", err)
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return Record{}, fmt.Errorf("audit append: %w", ctx.Err())
	}
	defer func() { <-l.sem }()
	stored, err := l.append(ctx, rec)
	if err != nil {
		// Moving a damaged log aside is the fix we advise; look for it on
		// the next call rather than after the usual interval.
		l.nameChecked = time.Time{}
		return Record{}, fmt.Errorf("audit append: %w", err)
	}
	return stored, nil
}

// append is Append with sem held.
func (l *Log) append(ctx context.Context, rec *Record) (Record, error) {
	if l.closed {
		return Record{}, ErrClosed
	}
	if l.syncErr != nil {
		return Record{}, fmt.Errorf("earlier flush: %w", l.syncErr)
	}
	size, err := l.lock(ctx)
	if err != nil {
		return Record{}, err
	}
	// l.log may have been replaced by lock; unlock the file now locked.
	defer func() { unlockFile(l.log) }()

	h, note, err := l.tail(size)
	if err != nil {
		return Record{}, err
	}

	r := *rec
	now := l.opts.Now()
	r.Seq = h.seq + 1
	if r.ID == "" {
		if r.ID, err = l.ids.next(now); err != nil {
			return Record{}, err
		}
	} else if !ValidID(r.ID) {
		return Record{}, fmt.Errorf("record id %q is not an id from NewID", r.ID)
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	r.Prev = h.hash
	r.Hash = ""
	if note != nil {
		r.Detail = withDetail(r.Detail, note)
	}
	line, stored, err := l.enc.encode(&r)
	if err != nil {
		return Record{}, err
	}

	// One write per record. If it is cut short, the next Append finds the
	// partial line past the head and truncates it.
	if _, err := l.log.Write(line); err != nil {
		return Record{}, fmt.Errorf("write: %w", err)
	}
	always := l.opts.Sync == SyncAlways
	if always {
		// Flush the log before the head, so the head on disk is never
		// ahead of the records on disk.
		if err := l.log.Sync(); err != nil {
			return Record{}, fmt.Errorf("sync log: %w", err)
		}
	}
	nh := l.seal.seal(head{seq: r.Seq, hash: r.Hash, size: h.size + int64(len(line))})
	l.lastOK = false
	if err := writeHead(l.head, l.seal, nh); err != nil {
		return Record{}, err
	}
	l.last, l.lastOK = nh, true
	if always {
		if err := l.head.Sync(); err != nil {
			return Record{}, fmt.Errorf("sync head: %w", err)
		}
	} else {
		l.dirty.Store(true)
	}
	return stored, nil
}

// nameCheckEvery is how often Append checks that audit.log in the
// directory is still the file it has open. Checking costs a path lookup,
// so it is not done on every call; a deleted file is noticed at once.
const nameCheckEvery = time.Second

// lock takes the flock on the log for an append and returns the log's
// size. If audit.log in the directory is no longer the file l has open
// (an operator moved the log aside, or it was deleted), it reopens the
// files by name first, so that all writers share one file and nothing is
// appended to a file nobody will read.
func (l *Log) lock(ctx context.Context) (size int64, err error) {
	for range 3 {
		if err := lockFile(ctx, l.log, true); err != nil {
			return 0, fmt.Errorf("lock: %w", err)
		}
		st, err := l.log.Stat()
		if err != nil {
			unlockFile(l.log)
			return 0, fmt.Errorf("stat log: %w", err)
		}
		moved, err := l.moved(st)
		if err != nil {
			unlockFile(l.log)
			return 0, err
		}
		if !moved {
			return st.Size(), nil
		}
		unlockFile(l.log)
		if err := l.reopen(ctx); err != nil {
			return 0, fmt.Errorf("reopen: %w", err)
		}
	}
	return 0, fmt.Errorf("%s keeps being replaced", filepath.Join(l.dir, LogFile))
}

// moved reports whether st, the open log, is no longer audit.log in the
// directory.
func (l *Log) moved(st os.FileInfo) (bool, error) {
	if n, ok := linkCount(st); ok && n == 0 {
		return true, nil
	}
	if time.Since(l.nameChecked) < nameCheckEvery {
		return false, nil
	}
	named, err := os.Stat(filepath.Join(l.dir, LogFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("stat log: %w", err)
	}
	l.nameChecked = time.Now()
	return !os.SameFile(st, named), nil
}

// reopen swaps in the files now named in the directory. The caller holds
// sem and no flock.
func (l *Log) reopen(ctx context.Context) error {
	lf, hf, err := openFiles(ctx, l.dir, l.seal)
	if err != nil {
		return err
	}
	l.lastOK = false
	l.files.Lock()
	oldLog, oldHead := l.log, l.head
	l.log, l.head = lf, hf
	l.files.Unlock()
	// Whatever was appended to the old files stays with them.
	return errors.Join(oldLog.Sync(), oldHead.Sync(), oldLog.Close(), oldHead.Close())
}

// tail returns the head describing the true end of the log, whose size is
// size, recovering from a writer that crashed mid-append. note, if not nil,
// describes the recovery for the next record's Detail. The caller holds
// the flock.
func (l *Log) tail(size int64) (h head, note map[string]any, err error) {
	if l.lastOK && size == l.last.size {
		return l.last, nil, nil
	}
	h, herr := readHead(l.head)
	switch {
	case errors.Is(herr, errHeadEmpty) && size == 0:
		return head{hash: zeroHash}, nil, nil
	case errors.Is(herr, errHeadEmpty):
		return head{}, nil, l.tampered(fmt.Sprintf("the head file is empty but the log has %d bytes", size))
	case errors.Is(herr, errHeadGarbled):
		return head{}, nil, l.tampered(herr.Error())
	case herr != nil:
		return head{}, nil, herr
	}
	// A head rewritten without the key could name any earlier record:
	// only its seal tells it from the head this log wrote.
	if err := l.seal.check(h); err != nil {
		return head{}, nil, l.tampered(fmt.Sprintf("%s: %v", HeadFile, err))
	}
	switch {
	case size == h.size:
		return h, nil, nil
	case size < h.size:
		return head{}, nil, l.tampered(fmt.Sprintf("the head records seq %d ending at byte %d but the log has only %d bytes", h.seq, h.size, size))
	}
	return l.recover(h, size)
}

// recover adopts the records a crashed writer appended after the head and
// cuts off a trailing partial line. Anything after the head that is not a
// verifying, chaining record is tampering.
func (l *Log) recover(h head, size int64) (head, map[string]any, error) {
	extra := size - h.size
	if extra > maxRecover {
		return head{}, nil, l.tampered(fmt.Sprintf("%d unexplained bytes after the head at byte %d", extra, h.size))
	}
	buf := make([]byte, extra)
	if _, err := l.log.ReadAt(buf, h.size); err != nil {
		return head{}, nil, fmt.Errorf("read log: %w", err)
	}
	adopted := 0
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		line := buf[:i+1]
		info, problem := l.chk.check(line)
		switch {
		case problem != "":
		case info.seq != h.seq+1:
			problem = fmt.Sprintf("expected seq %d, found %d", h.seq+1, info.seq)
		case info.prev != h.hash:
			problem = fmt.Sprintf("prev does not match the hash of seq %d", h.seq)
		}
		if problem != "" {
			return head{}, nil, l.tampered(fmt.Sprintf("the record after the head at byte %d does not chain: %s", h.size, problem))
		}
		h = head{seq: info.seq, hash: info.hash, size: h.size + int64(len(line))}
		buf = buf[i+1:]
		adopted++
	}
	note := map[string]any{}
	if adopted > 0 {
		note["recovered_records"] = adopted
	}
	if len(buf) > 0 {
		if err := l.log.Truncate(h.size); err != nil {
			return head{}, nil, fmt.Errorf("truncate partial record: %w", err)
		}
		note["recovered_partial_bytes"] = len(buf)
		note["recovered_at_offset"] = h.size
	}
	// Record the recovery in the head at once, so it holds even if this
	// append goes no further.
	if err := writeHead(l.head, l.seal, h); err != nil {
		return head{}, nil, err
	}
	return h, note, nil
}

func (l *Log) tampered(detail string) error { return tamperedIn(l.dir, detail) }

func tamperedIn(dir, detail string) error {
	return fmt.Errorf("%s: run \"warden audit verify\" and, once investigated, move %s and %s in %s aside to start a new log: %w",
		detail, LogFile, HeadFile, dir, ErrTampered)
}

// syncLoop flushes dirty files every SyncEvery until Close.
func (l *Log) syncLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			if err := l.flush(); err != nil {
				l.sem <- struct{}{}
				if l.syncErr == nil {
					l.syncErr = err
				}
				<-l.sem
			}
		}
	}
}

// flush syncs the log and head if an append happened since the last flush.
func (l *Log) flush() error {
	// Blobs first: a record on disk must find its blobs there.
	if err := l.blobs.flush(); err != nil {
		return err
	}
	if !l.dirty.Swap(false) {
		return nil
	}
	l.files.RLock()
	defer l.files.RUnlock()
	if err := l.log.Sync(); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	if err := l.head.Sync(); err != nil {
		return fmt.Errorf("sync head: %w", err)
	}
	return nil
}

// Close flushes and closes the log. It is idempotent; later calls return
// the first call's result. Appends waiting when Close is called may fail
// with [ErrClosed].
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.sem <- struct{}{}
		l.closed = true
		syncErr := l.syncErr
		<-l.sem
		close(l.done)
		l.wg.Wait()
		l.closeErr = errors.Join(syncErr, l.flush(), l.log.Close(), l.head.Close())
		if l.closeErr != nil {
			l.closeErr = fmt.Errorf("audit close: %w", l.closeErr)
		}
	})
	return l.closeErr
}
