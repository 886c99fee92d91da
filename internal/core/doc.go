// Package core is Warden's vocabulary: the words every other package speaks.
//
// It defines what a call is ([Request]), what the policy answers
// ([Decision], [Effect], [Reason]), how failures are classified ([Error],
// [Kind]), what a resource looks like once the policy file is compiled
// ([ResourceSpec]), and the small interfaces that connectors implement
// ([Connector]). Secrets travel as [Secret] values, which never print.
//
// Package core imports nothing from Warden itself; a test enforces that, so
// the vocabulary stays the bottom of the dependency graph.
package core
