package policy

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/glob"
	"github.com/warden-dev/warden/internal/names"
)

func (c *compiler) agents(f field) {
	fields, _ := c.mapping(f.val, f.path, "agents", nil)
	tokens := map[string]string{} // token value → agent, to refuse duplicates
	for _, af := range fields {
		if !names.Agent.Valid(af.key) {
			c.add(af.keyN, af.path, "use letters, digits, _, . and -", "invalid agent name %q", af.key)
			continue
		}
		a := c.agent(af)
		if a == nil {
			continue
		}
		if v := a.token.Reveal(); v != "" {
			if other, dup := tokens[v]; dup {
				c.add(af.keyN, af.path+".token", "give each agent its own token", "agents %q and %q share a token, so a caller could not be told apart", other, af.key)
			}
			tokens[v] = af.key
		}
		c.p.agents[af.key] = a
		c.p.agOrder = append(c.p.agOrder, af.key)
	}
}

func (c *compiler) agent(af field) *agent {
	a := &agent{name: af.key, index: map[string]map[string]*ruleSet{}}
	fields, ok := c.mapping(af.val, af.path, "an agent", []string{"description", "token", "grants", "deny", "limits", "sandbox"})
	if !ok {
		return nil
	}
	for _, f := range fields {
		switch f.key {
		case "description":
			a.description, _ = c.str(f.val, f.path, "description")
		case "token":
			a.token, _ = c.secret(f.val, f.path, "token")
		case "grants":
			elems, _ := c.sequence(f.val, f.path, "grants")
			for i, e := range elems {
				if r := c.rule(a, e, fmt.Sprintf("%s[%d]", f.path, i), false); r != nil {
					a.grants = append(a.grants, r)
				}
			}
		case "deny":
			elems, _ := c.sequence(f.val, f.path, "deny")
			for i, e := range elems {
				if r := c.rule(a, e, fmt.Sprintf("%s[%d]", f.path, i), true); r != nil {
					a.denies = append(a.denies, r)
				}
			}
		case "sandbox":
			// warden run's sandbox for this agent: the layers it may run
			// without where the host lacks them.
			sf, _ := c.mapping(f.val, f.path, "sandbox", []string{"allow_degraded"})
			for _, x := range sf {
				list, nodes, _ := c.strList(x.val, x.path, "allow_degraded")
				for i, l := range list {
					if l != "landlock" && l != "seccomp" {
						c.add(nodes[i], fmt.Sprintf("%s[%d]", x.path, i), "accept only landlock or seccomp; namespaces are never optional", "%q is not a sandbox layer that can be missing", l)
						continue
					}
					a.allowDegraded = append(a.allowDegraded, l)
				}
			}
		case "limits":
			lf, _ := c.mapping(f.val, f.path, "limits", []string{"calls_per_minute"})
			for _, x := range lf {
				v, _ := c.integer(x.val, x.path, "calls_per_minute", 1, 1_000_000)
				a.limits.CallsPerMinute = int(v)
			}
		}
	}
	if len(a.grants) == 0 {
		c.p.warnings = append(c.p.warnings, &Problem{Pos: c.pos(af.keyN), Path: af.path, Msg: fmt.Sprintf("agent %q has no grants, so every call it makes is denied", af.key)})
	}
	// Index every rule under each action it covers, keeping file order.
	add := func(r *rule) {
		byAction := a.index[r.resource]
		if byAction == nil {
			byAction = map[string]*ruleSet{}
			a.index[r.resource] = byAction
		}
		for _, action := range r.actions {
			rs := byAction[action]
			if rs == nil {
				rs = &ruleSet{kind: r.kind}
				byAction[action] = rs
			}
			if r.deny {
				rs.denies.add(r)
			} else {
				rs.grants.add(r.forAction(action))
			}
		}
	}
	for i, r := range a.denies {
		r.order = i
		add(r)
	}
	for i, r := range a.grants {
		r.order = i
		add(r)
	}
	return a
}

// ruleKeys are the keys every grant and deny rule may have, whatever the
// kind of its resource: those before the kind's own, and those after.
var (
	ruleKeysFirst = []string{"resource", "actions"}
	grantKeysLast = []string{"approval", "when", "description"}
	denyKeysLast  = []string{"when", "description"}
)

