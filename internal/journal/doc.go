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
//	    objects/<sha256>        kept contents, named by their hash
//	    objects/.hold-*, .tmp-* a transaction's private links, temp files
//	    entries/<id>.json       one committed entry each
//
// An entry file is a [core.JournalEntry] in JSON plus "objects", the hashes
// and sizes of the objects its transaction kept. It is written to a temp
// file, fsynced, renamed into place (never over an existing entry), and the
// directory is fsynced.
//
// # Keeping a file
//
// Keep hard-links the file into objects/ with linkat, relative to the
// caller's directory handle and without following symlinks, then checks the
// link is the very file the caller examined (same inode, size and
// modification time) and fails with [ErrChanged] otherwise. Callers replace
// files by rename, which gives the name a new inode, so the linked inode
// keeps the old content at the cost of one link and one directory fsync.
// When linking is refused (the journal on another file system,
// protected_hardlinks) Keep copies the file instead, hashing the copy and
// refusing content that does not match. [Store.LinkMode] says which applies.
//
// An object already present under the hash is reused. A hard-linked object
// could still be written in place by a program that had the old file open,
// so [Store.Open] re-hashes the object into a private unnamed copy and fails
// with [ErrCorrupt] on a mismatch: undo refuses rather than restore the
// wrong bytes.
//
// # Sharing and bounds
//
// Several Stores, in one process or several (a server and the undo
// command), may use one journal. Commit, Abort and Prune hold a flock on
// the lock file, so an object is removed only when no committed entry holds
// it. Each Keep also leaves its transaction a private hold link to the
// object's inode, from which Commit restores the object's name should a
// prune or another transaction's abort have removed it meanwhile.
//
// [Store.Prune] removes entries older than Options.MaxAge, then the oldest
// entries until the objects the rest hold fit Options.MaxBytes, then
// objects no entry holds. Commit prunes only when the running totals it
// keeps in memory say the journal is over its bounds, or an hour after the
// last prune, so it does not scan the journal on every call.
//
// Directories are 0700 and entry files 0600. A hard-linked object keeps its
// original file's mode, which the 0700 directory makes moot.
//
// Only Linux is supported; elsewhere [Open] fails with errors.ErrUnsupported.
package journal
