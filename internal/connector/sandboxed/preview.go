package sandboxed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
)

// Preview shows the approver the whole command line: the program's file
// and each argument, quoted as a shell would need them, control
// characters escaped; the variables the call sets; the work directory
// and the limits of the run.
func (c *Connector) Preview(_ context.Context, inv *core.Invocation) (string, error) {
	a, ok := inv.State.(*runArgs)
	if !ok {
		return "", errors.New("exec: call not prepared")
	}
	prog, _ := c.cfg.program(a.Program)
	var b strings.Builder
	b.WriteString("runs: ")
	b.WriteString(shellQuote(prog.Path))
	for _, arg := range a.Args {
		b.WriteByte(' ')
		b.WriteString(shellQuote(arg))
	}
	if d, ok := inv.Detail.(*runDetail); ok && len(d.Env) > 0 {
		b.WriteString("; with")
		for _, k := range d.Env {
			b.WriteString(" " + k + "=" + shellQuote(a.Env[k]))
		}
	}
	if a.Stdin != "" {
		fmt.Fprintf(&b, "; stdin %d bytes", len(a.Stdin))
	}
	// The engine asks before it sets the grant's options: these are the
	// resource's limits, which the grant may lower.
	l := limitsFor(c.cfg.Limits, inv.Options)
	fmt.Fprintf(&b, "; in %s, which it may change (journaled, undoable); limits (at most): wall %v, cpu %v, memory %d bytes, output %d bytes, writes %d bytes, processes %d",
		shellQuote(c.cfg.Workdir), l.Wall, l.CPU, l.Memory, l.OutputBytes, writeLimitFor(c.cfg.WriteBytes, inv.Options), l.Processes)
	return b.String(), nil
}

// shellQuote writes s so that a reader (and a POSIX shell) sees exactly
// its bytes: bare when it holds only harmless characters, in single
// quotes otherwise, and as $'...' with escapes when it holds a control
// character, an invisible one or bytes that are not UTF-8.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	plain := utf8.ValidString(s)
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			plain = false
		}
	}
	if plain {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ' && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}
