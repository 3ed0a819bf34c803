/**
 * The plugin's `recorder` option and its `sealer`, checked when the worker is configured as
 * `spool` is (worker/spool-option.ts). A misspelt key (`recorder.batchSize`) would leave its
 * default in place unseen, and a bound that is not a number compares as NaN: `maxBatch: '50'`
 * never flushes early, `sealer.maxBatch: -1` seals nothing.
 */
import { z } from 'zod';
import type { RecorderOptions } from './recorder';

type PluginSealerOptions = NonNullable<RecorderOptions['sealer']>;

export const RECORDER_OPTION_KEYS = [
  'lingerMs', 'maxBatch', 'retryForMs', 'spool', 'drainEveryMs', 'onError', 'onSealError', 'sealer', 'onAlert', 'onCommitted', 'textCodec',
] as const satisfies ReadonlyArray<keyof RecorderOptions>;

export const SEALER_OPTION_KEYS = [
  'lingerMs', 'writePathBusyAt', 'maxDelayMs', 'maxBacklog', 'maxHeldBacklog', 'maxBatch', 'busyMaxBatch', 'anchorEveryMs', 'sweepEveryMs', 'maxHeldRecords', 'heldBack',
] as const satisfies ReadonlyArray<keyof PluginSealerOptions>;

// Both lists are every key of their type: a key added to the type and not here is a compile error.
type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;
const everyRecorderKey: [Missing<RecorderOptions, typeof RECORDER_OPTION_KEYS>] extends [never] ? true : false = true;
const everySealerKey: [Missing<PluginSealerOptions, typeof SEALER_OPTION_KEYS>] extends [never] ? true : false = true;
void everyRecorderKey;
void everySealerKey;

function ms(what: string) {
  return z
    .number({ error: `give ${what} as a number of milliseconds, not a string` })
    .int(`give ${what} as a whole number of milliseconds`)
    .min(0, `give ${what} as a number of milliseconds, 0 or more`)
    .max(86_400_000, `give ${what} as at most a day (86 400 000 ms)`);
}

function count(what: string, least = 1) {
  return z
    .number({ error: `give ${what} as a number, not a string` })
    .int(`give ${what} as a whole number`)
    .min(least, `give ${what} as a whole number, ${least} or more`);
}

function fn(what: string) {
  return z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', `give ${what} as a function`);
}

const SealerOption = z
  .object(
    {
      lingerMs: ms('how long an ended scope waits for company').optional(),
      writePathBusyAt: fn('when the write path was last busy').optional(),
      maxDelayMs: ms('the longest a scope waits for a quiet write path').optional(),
      maxBacklog: count('the scopes waiting from which sealing no longer waits').optional(),
      maxHeldBacklog: count('the held records from which they are hashed ahead').optional(),
      maxBatch: count('the most scopes sealed in one transaction').optional(),
      busyMaxBatch: count('the most scopes sealed in one transaction while the write path is busy').optional(),
      anchorEveryMs: ms('the least time between sealing transactions').optional(),
      sweepEveryMs: count('how often to look for ended scopes nobody sealed (milliseconds)', 100).optional(),
      maxHeldRecords: count('how many committed action records are kept for sealing', 0).optional(),
      heldBack: fn('whether records wait in the spool').optional(),
    } satisfies Record<(typeof SEALER_OPTION_KEYS)[number], z.ZodType>,
    { error: 'give the sealer options as an object ({ maxBatch, lingerMs, … })' },
  )
  .strict();

export const RecorderOption = z
  .object(
    {
      lingerMs: ms('how long a write waits for company').optional(),
      maxBatch: count('the number of waiting records that flushes at once').optional(),
      retryForMs: ms('how long a failing store is retried without a spool').optional(),
      spool: z
        .custom<NonNullable<RecorderOptions['spool']>>(
          (s) => typeof (s as { append?: unknown } | undefined)?.append === 'function',
          "give a Spool, or leave it out and use the plugin's own `spool` option",
        )
        .optional(),
      drainEveryMs: count('how often spooled records are moved into the store (milliseconds)').optional(),
      onError: fn('what is told of a failed store write').optional(),
      onSealError: fn('what is told of failed sealing').optional(),
      sealer: SealerOption.optional(),
      onAlert: fn('what is told of loud, rare messages').optional(),
      onCommitted: fn('what is told of a committed batch').optional(),
      textCodec: z
        .custom<NonNullable<RecorderOptions['textCodec']>>(
          (c) => typeof (c as { encode?: unknown } | undefined)?.encode === 'function' && typeof (c as { decode?: unknown }).decode === 'function',
          'give a TextCodec (with encode and decode), or leave it out and give `payloadCodecs`',
        )
        .optional(),
    } satisfies Record<(typeof RECORDER_OPTION_KEYS)[number], z.ZodType>,
    { error: 'give the recorder options as an object ({ lingerMs, maxBatch, sealer, … })' },
  )
  .strict();
