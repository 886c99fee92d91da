// Package names checks the names Warden gives and accepts (tools, agents,
// resources, arguments, operations) by character class and length.
//
// They were counted-repetition regexps (`^[a-zA-Z0-9_-]{1,64}$`), which
// cost hundreds of allocations each to compile at every start; a byte set
// and a loop say the same, and a test holds each to its regexp.
package names

// Set is a set of ASCII bytes.
type Set [256]bool

// Chars returns the set of the characters listed; a-z stands for a range.
func Chars(list string) *Set {
	var s Set
	for i := 0; i < len(list); i++ {
		if i+2 < len(list) && list[i+1] == '-' {
			for c := list[i]; c <= list[i+2]; c++ {
				s[c] = true
			}
			i += 2
			continue
		}
		s[list[i]] = true
	}
	return &s
}

// Spec is a kind of name: its first byte from First, the others from
// Rest, 1 to Max bytes long.
type Spec struct {
	First, Rest *Set
	Max         int
}

// Valid reports whether s is a name of this kind.
func (sp Spec) Valid(s string) bool {
	if len(s) < 1 || len(s) > sp.Max || !sp.First[s[0]] {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !sp.Rest[s[i]] {
			return false
		}
	}
	return true
}

// The kinds of names Warden checks.
var (
	// Tool is what both MCP and OpenAI accept as a tool name.
	Tool = Spec{First: Chars("a-zA-Z0-9_-"), Rest: Chars("a-zA-Z0-9_-"), Max: 64}
	// Agent is a policy's agent name.
	Agent = Spec{First: Chars("a-zA-Z0-9"), Rest: Chars("a-zA-Z0-9_.-"), Max: 64}
	// Resource is a policy's resource name: short enough, and plain
	// enough, that "<resource>_<operation>" is a Tool.
	Resource = Spec{First: Chars("a-zA-Z"), Rest: Chars("a-zA-Z0-9_-"), Max: 40}
	// Argument is what the model providers accept as a property name.
	Argument = Spec{First: Chars("a-zA-Z0-9_.-"), Rest: Chars("a-zA-Z0-9_.-"), Max: 64}
	// Operation is a kind's part of a tool name.
	Operation = Spec{First: Chars("a-z"), Rest: Chars("a-z0-9_"), Max: 32}
)
