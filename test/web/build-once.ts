/**
 * Vitest global setup: builds the web UI (dist/web) once before any suite runs, so the browser
 * suites (one file per page, running in parallel) serve the current sources and never race each
 * other writing dist/web. Vite takes about a second.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup(): void {
  if (process.env.ROLLGATE_SKIP_WEB_BUILD === '1') return;
  execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: 'pipe' });
}
