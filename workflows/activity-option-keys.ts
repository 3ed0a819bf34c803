/**
 * Activity options given to useTools(), useLocalTools() and a model agent, checked for keys
 * Temporal's option types do not have. The SDK ignores an unknown key, so a mistyped
 * `maximumAttempt` would leave the default retry policy (retry for ever) in force unseen.
 * The lists are the option types of the Temporal SDK this package depends on: an option a
 * newer SDK adds is refused until it is added here.
 */
import { InvalidOptionError, likeliest } from '../cim/invalid-field';

const RETRY_KEYS = ['initialInterval', 'backoffCoefficient', 'maximumInterval', 'maximumAttempts', 'nonRetryableErrorTypes'];
const COMMON_KEYS = ['retry', 'startToCloseTimeout', 'scheduleToStartTimeout', 'scheduleToCloseTimeout', 'cancellationType', 'summary'];
const ACTIVITY_KEYS = [...COMMON_KEYS, 'activityId', 'taskQueue', 'heartbeatTimeout', 'allowEagerDispatch', 'versioningIntent', 'priority'];
const LOCAL_ACTIVITY_KEYS = [...COMMON_KEYS, 'localRetryThreshold'];

export interface ActivityOptionsCheck {
  /** Local activities' options (useLocalTools). */
  local?: boolean;
  /** Whether `perTool` overrides are taken (useTools and useLocalTools, a model agent's toolActivity). */
  perTool?: boolean;
  /** Where the options sit in what the caller gave (`toolActivity`), for the field an error names. */
  path?: string;
}

/** Throws an InvalidOptionError naming the first key no option type has, with the one likely meant. */
export function checkActivityOptions(context: string, options: unknown, { local = false, perTool = false, path = '' }: ActivityOptionsCheck = {}): void {
  if (!isRecord(options)) return;
  const known = [...(local ? LOCAL_ACTIVITY_KEYS : ACTIVITY_KEYS), ...(perTool ? ['perTool'] : [])];
  refuseUnknown(context, options, known, path);
  refuseUnknown(context, options.retry, RETRY_KEYS, join(path, 'retry'));
  if (perTool && isRecord(options.perTool)) {
    for (const [tool, own] of Object.entries(options.perTool)) checkActivityOptions(context, own, { local, path: join(path, `perTool.${tool}`) });
  }
}

function refuseUnknown(context: string, value: unknown, known: readonly string[], path: string): void {
  if (!isRecord(value)) return;
  const key = Object.keys(value).find((k) => !known.includes(k));
  if (key === undefined) return;
  const field = join(path, key);
  const meant = likeliest(key, known);
  throw new InvalidOptionError(`${context}: invalid field "${field}": not an option Temporal takes${meant ? ` (did you mean "${meant}"?)` : ''}`, field);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
