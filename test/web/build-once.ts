/**
 * Vitest global setup: makes dist/web current before any suite runs, so the browser suites (one
 * file per page, running in parallel) serve the current sources.
 *
 * Several vitest processes may run at once (a developer's watch run and a full run), and a
 * `rollgate serve` of one may be serving dist/web to a browser while another builds. So:
 * - No build when dist/web is newer than every file (and folder) under web/, src/client and
 *   src/core: nothing it is built from changed. `ROLLGATE_WEB_BUILD=always` builds anyway;
 *   `ROLLGATE_SKIP_WEB_BUILD=1` never builds.
 * - Otherwise Vite builds into a fresh folder next to dist/web, which then replaces dist/web by
 *   renames (dist/web → dist/web.old-<pid>, the new one → dist/web, the old one removed): a server
 *   never sees a half-written or half-emptied dist/web. Vite's file names are content hashes, so
 *   two processes building the same sources produce the same files.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, type Stats } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(ROOT, 'dist');
const WEB_DIST = path.join(DIST, 'web');
/** What dist/web is built from. */
const SOURCES = ['web', 'src/client', 'src/core'].map((dir) => path.join(ROOT, dir));
/** Written by every build; its time is when the build started (see build()). */
const STAMP = path.join(WEB_DIST, 'index.html');

export default function setup(): void {
  const mode = process.env.ROLLGATE_SKIP_WEB_BUILD === '1' ? 'never' : process.env.ROLLGATE_WEB_BUILD === 'always' ? 'always' : 'auto';
  if (mode === 'never') return;
  removeAbandoned();
  if (mode === 'auto' && isCurrent()) return;
  build();
}

/** dist/web was built after the last change to any of its sources. */
function isCurrent(): boolean {
  const built = statOrNull(STAMP)?.mtimeMs;
  return built !== undefined && SOURCES.every((dir) => newestMtime(dir) < built);
}

/** The newest mtime of a folder, its files and its folders (a deleted file changes its folder's). */
function newestMtime(dir: string): number {
  let newest = statOrNull(dir)?.mtimeMs ?? 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(full) : (statOrNull(full)?.mtimeMs ?? 0);
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

function build(): void {
  const started = new Date();
  mkdirSync(DIST, { recursive: true });
  const fresh = mkdtempSync(path.join(DIST, `web.new-${process.pid}-`));
  try {
    execFileSync('npm', ['run', '--silent', 'build:web', '--', '--outDir', fresh, '--emptyOutDir'], { cwd: ROOT, stdio: 'pipe' });
    // A source saved while Vite ran is newer than this, so the next run builds again.
    utimesSync(path.join(fresh, 'index.html'), started, started);
    swapIn(fresh);
  } catch (error) {
    rmSync(fresh, { recursive: true, force: true });
    const output = (error as { stderr?: Buffer; stdout?: Buffer }).stderr?.toString() || (error as { stdout?: Buffer }).stdout?.toString();
    throw output ? new Error(`npm run build:web failed:\n${output}`, { cause: error }) : error;
  }
}

/**
 * Replaces dist/web with `fresh` by two renames. Another process may swap at the same moment: its
 * dist/web is then moved aside again (the two builds hold the same files), until ours is in place.
 */
function swapIn(fresh: string): void {
  const old = path.join(DIST, `web.old-${process.pid}`);
  rmSync(old, { recursive: true, force: true });
  for (let attempt = 0; ; attempt += 1) {
    try {
      renameSync(WEB_DIST, old);
    } catch (error) {
      if (code(error) !== 'ENOENT') throw error;
    }
    try {
      renameSync(fresh, WEB_DIST);
      break;
    } catch (error) {
      // Someone else's dist/web landed between our two renames.
      if (!['ENOTEMPTY', 'EEXIST'].includes(code(error) ?? '') || attempt >= 20) throw error;
      rmSync(old, { recursive: true, force: true });
    }
  }
  rmSync(old, { recursive: true, force: true });
}

/** dist/web.new-* and dist/web.old-* folders left by processes that no longer run (killed mid-build). */
function removeAbandoned(): void {
  if (!existsSync(DIST)) return;
  for (const name of readdirSync(DIST)) {
    const owner = /^web\.(?:new|old)-(\d+)/.exec(name);
    if (owner && !isRunning(Number(owner[1]))) rmSync(path.join(DIST, name), { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return code(error) === 'EPERM';
  }
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

const code = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;
