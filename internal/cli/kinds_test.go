package cli

// The commands under test serve the kinds cmd/warden links in.
import _ "github.com/warden-dev/warden/internal/connector/all"
