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

// ConfigOf returns spec's configuration as the kind's own type T, or a
// zero T when spec holds none of that type (a spec of another kind, which
// that kind's New refuses). It is never nil.
func ConfigOf[T any](spec *ResourceSpec) *T {
	if c, ok := spec.Config.(*T); ok && c != nil {
		return c
	}
	return new(T)
}
