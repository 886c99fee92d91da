package httpapi

import (
	"fmt"
	"slices"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
)

// kindName is the kind as a policy writes it: "kind: http".
const kindName = "http"

// Kind is the http resource kind: everything the rest of Warden knows
// about HTTP APIs. It is registered from init.
var Kind = &core.ResourceKind{
	Name:        kindName,
	Summary:     "an HTTP API",
	Actions:     slices.Clone(methods),
	ReadActions: slices.Clone(readMethods),
	Resource: core.ResourceSyntax{
		Keys:   []string{"base_url", "auth", "ca", "proxy", "allow_private", "openapi", "limits"},
		Decode: decodeResource,
	},
	Rules: core.RuleSyntax{
		GrantKeys: []string{keyReadOnly, keyQuery, keyHeaders, keyMaxBodyBytes},
		Paths: &core.PathSyntax{
			Absolute: true,
			Params:   true,
			Hint:     "patterns are URL paths such as /v1/forecast, /v1/users/{id} or /v1/**",
		},
		Decode:    decodeRule,
		DenyForms: denyForms,
	},
	New: connector.Constructor(New),
	Describe: func(spec *core.ResourceSpec) string {
		return "the HTTP API at " + config(spec).BaseURL
	},
	HostPaths: hostPaths,
	Doctor:    doctor,
	Example:   example,
}

func init() { connector.Register(Kind) }

// config returns a resource's configuration; never nil.
var config = core.ConfigOf[Config]

// hostPaths are the files an http resource reads once the process has
// confined itself: its CA bundle and its OpenAPI document. Connections
// are not files; Landlock leaves the network alone.
func hostPaths(spec *core.ResourceSpec, _ bool) []core.HostPath {
	cfg := config(spec)
	var out []core.HostPath
	if f := cfg.CAFile; f != "" {
		out = append(out, core.HostPath{Path: f, Why: fmt.Sprintf("resource %s (its CA file, read)", spec.Name)})
	}
	if f := cfg.OpenAPI; f != "" {
		out = append(out, core.HostPath{Path: f, Why: fmt.Sprintf("resource %s (its OpenAPI document, read)", spec.Name)})
	}
	return out
}
