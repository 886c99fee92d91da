package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

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
	schema      *toolSchema // shared by the tools that declare the same text
	conn        core.Connector
}

// resolvedSchema returns the tool's input schema, resolved.
func (t *Tool) resolvedSchema() (*jsonschema.Resolved, error) {
	ts := t.schema.get()
	if ts.err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", t.Name, ts.err)
	}
	return ts.resolved, nil
}

// argNames returns the argument names the tool's schema declares.
func (t *Tool) argNames() []string { return t.schema.get().args }

// buildTools derives each agent's tools from its grants: an operation is
// offered only when some grant covers its action.
func (e *Engine) buildTools(conns map[string]core.Connector) (tools map[string]map[string]*Tool, order map[string][]*Tool, err error) {
	tools, order = map[string]map[string]*Tool{}, map[string][]*Tool{}
	var all []*Tool
	var nameErr error // the first bad name
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
	shareSchemas(all)
	if nameErr != nil {
		return nil, nil, nameErr
	}
	return tools, order, nil
}

// toolSchema is an input schema, decoded and resolved on first use, with
// its argument names sorted. jsonschema takes about 0.3 ms a schema, over
// 1 ms at every start for the zero-configuration policy's four tools, and
// listing the tools needs none of it. A Resolved is only read when
// validating, so sharing it is safe.
type toolSchema struct {
	raw      json.RawMessage
	once     sync.Once
	resolved *jsonschema.Resolved
	args     []string
	err      error
}

func (ts *toolSchema) get() *toolSchema {
	ts.once.Do(ts.resolve)
	return ts
}

func (ts *toolSchema) resolve() {
	var s jsonschema.Schema
	if err := json.Unmarshal(ts.raw, &s); err != nil {
		ts.err = err
		return
	}
	rs, err := s.Resolve(nil)
	if err != nil {
		ts.err = err
		return
	}
	var args []string
	for name := range s.Properties {
		args = append(args, name)
	}
	slices.Sort(args)
	ts.resolved, ts.args = rs, args
}

// shareSchemas gives the tools (of every agent) that declare the same
// schema text one toolSchema, so that it is resolved once.
func shareSchemas(tools []*Tool) {
	byText := map[string]*toolSchema{}
	for _, t := range tools {
		ts := byText[string(t.InputSchema)]
		if ts == nil {
			ts = &toolSchema{raw: t.InputSchema}
			byText[string(t.InputSchema)] = ts
		}
		t.schema = ts
	}
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
