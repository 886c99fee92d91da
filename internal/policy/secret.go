package policy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const maxSecretBytes = 64 << 10

// resolveSecret loads the value behind "env:NAME" or "file:PATH". Errors
// name the reference, never the value.
func resolveSecret(ref, baseDir string, lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		if name == "" {
			return "", errors.New(`"env:" needs a variable name, as in env:API_KEY`)
		}
		v, ok := lookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", name)
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"):
		p := strings.TrimPrefix(ref, "file:")
		if p == "" {
			return "", errors.New(`"file:" needs a path, as in file:/run/secrets/api_key`)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("cannot read secret file %s: %v", ref, errors.Unwrap(err))
		}
		defer f.Close()
		buf, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
		if err != nil {
			return "", fmt.Errorf("cannot read secret file %s: %v", ref, errors.Unwrap(err))
		}
		if len(buf) > maxSecretBytes {
			return "", fmt.Errorf("secret file %s is larger than %d bytes", ref, maxSecretBytes)
		}
		v := strings.TrimRight(string(buf), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", ref)
		}
		return v, nil
	}
	return "", errors.New("secrets must be references, not inline values")
}
