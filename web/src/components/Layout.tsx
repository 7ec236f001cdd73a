import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { NAV_ITEMS } from '../routes.js';
import { useSession } from '../session.js';
import { LiveIndicator } from './LiveIndicator.js';

/** Header (brand, live state, user, sign-out), navigation and the page in `<main>`. */
export function Layout({ children }: { children: ReactNode }) {
  const { user, signOut } = useSession();
  const [location] = useLocation();
  const isCurrent = (path: string) => (path === '/' ? location === '/' : location === path || location.startsWith(`${path}/`));
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Rollgate</span>
        <LiveIndicator />
        <span className="user" data-testid="current-user">
          <span className="user-name">{user.user}</span> <span className="badge role">{user.role}</span>
        </span>
        <button type="button" className="link-button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <nav className="nav" aria-label="Main">
        <ul>
          {NAV_ITEMS.map((item) => (
            <li key={item.path}>
              <Link href={item.path} aria-current={isCurrent(item.path) ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
