// Drives warden serve with an official MCP TypeScript SDK client, for
// TestTypeScriptSDKClient (internal/e2e/tsclient_test.go), and prints what
// the client saw as one JSON object on stdout.
//
// Usage: node client.mjs CONFIG.json, where CONFIG is
//
//	{"sdk": "v1", "transport": "stdio", "command": "...", "args": [...], "cwd": "...", "env": {...},
//	 "calls": [{"name": "label", "tool": "notes_read", "args": {...}, "echo": false}]}
//
// or the same with "transport": "http" and "url" in place of the command.
// Each call reports every content block's length in UTF-8 bytes and its
// SHA-256 (and its text when echo is set), the second block parsed as JSON,
// isError and structuredContent; a call the client throws on reports the
// error instead, so that the test can show it.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
// cfg.sdk picks the SDK line: "v1" is @modelcontextprotocol/sdk, "v2" is
// @modelcontextprotocol/client (what the inspector runs on). Their
// package.json files are not exported; each is found beside its build.
let Client, StdioClientTransport, StreamableHTTPClientTransport, pkg;
if (cfg.sdk === "v2") {
  ({ Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client"));
  ({ StdioClientTransport } = await import("@modelcontextprotocol/client/stdio"));
  pkg = new URL("../package.json", import.meta.resolve("@modelcontextprotocol/client"));
} else {
  ({ Client } = await import("@modelcontextprotocol/sdk/client/index.js"));
  ({ StdioClientTransport } = await import("@modelcontextprotocol/sdk/client/stdio.js"));
  ({ StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js"));
  pkg = new URL("../../../package.json", import.meta.resolve("@modelcontextprotocol/sdk/client/index.js"));
}
const { name: sdkName, version: sdkVersion } = JSON.parse(readFileSync(pkg, "utf8"));

const transport =
  cfg.transport === "stdio"
    ? new StdioClientTransport({ command: cfg.command, args: cfg.args, cwd: cfg.cwd, env: cfg.env, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(cfg.url));
const client = new Client({ name: "warden-e2e-ts", version: "0.0.0" });
await client.connect(transport);

const out = { sdk: `${sdkName} ${sdkVersion}`, node: process.version, tools: [], calls: {} };
for (const t of (await client.listTools()).tools) {
  out.tools.push({ name: t.name, outputSchema: t.outputSchema !== undefined });
}

for (const call of cfg.calls) {
  let res;
  try {
    res = await client.callTool({ name: call.tool, arguments: call.args });
  } catch (err) {
    out.calls[call.name] = { error: String(err?.stack ?? err) };
    continue;
  }
  const r = { isError: res.isError ?? false, blocks: [], structuredContent: res.structuredContent ?? null };
  for (const b of res.content ?? []) {
    const block = { type: b.type };
    if (typeof b.text === "string") {
      const bytes = Buffer.from(b.text, "utf8");
      block.bytes = bytes.length;
      block.sha256 = createHash("sha256").update(bytes).digest("hex");
      if (call.echo) block.text = b.text;
    }
    r.blocks.push(block);
  }
  const meta = res.content?.[1];
  if (meta?.type === "text") {
    try {
      r.metadata = JSON.parse(meta.text);
    } catch (err) {
      r.metadataError = String(err);
    }
  }
  out.calls[call.name] = r;
}
await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
