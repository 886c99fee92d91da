package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/textsafe"
)

// listArgBytes bounds the arguments "warden approvals" prints per call;
// "warden approvals show ID" prints them all.
const listArgBytes = 1 << 10

func runApprovalShow(e *env, args []string) int {
	fs := newFlags(e, "approvals show", "approvals show ID [--json] [--policy FILE | --state DIR]", approvalsHelp)
	var sf stateFlags
	sf.register(e, fs)
	asJSON := fs.Bool("json", false, "print JSON, with the arguments in full")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		return usageErr(e, "approvals show takes one approval ID, got %q", pos)
	}
	store, _, err := openApprovals(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	a, err := store.Get(pos[0])
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: %v\n", err)
		return ExitUsage
	}
	full, err := store.FullArgs(a)
	if err != nil {
		// Never show a call other than the one approved: a missing or
		// altered blob is an error, not a shorter display.
		fmt.Fprintf(e.stderr, "warden: %v; do not approve a call you cannot see (run \"warden audit verify\")\n", err)
		return ExitToolFailed
	}
	if *asJSON {
		shown := *a
		shown.Args, shown.Blobs = full, nil
		printJSON(e, &shown)
		return ExitOK
	}
	w := e.stdout
	fmt.Fprintf(w, "approval %s: %s, expires %s\n", a.ID, a.Status, a.Expires.Local().Format(time.DateTime))
	fmt.Fprintf(w, "agent:  %s\ntool:   %s\n", a.Agent, a.Tool)
	if a.Rule != "" {
		fmt.Fprintf(w, "rule:   %s\n", a.Rule)
	}
	fmt.Fprintf(w, "call:   %s\n", textsafe.Printable(a.Summary))
	if a.DecidedBy != "" {
		fmt.Fprintf(w, "decided by %s at %s\n", a.DecidedBy, a.DecidedAt.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "arguments (%d bytes, in full; secrets redacted):\n", len(full))
	writeArgs(w, full)
	return ExitOK
}

// writeArgs prints each top-level argument: short values as JSON on one
// line, strings with several lines or over 80 bytes as a block of text,
// each line prefixed with "  | ".
func writeArgs(w interface{ Write([]byte) (int, error) }, full json.RawMessage) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(full, &members); err != nil {
		fmt.Fprintf(w, "  %s\n", textsafe.Printable(string(full)))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(members)) {
		v := members[k]
		var s string
		if json.Unmarshal(v, &s) == nil && (len(s) > 80 || strings.Contains(s, "\n")) {
			fmt.Fprintf(w, "  %s: (%d bytes of text)\n", textsafe.Printable(k), len(s))
			for _, line := range strings.SplitAfter(s, "\n") {
				if line == "" {
					continue
				}
				fmt.Fprintf(w, "  | %s\n", textsafe.Printable(strings.TrimSuffix(line, "\n")))
			}
			if !strings.HasSuffix(s, "\n") {
				fmt.Fprintln(w, "  (no newline at the end)")
			}
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", textsafe.Printable(k), textsafe.Printable(approval.Readable(v, "  ", "  ")))
	}
}
