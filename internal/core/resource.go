package core

import (
	"net/netip"
	"time"
)

// Resource kinds known to the policy language.
const (
	KindFS   = "fs"
	KindSQL  = "sql"
	KindHTTP = "http"
)

// ResourceSpec is a resource as compiled from the policy file. Exactly one of
// FS, SQL and HTTP is set, matching Kind.
type ResourceSpec struct {
	Name        string
	Kind        string
	Description string
	Position    string // "file:line:col" of the resource in the policy
	FS          *FSSpec
	SQL         *SQLSpec
	HTTP        *HTTPSpec
	// Secrets are all the policy's secrets, set by the engine: a connector
	// that returns a window of what it reads (a range of a file, a line a
	// search found, a value a query computed) redacts them with the
	// surroundings in view, so that pieces never add up to a secret.
	Secrets []Secret
}

// FSSpec configures a local directory.
type FSSpec struct {
	// Root is the absolute path of the directory, as written in the policy
	// (resolved against the policy's directory). It may itself be a symlink.
	Root string
	// Reserved are absolute paths Warden keeps for itself (its state
	// directory, the policy file). They are refused even when inside Root.
	Reserved []string
	Limits   FSLimits
}

// FSLimits bound what one call may cost. Zero fields take the defaults in
// [DefaultFSLimits].
type FSLimits struct {
	MaxReadBytes     int64         // bytes one read returns; default 1 MiB
	MaxFileBytes     int64         // largest file a search opens; default 10 MiB
	MaxListEntries   int           // entries one list page returns; default 1,000
	MaxSearchFiles   int           // files one search visits; default 100,000
	MaxSearchBytes   int64         // content bytes one search scans; default 256 MiB
	MaxSearchResults int           // matches one search returns; default 1,000
	SearchTimeout    time.Duration // wall time of one search; default 10s
	MaxWriteBytes    int64         // largest file a write, append or edit leaves; default 10 MiB
}

// DefaultFSLimits are the limits used where the policy sets none.
var DefaultFSLimits = FSLimits{
	MaxReadBytes:     1 << 20,
	MaxFileBytes:     10 << 20,
	MaxListEntries:   1000,
	MaxSearchFiles:   100_000,
	MaxSearchBytes:   256 << 20,
	MaxSearchResults: 1000,
	SearchTimeout:    10 * time.Second,
	MaxWriteBytes:    10 << 20,
}

// WithDefaults returns l with every zero field replaced by its default.
func (l FSLimits) WithDefaults() FSLimits {
	d := DefaultFSLimits
	if l.MaxReadBytes > 0 {
		d.MaxReadBytes = l.MaxReadBytes
	}
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	if l.MaxListEntries > 0 {
		d.MaxListEntries = l.MaxListEntries
	}
	if l.MaxSearchFiles > 0 {
		d.MaxSearchFiles = l.MaxSearchFiles
	}
	if l.MaxSearchBytes > 0 {
		d.MaxSearchBytes = l.MaxSearchBytes
	}
	if l.MaxSearchResults > 0 {
		d.MaxSearchResults = l.MaxSearchResults
	}
	if l.SearchTimeout > 0 {
		d.SearchTimeout = l.SearchTimeout
	}
	if l.MaxWriteBytes > 0 {
		d.MaxWriteBytes = l.MaxWriteBytes
	}
	return d
}

// SQLSpec configures a database.
type SQLSpec struct {
	Driver string // "sqlite", "postgres" or "mysql"
	// DSN is the data source name. A DSN that holds a password must be a
	// secret reference; a plain one (a SQLite path) has an empty Ref.
	DSN Secret
	// StrictCredentials refuses to start when the login can do more than the
	// grants need, instead of warning.
	StrictCredentials bool
	Limits            SQLLimits
}

// SQLLimits bound one query. Zero fields take defaults chosen by the
// connector (1,000 rows, 10 s).
type SQLLimits struct {
	MaxRows        int
	MaxResultBytes int64
	Timeout        time.Duration
}

// HTTPSpec configures an HTTP API.
type HTTPSpec struct {
	BaseURL      string
	Auth         *HTTPAuth
	CAFile       string
	Proxy        string
	AllowPrivate []netip.Prefix
	OpenAPI      string
	Limits       HTTPLimits
}

// HTTPLimits bound one request. Zero fields take defaults chosen by the
// connector.
type HTTPLimits struct {
	MaxResponseBytes int64
	Timeout          time.Duration
	CallsPerMinute   int
}

// HTTPAuth is the credential Warden adds to outgoing requests.
type HTTPAuth struct {
	Scheme   string // "header", "query", "bearer" or "basic"
	Name     string // header or query parameter name; basic username
	Secret   Secret
	Position string
}
