package policy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML syntax tree by hand, so every problem carries the
// position of the node it is about and decoding continues after an error.
type decoder struct {
	file  string
	probs Errors
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil || n.Line == 0 {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) add(n *yaml.Node, path, hint, format string, args ...any) {
	d.probs = append(d.probs, &Problem{Pos: d.pos(n), Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// field is one key of a mapping.
type field struct {
	key  string
	keyN *yaml.Node
	val  *yaml.Node // nil when the value is missing (null)
	path string
}

// unwrap rejects YAML features that make a security policy harder to read:
// tags, anchors, aliases and merge keys. A null becomes nil.
func (d *decoder) unwrap(n *yaml.Node, path string) (*yaml.Node, bool) {
	switch {
	case n == nil:
		return nil, true
	case n.Kind == yaml.AliasNode || n.Anchor != "":
		d.add(n, path, "repeat the value instead", "YAML anchors and aliases are not supported in policy files")
		return nil, false
	case n.Style&yaml.TaggedStyle != 0:
		d.add(n, path, "remove the tag", "YAML tags are not supported in policy files")
		return nil, false
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return nil, true
	}
	return n, true
}

// mapping returns the fields of a mapping in order. Unknown keys (not in
// allowed, when allowed is non-nil), duplicate keys and non-string keys are
// problems; they are left out of the result.
func (d *decoder) mapping(n *yaml.Node, path, what string, allowed []string) ([]field, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return nil, false
	}
	if n == nil {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "", "%s must be a mapping of keys to values, not %s", what, describe(n))
		return nil, false
	}
	seen := make(map[string]bool, len(n.Content)/2)
	out := make([]field, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.add(k, path, "repeat the keys instead", "YAML merge keys (<<) are not supported in policy files")
			continue
		}
		if k.Anchor != "" || k.Kind == yaml.AliasNode || k.Style&yaml.TaggedStyle != 0 {
			d.add(k, path, "write the key as plain text", "keys must be plain names, not %s", describe(k))
			continue
		}
		key, ok := scalarString(k)
		if !ok {
			d.add(k, path, "", "keys must be plain names, not %s", describe(k))
			continue
		}
		sub := joinPath(path, key)
		if seen[key] {
			d.add(k, sub, "remove one of them", "%q is set twice", key)
			continue
		}
		seen[key] = true
		if allowed != nil && !slices.Contains(allowed, key) {
			d.add(k, sub, suggest(key, allowed), "unknown key %q in %s", key, what)
			continue
		}
		out = append(out, field{key: key, keyN: k, val: v, path: sub})
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
func (d *decoder) sequence(n *yaml.Node, path, what string) ([]*yaml.Node, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return nil, false
	}
	if n == nil {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		hint := "write a list, such as [a, b]"
		if n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf("write a list, such as [%s]", n.Value)
		}
		d.add(n, path, hint, "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	return n.Content, true
}

// str decodes a string scalar. Numbers and booleans are refused, so a typo
// such as "approval: yes" cannot silently mean something else.
func (d *decoder) str(n *yaml.Node, path, what string) (string, bool) {
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
func (d *decoder) strList(n *yaml.Node, path, what string) ([]string, []*yaml.Node, bool) {
	elems, ok := d.sequence(n, path, what)
	if !ok {
		return nil, nil, false
	}
	out := make([]string, 0, len(elems))
	nodes := make([]*yaml.Node, 0, len(elems))
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

func (d *decoder) integer(n *yaml.Node, path, what string, minV, maxV int64) (int64, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return 0, false
	}
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.add(n, path, "", "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		d.add(n, path, "", "%s is too large", what)
		return 0, false
	}
	if v < minV || v > maxV {
		d.add(n, path, "", "%s must be between %d and %d, not %d", what, minV, maxV, v)
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, path, what string) (bool, bool) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return false, false
	}
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.add(n, path, "write true or false", "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	return b, true
}

// duration decodes a Go duration string such as "10s" or "10m".
func (d *decoder) duration(n *yaml.Node, path, what string, minV, maxV time.Duration) (time.Duration, bool) {
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
func (d *decoder) size(n *yaml.Node, path, what string, minV, maxV int64) (int64, bool) {
	un, ok := d.unwrap(n, path)
	if !ok {
		return 0, false
	}
	if un != nil && un.Kind == yaml.ScalarNode && un.ShortTag() == "!!int" {
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

// scalarString returns the text of a string scalar (plain, quoted or
// block). A plain date such as 2024-01-01 is text too.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		return n.Value, true
	}
	return "", false
}

// describe names a node's type for error messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!str", "!!timestamp":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			return fmt.Sprintf("the boolean %v", b)
		}
	}
	return "an unsupported value"
}
