package policy

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Names used by the zero-configuration policy.
const (
	DefaultResource = "files"
	DefaultAgent    = "default"
)

// defaultPolicy is the zero-configuration policy, with {{root}} for the
// directory it serves.
//
//go:embed default.yaml
var defaultPolicy string

// Default returns the policy used when no policy file is given
// (default.yaml): one resource named "files" rooted at dir, read-only
// (read, list, search, stat), for one agent named "default", with files
// that usually hold secrets hidden. Its state directory is dir/.warden,
// which the resource hides.
func Default(dir string) (*Policy, error) {
	root, err := json.Marshal(dir) // a JSON string is a valid YAML scalar
	if err != nil {
		return nil, err
	}
	src := strings.ReplaceAll(defaultPolicy, "{{root}}", string(root))
	p, err := Compile([]byte(src), WithSource("(default policy)"), WithBaseDir(dir))
	var probs Errors
	if errors.As(err, &probs) && len(probs) > 0 {
		// A policy file could say allow_broad_root; without one, say what
		// the user can do instead.
		return nil, fmt.Errorf("no policy file, and the current directory %s cannot be served: %s: run warden serve from the directory the agent needs (cd ~/notes), or pass --policy (warden init writes one)", dir, probs[0].Msg)
	}
	return p, err
}
