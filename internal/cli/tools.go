package cli

import (
	"encoding/json"
	"fmt"
)

const toolsHelp = `Lists the tools an agent may call, each with its description (which states
the agent's scope) and JSON schema: as MCP tool definitions (default), or as
OpenAI function-calling tools with --format openai.`

func runTools(e *env, args []string) int {
	fs := newFlags(e, "tools", "tools [--policy FILE] [--agent NAME] [--format mcp|openai]", toolsHelp)
	var pf policyFlags
	pf.register(fs, true)
	format := fs.String("format", "mcp", "output `format`: mcp or openai")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "tools takes no arguments, got %q", pos)
	}
	if *format != "mcp" && *format != "openai" {
		return usageErr(e, "--format must be mcp or openai, not %q", *format)
	}
	pf.onResource = reportResources(e) // the list lacks its tools: say why
	eng, agent, code := openAgentEngine(e, &pf, true, true, nil)
	if eng == nil {
		return code
	}
	defer eng.Close()
	var list []any
	for _, t := range eng.Tools(agent) {
		schema := json.RawMessage(t.InputSchema)
		if *format == "openai" {
			list = append(list, map[string]any{
				"type": "function",
				"function": map[string]any{
					"name":        t.Name,
					"description": t.Description,
					"parameters":  schema,
				},
			})
			continue
		}
		list = append(list, map[string]any{
			"name":        t.Name,
			"description": t.Description,
			"inputSchema": schema,
			"annotations": map[string]any{"readOnlyHint": t.Op.ReadOnly},
		})
	}
	if list == nil {
		fmt.Fprintf(e.stderr, "warden: agent %q holds no grant that gives it a tool\n", agent)
		list = []any{}
	}
	if *format == "mcp" {
		printJSON(e, map[string]any{"tools": list})
	} else {
		printJSON(e, list)
	}
	return ExitOK
}
