import { useEffect } from 'react';

/** Sets `document.title` to "<title> · Rollgate" (what tabs, history and screen readers name the page). */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Rollgate`;
  }, [title]);
}
