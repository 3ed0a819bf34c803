/**
 * Whether a workflow type is one of scopetrail's agents, as a plain Temporal Client carrying
 * the plugin can tell: the agents of this process's workers, else those the store's workers
 * registered (read again, at most every REREAD_MS, when a type is not among them). The
 * client marks only agents' starts: its memo on a workflow of the user's own was noise on
 * their runs, and made a terminated one look like a session whose row the worker then wrote.
 */
import type { Store } from '../store/types';
import { answerWithin } from '../cim/answer-within';

export const REREAD_MS = 30_000;
/** The longest a start waits for the store's answer: a store slow to answer does not hold the user's starts. */
export const ANSWER_MS = 2_000;

export class AgentTypes {
  private registered = new Set<string>();
  private readAt = Number.NEGATIVE_INFINITY;
  /** Until when a store that failed to answer is not asked again. */
  private quietUntil = Number.NEGATIVE_INFINITY;
  private reading: Promise<boolean> | undefined;

  constructor(
    private readonly store: Pick<Store, 'manifests'>,
    /** The agents this process's workers run (known without asking the store). */
    private readonly local: () => Iterable<string>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `type` is an agent; undefined when the store cannot tell now (down, or slow to answer). */
  async isAgent(type: string): Promise<boolean | undefined> {
    for (const name of this.local()) if (name === type) return true;
    if (this.registered.has(type)) return true;
    if (this.now() - this.readAt < REREAD_MS) return false;
    if (this.now() < this.quietUntil) return undefined;
    this.reading ??= this.store.manifests().then(
      (manifests) => {
        this.registered = new Set(manifests.map((m) => m.name));
        this.readAt = this.now();
        return true;
      },
      () => {
        this.quietUntil = this.now() + REREAD_MS;
        return false;
      },
    ).finally(() => (this.reading = undefined));
    const read = await answerWithin(this.reading, ANSWER_MS, false);
    return read ? this.registered.has(type) : undefined;
  }
}
