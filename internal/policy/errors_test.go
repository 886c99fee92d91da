package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestErrors compiles each testdata/errors/*.yaml and compares every
// reported problem with the .golden file beside it (go test -update rewrites
// them).
func TestErrors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WARDEN_TEST_TOKEN": "tok-1234567890", "WARDEN_TEST_TOKEN_COPY": "tok-1234567890"}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			base := t.TempDir()
			_, err = Compile(src, WithSource(filepath.ToSlash(file)), WithBaseDir(base), WithLookupEnv(func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			}))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Compile(%s) = %v, want policy.Errors", file, err)
			}
			got := errs.Error() + "\n"
			for _, secret := range []string{"hunter2", "sk-live-inline-value", "tok-1234567890"} {
				if strings.Contains(got, secret) {
					t.Errorf("Compile(%s) error text reveals the secret %q", file, secret)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Compile(%s) problems mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}
