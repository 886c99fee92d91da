package policy

import (
	"encoding/json"
	"fmt"
)

// Names used by the zero-configuration policy.
const (
	DefaultResource = "files"
	DefaultAgent    = "default"
)

// Default returns the policy used when no policy file is given: one
// resource named "files" rooted at dir, read-only (read, list, search, stat),
// for one agent named "default", with files that usually hold secrets
// hidden. Its state directory is dir/.warden, which the resource hides.
func Default(dir string) (*Policy, error) {
	// A policy file could say allow_broad_root; without one, say what the
	// user can do instead.
	if d := broadDir(dir); d != "" {
		return nil, fmt.Errorf("no policy file, and the current directory %s would expose the whole system to the agent: run warden serve from the directory the agent needs (cd ~/notes), or pass --policy (warden init writes one)", d)
	}
	root, err := json.Marshal(dir) // a JSON string is a valid YAML scalar
	if err != nil {
		return nil, err
	}
	src := fmt.Sprintf(`version: 1
resources:
  %s:
    kind: fs
    root: %s
    description: the current directory, read-only
agents:
  %s:
    grants:
      - resource: %s
        actions: [read, list, search, stat]
`, DefaultResource, root, DefaultAgent, DefaultResource)
	return Compile([]byte(src), WithSource("(default policy)"), WithBaseDir(dir))
}
