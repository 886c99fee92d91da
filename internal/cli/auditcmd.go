package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/audit"
)

const auditHelp = `  warden audit verify [--anchor SEQ:HASH] [--policy FILE | --state DIR]
      Checks the whole hash chain and the head: any edited, deleted,
      reordered or truncated record is reported with its line, as is a
      record whose blob (a long argument kept in audit-blobs/) is missing
      or altered. Exit 0 if the log verifies, 1 if not. A crash during an
      append leaves a partial last record; the log still verifies up to it
      and verify says so.

  warden audit show [--agent A] [--tool T] [--decision allow|deny|approval_required]
                    [--since 1h|RFC3339] [--until ...] [--follow] [--json] [--full]
      Prints matching records; --follow keeps printing new ones. --full
      adds each call's arguments in full, with the long values a record
      keeps in the blob store (audit-blobs/) put back and checked.

  warden audit head
      Prints the last record's seq and hash, to keep elsewhere as an anchor.

  warden audit reseal [--anchor SEQ:HASH]
      With audit.key, the head is sealed with the key, and a head written
      without it fails verify. After upgrading from a Warden that did not
      seal heads, this verifies the whole log (and the anchor, if given)
      and seals its head; check an anchor kept elsewhere first if you can.`

func runAudit(e *env, args []string) int {
	return subcommands(e, "audit", auditHelp, args, map[string]func(*env, []string) int{
		"verify": runAuditVerify,
		"show":   runAuditShow,
		"head":   runAuditHead,
		"reseal": runAuditReseal,
	})
}

func runAuditVerify(e *env, args []string) int {
	fs := newFlags(e, "audit verify", "audit verify [--anchor SEQ:HASH]", auditHelp)
	var sf stateFlags
	sf.register(e, fs)
	anchor := fs.String("anchor", "", "an externally kept `SEQ:HASH` (from warden audit head) the log must still contain")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "audit verify takes no arguments, got %q", pos)
	}
	st, err := openState(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	opts := audit.VerifyOptions{Key: st.audit.Key}
	if *anchor != "" {
		seqText, hash, ok := strings.Cut(*anchor, ":")
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if !ok || err != nil || len(hash) != 64 {
			return usageErr(e, "--anchor must be SEQ:HASH as printed by warden audit head")
		}
		opts.Anchor = &audit.Anchor{Seq: seq, Hash: hash}
	}
	rep, err := audit.Verify(st.dir, opts)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	if !rep.OK {
		fmt.Fprintf(e.stdout, "FAILED: %s\n", rep.Problem)
		fmt.Fprintf(e.stdout, "%d record(s) verified before the problem.\n", rep.Records)
		return ExitToolFailed
	}
	fmt.Fprintf(e.stdout, "ok: %d record(s), last seq %d, head %s\n", rep.Records, rep.LastSeq, rep.LastHash)
	if rep.Partial != "" {
		fmt.Fprintf(e.stdout, "note: %s\n", rep.Partial)
	}
	if rep.Unanchored > 0 {
		fmt.Fprintf(e.stdout, "note: %d record(s) after the head chain correctly but are not yet recorded in audit.head (a crash after writing them, or an appended forgery; compare with an external anchor)\n", rep.Unanchored)
	}
	return ExitOK
}

func runAuditHead(e *env, args []string) int {
	fs := newFlags(e, "audit head", "audit head", auditHelp)
	var sf stateFlags
	sf.register(e, fs)
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "audit head takes no arguments, got %q", pos)
	}
	st, err := openState(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	seq, hash, err := audit.Head(st.dir)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "%d:%s\n", seq, hash)
	return ExitOK
}

func runAuditShow(e *env, args []string) int {
	fs := newFlags(e, "audit show", "audit show [filters] [--follow] [--json]", auditHelp)
	var sf stateFlags
	sf.register(e, fs)
	var f audit.Filter
	fs.StringVar(&f.Agent, "agent", "", "only this agent")
	fs.StringVar(&f.Tool, "tool", "", "only this tool")
	fs.StringVar(&f.Decision, "decision", "", "only this decision: allow, deny or approval_required")
	since := fs.String("since", "", "only records at or after this `time` (RFC3339, or a duration ago such as 1h)")
	until := fs.String("until", "", "only records before this `time` (RFC3339, or a duration ago)")
	fs.BoolVar(&f.Follow, "follow", false, "keep printing new records until interrupted")
	asJSON := fs.Bool("json", false, "print records as JSON lines")
	full := fs.Bool("full", false, "print each call's arguments in full, long values included")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "audit show takes no arguments, got %q", pos)
	}
	switch f.Decision {
	case "", "allow", "deny", "approval_required":
	default:
		return usageErr(e, "--decision must be allow, deny or approval_required")
	}
	var err error
	if f.Since, err = parseWhen(*since); err != nil {
		return usageErr(e, "--since: %v", err)
	}
	if f.Until, err = parseWhen(*until); err != nil {
		return usageErr(e, "--until: %v", err)
	}
	st, err := openState(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	damaged := 0
	err = audit.Read(e.ctx, st.dir, f, func(r audit.Record) error {
		var blobErr error
		if *full && len(r.Blobs) > 0 {
			var args json.RawMessage
			if args, blobErr = audit.ExpandArgs(st.dir, r.Args, r.Blobs); blobErr == nil {
				r.Args, r.Blobs = args, nil
			} else {
				damaged++
				fmt.Fprintf(e.stderr, "warden: record %s (seq %d): %v; run \"warden audit verify\"\n", r.ID, r.Seq, blobErr)
			}
		}
		if *asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s\n", b)
			return nil
		}
		fmt.Fprintln(e.stdout, formatRecord(r))
		if *full && len(r.Args) > 0 && blobErr == nil {
			writeArgs(e.stdout, r.Args)
		}
		return nil
	})
	if err != nil && err != context.Canceled {
		return usageErr(e, "%v", err)
	}
	if damaged > 0 {
		return ExitToolFailed
	}
	return ExitOK
}

func formatRecord(r audit.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s #%d %s", r.Time.Local().Format("2006-01-02 15:04:05"), r.ID, r.Seq, r.Event)
	if r.Agent != "" {
		fmt.Fprintf(&b, " agent=%s", r.Agent)
	}
	if r.Tool != "" {
		fmt.Fprintf(&b, " tool=%s", r.Tool)
	}
	if r.Path != "" {
		fmt.Fprintf(&b, " path=%q", r.Path)
	}
	if len(r.Blobs) > 0 {
		fmt.Fprintf(&b, " blobs=%d", len(r.Blobs))
	}
	if r.Decision != "" {
		fmt.Fprintf(&b, " decision=%s", r.Decision)
	}
	if len(r.Reasons) > 0 {
		fmt.Fprintf(&b, " reasons=%s", strings.Join(r.Reasons, ","))
	}
	if r.Rule != "" {
		fmt.Fprintf(&b, " rule=%s", r.Rule)
	}
	if r.ApprovalID != "" {
		fmt.Fprintf(&b, " approval=%s", r.ApprovalID)
	}
	if r.Outcome != "" {
		fmt.Fprintf(&b, " outcome=%s", r.Outcome)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, " error=%q", r.Error)
	}
	if r.DurationMS > 0 {
		fmt.Fprintf(&b, " %.2fms", r.DurationMS)
	}
	return b.String()
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC3339 nor a duration such as 1h", s)
	}
	return t, nil
}
