package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/warden-dev/warden/internal/core"
)

// A when: condition sees these variables; the README documents them.
//
//	agent, resource, action, tool  string
//	path                           string (the normalised target; "" if none)
//	args                           map(string, dyn): the tool arguments
//	now                            timestamp: when the call arrived
const (
	// conditionCostLimit bounds one evaluation; exceeding it fails closed.
	conditionCostLimit = 100_000
	maxConditionBytes  = 4096
)

// condition is a compiled when: expression.
type condition struct {
	src string
	prg cel.Program
}

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

// celEnv is built on first use: policies without conditions never pay for it.
func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		envVal, envErr = cel.NewEnv(
			cel.Variable("agent", cel.StringType),
			cel.Variable("resource", cel.StringType),
			cel.Variable("action", cel.StringType),
			cel.Variable("tool", cel.StringType),
			cel.Variable("path", cel.StringType),
			cel.Variable("args", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("now", cel.TimestampType),
			cel.CrossTypeNumericComparisons(true),
			ext.Strings(),
		)
	})
	return envVal, envErr
}

func compileCondition(src string) (*condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the condition is empty")
	}
	if len(src) > maxConditionBytes {
		return nil, fmt.Errorf("the condition is longer than %d bytes", maxConditionBytes)
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var msgs []string
		for _, e := range iss.Errors() {
			loc := e.Location
			msgs = append(msgs, fmt.Sprintf("at line %d, column %d of the condition: %s", loc.Line(), loc.Column()+1, e.Message))
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("the condition must be true or false, but it yields %s", t)
	}
	prg, err := env.Program(ast,
		cel.CostLimit(conditionCostLimit),
		cel.InterruptCheckFrequency(100),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, fmt.Errorf("the condition cannot run: %w", err)
	}
	return &condition{src: src, prg: prg}, nil
}

// eval runs the condition. Any failure (a missing argument, a wrong type,
// the cost limit, cancellation) is an error, and callers fail closed.
func (c *condition) eval(ctx context.Context, req *core.Request, target string) (bool, error) {
	out, _, err := c.prg.ContextEval(ctx, &activation{req: req, path: target})
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("the condition yielded %v, not true or false", out.Type())
	}
	return bool(b), nil
}

// activation resolves condition variables straight from the request,
// without building a map per evaluation.
type activation struct {
	req  *core.Request
	path string
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "agent":
		return a.req.Agent, true
	case "resource":
		return a.req.Resource, true
	case "action":
		return a.req.Action, true
	case "tool":
		return a.req.Tool, true
	case "path":
		return a.path, true
	case "args":
		if a.req.Args == nil {
			return map[string]any{}, true
		}
		return a.req.Args, true
	case "now":
		t := a.req.Time
		if t.IsZero() {
			t = time.Now()
		}
		return t, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
