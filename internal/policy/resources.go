package policy

import (
	"strings"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/names"
)

func (c *compiler) resources(f field) {
	fields, _ := c.mapping(f.val, f.path, "resources", nil)
	for _, rf := range fields {
		c.declared[rf.key] = true
		if !names.Resource.Valid(rf.key) {
			c.add(rf.keyN, rf.path, "use letters, digits, _ and -, starting with a letter, at most 40 characters", "invalid resource name %q", rf.key)
			continue
		}
		c.resource(rf)
	}
}

func (c *compiler) resource(rf field) {
	fields, ok := c.mapping(rf.val, rf.path, "a resource", nil)
	if !ok {
		return
	}
	var kind *core.ResourceKind
	for _, f := range fields {
		if f.key == "kind" {
			name, _ := c.str(f.val, f.path, "kind")
			if name == "" {
				continue
			}
			if kind = connector.Lookup(name); kind == nil {
				c.add(f.val, f.path, suggest(name, connector.Names()), "unknown resource kind %q", name)
				return
			}
		}
	}
	if kind == nil {
		if rf.val != nil && len(fields) > 0 {
			c.add(rf.keyN, rf.path+".kind", "add kind: "+strings.Join(connector.Names(), ", kind: "), "resource %q has no kind", rf.key)
		} else {
			c.add(rf.keyN, rf.path, "add kind: and its settings", "resource %q is empty", rf.key)
		}
		return
	}
	spec := &core.ResourceSpec{Name: rf.key, Kind: kind.Name, Position: c.pos(rf.keyN).String()}
	allowed := append([]string{"kind", "description"}, kind.Resource.Keys...)
	for _, f := range fields {
		if !contains(allowed, f.key) {
			c.add(f.keyN, f.path, suggest(f.key, allowed), "unknown key %q for a resource of kind %s", f.key, kind.Name)
		}
		if f.key == "description" {
			spec.Description, _ = c.str(f.val, f.path, "description")
		}
	}
	spec.Config = kind.Resource.Decode(c.node(rf))
	c.p.resources[rf.key] = &resource{spec: spec, kind: kind}
	c.p.resOrder = append(c.p.resOrder, rf.key)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
