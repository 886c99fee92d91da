// Package journal keeps what mutating calls replace, so each call can be
// undone.
//
// A call that may change a resource runs inside a [Tx] (a [core.Journal]).
// Before the connector replaces or removes a file it calls [Tx.Keep], and it
// records each change with [Tx.Record]. [Tx.Commit] then writes the call's
// entry; [Tx.Abort] drops it. Undo reads the entry with [Store.Entry] and
// the old contents with [Store.Open] (a [core.Objects]).
//
// # On disk
//
//	<state>/journal/            0700
//	    lock                    flock around commit, abort and prune
//	    entries.log             0600, the entries, one JSON line each
//	    index, index.state      0600, where each entry's line is; totals
//	    objects/<sha256>        kept contents over 64 KiB, named by their hash
//	    objects/.hold-*, .tmp-* a transaction's private links, temp files
//	    .tmp-*                  a log being compacted
//
// Each line of entries.log is an entry, a [core.JournalEntry] in JSON plus
// "objects" (the hashes and sizes of the objects its transaction kept) and
// "inline" (hash to base64 content of those kept in the line itself), or
// a tombstone {"id":"X","removed":true}. The last line of an id wins:
// Commit appends a replacement when its changes differ from the prepared
// ones, and a tombstone when a prepared entry is dropped. Lines are
// appended under the flock and flushed with fdatasync, together with the
// objects directory's fsync when the transaction linked or copied a file,
// before Prepare or Commit returns: one append
// and one flush per call, and no file to create or directory entry to
// sync, which a file per entry cost as much again as the write it
// journals. Prepare flushes after releasing the flock, while the caller's
// own work runs (writing and flushing the file it is about to put in
// place), so that the flushes overlap, those of concurrent calls too; the
// log is allocated a megabyte ahead, so that most appends allocate no
// block and flush less. A crash mid-append leaves a torn last line; the
// next append ends it with a '\n' first and readers skip it: it can only
// be the write-ahead record of a change that was never made, since
// Prepare returns only once the line is durable. Entry files of an older
// Warden, entries/<id>.json, are imported into the log at Open and
// removed.
//
// Each Store indexes the log without holding its history in memory: an
// on-disk hash table, index, maps each live entry's id to its line (offset,
// length, time), and index.state holds the totals pruning needs (live
// bytes, objects held and their sizes, the oldest time) with the log
// offset the table covers. A Store keeps in memory only the entries of the
// lines after that offset, at most 4,096, reading lines other Stores
// appended before it answers; it then writes them to the table and saves
// the state, marked dirty while the table is written so that a crash
// there makes the next Store build both again from the log. So a restart
// reads index.state and the few lines after it, and memory does not grow
// with the history. Entry looks its line up in the table; History and
// undo's inline objects read the log, decoding only the lines that hold
// the path or hash. Pruning compacts the log: the live lines, byte for
// byte, go to a temp file that is fsynced and renamed over the log, with
// a table built for it; a Store that finds another log or table at the
// path starts again from the state saved with them.
//
// # Keeping a file
//
// A file of at most 64 KiB is copied into the entry line: Keep opens it
// relative to the caller's directory handle without following symlinks,
// checks it is the very file the caller examined (same inode, size and
// modification time) and that its content hashes to the caller's hash, and
// fails with [ErrChanged] otherwise. Nothing is linked or created per call,
// and the replaced inode is freed: a link kept it alive, so each new file
// the caller wrote needed a freshly allocated inode, which costs several
// times a create that reuses a freed one, on top of two links, an unlink
// and the objects directory's fsync. The copy rides in the entry's one
// append and flush, and goes with the entry when it is pruned.
//
// A larger file is hard-linked into objects/ with linkat, so its cost does
// not grow with its size, then Keep checks the link is the very file the
// caller examined and fails with [ErrChanged] otherwise. Callers replace
// files by rename, which gives the name a new inode, so the linked inode
// keeps the old content at the cost of one link and one directory fsync.
// When linking is refused (the journal on another file system,
// protected_hardlinks) Keep copies the file instead, hashing the copy and
// refusing content that does not match.
//
// An object already present under the hash is reused. A hard-linked object
// could still be written in place by a program that had the old file open,
// so [Store.Open] re-hashes the object into a private unnamed copy and fails
// with [ErrCorrupt] on a mismatch: undo refuses rather than restore the
// wrong bytes. Content kept inline is decoded and checked the same way.
//
// # Sharing and bounds
//
// Several Stores, in one process or several (a server and the undo
// command), may use one journal. Prepare, Commit, Abort and Prune hold a
// flock on the lock file, so appends never interleave, a compaction loses
// no line, and an object is removed only when no committed entry holds
// it. Each Keep also leaves its transaction a private hold link to the
// object's inode, from which Commit restores the object's name should a
// prune or another transaction's abort have removed it meanwhile.
//
// [Store.Prune] removes entries older than Options.MaxAge, then the oldest
// entries until the objects the rest hold (inline ones included) fit
// Options.MaxBytes, then
// objects no entry holds. It compacts the log when it drops entries, and
// when over half the log (and at least 64 KiB) is replaced lines and
// tombstones. Commit prunes only when the running totals it keeps in
// memory say the journal is over its bounds or its log is due for
// compaction, or an hour after the last prune, so it does not scan the
// journal on every call.
//
// Directories are 0700 and the entry log 0600. A hard-linked object keeps its
// original file's mode, which the 0700 directory makes moot.
//
// Only Linux is supported; elsewhere [Open] fails with errors.ErrUnsupported.
package journal
