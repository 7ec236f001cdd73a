import type { ReactNode } from 'react';
import { usePageTitle } from '../hooks/usePageTitle.js';

/** A page that is not built yet: its heading and a line saying so. */
export function Placeholder({ title, children }: { title: string; children?: ReactNode }) {
  usePageTitle(title);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      <p className="muted">This page is coming. {children}</p>
    </section>
  );
}
