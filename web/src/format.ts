/** Formatting helpers shared by pages. Pure, so pages and tests agree on every label. */
import { ApiError, ConnectionError, UnexpectedResponseError } from '../../src/client/index.js';

/** One line naming what went wrong, for an error shown next to what failed to load or run. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const detail = error.problem.detail && error.problem.detail !== error.problem.title ? `: ${error.problem.detail}` : '';
    return `${error.request} answered ${error.status} ${error.problem.title}${detail}`;
  }
  if (error instanceof ConnectionError || error instanceof UnexpectedResponseError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** `950ms`, `12s`, `2m05s`, `1h04m`, `3d2h` (the CLI's style). */
export function formatDuration(ms: number): string {
  const abs = Math.max(0, Math.round(ms));
  if (abs < 1000) return `${abs}ms`;
  const seconds = Math.floor(abs / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${hours % 24}h`;
}

/** `12s ago`, `in 1m30s`, `just now`; `—` for no time. */
export function formatRelative(at: number | string | null | undefined, now: number = Date.now()): string {
  if (at === null || at === undefined) return '—';
  const time = typeof at === 'string' ? Date.parse(at) : at;
  if (Number.isNaN(time)) return '—';
  const delta = now - time;
  if (Math.abs(delta) < 1000) return 'just now';
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

/** An absolute time in the viewer's locale and zone, for `title` / `<time dateTime>`. */
export function formatTimestamp(at: number | string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? '—' : date.toLocaleString();
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
