package policy

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/warden-dev/warden/internal/core"
)

// node is the decoder as a resource kind sees it: one value of the policy
// file with its key and path. It implements [core.PolicyNode].
type node struct {
	c    *compiler
	keyN *yaml.Node // the key the value belongs to; nil for list elements
	val  *yaml.Node // nil when the value is missing (null)
	path string
}

var _ core.PolicyNode = (*node)(nil)

func (c *compiler) node(f field) *node {
	return &node{c: c, keyN: f.keyN, val: f.val, path: f.path}
}

// at is the node problems about the value point at: the value, or its
// key when the value is missing.
func (n *node) at() *yaml.Node {
	if n.val == nil && n.keyN != nil {
		return n.keyN
	}
	return n.val
}

func (n *node) Path() string { return n.path }

func (n *node) Field(key string) core.PolicyNode {
	v, ok := n.c.unwrap(n.val, n.path)
	if !ok || v == nil || v.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if k, ok := scalarString(v.Content[i]); ok && k == key {
			return &node{c: n.c, keyN: v.Content[i], val: v.Content[i+1], path: joinPath(n.path, key)}
		}
	}
	return nil
}

func (n *node) Fields(what string, allowed []string) []core.PolicyField {
	fields, _ := n.c.mapping(n.val, n.path, what, allowed)
	out := make([]core.PolicyField, len(fields))
	for i, f := range fields {
		out[i] = core.PolicyField{Key: f.key, Value: n.c.node(f)}
	}
	return out
}

func (n *node) Text() (string, bool) {
	v, ok := n.c.unwrap(n.val, n.path)
	if !ok {
		return "", false
	}
	return scalarString(v)
}

func (n *node) String(what string) (string, bool) { return n.c.str(n.val, n.path, what) }

func (n *node) OneOf(what string, allowed []string) (string, bool) {
	v, ok := n.String(what)
	if !ok {
		return "", false
	}
	if !contains(allowed, v) {
		n.Problem(suggest(v, allowed), "unknown %s %q", what, v)
		return "", false
	}
	return v, true
}

func (n *node) Strings(what string) ([]string, []core.PolicyNode, bool) {
	list, nodes, ok := n.c.strList(n.val, n.path, what)
	out := make([]core.PolicyNode, len(nodes))
	for i, e := range nodes {
		out[i] = &node{c: n.c, val: e, path: fmt.Sprintf("%s[%d]", n.path, i)}
	}
	return list, out, ok
}

func (n *node) Int(what string, minV, maxV int64) (int64, bool) {
	return n.c.integer(n.val, n.path, what, minV, maxV)
}

func (n *node) Bool(what string) (bool, bool) { return n.c.boolean(n.val, n.path, what) }

func (n *node) Duration(what string, minV, maxV time.Duration) (time.Duration, bool) {
	return n.c.duration(n.val, n.path, what, minV, maxV)
}

func (n *node) Size(what string, minV, maxV int64) (int64, bool) {
	return n.c.size(n.val, n.path, what, minV, maxV)
}

func (n *node) Secret(what string) (core.Secret, bool) { return n.c.secret(n.val, n.path, what) }

func (n *node) AddSecret(s core.Secret) { n.c.p.secrets = append(n.c.p.secrets, s) }

func (n *node) Abs(path string) string { return n.c.abs(path) }

func (n *node) Problem(hint, format string, args ...any) {
	n.c.add(n.at(), n.path, hint, format, args...)
}

func (n *node) KeyProblem(hint, format string, args ...any) {
	at := n.keyN
	if at == nil {
		at = n.val
	}
	n.c.add(at, n.path, hint, format, args...)
}

func (n *node) Missing(key, hint, format string, args ...any) {
	at := n.keyN
	if at == nil {
		at = n.val
	}
	n.c.add(at, joinPath(n.path, key), hint, format, args...)
}

func (n *node) Warn(hint, format string, args ...any) {
	n.c.p.warnings = append(n.c.p.warnings, &Problem{Pos: n.c.pos(n.at()), Path: n.path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}
