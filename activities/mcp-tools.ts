/**
 * MCP tools as scopetrail tools. connectMcpServer() connects to an MCP server (stdio or
 * Streamable HTTP, through the official SDK), lists its tools and turns each into a
 * ToolDefinition named `<server>/<tool>` with the declared resource `mcp:<server>/<tool>`.
 * Each call is then an activity, recorded per attempt under its scope by the activity
 * interceptor, and carries that scope to the server in `params._meta`, signed (see
 * cim/mcp-meta.ts) so the server can vouch for the call with a receipt of its own.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { activityActionId, scopedActivityId } from '../cim/ids';
import { DELEGATION_REFUSED, buildMcpMeta, type DelegationClaims } from '../cim/mcp-meta';
import { MCP_ANSWERED_ATTRIBUTE, MCP_RECEIPT_ATTRIBUTE, MCP_SERVER_ATTRIBUTE, MCP_TOOL_ATTRIBUTE, RECEIPT_EXPECTED, mcpToolResource } from '../cim/mcp-receipt';
import { ToolName } from '../cim/schemas';
import { InvalidOptionError, invalidOption, unknownOption } from '../cim/invalid-field';
import { delegationSigner, loadDelegationKey, sha256Hex, type DelegationKey } from '../store/delegation-key';
import { defineTool, type ToolDefinition } from './tool';
import { currentToolRun } from './tool-context';
import { McpConnection, type CallResult, type ListedTool } from './mcp-connection';
import { attemptSignal } from './attempt-signal';

/** No `/` or `:`: the server name is the first part of `<server>/<tool>` and of `mcp:<server>/<tool>`. */
export const McpServerName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,99}$/, 'a letter, then up to 99 letters, digits or _ . - (no / or :)');

export const McpServerOptions = z.object({
  name: McpServerName,
  transport: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('stdio'),
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      // process.env is not a plain object (zod's record refuses it): passed whole, it is copied first.
      env: z.preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...v } : v), z.record(z.string(), z.string())).optional(),
      cwd: z.string().min(1).optional(),
    }),
    z.strictObject({ type: z.literal('http'), url: z.url({ protocol: /^https?$/, error: httpUrlProblem }) }),
  ]),
  /** The server runs the scopetrail middleware: reconcile reports an answered call without its receipt. */
  receipts: z.boolean().default(false),
  /** Only these of the server's tools (by their MCP name); all by default. */
  tools: z.array(z.string().min(1)).optional(),
  /** How long one call may take before the attempt fails and the server is told to cancel it (the attempt's own deadline still applies). */
  callTimeoutMs: z.number().int().min(1).default(60_000),
});
export type McpServerOptions = z.input<typeof McpServerOptions>;

/**
 * Why an http transport's url was refused. zod says "Invalid URL" both for text that is no
 * URL and for a URL of another scheme; the second is a URL the user can fix by its scheme alone.
 */
function httpUrlProblem(issue: { code?: string; input?: unknown }): string | undefined {
  if (issue.code !== 'invalid_format' || typeof issue.input !== 'string') return undefined;
  const taken = `give an http:// or https:// URL (Streamable HTTP), not ${JSON.stringify(issue.input)}`;
  let scheme: string;
  try {
    scheme = new URL(issue.input).protocol;
  } catch {
    return `not a URL: ${taken}`;
  }
  return scheme === 'http:' || scheme === 'https:' ? undefined : `the scheme ${scheme} is not one it takes: ${taken}`;
}

/** What a call returns to the workflow: the MCP result's content (and structured content, if any). */
export const McpToolResult = z.object({
  content: z.array(z.looseObject({ type: z.string() })),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
});
export type McpToolResult = z.infer<typeof McpToolResult>;

export const MCP_TOOL_ERROR = 'McpToolError';

export interface McpToolset {
  readonly server: string;
  readonly tools: ToolDefinition<Record<string, unknown>, McpToolResult>[];
  close(): Promise<void>;
}

