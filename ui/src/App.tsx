/** The dashboard shell: a header with the views, and hash routing (the server serves one page). */
import { useEffect, useState } from 'react';
import { SessionsView } from './SessionsView';
import { SessionView } from './SessionView';
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

export function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = route.view === 'session' ? `${route.sessionId} · scopetrail` : route.view === 'health' ? 'Agent health · scopetrail' : 'Sessions · scopetrail';
  }, [route]);
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="brand-mark" aria-hidden="true">◆</span> scopetrail
        </a>
        <nav>
          <a href="#/" className={route.view !== 'health' ? 'active' : ''} data-testid="nav-sessions">
            Sessions
          </a>
          <a href="#/health" className={route.view === 'health' ? 'active' : ''} data-testid="nav-health">
            Agent health
          </a>
        </nav>
      </header>
      <main>
        {route.view === 'sessions' && <SessionsView />}
        {route.view === 'session' && <SessionView sessionId={route.sessionId} scopeId={route.scopeId} />}
        {route.view === 'health' && <HealthView />}
      </main>
    </div>
  );
}
