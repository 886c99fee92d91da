package policy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// decoder walks the YAML syntax tree by hand, so every problem carries the
// position of the node it is about and decoding continues after an error.
type decoder struct {
	file  string
	probs Errors
}

func (d *decoder) pos(n ast.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (d *decoder) add(n ast.Node, path, hint, format string, args ...any) {
	d.probs = append(d.probs, &Problem{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// field is one key of a mapping.
type field struct {
	key  string
	keyN ast.Node
	val  ast.Node // nil when the value is missing (null)
	path string
}

// unwrap rejects YAML features that make a security policy harder to read:
// tags, anchors, aliases and merge keys.
func (d *decoder) unwrap(n ast.Node, path string) (ast.Node, bool) {
	switch v := n.(type) {
	case nil:
		return nil, true
	case *ast.NullNode:
		return nil, true
	case *ast.TagNode:
		d.add(n, path, "remove the tag", "YAML tags are not supported in policy files")
		return nil, false
	case *ast.AnchorNode, *ast.AliasNode:
		d.add(n, path, "repeat the value instead", "YAML anchors and aliases are not supported in policy files")
		return nil, false
	case *ast.MappingValueNode:
		// A single "key: value" pair parses as a bare MappingValueNode.
		return &ast.MappingNode{BaseNode: v.BaseNode, Start: v.GetToken(), Values: []*ast.MappingValueNode{v}}, true
	}
	return n, true
}

// mapping returns the fields of a mapping in order. Unknown keys (not in
// allowed, when allowed is non-nil), duplicate keys and non-string keys are
// problems; they are left out of the result.
func (d *decoder) mapping(n ast.Node, path, what string, allowed []string) ([]field, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return nil, false
	}
	if n == nil {
		return nil, true
	}
	m, isMap := n.(*ast.MappingNode)
	if !isMap {
		d.add(n, path, "", "%s must be a mapping of keys to values, not %s", what, describe(n))
		return nil, false
	}
	seen := map[string]bool{}
	var out []field
	for _, mv := range m.Values {
		if _, merge := mv.Key.(*ast.MergeKeyNode); merge {
			d.add(mv.Key, path, "repeat the keys instead", "YAML merge keys (<<) are not supported in policy files")
			continue
		}
		key, ok := scalarString(mv.Key)
		if !ok {
			d.add(mv.Key, path, "", "keys must be plain names, not %s", describe(mv.Key))
			continue
		}
		sub := joinPath(path, key)
		if seen[key] {
			d.add(mv.Key, sub, "remove one of them", "%q is set twice", key)
			continue
		}
		seen[key] = true
		if allowed != nil && !slices.Contains(allowed, key) {
			d.add(mv.Key, sub, suggest(key, allowed), "unknown key %q in %s", key, what)
			continue
		}
		out = append(out, field{key: key, keyN: mv.Key, val: mv.Value, path: sub})
	}
	return out, true
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sequence returns the elements of a sequence.
func (d *decoder) sequence(n ast.Node, path, what string) ([]ast.Node, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return nil, false
	}
	if n == nil {
		return nil, true
	}
	s, isSeq := n.(*ast.SequenceNode)
	if !isSeq {
		d.add(n, path, fmt.Sprintf("write a list, such as [%s]", n.String()), "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	return s.Values, true
}

// str decodes a string scalar. Numbers and booleans are refused, so a typo
// such as "approval: yes" cannot silently mean something else.
func (d *decoder) str(n ast.Node, path, what string) (string, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return "", false
	}
	if n == nil {
		d.add(n, path, "", "%s is empty", what)
		return "", false
	}
	s, isStr := scalarString(n)
	if !isStr {
		d.add(n, path, `put it in quotes if it is meant as text`, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return s, true
}

// strList decodes a list of strings.
func (d *decoder) strList(n ast.Node, path, what string) ([]string, []ast.Node, bool) {
	elems, ok := d.sequence(n, path, what)
	if !ok {
		return nil, nil, false
	}
	out := make([]string, 0, len(elems))
	nodes := make([]ast.Node, 0, len(elems))
	good := true
	for i, e := range elems {
		s, ok := d.str(e, fmt.Sprintf("%s[%d]", path, i), what+" entries")
		if !ok {
			good = false
			continue
		}
		out = append(out, s)
		nodes = append(nodes, e)
	}
	return out, nodes, good
}

func (d *decoder) integer(n ast.Node, path, what string, minV, maxV int64) (int64, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return 0, false
	}
	in, isInt := n.(*ast.IntegerNode)
	if !isInt {
		d.add(n, path, "", "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	var v int64
	switch x := in.Value.(type) {
	case int64:
		v = x
	case uint64:
		if x > math.MaxInt64 {
			d.add(n, path, "", "%s is too large", what)
			return 0, false
		}
		v = int64(x)
	case int:
		v = int64(x)
	default:
		d.add(n, path, "", "%s must be a whole number", what)
		return 0, false
	}
	if v < minV || v > maxV {
		d.add(n, path, "", "%s must be between %d and %d, not %d", what, minV, maxV, v)
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n ast.Node, path, what string) (bool, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return false, false
	}
	b, isBool := n.(*ast.BoolNode)
	if !isBool {
		d.add(n, path, "write true or false", "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b.Value, true
}

// duration decodes a Go duration string such as "10s" or "10m".
func (d *decoder) duration(n ast.Node, path, what string, minV, maxV time.Duration) (time.Duration, bool) {
	un, ok := d.unwrap(n, path)
	if !ok {
		return 0, false
	}
	s, isStr := scalarString(un)
	if !isStr {
		d.add(n, path, `write a duration such as "30s", "10m" or "1h"`, "%s must be a duration, not %s", what, describe(un))
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.add(n, path, `write a duration such as "30s", "10m" or "1h"`, "%s: %q is not a duration", what, s)
		return 0, false
	}
	if v < minV || v > maxV {
		d.add(n, path, "", "%s must be between %s and %s, not %s", what, minV, maxV, v)
		return 0, false
	}
	return v, true
}

// size decodes a byte count: a whole number, or a string such as "512KiB",
// "10MiB" or "1GB".
func (d *decoder) size(n ast.Node, path, what string, minV, maxV int64) (int64, bool) {
	un, ok := d.unwrap(n, path)
	if !ok {
		return 0, false
	}
	if _, isInt := un.(*ast.IntegerNode); isInt {
		return d.integer(n, path, what, minV, maxV)
	}
	s, ok := d.str(n, path, what)
	if !ok {
		return 0, false
	}
	v, err := parseSize(s)
	if err != nil {
		d.add(n, path, `write a size such as 65536, "64KiB" or "10MiB"`, "%s: %v", what, err)
		return 0, false
	}
	if v < minV || v > maxV {
		d.add(n, path, "", "%s must be between %d and %d bytes, not %d", what, minV, maxV, v)
		return 0, false
	}
	return v, true
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
		{"B", 1},
	}
	t := strings.TrimSpace(s)
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n < 0 || n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("%q is not a size", s)
			}
			return n * u.mult, nil
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n, nil
}

// scalarString returns the text of a string scalar (plain, quoted or block).
func scalarString(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	}
	return "", false
}

// describe names a node's type for error messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return fmt.Sprintf("the boolean %v", v.Value)
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	}
	return "an unsupported value"
}
