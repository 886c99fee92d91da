package sqldb

import (
	"fmt"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// Config is a database as the policy describes it
// ([core.ResourceSpec.Config] of a resource of kind "sql").
type Config struct {
	Driver string // "sqlite", "postgres" or "mysql"
	// DSN is the data source name. A DSN that holds a password is a
	// secret reference; a plain one (a SQLite path, absolute) has an
	// empty Ref.
	DSN core.Secret
	// StrictCredentials refuses to serve the resource while its login can
	// do more than the grants need, instead of warning.
	StrictCredentials bool
	Limits            Limits
}

// Limits bound one statement. Zero fields take the defaults
// ([DefaultLimits]).
type Limits struct {
	MaxRows        int           // rows one query returns; default 1,000
	MaxResultBytes int64         // bytes one result holds; default 1 MiB
	Timeout        time.Duration // time one statement may run; default 10s
}

// DefaultLimits are the limits used where the policy sets none.
var DefaultLimits = Limits{MaxRows: 1000, MaxResultBytes: 1 << 20, Timeout: 10 * time.Second}

// WithDefaults returns l with every zero field replaced by its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxRows > 0 {
		d.MaxRows = l.MaxRows
	}
	if l.MaxResultBytes > 0 {
		d.MaxResultBytes = l.MaxResultBytes
	}
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	return d
}

// OptMaxRows is the grant cap that lowers a resource's max_rows for the
// calls the grant allows ([core.GrantOptions.Cap]).
const OptMaxRows = "max_rows"

// drivers are the values of driver:, in the order they are documented.
var drivers = []string{"sqlite", "postgres", "mysql"}

// configOf returns the sql configuration of spec.
func configOf(spec *core.ResourceSpec) (*Config, error) {
	if spec == nil {
		return nil, fmt.Errorf("no resource given")
	}
	cfg, ok := spec.Config.(*Config)
	if !ok || cfg == nil || spec.Kind != kindName {
		return nil, fmt.Errorf("resource %q is not a sql resource", spec.Name)
	}
	return cfg, nil
}
