/** The dashboard shell: a header with the views, and hash routing (the server serves one page). */
import { useEffect, useState } from 'react';
import { SessionsView } from './SessionsView';
import { SessionView } from './SessionView';
import { TimelineView } from './TimelineView';
import { ResourcesView } from './ResourcesView';
import { HealthView } from './HealthView';
import { parseRoute, type Route } from './routes';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function title(route: Route): string {
  switch (route.view) {
    case 'session':
      return `${route.sessionId} · scopetrail`;
    case 'timeline':
      return `${route.sessionId} timeline · scopetrail`;
    case 'resources':
      return `${route.glob || 'Resources'} · scopetrail`;
    case 'health':
      return 'Agent health · scopetrail';
    case 'sessions':
      return 'Sessions · scopetrail';
  }
}

export function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = title(route);
  }, [route]);
  const section = route.view === 'health' ? 'health' : route.view === 'resources' ? 'resources' : 'sessions';
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="brand-mark" aria-hidden="true">◆</span> scopetrail
        </a>
        <nav>
          <a href="#/" className={section === 'sessions' ? 'active' : ''} data-testid="nav-sessions">
            Sessions
          </a>
          <a href="#/resources" className={section === 'resources' ? 'active' : ''} data-testid="nav-resources">
            Resources
          </a>
          <a href="#/health" className={section === 'health' ? 'active' : ''} data-testid="nav-health">
            Agent health
          </a>
        </nav>
      </header>
      <main>
        {route.view === 'sessions' && <SessionsView route={route} />}
        {route.view === 'session' && <SessionView sessionId={route.sessionId} scopeId={route.scopeId} descendants={route.descendants} />}
        {route.view === 'timeline' && <TimelineView sessionId={route.sessionId} zoom={route.zoom} />}
        {route.view === 'resources' && <ResourcesView route={route} />}
        {route.view === 'health' && <HealthView />}
      </main>
    </div>
  );
}
