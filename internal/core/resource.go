package core

// ResourceSpec is a resource as compiled from the policy file. It is
// immutable once the policy is compiled: nothing changes it through the
// pointer the policy hands out.
type ResourceSpec struct {
	Name        string
	Kind        string // the name of its [ResourceKind]
	Description string
	Position    string // "file:line:col" of the resource in the policy
	// Config is the kind's own configuration, as its
	// [ResourceSyntax.Decode] returned it. The kind's connector
	// type-asserts it.
	Config any
}
