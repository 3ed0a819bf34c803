/**
 * Encoding of records with the user's payload codec, held while the codec cannot encode.
 *
 * A codec is a service much like the store (a codec server, a key-management call), and it
 * can be down. Records it could not encode may reach neither the spool nor the store (both
 * hold encoded text only), and dropping them would lose for good what history still says.
 * So they wait here, in memory, and their writer waits with them, as with a full spool: the
 * workflow task or activity that produced them is not completed until its records are
 * encoded and landed. The worker's task slots bound what waits; a worker that dies meanwhile
 * has completed none of those tasks, and Temporal runs them again, which records them again.
 */
import { encodeBatch, type EncodableBatch } from '../store/encoded-records';
import type { TextCodec } from '../store/text-codec';
import { recordCount } from './spool';

export interface CodecHoldOptions {
  /** Loud, rare messages: the codec failing (at most every 10 s), and back. */
  onAlert?: (message: string) => void;
  /** The longest pause between two tries of a failing codec. */
  maxRetryMs?: number;
}

export class CodecHold {
  /** Encodings in call order: records reach the recorder in the order they were written. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Records given and not encoded yet. */
  private waiting = 0;
  private failingSince: number | undefined;
  private lastAlert = 0;

  constructor(
    private readonly codec: TextCodec,
    private readonly options: CodecHoldOptions = {},
  ) {}

  /**
   * The batch encoded. Never rejects for a failing codec: it is tried again until it answers.
   * A batch held so holds every batch given after it, which keeps a scope's end from being
   * stored (and sealed) before the actions written ahead of it.
   */
  encode<B extends EncodableBatch>(batch: B): Promise<B> {
    const count = recordCount(batch);
    this.waiting += count;
    const encoded = this.chain.then(() => this.untilEncoded(batch)).finally(() => (this.waiting -= count));
    this.chain = encoded.catch(() => undefined);
    return encoded;
  }

  /** Resolves once every batch given so far is encoded. */
  async settled(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  private async untilEncoded<B extends EncodableBatch>(batch: B): Promise<B> {
    for (let attempt = 1; ; attempt++) {
      try {
        const encoded = await encodeBatch(this.codec, batch);
        this.answered();
        return encoded;
      } catch (err) {
        this.failed(err);
      }
      await new Promise((r) => setTimeout(r, Math.min(this.options.maxRetryMs ?? 2_000, 50 * 2 ** Math.min(attempt, 6))));
    }
  }

  private failed(err: unknown): void {
    const now = Date.now();
    this.failingSince ??= now;
    if (now - this.lastAlert < 10_000) return;
    this.lastAlert = now;
    this.options.onAlert?.(
      `CODEC FAILING: the payload codec could not encode records (${reasonOf(err)}); holding ${this.waiting} records in memory, ` +
        'never stored or spooled unencoded, and the work that produced them until the codec answers',
    );
  }

  private answered(): void {
    if (this.failingSince === undefined) return;
    const seconds = Math.round((Date.now() - this.failingSince) / 1000);
    this.failingSince = undefined;
    this.lastAlert = 0;
    this.options.onAlert?.(`codec is back after ${seconds} s: ${this.waiting} held records encoded`);
  }
}

/**
 * The codec's own one-line account of its failure. Never the records: they are what it
 * failed to encode, and the log must not show them in plain text.
 */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = message.split('\n')[0]!;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
