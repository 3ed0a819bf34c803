/**
 * Decoded scope headers, remembered by their bytes. Every activity a scope schedules
 * carries the very same header, so the worker parses and validates each header once
 * instead of once per attempt; a header that differs in any byte of its data or
 * metadata is decoded (and validated) on its own. The contexts handed out are shared
 * between attempts and only ever read.
 */
import type { Payload } from '@temporalio/common';
import { decodeScopeHeader } from '../cim/header';
import type { ScopeContext } from '../cim/schemas';

export class ScopeHeaderCache {
  private readonly entries = new Map<string, ScopeContext | undefined>();

  constructor(private readonly capacity = 512) {}

  decode(payload: Payload | undefined): ScopeContext | undefined {
    if (!payload?.data) return decodeScopeHeader(payload);
    const key = keyOf(payload);
    if (this.entries.has(key)) {
      const ctx = this.entries.get(key);
      // Most recently used last, so the oldest entry is the first one the map yields.
      this.entries.delete(key);
      this.entries.set(key, ctx);
      return ctx;
    }
    const ctx = decodeScopeHeader(payload);
    this.entries.set(key, ctx);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return ctx;
  }
}

function keyOf(payload: Payload): string {
  let key = latin1(payload.data!);
  for (const name of Object.keys(payload.metadata ?? {}).sort()) key += `\u0000${name}\u0000${latin1(payload.metadata![name]!)}`;
  return key;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
