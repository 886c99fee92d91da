package core

// HTTPCall is what an http call sends besides its method (the action) and
// URL path (the target), in the form the policy decides on: a grant may
// limit the query parameters, the headers and the body size an agent sends.
type HTTPCall struct {
	// Query lists the names of the query parameters, sorted, without
	// duplicates.
	Query []string
	// Headers lists the canonical names of the headers the agent set,
	// sorted (Warden's own, such as the credential, are not listed).
	Headers []string
	// BodyBytes is the size of the request body.
	BodyBytes int64
}

// SafeHTTPMethod reports whether method is one that only reads (GET, HEAD,
// OPTIONS), so a call using it needs no intent record.
func SafeHTTPMethod(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}