export async function connectMcpServer(input: McpServerOptions, deps: { key?: DelegationKey } = {}): Promise<McpToolset> {
  // A misspelt option (`reciepts`, `callTimeoutMS`) would otherwise leave its default in force unseen.
  const unknown = unknownOption('connectMcpServer', input, Object.keys(McpServerOptions.shape));
  if (unknown) throw unknown;
  const parsed = McpServerOptions.safeParse(input);
  if (!parsed.success) throw invalidOption('connectMcpServer', parsed.error, 'options');
  const o = parsed.data;
  // A missing key is a configuration error worth stopping for before any call is signed.
  const key = deps.key ?? loadDelegationKey(process.env, { create: true });
  const connection = new McpConnection(o);
  const listed = await connection.listTools();
  const wanted = o.tools ? new Set(o.tools) : undefined;
  const missing = o.tools?.filter((t) => !listed.some((l) => l.name === t)) ?? [];
  if (missing.length) {
    await connection.close();
    throw new InvalidOptionError(`connectMcpServer ${o.name}: invalid field "tools": the server has no tool ${missing.join(', ')}`, 'tools');
  }
  const sign = delegationSigner(key);
  const tools = listed.filter((t) => !wanted || wanted.has(t.name)).map((t) => mcpTool(o, t, connection, sign, key.id));
  return { server: o.name, tools, close: () => connection.close() };
}

function mcpTool(
  o: z.output<typeof McpServerOptions>,
  listed: ListedTool,
  connection: McpConnection,
  sign: (text: string) => string,
  keyId: string,
): ToolDefinition<Record<string, unknown>, McpToolResult> {
  const name = `${o.name}/${listed.name}`;
  if (!ToolName.safeParse(name).success) {
    // The server's name for it is not the caller's to change: `tools` is the option that fixes it.
    throw new InvalidOptionError(`connectMcpServer ${o.name}: the server's tool "${listed.name}" makes no valid tool name (${name}); leave it out with "tools"`, 'tools');
  }
  return defineTool(
    {
      name,
      description: listed.description,
      input: inputSchemaOf(listed.inputSchema),
      output: McpToolResult,
      // The caller cannot see inside the server: a tool that does not say it only reads is taken to write.
      resources: [{ uri: mcpToolResource(o.name, listed.name), mode: listed.annotations?.readOnlyHint ? 'read' : 'write' }],
    },
    async (args) => {
      const run = currentToolRun();
      if (!run) throw new Error(`MCP tool ${name} runs only as a tool of a scopetrail agent: without a scope there is no delegation to sign`);
      const ctx = Context.current();
      const info = ctx.info;
      const claims: DelegationClaims = {
        v: 1,
        namespace: info.workflowNamespace ?? info.namespace,
        sessionId: run.scope.sessionId,
        scopeId: run.scope.scopeId,
        parentScopeId: run.scope.parentScopeId,
        agent: run.scope.agent,
        actionId: activityActionId(run.scope.scopeId, scopedActivityId(info.activityId, run.scope.continuation?.run), info.attempt),
        attempt: info.attempt,
        server: o.name,
        tool: listed.name,
        issuedAt: new Date().toISOString(),
        keyId,
      };
      run.attributes[MCP_SERVER_ATTRIBUTE] = o.name;
      run.attributes[MCP_TOOL_ATTRIBUTE] = listed.name;
      // Whatever ends the attempt (Temporal's cancellation, its deadline) ends the wait, and the server is told.
      const attempt = attemptSignal(ctx);
      let result: CallResult;
      try {
        result = await connection.callTool(listed.name, args, buildMcpMeta(claims, sign, sha256Hex), o.callTimeoutMs, attempt.signal);
      } finally {
        attempt.release();
      }
      // Only an answer proves the server ran the call; an attempt that never got through owes no receipt,
      // and neither does one whose delegation the server refused (it records nothing for those).
      run.attributes[MCP_ANSWERED_ATTRIBUTE] = true;
      const refused = result.isError && textOf(result.content).includes(DELEGATION_REFUSED);
      if (o.receipts && !refused) run.attributes[MCP_RECEIPT_ATTRIBUTE] = RECEIPT_EXPECTED;
      if (result.isError) {
        // The server answered deliberately: the same request would get the same answer.
        throw ApplicationFailure.create({ type: MCP_TOOL_ERROR, nonRetryable: true, message: `MCP tool ${name} failed: ${textOf(result.content)}` });
      }
      return { content: result.content, ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}) };
    },
  );
}

/** The tool's JSON schema as zod, so bad input fails naming the field; a schema zod cannot read passes any object. */
function inputSchemaOf(schema: Record<string, unknown>): z.ZodType<Record<string, unknown>, Record<string, unknown>> {
  try {
    return z.fromJSONSchema(schema as never) as z.ZodType<Record<string, unknown>, Record<string, unknown>>;
  } catch {
    return z.record(z.string(), z.unknown());
  }
}

function textOf(content: readonly { type: string; text?: unknown }[]): string {
  const text = content.filter((c) => c.type === 'text' && typeof c.text === 'string').map((c) => c.text as string).join(' ');
  return text || 'the server returned an error without text';
}
