/** Small helpers shared by the benchmarks: arguments, statistics, formatting, temp dirs. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `--name value` from argv as a positive number, else `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** `--name a,b,c` as positive numbers, else `fallback`. */
export function listArg(name: string, fallback: number[]): number[] {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const values = String(process.argv[index + 1] ?? '')
    .split(',')
    .map(Number);
  if (values.length === 0 || values.some((value) => !Number.isFinite(value) || value <= 0)) throw new Error(`--${name} must be a comma-separated list of positive numbers`);
  return values;
}

/** `--name value` from argv as text, else `fallback` (also when `--name` is the last argument). */
export function textArg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

export const flagArg = (name: string): boolean => process.argv.includes(`--${name}`);

/** Nearest-rank percentile of unsorted numbers (p in 0..100); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export const max = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => (b > a ? b : a), -Infinity));
export const min = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => (b < a ? b : a), Infinity));

/** Right-aligned fixed-point number in a column of `width`. */
export const num = (value: number, digits = 0, width = 10): string => (Number.isFinite(value) ? value.toFixed(digits) : '-').padStart(width);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A temp directory removed by `remove()` (call it in a finally). */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One line describing the machine, printed at the top of every benchmark. */
export function machineNote(): string {
  const cpus = os.cpus();
  return `${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`;
}

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Logs warnings and errors to stderr (so a benchmark does not hide engine failures). */
export const stderrLogger = {
  info: () => undefined,
  warn: (object: object, message?: string) => process.stderr.write(`warn: ${message ?? ''} ${safeJson(object)}\n`),
  error: (object: object, message?: string) => process.stderr.write(`error: ${message ?? ''} ${safeJson(object)}\n`),
};

function safeJson(object: object): string {
  try {
    return JSON.stringify(object, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message } : value));
  } catch {
    return String(object);
  }
}
