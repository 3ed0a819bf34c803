/** A rolled-up status as a coloured pill, with the recovered marker when a retry absorbed a failure. */
import type { ReactNode } from 'react';
import type { ScopeRecord } from '../../client/ui-api-types';

export function StatusBadge({ status, recovered = false }: { status: ScopeRecord['status'] | string; recovered?: boolean }) {
  return (
    <span className="status-cell">
      <span className={`badge status-${status}`} data-testid="status-badge">
        {status}
      </span>
      {recovered && <RecoveredMark />}
    </span>
  );
}

export function RecoveredMark() {
  return (
    <span className="recovered" title="recovered: a failed attempt later succeeded" data-testid="recovered-mark">
      ↻ recovered
    </span>
  );
}

export function Message({ kind, children }: { kind: 'error' | 'info' | 'warn'; children: ReactNode }) {
  return (
    <div className={`message message-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
