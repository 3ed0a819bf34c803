/**
 * Live OpenTelemetry: the worker streams GenAI spans as tool and LLM calls finish and
 * as scopes end, with the mapping and ids of the post-hoc export (cim/otel-live.ts), so
 * a later `export-otel` of the session sends the very same spans.
 *
 * Spans leave only from committed records (Recorder's onCommitted): a span never
 * describes a write the store may still lose. The write path only queues records;
 * mapping, the store reads a scope's span needs and the export run behind it, and the
 * export itself goes through an OTel SDK span processor (a BatchSpanProcessor over the
 * OTLP/HTTP protobuf exporter, configured by the standard OTEL_* variables, unless the
 * user hands in their own processor). Nothing is registered globally.
 */
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { z } from 'zod';
import type { ActionRecord } from '../cim/schemas';
import { EVENT_ACTION_KINDS, recordSpanId } from '../cim/otel-genai';
import { actionSpan, isFinished, isSpanAction, liveSpanWork, scopeSpan, type ScopeRef } from '../cim/otel-live';
import { ScopetrailConfigError } from '../cim/errors';
import { fieldOf, invalidField } from '../cim/invalid-field';
import { clean } from '../store/rows';
import type { Store } from '../store/types';
import { HttpUrl, OtelExportError, otelResource, resolveTracesEndpoint, sha256Hex, toReadableSpan } from '../client/otel-export';
import { OtlpVariableError, readOtlpVariables, type OtlpVariables } from '../client/otlp-env';
import type { RecordBatch } from './recorder';

const isProcessor = (v: unknown) => typeof (v as SpanProcessor | undefined)?.onEnd === 'function' && typeof (v as SpanProcessor).forceFlush === 'function';
const isExporter = (v: unknown) => typeof (v as SpanExporter | undefined)?.export === 'function' && typeof (v as SpanExporter).shutdown === 'function';

