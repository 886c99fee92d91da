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
