package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// OpRequest is the generic operation: "<resource>_request".
const OpRequest = "request"

// methods are the HTTP methods a grant may name, in the policy's order:
// the kind's actions.
var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// readMethods are the methods that change nothing (safeMethod).
var readMethods = []string{"GET", "HEAD", "OPTIONS"}

// Bounds of one request's parts, whatever the grants say.
const (
	maxPathBytes   = 2048
	maxHeaderBytes = 8 << 10
	maxHeaders     = 32
	maxQueryParams = 64
)

func requestOperation(base string, lim limits) core.Operation {
	quoted := make([]string, len(methods))
	for i, m := range methods {
		quoted[i] = strconv.Quote(m)
	}
	scalar := `{"type":["string","number","boolean"]}`
	schema := `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{` +
		`"method":{"type":"string","enum":[` + strings.Join(quoted, ",") + `],"description":"The HTTP method."},` +
		`"path":{"type":"string","maxLength":` + strconv.Itoa(maxPathBytes) + `,"description":` + strconv.Quote("The path relative to the base URL, such as \"forecast\" or \"users/42\" (or the full path starting with "+base+"). Percent-escapes are decoded once; no query string here.") + `},` +
		`"query":{"type":"object","maxProperties":` + strconv.Itoa(maxQueryParams) + `,"additionalProperties":{"anyOf":[` + scalar + `,{"type":"array","maxItems":32,"items":` + scalar + `}]},"description":"Query parameters; an array repeats the parameter. Values are encoded by Warden."},` +
		`"headers":{"type":"object","maxProperties":` + strconv.Itoa(maxHeaders) + `,"additionalProperties":{"type":"string"},"description":"Request headers, such as Accept. Authorization, Host, proxy and hop-by-hop headers are refused: Warden adds the credential itself."},` +
		`"body":{"type":["string","object","array","number","boolean","null"],"description":"The request body: a string is sent as text (text/plain unless a Content-Type header says otherwise), any other JSON value as JSON."}` +
		`},"required":["method","path"],"additionalProperties":false}`
	if !json.Valid([]byte(schema)) {
		panic("httpapi: invalid input schema: " + schema)
	}
	return core.Operation{
		Name: OpRequest, Actions: methods, ReadOnlyActions: slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return !safeMethod(m) }),
		Summary: fmt.Sprintf("Send one HTTP request and get the status, selected headers and body (JSON as JSON, text as text, binary as base64; at most %d bytes, truncated says when more was left out). Credentials are added by Warden; never send them.",
			lim.responseBytes),
		InputSchema: json.RawMessage(schema),
		OpenWorld:   true,
		KeyArgs:     []string{"method", "path", "query"},
		TargetArg:   "path",
	}
}
