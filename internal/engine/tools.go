package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/names"
	"github.com/warden-dev/warden/internal/policy"
)

// Tool is one operation of one resource, as offered to one agent.
type Tool struct {
	Name        string // "<resource>_<operation>"
	Resource    string
	Op          core.Operation
	Description string // what it does and the agent's scope
	// ReadOnly reports whether every call this agent may make with the
	// tool changes nothing.
	ReadOnly    bool
	InputSchema json.RawMessage
	schema      *jsonschema.Resolved
	args        []string // the argument names the schema declares, sorted
	conn        core.Connector
}

// argNames returns the argument names the tool's schema declares.
func (t *Tool) argNames() []string { return t.args }

// buildTools derives each agent's tools from its grants: an operation is
// offered only when some grant covers its action.
func (e *Engine) buildTools(conns map[string]core.Connector) (tools map[string]map[string]*Tool, order map[string][]*Tool, err error) {
	tools, order = map[string]map[string]*Tool{}, map[string][]*Tool{}
	var all []*Tool
	var nameErr error // the first bad name; the schemas of the tools before it are checked first
build:
	for _, agent := range e.policy.Agents() {
		tools[agent] = map[string]*Tool{}
		for _, spec := range e.policy.Resources() {
			c := conns[spec.Name]
			if c == nil {
				continue
			}
			actions := e.policy.Actions(agent, spec.Name)
			for _, op := range c.Operations() {
				if !e.offered(agent, spec.Name, actions, op) {
					continue
				}
				t := &Tool{
					Name:        spec.Name + "_" + op.Name,
					Resource:    spec.Name,
					Op:          op,
					ReadOnly:    op.ReadOnly || onlyReadOnly(op, actions),
					InputSchema: op.InputSchema,
					conn:        c,
				}
				if !names.Tool.Valid(t.Name) {
					nameErr = fmt.Errorf("tool name %q is not valid for MCP and OpenAI", t.Name)
					break build
				}
				if tools[agent][t.Name] != nil {
					nameErr = fmt.Errorf("two operations produce the tool name %q; rename a resource", t.Name)
					break build
				}
				t.Description = describeTool(e.policy, agent, spec, connector.Lookup(spec.Kind), op)
				tools[agent][t.Name] = t
				order[agent] = append(order[agent], t)
				all = append(all, t)
			}
		}
	}
	schemas := resolveSchemas(all)
	for _, t := range all {
		ts := schemas[string(t.InputSchema)]
		if ts.err != nil {
			return nil, nil, fmt.Errorf("tool %s: schema: %w", t.Name, ts.err)
		}
		t.schema, t.args = ts.resolved, ts.args
	}
	if nameErr != nil {
		return nil, nil, nameErr
	}
	return tools, order, nil
}

// toolSchema is an input schema decoded and resolved, with its argument
// names sorted.
type toolSchema struct {
	resolved *jsonschema.Resolved
	args     []string
	err      error
}

// resolveSchemas decodes and resolves each distinct input schema of tools
// once, shared by the tools (of every agent) that declare it: jsonschema
// decodes each level of a schema three times over, about 0.1 ms a schema
// at every start. A Resolved is only read when validating, so sharing it
// is safe.
func resolveSchemas(tools []*Tool) map[string]*toolSchema {
	out := map[string]*toolSchema{}
	for _, t := range tools {
		if _, ok := out[string(t.InputSchema)]; !ok {
			ts := resolveSchema(t.InputSchema)
			out[string(t.InputSchema)] = &ts
		}
	}
	return out
}

func resolveSchema(raw json.RawMessage) toolSchema {
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return toolSchema{err: err}
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		return toolSchema{err: err}
	}
	var args []string
	for name := range s.Properties {
		args = append(args, name)
	}
	slices.Sort(args)
	return toolSchema{resolved: rs, args: args}
}

// offered reports whether some grant of the agent could allow a call of op:
// one covers its action (or one of its candidate actions) and, for an
// operation with a fixed target, that target.
func (e *Engine) offered(agent, resource string, actions []string, op core.Operation) bool {
	for _, a := range opActions(op, actions) {
		if op.Target == "" || e.policy.Reachable(agent, resource, a, op.Target) {
			return true
		}
	}
	return false
}

