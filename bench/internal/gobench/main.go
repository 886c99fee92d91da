package gobench

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Main is the command line the report commands share:
//
//	CMD [-in go-test-output] [-out report.md] [-title text] [-note text]...
//
// It reads the go test output (standard input without -in), lets build
// write the report, prints it and also saves it with -out. It exits 1 when
// build says the input was incomplete (a benchmark failed, nothing was
// measured; a missed target is only reported) and 2 on errors.
func Main(cmd, defaultTitle string, build func(w *strings.Builder, r io.Reader, title string, notes []string) (complete bool, err error)) {
	fatal := func(err error) {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd, err)
		os.Exit(2)
	}
	in := flag.String("in", "", "go test -bench output (default: standard input)")
	out := flag.String("out", "", "also write the report to this file")
	title := flag.String("title", defaultTitle, "the report's heading")
	var notes Notes
	flag.Var(&notes, "note", "a line printed under the heading (repeatable)")
	flag.Parse()

	r := io.Reader(os.Stdin)
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		r = f
	}
	var b strings.Builder
	complete, err := build(&b, r, *title, notes)
	if err != nil {
		fatal(err)
	}
	fmt.Print(b.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			fatal(err)
		}
	}
	if !complete {
		os.Exit(1)
	}
}
