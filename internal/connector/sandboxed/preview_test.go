package sandboxed_test

import (
	"os/exec"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/connector/sandboxed"
)

// FuzzShellQuote: what the approver reads is printable UTF-8, whatever an
// argument holds, and a shell reads back exactly the argument (checked
// with bash, which knows $'...', on the seeds).
func FuzzShellQuote(f *testing.F) {
	seeds := []string{"", "plain", "a b", "it's", "\x1b[31mred", "a\nb\tc\r", "\xff\xfe", "\u202eevil", "$(id)", "`id`", "\\", "'\\''", "\u00e9t\u00e9", "\U0001F600", "\u200b"}
	for _, s := range seeds {
		f.Add(s)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		for _, s := range seeds {
			out, err := exec.Command(bash, "-c", "printf %s "+sandboxed.ShellQuote(s)).Output()
			if err != nil || string(out) != s {
				f.Errorf("%q quoted %s reads back as %q (%v)", s, sandboxed.ShellQuote(s), out, err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := sandboxed.ShellQuote(s)
		if !utf8.ValidString(q) {
			t.Fatalf("%q quoted %q is not UTF-8", s, q)
		}
		for _, r := range q {
			if !unicode.IsPrint(r) && r != ' ' {
				t.Fatalf("%q quoted %q holds %U", s, q, r)
			}
		}
		if q == "" || (s != "" && q == s && strings.ContainsAny(s, " '\"$`\\;&|<>(){}*?[]#~!")) {
			t.Fatalf("%q quoted %q", s, q)
		}
	})
}
