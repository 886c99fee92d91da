package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
		return usageErr(e, "%v", err)
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
	fmt.Fprintf(w, "call:   %s\n", printable(a.Summary))
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
		fmt.Fprintf(w, "  %s\n", printable(string(full)))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(members)) {
		v := members[k]
		var s string
		if json.Unmarshal(v, &s) == nil && (len(s) > 80 || strings.Contains(s, "\n")) {
			fmt.Fprintf(w, "  %s: (%d bytes of text)\n", printable(k), len(s))
			for _, line := range strings.SplitAfter(s, "\n") {
				if line == "" {
					continue
				}
				fmt.Fprintf(w, "  | %s\n", printable(strings.TrimSuffix(line, "\n")))
			}
			if !strings.HasSuffix(s, "\n") {
				fmt.Fprintln(w, "  (no newline at the end)")
			}
			continue
		}
		var buf bytes.Buffer
		if json.Indent(&buf, v, "  ", "  ") != nil {
			buf.Reset()
			buf.Write(v)
		}
		fmt.Fprintf(w, "  %s: %s\n", printable(k), printable(buf.String()))
	}
}

// clipArgs returns at most n bytes of args, on a character boundary, with
// "…" when cut.
func clipArgs(args json.RawMessage, n int) string {
	s := string(args)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// printable escapes what could make a terminal show something other than
// the text: control characters (other than newline and tab) and the
// bidirectional overrides that reorder what is displayed.
func printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f
}
