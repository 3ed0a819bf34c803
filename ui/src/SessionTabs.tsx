/** The two ways to look at one session, as links so each is a URL of its own. */
import type { ReactNode } from 'react';
import { href } from './routes';

export function SessionTabs({ sessionId, current, children }: { sessionId: string; current: 'graph' | 'timeline'; children?: ReactNode }) {
  return (
    <div className="tabs" role="tablist">
      <a role="tab" aria-selected={current === 'graph'} className={current === 'graph' ? 'active' : ''} data-testid="tab-graph"
        href={href({ view: 'session', sessionId, scopeId: null, descendants: false })}>
        Scope tree
      </a>
      <a role="tab" aria-selected={current === 'timeline'} className={current === 'timeline' ? 'active' : ''} data-testid="tab-timeline"
        href={href({ view: 'timeline', sessionId, zoom: 1 })}>
        Timeline
      </a>
      <span className="tabs-extra">{children}</span>
    </div>
  );
}
