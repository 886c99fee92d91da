package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/internal/audit"
)

func runAuditReseal(e *env, args []string) int {
	fs := newFlags(e, "audit reseal", "audit reseal [--anchor SEQ:HASH]", auditHelp)
	var sf stateFlags
	sf.register(e, fs)
	anchorText := fs.String("anchor", "", "an externally kept `SEQ:HASH` (from warden audit head) the log must still contain")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "audit reseal takes no arguments, got %q", pos)
	}
	st, err := openState(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	if len(st.audit.Key) == 0 {
		return usageErr(e, "audit reseal: the policy sets no audit.key; only a keyed log's head is sealed")
	}
	var anchor *audit.Anchor
	if *anchorText != "" {
		seqText, hash, ok := strings.Cut(*anchorText, ":")
		seq, err := strconv.ParseUint(seqText, 10, 64)
		if !ok || err != nil || len(hash) != 64 {
			return usageErr(e, "--anchor must be SEQ:HASH as printed by warden audit head")
		}
		anchor = &audit.Anchor{Seq: seq, Hash: hash}
	}
	rep, err := audit.Reseal(st.dir, st.audit.Key, anchor)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	if !rep.OK {
		fmt.Fprintf(e.stdout, "FAILED: %s\n", rep.Problem)
		fmt.Fprintf(e.stdout, "%d record(s) verified before the problem; the head was left as it was.\n", rep.Records)
		return ExitToolFailed
	}
	fmt.Fprintf(e.stdout, "resealed %s: %d record(s) verified, last seq %d, head %s\n", audit.HeadFile, rep.Records, rep.LastSeq, rep.LastHash)
	return ExitOK
}
