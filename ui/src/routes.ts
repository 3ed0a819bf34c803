/** Hash routes: the server serves one page, the view is chosen by the part after #. */
export type Route =
  | { view: 'sessions' }
  | { view: 'session'; sessionId: string; scopeId: string | null }
  | { view: 'health' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(safeDecode);
  if (parts[0] === 'sessions' && parts[1]) {
    return { view: 'session', sessionId: parts[1], scopeId: parts[2] === 'scopes' && parts[3] ? parts[3] : null };
  }
  if (parts[0] === 'health') return { view: 'health' };
  return { view: 'sessions' };
}

export function href(route: Route): string {
  switch (route.view) {
    case 'sessions':
      return '#/';
    case 'health':
      return '#/health';
    case 'session':
      return `#/sessions/${encodeURIComponent(route.sessionId)}${route.scopeId ? `/scopes/${encodeURIComponent(route.scopeId)}` : ''}`;
  }
}

/** A hand-typed hash may hold a stray %: keep it as typed rather than fail. */
function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