// rule compiles one grant or deny entry.
func (c *compiler) rule(a *agent, n *yaml.Node, path string, deny bool) *rule {
	what := "a grant"
	if deny {
		what = "a deny rule"
	}
	fields, ok := c.mapping(n, path, what, nil)
	if !ok {
		return nil
	}
	if n == nil || len(fields) == 0 {
		c.add(n, path, "name at least resource:", "%s is empty", what)
		return nil
	}
	// A rule's position is its first key, where the entry visibly starts.
	r := &rule{id: path, pos: c.pos(fields[0].keyN), deny: deny}
	r.position = r.pos.String()
	probsBefore := len(c.probs)
	get := func(key string) (field, bool) {
		for _, f := range fields {
			if f.key == key {
				return f, true
			}
		}
		return field{}, false
	}
	rf, ok := get("resource")
	if !ok {
		c.add(n, path+".resource", "add resource: NAME", "%s must name a resource", what)
		return nil
	}
	name, ok := c.str(rf.val, rf.path, "resource")
	if !ok {
		return nil
	}
	res := c.p.resources[name]
	if res == nil {
		if !c.declared[name] {
			c.add(rf.val, rf.path, suggest(name, c.p.resOrder), "unknown resource %q", name)
		}
		return nil
	}
	kind := res.kind
	r.resource, r.kind = name, kind
	keys := ruleKeys(kind, deny)
	for _, f := range fields {
		if !contains(keys, f.key) {
			hint := suggest(f.key, keys)
			if contains(ruleKeys(kind, false), f.key) || anyKind(f.key) {
				hint = fmt.Sprintf("%s is not valid in %s on a %s resource; valid keys: %s", f.key, what, kind.Name, strings.Join(keys, ", "))
			}
			c.add(f.keyN, f.path, hint, "unknown key %q in %s", f.key, what)
		}
	}

	// Actions: required for grants (unless the kind adds some, as http's
	// read_only does), optional for deny rules, where leaving them out
	// means every action.
	draft := &core.RuleDraft{Deny: deny}
	var actionNode *yaml.Node
	if f, ok := get("actions"); ok {
		actionNode = f.keyN
		list, nodes, ok := c.strList(f.val, f.path, "actions")
		if ok && len(list) == 0 {
			c.add(f.val, f.path, "list at least one action", "actions is empty")
		}
		for i, act := range list {
			if !contains(kind.Actions, act) {
				c.add(nodes[i], fmt.Sprintf("%s[%d]", f.path, i), suggest(act, kind.Actions), "unknown action %q for a %s resource", act, kind.Name)
				continue
			}
			draft.Actions = appendUnique(draft.Actions, act)
		}
	}
	if kind.Rules.Decode != nil {
		kind.Rules.Decode(&node{c: c, val: n, path: path}, draft)
	}
	r.actions, r.constraint, r.options = draft.Actions, draft.Constraint, draft.Options
	// A rule with problems is still checked to the end, so every problem
	// is reported, but it is not kept.
	bad := false
	if len(r.actions) == 0 {
		switch {
		case deny && actionNode == nil:
			r.actions = slices.Clone(kind.Actions)
		case actionNode == nil:
			c.add(n, path+".actions", fmt.Sprintf("add actions: [%s]", kind.Actions[0]), "a grant must list its actions")
			bad = true
		default:
			bad = true
		}
	}
	for _, act := range slices.Clone(r.actions) {
		for _, implied := range kind.Implied[act] {
			r.actions = appendUnique(r.actions, implied)
		}
	}

	if f, ok := get("paths"); ok && kind.Rules.Paths != nil {
		syntax := kind.Rules.Paths
		list, nodes, ok := c.strList(f.val, f.path, "paths")
		if ok && len(list) == 0 {
			c.add(f.val, f.path, "list at least one pattern, or remove paths: to cover the whole resource", "paths is empty")
		}
		opts := glob.Options{Fold: deny, Absolute: syntax.Absolute, Params: syntax.Params}
		for i, s := range list {
			p, err := glob.Compile(s, opts)
			if err != nil {
				c.add(nodes[i], fmt.Sprintf("%s[%d]", f.path, i), syntax.Hint, "%v", err)
				continue
			}
			r.paths = append(r.paths, p)
			r.named = append(r.named, kind.Rules.NamesSensitive != nil && kind.Rules.NamesSensitive(s))
		}
	}
	if f, ok := get("approval"); ok {
		if v, ok := c.str(f.val, f.path, "approval"); ok {
			r.approvalSet = true
			switch v {
			case "required":
				r.approval = true
			case "none":
			default:
				c.add(f.val, f.path, `write approval: required, or approval: none`, "unknown approval mode %q", v)
			}
		}
	}
	if f, ok := get("when"); ok {
		if src, ok := c.str(f.val, f.path, "when"); ok {
			cond, err := compileCondition(src)
			if err != nil {
				c.add(f.val, f.path, "see the README's policy reference for the variables a condition can use", "invalid condition: %v", err)
			} else {
				r.cond = cond
			}
		}
	}
	if f, ok := get("description"); ok {
		r.description, _ = c.str(f.val, f.path, "description")
	}
	if bad || len(c.probs) > probsBefore {
		return nil
	}
	return r
}

// ruleKeys are the keys a grant (or deny rule) on a resource of kind may
// have, in the order the README documents them.
func ruleKeys(kind *core.ResourceKind, deny bool) []string {
	own, last := kind.Rules.GrantKeys, grantKeysLast
	if deny {
		own, last = kind.Rules.DenyKeys, denyKeysLast
	}
	keys := slices.Clone(ruleKeysFirst)
	if kind.Rules.Paths != nil {
		keys = append(keys, "paths")
	}
	return append(append(keys, own...), last...)
}

// anyKind reports whether key is valid in a grant of some kind.
func anyKind(key string) bool {
	for _, k := range connector.Kinds() {
		if contains(ruleKeys(k, false), key) {
			return true
		}
	}
	return false
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}
