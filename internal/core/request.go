package core

import (
	"encoding/json"
	"time"
)

// Request is what the policy decides on: who wants to do what to which part
// of which resource. Connectors fill in the normalised target (Path) before
// the decision, so rules match what will really be touched.
type Request struct {
	Agent    string
	Resource string
	Action   string
	Tool     string
	// Path is the normalised target relative to the resource: for files the
	// slash-separated path inside the root after resolving symlinks ("." is
	// the root itself); for HTTP the URL path. Empty when not applicable.
	Path string
	// Paths lists further targets that must all be allowed (a move's source
	// and destination). Path is checked too.
	Paths []string
	// Detail is what the call sends besides its action and targets, in
	// its kind's own form (an HTTP request's query parameters, headers
	// and body size), for the grants' constraints; nil when the kind has
	// none.
	Detail any
	// Args are the decoded tool arguments, visible to when: conditions.
	Args map[string]any
	// Time is when the call arrived; when: conditions see it as now.
	Time time.Time
}

// Call is one tool invocation as it enters the pipeline.
type Call struct {
	Agent string
	Tool  string
	Args  json.RawMessage
}
