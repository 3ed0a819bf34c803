/** Reads the dashboard's JSON API; an error document becomes an Error carrying its message. */
import { useCallback, useEffect, useState } from 'react';
import type { ApiError } from '../../client/ui-api-types';
import { visible } from './format';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { signal, headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => null)) as T | ApiError | null;
  if (!res.ok) {
    const message = (body as ApiError | null)?.error?.message ?? `${res.status} ${res.statusText}`;
    // A message may quote a value from the store (an agent name, a URI).
    throw new ApiFailure(res.status, visible(message));
  }
  return body as T;
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiFailure | Error | undefined;
  loading: boolean;
  reload(): void;
}

/**
 * Fetches `path` (null: nothing to fetch) and refetches when it changes, when
 * `refreshKey` changes (a live change token; false: not yet) or on reload(). The last answer stays
 * shown while the next one loads, so a live page does not flicker.
 */
export function useApi<T>(path: string | null, refreshKey?: string | false | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    // false: the caller waits for something (a first live token) before fetching.
    if (path === null || refreshKey === false) return;
    const abort = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    getJson<T>(path, abort.signal).then(
      (data) => setState({ data, loading: false }),
      (error: Error) => {
        if (!abort.signal.aborted) setState({ error, loading: false });
      },
    );
    return () => abort.abort();
  }, [path, tick, refreshKey]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export const enc = encodeURIComponent;
