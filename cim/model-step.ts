/**
 * The model step: one call of a model-driven agent's model, made by the workflow as an
 * activity so the model's choices land in Temporal history (and replay re-makes them).
 * Pure: the names and the shape both sides agree on.
 */

export { MODEL_STEP_ACTIVITY } from './names';

/** The names the model sees for the sub-agents and handoff targets it may choose. */
export const DELEGATE_TOOL_PREFIX = 'delegate_to_';
export const HANDOFF_TOOL_PREFIX = 'handoff_to_';

/**
 * The name a tool goes by for the model. Providers accept function names of letters,
 * digits, `_` and `-` only (at most 64), so `db.read` is offered as `db_read`; the
 * agent maps the model's choice back to the tool it stands for.
 */
export function modelToolName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
}

/** A function tool as the model step carries it: the worker fills in schemas it knows. */
export interface ModelStepTool {
  type: 'function';
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** The scopetrail tool this stands for, when the worker should describe it from its definition. */
  scopetrailTool?: string;
  /** The task queue the agent calls it on, when its toolActivity names one: whose worker's spec describes it. */
  taskQueue?: string;
}

export interface ModelStepCall {
  toolName: string;
  input: string;
}

/**
 * The tool calls a model step asked for, as recorded on its `llm_call` (`db.read, delegate_to_researcher`).
 * `offered` maps each name the model was offered to the name records give it: a tool goes by its own
 * name (`db.read`, not the `db_read` the model sees), as its `tool_call` rows do.
 * A call that cannot run says why (`search (arguments not JSON)`, `wipe (not offered)`): the AI SDK
 * answers it to the model with an error and no activity, so no row of its own will show it. A name
 * not offered that is an offered tool's own name (`db.read`, offered as `db_read`) says both, so
 * it does not read as a call of that tool.
 */
export function toolCallSummary(calls: readonly ModelStepCall[], offered?: ReadonlyMap<string, string>): string {
  return calls
    .map((c) => {
      if (offered && !offered.has(c.toolName)) {
        // The model may name a tool as records do (`db.read`), not as it was offered (`db_read`):
        // said plainly, the entry does not read as the offered tool's.
        const offeredAs = [...offered].find(([, own]) => own === c.toolName)?.[0];
        return offeredAs ? `${c.toolName} (not offered: the model asked for "${c.toolName}"; it is offered as ${offeredAs})` : `${c.toolName} (not offered)`;
      }
      const named = offered?.get(c.toolName) ?? c.toolName;
      if (!jsonText(c.input)) return `${named} (arguments not JSON)`;
      const refused = routedArgumentsProblem(c.toolName, c.input.trim() === '' ? {} : JSON.parse(c.input));
      return refused ? `${named} (refused: ${refused})` : named;
    })
    .join(', ');
}

/**
 * Why the arguments a model gave a delegation or a handoff cannot be taken (the one field they
 * have, a non-empty string, and nothing else), or undefined when they can or the call is neither.
 * The agent answers the model with this and runs nothing, so the step's record says it too.
 */
export function routedArgumentsProblem(toolName: string, args: unknown): string | undefined {
  const field = toolName.startsWith(DELEGATE_TOOL_PREFIX) ? 'objective' : toolName.startsWith(HANDOFF_TOOL_PREFIX) ? 'reason' : undefined;
  if (!field) return undefined;
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return `give the arguments as an object with "${field}"`;
  const extra = Object.keys(args).filter((k) => k !== field);
  if (extra.length) return `"${extra[0]}" is not an argument it takes (it takes "${field}" alone)`;
  const value = (args as Record<string, unknown>)[field];
  if (typeof value !== 'string' || !value.trim()) return `give the ${field} as a non-empty string`;
  return undefined;
}

function jsonText(text: string): boolean {
  // An empty input is the SDK's way of sending no arguments.
  if (text.trim() === '') return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Conversations up to this size travel inline with a handoff; larger ones by reference. */
export const INLINE_CONVERSATION_BYTES = 256 * 1024;

/** A handoff's pointer to the conversation it kept in the store (by the scope that handed off). */
export interface ConversationReference {
  from: string;
  /**
   * SHA-256 of the kept conversation's canonical JSON. It travels in Temporal history (and
   * in the sealed handoff action), so the next agent refuses a body rewritten in the store.
   * Absent in references made before it was added.
   */
  digest?: string;
  /** Messages and UTF-8 bytes of the whole conversation, for people reading the input. */
  messages: number;
  bytes: number;
}

/**
 * The reference a model agent's handoff put in the next run's input, when it kept the
 * conversation by reference: `from` is the scope that handed off (the run's own), `digest`
 * what its kept body hashes to. Anything else in that input is not one.
 */
export function conversationReferenceIn(input: unknown, from: string): { from: string; digest: string } | undefined {
  const c = (input as { conversation?: Partial<ConversationReference> } | null | undefined)?.conversation;
  if (typeof c !== 'object' || c === null || c.from !== from || typeof c.digest !== 'string' || !/^[0-9a-f]{64}$/.test(c.digest)) return undefined;
  return typeof c.messages === 'number' && typeof c.bytes === 'number' ? { from: c.from, digest: c.digest } : undefined;
}

/** What a handoff keeps by reference: its messages, after those of an earlier handoff's conversation. */
export interface KeptConversation {
  base?: { from: string; digest?: string };
  messages: unknown[];
}
