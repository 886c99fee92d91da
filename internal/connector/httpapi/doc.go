// Package httpapi is the "http" resource kind: HTTP APIs.
//
// It registers [Kind] from init, which tells the rest of Warden everything
// kind-specific: the resource block ([Config]: base_url, auth, ca, proxy,
// allow_private, openapi, limits; policydecode.go), what a grant may add
// (read_only, and query, headers and max_body_bytes, which narrow the
// calls it covers through the [Detail] that Prepare records), the other
// spellings of a URL path a deny rule also catches (denyforms.go), the
// files Landlock must leave readable, and the "network" block of warden
// doctor (doctor.go).
//
// A call names a method and a path relative to the resource's base URL;
// the agent never picks the scheme, host or port. The layers, each of
// which stops an attack on its own:
//
//  1. The target: the path is normalised (one percent-decoding, no dot
//     segments, no encoded slashes or backslashes, no control bytes) and
//     must stay under the base URL's path; the policy decides the method
//     and the full URL path; headers that redirect or impersonate are
//     refused.
//  2. The dialer: every connection passes [netguard], which sees the IP
//     address the socket really connects to, after DNS and redirects.
//  3. Redirects are followed by hand, at most five, only to the same
//     origin, under the base path, with the method kept, and each hop is
//     decided by the policy again.
//  4. The credential is added at egress, last, and redacted with its
//     encodings from everything that goes back: body, headers, errors.
//  5. Limits: response bytes, total time, calls per minute.
//
// Without an OpenAPI document a resource offers one generic tool,
// "<resource>_request"; with one, each operation is its own tool with typed
// parameters (openapi.go), built into the same request and checked the same
// way. Both decode their arguments by the rule every kind shares
// (argjson.Decode: exact names, no other key, typed); a JSON body and any
// number in a parameter are sent as the agent wrote them (args.go).
package httpapi
