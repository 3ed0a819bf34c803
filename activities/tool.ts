/**
 * defineTool: a tool is a Temporal activity with zod-checked input and output and
 * the resources it touches declared up front. At run time a tool may report more
 * resources through reportResource(); both end up on the attempt's CIM record.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { ResourceRef } from '../cim/schemas';
import { ResourceRef as ResourceRefSchema, ToolName } from '../cim/schemas';
import type { ToolTypes } from '../workflows/tools';
import { allowed } from '../cim/allowance';
import { currentToolRun, scopeDenied } from './tool-context';
import { InvalidOptionError, fieldOf, invalidField, unknownOption } from '../cim/invalid-field';
import { LLM_ACTIVITY_TYPES } from '../cim/names';

export interface ToolSpec<I extends z.ZodType, O extends z.ZodType> {
  name: string;
  description?: string;
  input: I;
  output: O;
  /** Resources every call touches, e.g. `{ uri: 'api:web-search', mode: 'read' }`. */
  resources?: ResourceRef[];
  /** Store the raw input/output next to their digests (off by default: payloads may be sensitive). */
  recordPayloads?: boolean;
}

export interface ToolDefinition<I = unknown, O = unknown> extends ToolTypes<I, O> {
  readonly spec: {
    name: string;
    description?: string;
    resources: ResourceRef[];
    recordPayloads: boolean;
    /** The input schema, from which a model is told how to call the tool. */
    input?: z.ZodType;
  };
  /** The activity function registered under `spec.name`. */
  readonly activity: (input: unknown) => Promise<O>;
}

export function defineTool<I extends z.ZodType, O extends z.ZodType>(
  spec: ToolSpec<I, O>,
  fn: (input: z.output<I>) => Promise<z.input<O>>,
): ToolDefinition<z.input<I>, z.output<O>> {
  // Every worker registers the model activities under these names, so a tool that took
  // one could never be registered; say so where the name is written.
  if (typeof spec?.name === 'string' && LLM_ACTIVITY_TYPES.has(spec.name)) {
    throw new InvalidOptionError(
      `defineTool: invalid field "name": ${JSON.stringify(spec.name)} is the model call's activity, which every scopetrail worker registers (reserved: ${[...LLM_ACTIVITY_TYPES].map((n) => JSON.stringify(n)).join(', ')}); give the tool another name, or pass a provider as the plugin's \`llm\` option`,
      'name',
    );
  }
  return defineRuntimeTool(spec, fn);
}

/** defineTool without the reserved-name check: for the runtime's own model activities. */
export function defineRuntimeTool<I extends z.ZodType, O extends z.ZodType>(
  spec: ToolSpec<I, O>,
  fn: (input: z.output<I>) => Promise<z.input<O>>,
): ToolDefinition<z.input<I>, z.output<O>> {
  if (typeof spec !== 'object' || spec === null) {
    throw new InvalidOptionError(`defineTool: invalid field "spec": give an object, e.g. defineTool({ name, input, output }, fn), not ${spec === null ? 'null' : typeof spec}`, 'spec');
  }
  const name = ToolName.safeParse(spec.name);
  if (!name.success) {
    throw new InvalidOptionError(`defineTool: invalid field "name": ${JSON.stringify(spec.name)}: ${name.error.issues[0]?.message}`, 'name');
  }
  const unknown = unknownOption(`defineTool ${spec.name}`, spec, TOOL_SPEC_KEYS);
  if (unknown) throw unknown;
  // Checked here, not at the first call, where a missing schema or function would fail the attempt with a bare TypeError.
  for (const field of ['input', 'output'] as const) {
    if (typeof (spec[field] as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
      throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "${field}": give a zod schema (e.g. z.object({ … })), not ${describe(spec[field])}`, field);
    }
  }
  if (typeof fn !== 'function') {
    throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "fn": give the tool's code, an async function of its input, as the second argument`, 'fn');
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') {
    throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "description": give a string, not ${describe(spec.description)}`, 'description');
  }
  if (spec.recordPayloads !== undefined && typeof spec.recordPayloads !== 'boolean') {
    throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "recordPayloads": give true or false, not ${describe(spec.recordPayloads)}`, 'recordPayloads');
  }
  if (spec.resources !== undefined && !Array.isArray(spec.resources)) {
    throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "resources": give an array of { uri, mode }, not ${describe(spec.resources)}`, 'resources');
  }
  const resources = (spec.resources ?? []).map((r, i) => {
    const parsed = ResourceRefSchema.safeParse(r);
    if (!parsed.success) {
      const inside = fieldOf(parsed.error, '');
      const field = inside ? `resources.${i}.${inside}` : `resources.${i}`;
      throw new InvalidOptionError(`defineTool ${spec.name}: invalid field "${field}": ${parsed.error.issues[0]?.message}`, field);
    }
    return parsed.data;
  });
  const activity = async (raw: unknown): Promise<z.output<O>> => {
    const input = spec.input.safeParse(raw);
    if (!input.success) throw invalid(spec.name, 'input', input.error);
    const out = spec.output.safeParse(await fn(input.data));
    if (!out.success) throw invalid(spec.name, 'output', out.error);
    return out.data;
  };
  Object.defineProperty(activity, 'name', { value: spec.name });
  return {
    spec: { name: spec.name, description: spec.description, resources, recordPayloads: spec.recordPayloads ?? false, input: spec.input },
    activity,
  };
}

/** The fields of a ToolSpec: a misspelled `resource` would otherwise declare no resources, silently. */
const TOOL_SPEC_KEYS = ['name', 'description', 'input', 'output', 'resources', 'recordPayloads'] as const;

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'a plain object' : `a ${typeof value}`;
}

/** Adds resources to the current tool attempt's record (e.g. the table a query actually read). */
export function reportResource(resource: ResourceRef): void {
  const run = currentToolRun();
  if (!run) throw new Error('reportResource() can only be called while a tool runs');
  const parsed = ResourceRefSchema.safeParse(resource);
  if (!parsed.success) {
    // The tool's own code gives the same resource on every attempt: retrying cannot help.
    throw ApplicationFailure.create({ type: INVALID_RESOURCE_REPORT, message: invalidField('reportResource', parsed.error, 'resource'), nonRetryable: true });
  }
  // Tools report a resource before touching it, so a refusal here still comes first.
  if (!allowed(run.scope.allowance, parsed.data.uri)) {
    run.refused.push(parsed.data);
    throw scopeDenied(run.scope, [parsed.data]);
  }
  run.resources.push(parsed.data);
}

/** The failure type of an attempt whose tool reported a resource that is not one (`reportResource`). */
export const INVALID_RESOURCE_REPORT = 'InvalidResourceReport';

/** The failure type of an attempt whose input its tool's schema refused: the tool never ran. */
export const INVALID_TOOL_INPUT = 'InvalidToolInput';

function invalid(tool: string, side: 'input' | 'output', error: z.ZodError): ApplicationFailure {
  const issue = error.issues[0];
  const field = [side, ...(issue?.path ?? [])].join('.');
  // Bad input will be just as bad on the next attempt, so retrying is pointless.
  return ApplicationFailure.create({
    type: side === 'input' ? INVALID_TOOL_INPUT : 'InvalidToolOutput',
    message: `tool ${tool}: invalid field "${field}": ${issue?.message ?? 'invalid'}`,
    nonRetryable: true,
  });
}
