package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	log  []byte
}

// bigPayloadWarden returns the warden binary for tests that push many
// megabytes through the server: this test binary, unless it was built with
// -race, whose instrumented JSON decoding makes one 8 MiB call take seconds
// (the crash and concurrency tests need dozens). Then it is the real
// command, built once without -race; the test skips, loudly, without a go
// tool.
func bigPayloadWarden(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return os.Args[0]
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIPPED: under -race this test needs warden built without it, and there is no go tool: %v", err)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "warden-e2e-bin-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "warden")
		cmd := exec.Command(goTool, "build", "-o", built.bin, "./cmd/warden")
		cmd.Dir = moduleRoot()
		var flags []string
		for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
			if f != "-race" {
				flags = append(flags, f)
			}
		}
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(flags, " "))
		built.log, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("building warden without -race: %v\n%s", built.err, built.log)
	}
	return built.bin
}

// removeBuiltWarden removes the binary bigPayloadWarden built, if any.
func removeBuiltWarden() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// moduleRoot is the directory holding go.mod, above the working directory.
func moduleRoot() string {
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}