export const LiveOtelOptionsSchema = z
  .object({
    /**
     * Your own span processor (e.g. the one your TracerProvider uses): the spans join your
     * pipeline, and you keep owning it (it is flushed when the worker stops, never shut down).
     */
    spanProcessor: z.custom<SpanProcessor>(isProcessor, 'give an OpenTelemetry SpanProcessor (onEnd, forceFlush, shutdown)').optional(),
    /** An exporter to batch into, instead of OTLP/HTTP protobuf. */
    exporter: z.custom<SpanExporter>(isExporter, 'give an OpenTelemetry SpanExporter (export, shutdown)').optional(),
    /** Full traces URL; else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
    endpoint: HttpUrl.optional(),
    /** service.name; else OTEL_SERVICE_NAME, else "scopetrail" (as the post-hoc export). */
    serviceName: z.string().min(1).max(200).optional(),
    /** BatchSpanProcessor settings; unset ones come from OTEL_BSP_* (default delay 5 s). */
    batch: z
      .object({
        scheduledDelayMillis: z.number().int().min(0).max(600_000).optional(),
        maxQueueSize: z.number().int().min(1).max(10_000_000).optional(),
        maxExportBatchSize: z.number().int().min(1).max(1_000_000).optional(),
        exportTimeoutMillis: z.number().int().min(1).max(600_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((o) => !(o.spanProcessor && (o.exporter || o.endpoint || o.batch)), {
    message: 'a spanProcessor brings its own exporter and batching; give either spanProcessor or exporter/endpoint/batch',
    path: ['spanProcessor'],
  });
export type LiveOtelOptions = z.input<typeof LiveOtelOptionsSchema>;

/**
 * `otel: true` streams with the defaults; `false` or absent streams nothing. Not a
 * union, so a bad field is reported by its own path (`otel.endpoint`), not as "invalid input".
 */
export const OtelOption = z.preprocess((v) => (v === true ? {} : v === false ? undefined : v), LiveOtelOptionsSchema.optional());

/** At most this many scopes wait for their span's store read; beyond that they are counted and reported. */
const MAX_PENDING_READS = 10_000;
/** Span ids already handed on, so a replay that re-emits a finished record does not send it twice. */
const REMEMBERED_SPANS = 100_000;

export class LiveOtel {
  private readonly processor: SpanProcessor;
  private readonly ownsProcessor: boolean;
  private readonly resource: ReturnType<typeof otelResource>;
  private readonly sent = new Set<string>();
  private queued: RecordBatch[] = [];
  private reads: Array<{ ref: ScopeRef; actionIds?: string[] }> = [];
  private working: Promise<void> | undefined;
  private scheduled = false;
  private shut = false;
  /** Where spans go, for messages. */
  private target = 'the configured exporter';
  private lastExportLog = 0;
  /** Spans handed to the processor since start. */
  spans = 0;
  /** Spans given up: the store could not be read back, too many scopes waited, or a span could not be made. */
  lost = 0;

  constructor(
    private readonly store: Store,
    options: LiveOtelOptions = {},
    private readonly log: (message: string, err?: unknown) => void = () => undefined,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const parsed = LiveOtelOptionsSchema.safeParse(options);
    if (!parsed.success) throw new ScopetrailConfigError(invalidField('otel', parsed.error, 'otel'), fieldOf(parsed.error, '') ? `otel.${fieldOf(parsed.error, '')}` : 'otel');
    const o = parsed.data;
    this.resource = otelResource(o.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() || 'scopetrail'));
    if (o.spanProcessor) {
      this.processor = o.spanProcessor;
      this.ownsProcessor = false;
      return;
    }
    let exporter = o.exporter;
    if (!exporter) {
      let url: string;
      let variables: OtlpVariables;
      try {
        url = resolveTracesEndpoint(o.endpoint, env);
        variables = readOtlpVariables(env);
      } catch (err) {
        if (err instanceof OtlpVariableError) throw new ScopetrailConfigError(`otel: ${err.message}`, err.field);
        if (err instanceof OtelExportError) throw new ScopetrailConfigError(`otel: ${err.message}`, 'otel.endpoint');
        throw err;
      }
      exporter = new OTLPTraceExporter({ url, ...variables });
      this.target = url;
    }
    this.processor = new BatchSpanProcessor(this.reporting(exporter), o.batch ? { ...o.batch } : undefined);
    this.ownsProcessor = true;
  }

  /** Recorder hook: queues the batch and returns; the work runs after the write completes. */
  committed(batch: RecordBatch): void {
    if (this.shut) return;
    this.queued.push(batch);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  /**
   * Resolves when every committed record has been handed on and the processor has tried
   * to export it; an export that failed has been reported through `log`, not thrown.
   */
  async flush(): Promise<void> {
    // Works the queue here rather than waiting for the scheduled turn, which finds it empty.
    while (this.queued.length || this.reads.length || this.working) {
      this.kick();
      await this.working;
    }
    await this.processor.forceFlush().catch((err: unknown) => this.log(`live OpenTelemetry: flushing spans to ${this.target} failed`, err));
  }

  /** Flushes; shuts down the processor only if this created it. */
  async shutdown(): Promise<void> {
    await this.flush();
    this.shut = true;
    if (this.ownsProcessor) await this.processor.shutdown();
  }

  private kick(): void {
    // Nobody awaits a scheduled turn: what it throws is reported here, never left unhandled.
    this.working ??= this.work().catch((err: unknown) => this.log('live OpenTelemetry: spans could not be made', err)).finally(() => {
      this.working = undefined;
      if (this.queued.length || this.reads.length) this.kick();
    });
  }

  private async work(): Promise<void> {
    const batches = this.queued;
    this.queued = [];
    for (const [i, batch] of batches.entries()) {
      // Workflow activations share this event loop: a long backlog is mapped a batch at a time.
      if (i > 0) await new Promise((r) => setImmediate(r));
      const todo = liveSpanWork(batch);
      for (const a of todo.actions) {
        try {
          this.emitAction(a);
        } catch (err) {
          this.lost += 1;
          this.log(`live OpenTelemetry: no span for action ${a.actionId}`, err);
        }
      }
      // A replay re-emits a scope's end; its span was already read and sent.
      for (const ref of todo.endedScopes) if (!this.sent.has(recordSpanId('scope', ref.namespace, ref.scopeId, sha256Hex))) this.enqueueRead({ ref });
      for (const g of todo.gapActions) this.enqueueRead({ ref: g, actionIds: g.actionIds });
    }
    const reads = this.reads;
    this.reads = [];
    for (const read of reads) {
      try {
        if (read.actionIds) await this.emitGapActions(read.ref, read.actionIds);
        else await this.emitScope(read.ref);
      } catch (err) {
        this.lost += 1;
        this.log(`live OpenTelemetry: could not read ${read.ref.scopeId} back for its span; a later export-otel of the session still has it`, err);
      }
    }
  }

  private enqueueRead(read: { ref: ScopeRef; actionIds?: string[] }): void {
    if (this.reads.length >= MAX_PENDING_READS) {
      this.lost += 1;
      if (this.lost === 1 || this.lost % 1000 === 0) this.log(`live OpenTelemetry: ${this.lost} scope span(s) dropped, the store reads fell behind`);
      return;
    }
    this.reads.push(read);
  }

  private emitAction(record: ActionRecord): void {
    this.emit(actionSpan(storedForm(record), { hash: sha256Hex, now: new Date().toISOString() }));
  }

  private async emitScope(ref: ScopeRef): Promise<void> {
    const scope = await this.store.getScope(ref.scopeId);
    if (!scope || scope.namespace !== ref.namespace || !isFinished(scope)) return;
    const events = await this.store.actionsUnder(ref.scopeId, { descendants: false, kinds: [...EVENT_ACTION_KINDS] });
    this.emit(scopeSpan(scope, events, { hash: sha256Hex, now: new Date().toISOString() }));
  }

  private async emitGapActions(ref: ScopeRef, actionIds: readonly string[]): Promise<void> {
    const wanted = new Set(actionIds);
    const stored = await this.store.actionsUnder(ref.scopeId, { descendants: false });
    for (const a of stored) {
      if (wanted.has(a.actionId) && a.namespace === ref.namespace && isFinished(a) && isSpanAction(a)) this.emitAction(a);
    }
  }

  private emit(span: ReturnType<typeof actionSpan>): void {
    if (this.shut || this.sent.has(span.spanId)) return;
    this.remember(span.spanId);
    this.processor.onEnd(toReadableSpan(span, this.resource));
    this.spans += 1;
  }

  /**
   * Export failures (collector down, refused) are reported through `log`, at most every
   * 10 s: the SDK alone reports them to `diag`, which is silent unless a logger is set.
   */
  private reporting(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans, done) =>
        exporter.export(spans, (result) => {
          if (result.code !== 0 && Date.now() - this.lastExportLog > 10_000) {
            this.lastExportLog = Date.now();
            this.log(
              `live OpenTelemetry: could not export ${spans.length} span(s) to ${this.target}: ${result.error?.message ?? 'no reason given'}; ` +
                'they are still in the store (scopetrail export-otel <session> sends them again)',
            );
          }
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  private remember(spanId: string): void {
    this.sent.add(spanId);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.sent.size > REMEMBERED_SPANS) this.sent.delete(this.sent.values().next().value!);
  }
}

/**
 * The record as the store holds it once written (NUL made storable, JSON values as
 * jsonb gives them back), so the live span equals the one exported later from the store.
 */
function storedForm(record: ActionRecord): ActionRecord {
  const r = clean(record);
  return { ...r, resources: JSON.parse(JSON.stringify(r.resources)), attributes: JSON.parse(JSON.stringify(r.attributes ?? {})) };
}
