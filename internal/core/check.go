package core

import "context"

// Checker is implemented by connectors that can tell, before anything is
// served, whether their resource can be used: a directory or file exists
// and can be read, a document loads, a server lets the login in. warden
// policy check calls it, for every resource, on a connector built with
// the kind's New and never opened.
//
// Check has no side effects: it creates and changes nothing, and leaves
// nothing open. With offline set it checks only what is on this machine
// (files), and skips what needs the network or a server, such as
// connecting to a database. Its error is in the operator's words (what
// failed and why, naming the file or address), without the resource's
// name or position, which the caller adds.
type Checker interface {
	Check(ctx context.Context, offline bool) error
}
