package approval

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/warden-dev/warden/internal/audit"
)

// FullArgs returns every byte of the arguments a shows the human: Args
// with the values kept in the audit log's blob store put back, each
// checked against its hash. Secrets stay redacted.
func (s *Store) FullArgs(a *Approval) (json.RawMessage, error) {
	full, err := audit.ExpandArgs(filepath.Dir(s.dir), a.Args, a.Blobs)
	if err != nil {
		return nil, fmt.Errorf("approval %s: arguments: %w", a.ID, err)
	}
	return full, nil
}
