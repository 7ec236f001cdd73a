/**
 * The route table: the one file a new page touches outside its own folder. Each page lives in
 * pages/<name>/ and default-exports its component; it is loaded on first visit (its own chunk),
 * so a page's libraries (charts, ...) do not weigh on the others.
 *
 * Paths use wouter's syntax (`/rollouts/:name`); a page reads its parameters with `useParams()`.
 */
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

export interface PageRoute {
  path: string;
  component: LazyExoticComponent<ComponentType>;
}

export interface NavItem {
  path: string;
  label: string;
}

const page = (load: () => Promise<{ default: ComponentType }>) => lazy(load);

export const ROUTES: readonly PageRoute[] = [
  { path: '/', component: page(() => import('./pages/overview/OverviewPage.js')) },
  { path: '/rollouts', component: page(() => import('./pages/rollouts/RolloutsPage.js')) },
  { path: '/rollouts/:name', component: page(() => import('./pages/rollouts/RolloutPage.js')) },
  { path: '/approvals', component: page(() => import('./pages/approvals/ApprovalsPage.js')) },
  { path: '/releases', component: page(() => import('./pages/releases/ReleasesPage.js')) },
  { path: '/releases/:name', component: page(() => import('./pages/releases/ReleasePage.js')) },
  { path: '/changes', component: page(() => import('./pages/changes/ChangesPage.js')) },
  { path: '/changes/:name', component: page(() => import('./pages/changes/ChangePage.js')) },
  { path: '/calendar', component: page(() => import('./pages/calendar/CalendarPage.js')) },
  { path: '/audit', component: page(() => import('./pages/audit/AuditPage.js')) },
];

/** The main navigation, in order. */
export const NAV_ITEMS: readonly NavItem[] = [
  { path: '/', label: 'Overview' },
  { path: '/rollouts', label: 'Rollouts' },
  { path: '/approvals', label: 'Approvals' },
  { path: '/releases', label: 'Releases' },
  { path: '/changes', label: 'Changes' },
  { path: '/calendar', label: 'Calendar' },
  { path: '/audit', label: 'Audit' },
];
