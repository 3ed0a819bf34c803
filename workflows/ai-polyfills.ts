/**
 * The Web APIs the AI SDK needs and the workflow sandbox lacks: `Headers`, the Web
 * Streams classes and `structuredClone`. The `ai` package defines classes that extend
 * `TransformStream` when it loads, so this module must be evaluated first: it is the
 * first import of workflows/model-agent.ts, and imports run in order. Globals that
 * exist are never replaced (outside the sandbox Node has them all).
 */
import { Headers } from 'headers-polyfill';
import structuredClonePolyfill from '@ungap/structured-clone';
import * as webStreams from 'web-streams-polyfill';

const g = globalThis as Record<string, unknown>;
if (typeof g.Headers === 'undefined') g.Headers = Headers;
for (const [name, impl] of Object.entries(webStreams)) {
  if (name !== 'default' && !(name in g)) g[name] = impl;
}
if (!('structuredClone' in g)) g.structuredClone = structuredClonePolyfill;
