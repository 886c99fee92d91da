package fs

import "time"

// Config is a local directory as the policy describes it
// ([core.ResourceSpec.Config] of a resource of kind "fs").
type Config struct {
	// Root is the absolute path of the directory, as written in the policy
	// (resolved against the policy's directory). It may itself be a symlink.
	Root   string
	Limits Limits
}

// Limits bound what one call may cost. Zero fields take the defaults in
// [DefaultLimits].
type Limits struct {
	MaxReadBytes     int64         // bytes one read returns; default 1 MiB
	MaxFileBytes     int64         // largest file a search opens; default 10 MiB
	MaxListEntries   int           // entries one list page returns; default 1,000
	MaxSearchFiles   int           // files one search visits; default 100,000
	MaxSearchBytes   int64         // content bytes one search scans; default 256 MiB
	MaxSearchResults int           // matches one search returns; default 1,000
	SearchTimeout    time.Duration // wall time of one search; default 10s
	MaxWriteBytes    int64         // largest file a write, append or edit leaves; default 10 MiB
}

// DefaultLimits are the limits used where the policy sets none.
var DefaultLimits = Limits{
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
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
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
