// Package approval holds calls that a policy grant marks "approval:
// required" until a human approves that exact call.
//
// An approval is bound to one call by [CallHash] over the agent, the tool
// and the [CanonicalArgs] of the exact arguments. It authorises one run of
// that call, and only until it expires (ten minutes after the call was
// first made, by default).
//
// # Lifecycle
//
//	            Decide(approve)           Request / Consume
//	pending ─────────────────────▶ approved ─────────────────▶ used
//	   │  │                           │
//	   │  └── TTL passes ──▶ expired ◀┘ TTL passes before use
//	   │
//	   └── Decide(deny) ──▶ denied ── Request / Consume ──▶ denied, reported
//
// The pipeline calls [Store.Request] each time a call needing approval
// arrives. The first call creates a pending approval ([Created]); repeats
// while it is pending return it ([Pending]). A human runs "warden approve
// ID" or "warden deny ID", which calls [Store.Decide]. The next identical
// call then either runs ([Proceed], and the approval becomes used) or is
// told a human refused ([Refused], once; after that the denial no longer
// matches and an identical call asks again). A call that blocks instead of
// returning uses [Store.Wait] and then [Store.Consume].
//
// Expiry is applied lazily: any operation that reads an approval whose time
// is up while pending or approved marks it expired first. Finished
// approvals (denied, used, expired) are pruned by Request, at most once a
// minute, after Options.Retain (seven days by default).
//
// # On disk
//
// A store lives in <state>/approvals (mode 0700). Each approval is one JSON
// file, <id>.json (mode 0600), holding an [Approval]. IDs are "ap_" and 12
// characters of lowercase base32 from crypto/rand (60 bits). Every write
// goes to a temp file in the same directory, is fsynced, renamed over the
// target, and the directory is fsynced, so readers and crashes see whole
// files only. Every read-modify-write holds an in-process mutex and an
// exclusive flock on <state>/approvals/.lock, so the long-running server,
// one-shot "warden call" processes and the human's CLI can share one store.
//
// Request and List read every file in the directory, so their cost grows
// with the number of approvals kept. A long-lived Store (the server)
// remembers which files are final (used, expired, reported denials) and
// does not reread them, so its Request cost grows with live approvals only;
// a fresh Store (a one-shot "warden call") reads them all once. Measured on
// a small VM: about 2 ms per Request per hundred files read, so a few
// hundred approvals are fine and tens of thousands are not. A deployment
// making thousands of approval requests a day should shorten
// Options.Retain. See BenchmarkStore_Request.
//
// # Security properties
//
//   - Binding: an approval authorises only a call whose agent, tool and
//     canonical arguments hash to its Hash. The hash covers the exact
//     arguments, not the redacted [NewRequest.Display] the human sees, so
//     hiding or shortening a value for display never widens the approval.
//     Canonicalisation rejects input that two parsers could read
//     differently (duplicate keys, unpaired surrogate escapes, invalid
//     UTF-8), and numbers keep their exact spelling.
//   - Single use: marking an approval used happens under the lock and is
//     durable before [Proceed] or a successful Consume is returned, so of
//     any number of racing identical calls, in any number of processes,
//     exactly one runs. If that write fails the call does not run.
//   - Expiry: an approval decided or used after Expires does nothing; the
//     agent must make the call again. Deciding does not extend Expires.
//   - Fail closed: a file that cannot be read, does not parse, is not a
//     regular file, or whose ID, status or hash is malformed never matches
//     a call; List reports it as [ErrCorrupt] and leaves it for a human to
//     inspect. An ID is checked against the generated alphabet and length
//     before it is joined into a path, so no ID can name a file elsewhere.
//   - Sealing: with Options.Key (Warden passes the audit key), each file
//     ends ,"mac":"<64 hex>"}: HMAC-SHA-256 of the file's JSON object
//     without that field, under HMAC-SHA-256 of "warden approval v1" keyed
//     by the audit key. The MAC covers every byte (ID, agent, tool, the
//     call's hash, status, decision, expiry), so a file written or edited
//     without the key never matches a call: a call it claims to approve
//     is refused with [ErrForged] until an operator removes the file; one
//     claiming any other status is passed over (List reports it), and
//     pruned like a sealed one. So are the unsealed files of a Warden
//     that had no key yet. Without a key, files carry no MAC and any mac
//     field is ignored.
//   - Audited decisions: with Options.Record, a decision's audit record is
//     written before the decision is saved, and a decision that cannot be
//     recorded is not made, so no call runs on an unrecorded decision.
//   - Trust: without a key, whoever can write the approvals directory can
//     approve calls; with one, they can only replay a file this store
//     wrote earlier (an approved file copied before use and put back after
//     it, within its expiry; a long-running Store ignores a final file
//     that reappears), or delete files. Open refuses a directory writable
//     by other users, and Warden must keep its state directory out of
//     every resource agents can reach. IDs are unguessable so that knowing
//     one ID reveals no other.
package approval
