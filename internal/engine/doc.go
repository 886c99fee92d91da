// Package engine is Warden's one pipeline: every tool call, from every face
// (MCP, CLI, Go library), goes through [Engine.Call] and the same steps:
//
//  1. find the tool among those the agent holds a grant for;
//  2. validate the arguments (size, JSON shape, no duplicate keys, the
//     tool's JSON schema);
//  3. normalise the target in the connector (for files: the path relative
//     to the root after resolving symlinks inside it);
//  4. decide with the policy;
//  5. if the grant requires approval, proceed only with a human's approval
//     of this exact call (agent, tool and arguments), used once;
//  6. enforce the agent's rate limit;
//  7. execute in the connector;
//  8. bound the result's size;
//  9. append one record to the audit log;
//  10. return.
//
// A failure at any step denies and changes nothing; if the audit record
// cannot be written, the result is withheld.
package engine