// Tools returns the tools an agent may call, in policy order.
func (e *Engine) Tools(agent string) []*Tool { return slices.Clone(e.set().order[agent]) }

// Tool returns one of an agent's tools, or nil.
func (e *Engine) Tool(agent, name string) *Tool { return e.set().tools[agent][name] }

// describeTool states what the tool does and what the agent may do with it,
// so the model knows its scope before it tries.
func describeTool(p *policy.Policy, agent string, spec *core.ResourceSpec, kind *core.ResourceKind, op core.Operation) string {
	var b strings.Builder
	b.WriteString(op.Summary)
	fmt.Fprintf(&b, " Resource %q", spec.Name)
	if kind.Describe != nil {
		fmt.Fprintf(&b, " (%s)", kind.Describe(spec))
	}
	if spec.Description != "" {
		fmt.Fprintf(&b, ": %s", spec.Description)
	}
	b.WriteString(".")
	var open, approval []string
	everything := false
	for _, g := range p.Grants(agent, spec.Name) {
		acts := opActions(op, g.Actions)
		if len(acts) == 0 {
			continue
		}
		paths := slices.Clone(g.Paths)
		scope := ""
		if g.Constraint != nil {
			// The grant's own limits: tables, query parameters.
			scope = g.Constraint.Scope()
		}
		switch {
		case op.Action == "" && len(paths) == 0:
			// The call picks its action (an HTTP method): say which ones.
			paths = []string{strings.Join(acts, "/") + " on everything"}
		case op.Action == "":
			for i := range paths {
				paths[i] = strings.Join(acts, "/") + " " + paths[i]
			}
		case len(paths) == 0 && scope != "":
			paths, scope = []string{scope}, ""
		case len(paths) == 0:
			paths = []string{"everything"}
		}
		if scope != "" {
			for i := range paths {
				paths[i] += " (" + scope + ")"
			}
		}
		if g.Approval {
			approval = append(approval, paths...)
			continue
		}
		if len(g.Paths) == 0 && g.When == "" && g.Constraint == nil && op.Action != "" {
			everything = true
		}
		if g.When != "" {
			for i := range paths {
				paths[i] += " (when " + g.When + ")"
			}
		}
		open = append(open, paths...)
	}
	var denied []string
	for _, d := range p.Denies(agent, spec.Name) {
		if len(opActions(op, d.Actions)) > 0 {
			if len(d.Paths) == 0 {
				denied = append(denied, "everything"+whenSuffix(d.When))
			}
			for _, path := range d.Paths {
				denied = append(denied, path+whenSuffix(d.When))
			}
		}
	}
	b.WriteString(" Scope:")
	switch {
	case everything:
		b.WriteString(" allowed on everything")
	case len(open) > 0:
		b.WriteString(" allowed on " + strings.Join(open, ", "))
	}
	if len(approval) > 0 {
		if len(open) > 0 || everything {
			b.WriteString(";")
		}
		b.WriteString(" each call needs a human's approval on " + strings.Join(approval, ", "))
	}
	if len(denied) > 0 {
		b.WriteString("; never on " + strings.Join(denied, ", "))
	}
	if kind.ScopeNote != "" {
		b.WriteString("; " + kind.ScopeNote)
	}
	b.WriteString(".")
	return b.String()
}

// onlyReadOnly reports whether an operation that picks its action per
// call can, with the agent's actions, only take read-only ones.
func onlyReadOnly(op core.Operation, actions []string) bool {
	granted := opActions(op, actions)
	if op.Action != "" || len(granted) == 0 {
		return false
	}
	for _, a := range granted {
		if !slices.Contains(op.ReadOnlyActions, a) {
			return false
		}
	}
	return true
}

// opActions returns the actions of a rule that op can take.
func opActions(op core.Operation, actions []string) []string {
	if op.Action != "" {
		if slices.Contains(actions, op.Action) {
			return []string{op.Action}
		}
		return nil
	}
	var out []string
	for _, a := range op.Actions {
		if slices.Contains(actions, a) {
			out = append(out, a)
		}
	}
	return out
}

func whenSuffix(when string) string {
	if when == "" {
		return ""
	}
	return " (when " + when + ")"
}
