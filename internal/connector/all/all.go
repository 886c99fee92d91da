// Package all links every connector of this build into the binary. Import
// it for its side effects wherever connectors are constructed (the CLI):
//
//	import _ "github.com/warden-dev/warden/internal/connector/all"
//
// The list below is the compiled-in set; each package registers its kind
// with [github.com/warden-dev/warden/internal/connector.Register].
package all

import (
	_ "github.com/warden-dev/warden/internal/connector/fs"        // kind "fs"
	_ "github.com/warden-dev/warden/internal/connector/httpapi"   // kind "http"
	_ "github.com/warden-dev/warden/internal/connector/sandboxed" // kind "exec"
	_ "github.com/warden-dev/warden/internal/connector/sqldb"     // kind "sql"
)
