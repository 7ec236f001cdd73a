import { useEffect, useState } from 'react';
import { useLiveState } from '../live.js';

/** "Live" or "Reconnecting in 4s", announced politely to screen readers when it changes. */
export function LiveIndicator() {
  const state = useLiveState();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (state.status !== 'reconnecting') return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [state.status]);

  let label: string;
  let title: string | undefined;
  switch (state.status) {
    case 'connecting':
      label = 'Connecting…';
      break;
    case 'live':
      label = 'Live';
      title = 'Changes appear as they happen';
      break;
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      label = seconds > 0 ? `Reconnecting in ${seconds}s` : 'Reconnecting…';
      title = `Live updates interrupted: ${state.reason}`;
      break;
    }
    case 'stopped':
      label = 'Not live';
      title = state.reason;
      break;
  }
  return (
    <span className={`live live-${state.status}`} role="status" title={title} data-testid="live-indicator">
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
