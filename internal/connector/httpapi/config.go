package httpapi

import (
	"net/netip"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// Config is an http resource as the policy configures it: what the kind's
// Resource.Decode returns and [core.ResourceSpec.Config] holds. It is not
// changed once the policy is compiled.
type Config struct {
	// BaseURL is the API's base URL: http or https, no credentials, query
	// or fragment. Every call stays under its path.
	BaseURL string
	// Auth is the credential Warden adds to outgoing requests, or nil.
	Auth *Auth
	// CAFile is the absolute path of a PEM bundle trusted instead of the
	// system's roots, or "".
	CAFile string
	// Proxy is an http(s) proxy URL, or "".
	Proxy string
	// AllowPrivate are the non-public ranges the resource may reach
	// deliberately.
	AllowPrivate []netip.Prefix
	// OpenAPI is the absolute path of an OpenAPI 3 document whose
	// operations become the resource's tools, or "".
	OpenAPI string
	Limits  Limits
}

// Limits bound one request. Zero fields take the defaults below.
type Limits struct {
	MaxResponseBytes int64         // default 1 MiB
	Timeout          time.Duration // the whole exchange; default 30 s
	CallsPerMinute   int           // 0: unlimited
}

// Auth is the credential Warden adds to outgoing requests.
type Auth struct {
	Scheme string // "header", "query", "bearer" or "basic"
	Name   string // header or query parameter name; basic username
	Secret core.Secret
}

// Defaults for limits the policy leaves unset.
const (
	defaultResponseBytes = 1 << 20
	defaultTimeout       = 30 * time.Second
	// maxRedirects is how many redirects one call follows.
	maxRedirects = 5
)

// Detail is what an http call sends besides its method (the action) and
// URL path (the target), in the form the policy decides on: Prepare sets
// it as [core.Invocation.Detail], and a grant's query, headers and
// max_body_bytes are checked against it.
type Detail struct {
	// Query lists the names of the query parameters, sorted, without
	// duplicates.
	Query []string
	// Headers lists the canonical names of the headers the agent set,
	// sorted (Warden's own, such as the credential, are not listed).
	Headers []string
	// BodyBytes is the size of the request body.
	BodyBytes int64
}

// safeMethod reports whether method is one that only reads (GET, HEAD,
// OPTIONS), so a call using it needs no intent record.
func safeMethod(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}
