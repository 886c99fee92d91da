// Package audit keeps Warden's audit log: a tamper-evident, hash-chained,
// append-only record of every tool call's decision and outcome.
//
// [Open] a [Log] on a state directory and [Log.Append] one [Record] per
// event; [Verify] checks a log, [Read] lists and follows it, and [Head]
// returns the values to keep as an external [Anchor]. This comment is the
// specification of the on-disk format, which is a user-facing interface.
//
// # Files
//
// The state directory (created with mode 0700) holds two files, both mode
// 0600:
//
//   - audit.log: one record per line, each a JSON object followed by "\n".
//   - audit.head: exactly 256 bytes, a JSON object
//     {"seq":N,"hash":"<64 hex>","size":BYTES} padded with spaces and ended
//     by "\n". It names the last record (seq and hash) and the log's size in
//     bytes just after it. A new log's head is {"seq":0,"hash":"000…0","size":0}.
//     In a log written with a key, the object ends ,"mac":"<64 hex>"}: see
//     Sealed heads.
//   - audit-blobs/ (mode 0700): long argument values, one file per
//     content, named by its SHA-256 in hex: audit-blobs/ab/cdef… for
//     abcdef…. See Blobs.
//
// # Blobs
//
// A record keeps a call's arguments whole when they are at most 1 KiB.
// In larger ones, each top-level value whose JSON is over 256 bytes is
// stored as a blob and replaced by the note "[N bytes in blob
// sha256:<hex>]", except the values that say what the call does (the
// caller names them: the SQL statement, the HTTP method and path, file
// paths, a command line), which stay inline. If what stays inline is still
// over 1 MiB, the whole arguments are one blob and the record has no args.
// The record's blobs field lists each as {"pointer", "sha256", "bytes",
// "text"}: an RFC 6901 pointer to the value it replaces ("" for the whole
// arguments), the hash and size of the stored bytes, and whether the value
// is a string stored as its text (otherwise the blob is the value's JSON).
// The blobs field alone says what is a blob; a note-like string in the
// arguments means nothing.
//
// Blobs are redacted like records, written before the record that
// references them, and flushed no later than it (see Durability). The
// record's hash covers the references and each reference names its
// content's hash, so [Verify] reports a missing or altered blob as a
// problem with the record that references it. A call stores at most about
// its argument size (bounded by the policy's limits.max_argument_bytes,
// at most 64 MiB), once: identical contents share one file. Blobs belong
// to the log: move audit-blobs aside with audit.log and audit.head.
//
// # Records
//
// A record's fields are those of [Record], in snake_case, in that order,
// each at most once; empty optional fields are left out. Seq is always the
// first field and prev the last before hash, and verifiers rely on it.
// Field names are stable: new fields may appear, but a name never changes
// meaning. Seq runs
// 1, 2, 3, … without gaps. ID is 26 Crockford base32 characters encoding a
// 48-bit Unix time in milliseconds followed by 80 random bits, so IDs sort
// by time (and strictly increase within one writer). Time is UTC,
// RFC 3339 with nanoseconds. Prev is the previous record's hash, or 64
// zeros for the first record.
//
// # Hashing
//
// Let B be the record's JSON object without its hash field, exactly as
// written: it begins {"seq":…,"id":…,"time":…, continues with the other
// fields, and ends ,"prev":"<64 hex>"}. The hash is the lower-case hex
// SHA-256 of B or, when the log is written with a key, HMAC-SHA-256 of B
// under that key. The line stored is B with its final "}" replaced by
// ,"hash":"<64 hex>"} and followed by "\n".
//
// A verifier therefore needs no JSON canonicalisation: it checks the line
// ends with that fixed-length suffix, hashes the bytes before the suffix
// followed by "}", and compares. Secrets are redacted from the record
// before it is hashed, so what is hashed is what is stored. Redaction never
// touches seq, id, time, prev or hash, and never changes which fields a
// record has: if redacting the encoded text would cut through JSON syntax,
// the field values are redacted one by one instead.
//
// # Sealed heads
//
// With a key, the head is sealed: mac is the lower-case hex HMAC-SHA-256,
// under the head key, of the head's object without the mac field, exactly
// {"seq":N,"hash":"<64 hex>","size":BYTES}. The head key is HMAC-SHA-256
// of the text "warden audit head v1" under the log's key, so a head's MAC
// is never a record's hash. Without the key nobody can write a head naming
// an earlier record, so cutting records off the end is detected even when
// the head is rewritten to match what is left. Under a key, a head with no
// MAC (from an older Warden, or a forger) or a wrong one is tampering:
// Open, Append and Verify all report it; once an operator has checked the
// log, [Reseal] ("warden audit reseal") seals the head of a log an older
// Warden wrote. Open without a key refuses a log whose head is sealed
// ([ErrKeyRequired]): unkeyed records would break its chain. Without a
// key, heads carry no MAC and older heads read as before.
//
// # Writers
//
// Many goroutines and several processes (a long-running "warden serve" and
// one-shot "warden call" processes) may append at once. Each append holds
// an exclusive flock(2) on audit.log, reads the head, checks the log's size
// against it, writes the line in a single write(2) to the end of the log,
// then rewrites the head in place with a single pwrite(2) at offset 0. A
// writer skips reading the head while the log still has the size its own
// last append left: then nobody else has appended since.
//
// If the log is longer than the head says, a writer crashed after writing
// but before updating the head. The next writer adopts every complete line
// after the head that verifies and chains, cuts off a trailing partial line,
// and notes what it did in its own record's Detail: "recovered_records",
// "recovered_partial_bytes" and "recovered_at_offset". Bytes after the head
// that do not verify and chain are tampering.
//
// If the log is shorter than the head says, or the head is garbled, or it
// is missing or empty while the log is not, the log was truncated or
// tampered with. Append then fails with an error wrapping [ErrTampered] and
// keeps failing, so callers deny the calls they cannot record. The operator
// runs "warden audit verify" and, once done investigating, moves both files
// aside to start a new log.
//
// A long-running writer notices when audit.log is no longer the file it has
// open, and reopens both files by name: at once if the file was deleted or
// its previous append failed, otherwise within a second. So moving the
// files aside needs no restart, and writers never split between an old log
// and a new one for longer than that. (A deleted log whose head remains is
// then reported as truncated.)
//
// # What is detected
//
// [Verify] reads the log from the start and reports the first problem with
// its line: an edited record (hash mismatch), missing or reordered records
// (a seq gap), a broken chain (prev differs from the previous hash), a
// malformed line, or a first record that is not seq 1. It then compares
// the head: a head naming a seq beyond the last record means whole records
// were cut off the end; a head whose hash or size differs from the log
// means one of them was rewritten.
//
// This detects edits, deletions, reordering and truncation of whole records
// by anyone who does not rewrite the head to match. Without a key, someone
// who can write the whole directory can rewrite every record and the head
// consistently. With a key (Options.Key) kept where they cannot read it,
// they can forge neither a record nor a head, so cutting records off the
// end and rewriting the head is detected too. What a key cannot catch is a
// rollback to a state the log really had: someone who copied an earlier
// head (it is rewritten in place on every append) can cut the log back to
// that point and put the copy back, and someone who deletes or empties
// both files leaves what looks like a new log. Only an [Anchor] (a seq and
// hash from [Head]) kept somewhere the attacker cannot write, and passed to
// Verify, catches those. Append checks only the head (and its seal) and
// the log's size; edits inside the log, and a head rewritten while the log
// kept its size, are found by Verify.
//
// Verify accepts a trailing partial line (a crash in the middle of a
// write) and reports it in [Report.Partial]. It accepts whole records after
// the head that chain correctly, counting them in [Report.Unanchored]: a
// crash between writing a record and updating the head leaves exactly that,
// so without a key it is indistinguishable from a forger appending records.
//
// # Durability
//
// With [SyncAlways] each append flushes the log, then the head, before it
// returns. With [SyncInterval] (the default) a background goroutine flushes
// both at most every Options.SyncEvery, and Close flushes. Records are
// written to the operating system before Append returns, so a process crash
// loses nothing. A power loss or kernel crash can lose the records of the
// last interval; because the log and head are flushed independently, the
// head on disk may then be ahead of the log, and Verify and Append report
// the loss as truncation (the operator decides, as for tampering). Use
// SyncAlways where that is not acceptable. Blobs follow their records:
// with SyncAlways each is flushed before its record is written; with
// SyncInterval the flush that flushes the log flushes the blobs written
// since the last one first.
//
// A failed flush is sticky: every later Append fails, since records can no
// longer be promised to reach the disk.
package audit
