/**
 * The specs of tools served by other workers, read from the store (where each worker that
 * serves tools registers them as it starts) for the model steps of this process. Read once
 * and kept: a tool the snapshot lacks reads the store again, at most every `refreshMs`, so a
 * step offering a tool no worker registered does not read the store at every turn; a snapshot
 * older than that is read again behind the step that found its tool in it, so a tool worker
 * redeployed with another schema is picked up.
 *
 * A spec is told to the model only when its signature holds under this worker's key (or
 * this worker holds none): anyone who can write the table could otherwise speak to the
 * model in a tool's name (cim/tool-spec-signature.ts). A spec passed over is said once, when
 * a step asks for its tool.
 */
import type { ServedToolSpec } from '../store/types';
import type { DescribedTool } from '../activities/tool-spec';
import type { SignatureChecker, SignatureState } from '../cim/keyed-signature';
import { isRefusedSpecState, toolSpecRefusal, toolSpecSignatureState, toolSpecTrusted } from '../cim/tool-spec-signature';

export interface ServedToolSpecsOptions {
  refreshMs?: number;
  now?: () => number;
  /** A read that failed: the step goes on without the specs it would have given. */
  onError?: (err: unknown) => void;
  /** What checks the specs' signatures: the worker's deployment key; without one, every spec is taken. */
  checker?: SignatureChecker;
  /** A spec that is not told to the model, and why: once per spec as read. */
  onRefused?: (message: string) => void;
}

/** A spec as read, with how its signature stands under this worker's key. */
interface CheckedSpec {
  spec: ServedToolSpec;
  state: SignatureState;
  trusted: boolean;
}

export class ServedToolSpecs {
  private snapshot: CheckedSpec[] | undefined;
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly checker: SignatureChecker;
  private readonly refusalsSaid = new Set<string>();

  constructor(
    private readonly read: () => Promise<ServedToolSpec[]>,
    private readonly options: ServedToolSpecsOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.checker = options.checker ?? { missing: 'no key given' };
  }

  /**
   * The spec of `tool` as the worker serving it on `taskQueue` registered it; without a queue
   * (the tool is called on the agent's own), `preferQueue`'s, else the latest any queue registered.
   */
  async find(tool: string, where: { taskQueue?: string; preferQueue?: string }): Promise<DescribedTool | undefined> {
    const stale = this.now() - this.readAt >= this.refreshMs;
    let found = this.lookUp(tool, where);
    if (found && stale) void this.refresh();
    else if (!found && stale) {
      await this.refresh();
      found = this.lookUp(tool, where);
    }
    return found && { ...(found.description !== undefined ? { description: found.description } : {}), inputSchema: found.inputSchema };
  }

  private lookUp(tool: string, { taskQueue, preferQueue }: { taskQueue?: string; preferQueue?: string }): ServedToolSpec | undefined {
    const specs = this.snapshot?.filter((s) => s.spec.tool === tool) ?? [];
    const candidates =
      taskQueue !== undefined
        ? specs.filter((s) => s.spec.taskQueue === taskQueue)
        : [...specs.filter((s) => s.spec.taskQueue === preferQueue), ...specs.filter((s) => s.spec.taskQueue !== preferQueue)];
    const chosen = candidates.find((c) => c.trusted);
    // Each spec passed over for want of a signature that holds is said, once: the model is told less than a worker registered.
    for (const c of candidates) {
      if (c === chosen) break;
      this.sayRefused(c);
    }
    return chosen?.spec;
  }

  private sayRefused({ spec, state }: CheckedSpec): void {
    // Only specs toolSpecTrusted refused come here (those before the one chosen).
    if (!isRefusedSpecState(state)) return;
    const said = `${spec.taskQueue}\u0000${spec.tool}\u0000${state}\u0000${spec.signature?.mac ?? ''}`;
    if (this.refusalsSaid.has(said)) return;
    this.refusalsSaid.add(said);
    this.options.onRefused?.(toolSpecRefusal(spec, state, this.checker));
  }

  private refresh(): Promise<void> {
    this.reading ??= (async () => {
      try {
        this.snapshot = (await this.read()).map((spec) => {
          const state = toolSpecSignatureState(spec, this.checker);
          return { spec, state, trusted: toolSpecTrusted(state, this.checker) };
        });
      } catch (err) {
        this.options.onError?.(err);
      } finally {
        // A failed read waits its turn too: a store that is down is not asked at every step.
        this.readAt = this.now();
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}
