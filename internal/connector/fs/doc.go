// Package fs is Warden's local file system connector: tools that read
// (read, list, search, stat) and change (write, edit, mkdir, move, delete)
// one directory tree, the resource root. Every change is atomic, checked
// against what the policy saw, and journaled so that it can be undone
// ([Connector.Undo]).
//
// The connector registers itself as kind "fs". [New] stores the
// configuration; [Connector.Open] opens the root with [os.OpenRoot] and
// locates Warden's reserved paths (its state directory and policy file)
// inside it; [Connector.Close] releases the root.
//
// # The pipeline
//
// An agent's call arrives as an operation and JSON arguments. Prepare
// decodes the arguments strictly, validates the path argument, resolves
// it, and sets inv.Path to the resolved path relative to the root
// (slash-separated, clean, "." for the root). The policy decides on
// inv.Path, so a symbolic link inside the root that points into private/
// yields "private/…" and is refused like private/ itself. Only then does
// Execute open and read anything. Prepare keeps the directory handle it
// resolved in inv.State (an [io.Closer]), so Execute works on exactly what
// the policy saw.
//
// # Validation (checkPath)
//
// Before the file system is touched, the raw path is refused if it is
// empty, holds a NUL byte, exceeds 4096 bytes, is absolute, starts with a
// backslash, starts with a drive ("C:"), contains a Windows device name
// (CON, NUL, COM1, LPT¹, CONIN$, …, also as "nul.txt", "nul " or
// "nul : x"), or climbs above the root: the ".." components are counted
// with both '/' and '\' as separators, and the depth must never go below
// zero. Percent sequences are never decoded; on Unix a backslash inside a
// name is an ordinary character. These rules make the guard behave the
// same on every system.
//
// # Resolution
//
// The path is walked one component at a time, like the kernel would, but
// Warden does every step itself, relative to directory handles it holds,
// and never opens a multi-component path or a path joined to the root's
// host path. The walk keeps a stack of open directories (each an
// [os.Root]), starting with the resource root:
//
//   - "." is skipped.
//   - ".." pops the stack; popping the root fails (path-escapes-root). The
//     file system's own ".." entry is never used, so a directory that is
//     renamed while Warden stands in it cannot lift the walk above the root
//     (Go's TestRootRaceRenameDir).
//   - Any other name is examined with parent.Lstat(name), which does not
//     follow links.
//   - A symbolic link is read with parent.Readlink(name). An absolute
//     target is refused (as os.Root does, even when it points inside the
//     root). A relative target's components are spliced in front of the
//     remaining ones and the walk continues from the link's directory,
//     so "a => b/c" makes "a/../x" resolve to "b/x", and a target that
//     ends in "/" or "." must be a directory. More than 40 expansions fail
//     with "too many levels of symbolic links". A link is never a free
//     pass: every component of its target goes through the same rules,
//     so a link that leaves the root, even to come back ("../root/x"),
//     is refused.
//   - A directory with components after it is opened from its parent
//     with parent.OpenRoot(name + "/."), which makes os.Root open it with
//     O_DIRECTORY|O_NOFOLLOW, and the new handle's identity (device and
//     inode, [os.SameFile]) must equal the Lstat result. A mismatch means
//     the entry was replaced between the two system calls; the call fails
//     closed (KindConflict). Then the handle is pushed.
//   - A file with components after it fails (not-directory), as in
//     "notes.txt/" or "notes.txt/x".
//   - A missing component stops the walk: the rest of the path is
//     appended lexically (it still may not climb above the root), inv.Path
//     is that path, and Execute reports not-found. The policy therefore
//     decides before anything about existence is revealed.
//
// When the walk ends on an entry, the target is that entry in the handle
// on top of the stack, with its Lstat; when the path ends in "/", "." or
// "..", the target is the top directory itself. inv.Path is made of the
// names of the directories actually walked, so it is the physical location.
//
// Failures that depend on the file system (a missing component, a file in
// the middle of the path, a link leading out, a link loop) are recorded and
// reported by Execute, so that the policy decides on inv.Path first and a
// denied path's errors reveal nothing. Reserved paths are refused in
// Prepare, by resolved path and by identity (which also catches hard links
// and case-insensitive spellings).
//
// Deep paths: at most 32 directory handles stay open. When the stack grows
// beyond that, the oldest levels are closed, keeping their name and
// identity; when ".." returns to a closed level, it is re-opened from the
// nearest open ancestor, one name at a time, and each re-opened level must
// have the identity it had, or the call fails closed. The number of steps
// (components and re-opens) is bounded, so no path costs more than a fixed
// amount of work.
//
// # Execute
//
// read and stat use the final entry from its directory handle. read
// refuses anything that Lstat did not show as a regular file before opening
// it, so devices, FIFOs and sockets are never opened; then it opens the
// entry with O_RDONLY|O_NONBLOCK (os.Root adds O_NOFOLLOW), checks that the
// open handle is the same object (device and inode) Prepare saw and still
// a regular file, and reads the window [offset, offset+length) with ReadAt.
// stat re-reads the Lstat and requires the same identity.
//
// list and search open the target directory from its parent handle with
// the identity check and walk it depth-first in path order (paths compared
// component by component, so a directory's contents follow it directly).
// Every directory is entered by OpenRoot from its parent handle plus the
// identity check, so a directory swapped for a link mid-walk is skipped,
// never followed; links are listed as "symlink" and never followed;
// search opens a file only if Lstat showed a regular file and the opened
// handle has the same identity. Entries that the [core.Scope] hides, and
// reserved paths, are skipped before they are examined, and a hidden
// directory is not entered. A nil scope hides everything. On Linux the
// walk reads entry types from the directory listing (getdents64 d_type),
// so a search by name alone needs no Lstat per file; the types are only
// hints, and anything entered or opened is examined first. Directories
// whose path is 4096 bytes or longer are not entered: what lies below
// them could not be named in a later call, and this bounds the walk.
//
// The list cursor is the last returned path, base64url-encoded; the next
// page starts strictly after it. Because the order is fixed by the paths
// alone, paging is stable while the tree is unchanged, and a cursor
// reveals nothing the agent did not already receive.
//
// # Write operations
//
// The mutating tools are write (path, content, encoding "text" or
// "base64", mode "create" (the default; fails if the file exists),
// "overwrite" or "append"), edit (path, 1 to 100 edits {old, new} applied
// in order, each old text occurring exactly once in the text the edits
// before it left, counting overlapping occurrences; dry_run shows the
// unified diff and changes nothing), mkdir (path; parents creates missing
// directories too and accepts an existing one), move (from, to, overwrite
// for a file at to; directories move only to a new name, never into
// themselves) and delete (path; a directory only if empty, unless
// recursive is asked for and the grant has recursive: true). Prepare sets
// inv.Path to the target, and for move inv.Paths to the destination, so
// the policy decides on both ends.
//
// Resolution is the same as for reads, with three differences. A path
// that ends at a directory ("d/", "d/.", "a/..") resolves to the
// directory holding it and its name, because changing an entry needs its
// parent; only the root has no parent, and it is never written, moved or
// deleted. When only the final component is missing, the target keeps
// the parent's handle and the name, so that it can be created; when
// several are missing (and nothing after them is ".."), mkdir with parents
// creates them one at a time, each by one name in the handle of the one
// before, re-checked under that directory's lock. And a missing name that
// came from a symbolic link's target is a dangling link, which is never a
// write target (dangling-symlink): Warden never creates anything at a
// link's destination, even one inside the root. Links are followed for
// every operation, including move and delete, which act on the object the
// link leads to (the one the policy saw), never on the link itself; Warden
// does not create links, except when undo restores one it recorded.
//
// # How a change is made
//
// Each check is a separate layer:
//
//   - Serialised writers. The directory holding the entry is opened as a
//     plain descriptor and locked with an exclusive flock (polled, so a
//     cancelled call never hangs) from the checks through the rename;
//     writers in other goroutines and other Warden processes wait. Under
//     the lock the entry is examined again (Lstat) and must be the object
//     Prepare saw, unchanged (same inode and change time), or be missing
//     if it was missing, or be what another Warden call left there since:
//     each change records the file it leaves (device, inode, size, mtime)
//     or that it left nothing, in a fixed-size table shared through the
//     state directory (fs-written; in memory without a journal). A call
//     queued behind another on one file therefore applies to the latest
//     content: appends all land, an edit matches against the newest text,
//     a move with overwrite replaces what another move put there. Any
//     other change fails the call (target-changed, or exists for create)
//     and nothing is written. A move locks both directories, in inode
//     order.
//   - Only regular files change. FIFOs, sockets and devices are refused
//     from their Lstat, and files are opened O_NONBLOCK|O_NOFOLLOW and
//     compared with it, so nothing ever blocks. A file with more than one
//     hard link is refused (hard-linked) unless the grant has hardlinks:
//     true; then the write replaces this name only, and the other links
//     keep the old content. Links the journal itself holds (a call killed
//     after keeping the file leaves some) do not count (Journal.Links).
//   - Reserved paths (Warden's state and policy) are never written, moved
//     onto, moved away or deleted, by path or by identity (hard links), nor
//     is a directory that holds one moved or deleted.
//   - Atomic replace. New content goes into a temporary file
//     ".warden-tmp-<random>", created O_CREATE|O_EXCL in the same directory
//     handle, written, given the replaced file's permission bits (and its
//     owner where the process may set it; new files get 0644 less the
//     umask), and flushed while the journal flushes its write-ahead entry
//     (Journal.Prepare runs the writing as its during work; a replace
//     announces the new content's hash, size and mode first). It then
//     takes the target's name in one step:
//     renameat2 with RENAME_NOREPLACE for a new file, so that a file created
//     meanwhile is never replaced, and with RENAME_EXCHANGE over an
//     existing one, after which the object that came back is compared with
//     the file that was checked and kept; if another process had put
//     something else there, the names are exchanged back and the call fails,
//     so nothing that was not kept is lost. The directory is then flushed,
//     and the temporary name, which holds the replaced file now, is
//     removed in the background (Connector.release; Close waits for it):
//     freeing an inode can take longer than the write.
//     Append and edit write a new file too (old content plus the change),
//     so readers see the old or the new file, never a mix, and a copy the
//     journal hard-linked is never changed in place. A delete first renames
//     the entry to a temporary name, checks what it moved, and only then
//     removes it, in the background too. On failure the temporary file is
//     removed; a failed call changes nothing.
//   - Limits. Written content, an appended file and an edited file (before
//     and after) are at most MaxWriteBytes (too-large); a file is read for
//     an edit or append only up to that bound.
//
// Temporary names are reserved: an agent cannot name them (reserved-path)
// and list and search never show them. A process killed between creating
// and renaming one leaves it behind, hidden; stale ones (older than a
// minute) are removed from the root at Open and by later writes in the
// same directory (at most once a minute per directory); Open does not
// walk the tree, so start-up does not grow with it.
//
// # Directory trees
//
// Moving a directory or deleting one recursively affects everything in it,
// so the whole tree is walked first (handles, identity checks and a bound
// on entries, like list): every entry must be visible to the grant (the
// scope; for a move, at its old and its new path), none may be reserved,
// and a recursive delete refuses devices, FIFOs and sockets, which the
// journal could not restore. A recursive delete keeps every file in the
// journal and records the tree (Before.Entries), then renames the directory
// to a temporary name in one step and removes, deepest first, only the
// objects it recorded (by identity). Anything added meanwhile stays, and so
// does the hidden directory holding it; the call then reports the
// leftover.
//
// # Journal and undo
//
// When the engine gives a call a journal (inv.Journal), the connector
// keeps every file before it is replaced or removed (Journal.Keep, with the
// SHA-256 computed while reading it, and the content itself when a write
// or an edit read it whole) and records every effect after it
// happens (Journal.Record): "create" (a new file), "replace", "remove",
// "mkdir" and "move", with the object's state before and after (type,
// mode, size, hash). A journal with a Prepare method (write-ahead) is
// told each change just before it happens, so that it is durable first.
// Without a journal (the connector used directly) nothing is kept.
//
// [Connector.Undo] reverses an entry's changes, newest first. Journal paths
// are physical, so undo resolves them without following any link: a link
// on the way is a conflict. It first checks every path against the state
// the entry left (type, hash, mode; for an undone create of a tree, the
// whole tree), simulating the earlier steps of the same undo, and refuses
// with changed-since, naming each path and what differs, unless forced;
// a refused undo changes nothing. Then it restores content from the
// journal's objects (verifying their hash), atomically, with the recorded
// mode; removes what was created (keeping it first); removes created
// directories only if empty; recreates removed files, links and trees; and
// moves moved objects back without replacing anything. Every effect is
// recorded in the undo's own journal, so an undo can be undone.
//
// # Why this is race-safe
//
// Every system call is relative to a directory handle that was itself
// opened by one name from a verified handle, and every object that is
// opened is compared with the Lstat that classified it. A concurrent
// rename or swap can therefore only make a call fail, or make it act on
// the object that was at the resolved path when it was examined; it
// cannot redirect a call outside the root or into a path the policy did
// not see. In particular:
//
//   - Swapping a directory for a link after Lstat: os.Root refuses links
//     that leave the parent, and a link inside the parent yields a handle
//     whose identity differs from the Lstat, so the call fails.
//   - Swapping a file for a link, a FIFO or a device after Prepare: the
//     open does not block (O_NONBLOCK) and the identity check refuses it.
//   - Moving a directory Warden is standing in: handles follow the
//     directory, ".." never consults the file system, and re-opened levels
//     are checked, so the walk cannot climb above the root.
//
// # Limits of the design
//
//   - Between Prepare and Execute the file keeps its identity but not its
//     name: if an already-resolved directory is renamed after Prepare
//     (say into private/), Execute still reads the object the policy
//     allowed under its old name. Its content was visible at that path
//     when the policy decided.
//   - Hard links: a hard link to a private file placed inside an allowed
//     directory is, for a path-based policy, an allowed file. (Hard links
//     to reserved files are caught by identity.)
//   - A device node swapped in during the instant between Lstat and open
//     is opened (then refused before any read). Creating device nodes
//     requires privileges that an agent's tools do not have.
//   - Mount points inside the root are crossed like directories (they are
//     not links); whoever mounts something inside a resource root exposes
//     it.
//   - Reserved objects are identified by path and by the identity they
//     had at Open; a reserved file replaced later by a new inode (an
//     atomic rewrite) is still refused by path, not by identity.
//   - Directories are opened O_RDONLY, so a directory the Warden process
//     may traverse but not read cannot be walked through.
//   - Writes land in the directory handle Prepare resolved. If that
//     directory is moved elsewhere between Prepare and Execute (which
//     takes write access to both places), the write follows it.
//   - The lock is advisory: it serialises Warden's writers, not other
//     programs. Against those, the exchange-and-check rename keeps what
//     was checked, but a program writing into a file in place may race
//     with Warden's reading of it for the journal.
//   - Concurrent writers of one file take turns; target-changed means a
//     program other than Warden changed the file after the call was
//     prepared (or a crash, or a slot of the bounded table taken by
//     another name, lost Warden's record of its own change): the agent
//     should read the file again before retrying.
//   - A failed call leaves nothing: its temporary file is closed and
//     removed on every error path, and ENOSPC or EDQUOT is reported as
//     disk-full.
//   - Ownership is kept only where the process may set it; otherwise a
//     replaced file belongs to Warden's user. Extended attributes and ACLs
//     of a replaced file are not copied.
//   - Without renameat2 (systems other than Linux), a new file is linked
//     into place (which cannot replace anything) and a replaced one is
//     renamed over without the check that it is still the kept object.
//   - The design relies on openat-style system calls; it is written and
//     tested for Unix systems.
package fs
