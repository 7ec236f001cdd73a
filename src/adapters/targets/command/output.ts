/**
 * Output handling shared by the `command` and `ansible` targets: splitting a stream into lines,
 * redacting secret values, the bounded "last lines" that go into a status message, reading the
 * tail of a version's log file, and endpoint parsing / templating.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is cut (the rest is dropped, marked with "…"). Large enough for Ansible's one-line JSON results. */
export const MAX_LINE_CHARS = 64 * 1024;

/** What a failed step's status message carries of its output: at most this many lines and bytes. */
export const MESSAGE_MAX_LINES = 10;
export const MESSAGE_MAX_BYTES = 2048;

/**
 * Request env values "may hold secrets" and the target cannot tell which ones are, so every value at
 * least this long is blanked out of captured output, messages and `logs()` (as the `process`
 * target does: shorter ones would blank out ordinary words and numbers).
 */
export const MIN_SECRET_LENGTH = 8;

/** Splits a byte stream into lines (without the line break; a trailing `\r` removed). */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.emit(part);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.emit(this.partial);
      this.partial = '';
    }
  }

  /** Emits a last line that had no line break. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emit(rest);
  }

  private emit(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    this.onLine(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
  }
}

/** The values of `env` long enough to be treated as secrets, longest first (so a secret containing another is blanked whole). */
export function secretValues(env: Readonly<Record<string, string>> | undefined, previous: readonly string[] = []): string[] {
  const values = new Set(previous);
  for (const value of Object.values(env ?? {})) if (value.length >= MIN_SECRET_LENGTH) values.add(value);
  return [...values].sort((a, b) => b.length - a.length);
}

/** Replaces every secret value with "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join('***');
  return result;
}

/** A bounded ring of the most recent lines. */
export class LineRing {
  private readonly lines: string[] = [];
  constructor(private readonly capacity: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }
  all(): string[] {
    return [...this.lines];
  }
}

/**
 * The last non-empty lines of `lines`, at most MESSAGE_MAX_LINES lines and MESSAGE_MAX_BYTES bytes
 * (UTF-8) in total: older lines are dropped first; a single line longer than the budget keeps its end.
 */
export function lastLinesForMessage(lines: readonly string[], maxLines = MESSAGE_MAX_LINES, maxBytes = MESSAGE_MAX_BYTES): string[] {
  const picked: string[] = [];
  let bytes = 0;
  for (let i = lines.length - 1; i >= 0 && picked.length < maxLines; i--) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const size = Buffer.byteLength(line, 'utf8') + (picked.length > 0 ? 1 : 0);
    if (bytes + size > maxBytes) {
      if (picked.length === 0) picked.unshift(`…${tailBytes(line, maxBytes - 4)}`);
      break;
    }
    picked.unshift(line);
    bytes += size;
  }
  return picked;
}

/** The end of `text` that fits in `maxBytes` UTF-8 bytes (never splitting a character). */
function tailBytes(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  let start = buffer.length - maxBytes;
  while (start < buffer.length && (buffer[start]! & 0xc0) === 0x80) start++;
  return buffer.subarray(start).toString('utf8');
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, keeping its beginning. */
export function headBytes(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  let end = maxBytes - 3;
  while (end > 0 && (buffer[end]! & 0xc0) === 0x80) end--;
  return `${buffer.subarray(0, end).toString('utf8')}…`;
}

/** At most this much of the end of a log file is read to answer `logs()`. */
const TAIL_READ_BYTES = 256 * 1024;

/** The last `count` lines of a file (a final line without newline included); null when the file does not exist. */
export function tailFile(file: string, count: number): string[] | null {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return null;
  }
  const n = Math.max(0, Math.floor(count));
  if (n === 0 || size === 0) return [];
  const start = Math.max(0, size - TAIL_READ_BYTES);
  const buffer = Buffer.alloc(size - start);
  const fd = openSync(file, 'r');
  let read = 0;
  try {
    while (read < buffer.length) {
      const got = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (got === 0) break;
      read += got;
    }
  } finally {
    closeSync(fd);
  }
  const lines = buffer.subarray(0, read).toString('utf8').split('\n');
  if (start > 0) lines.shift(); // began mid-line
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n).map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** "host:port" as routers take it: a DNS name or IPv4 address, or a bracketed IPv6 address. */
const ENDPOINT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

export function isEndpoint(value: string): boolean {
  const match = ENDPOINT.exec(value);
  if (!match) return false;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535;
}

/** The marker a deploy step prints to report where the version serves: `ROLLGATE_ENDPOINT=host:port`. */
export const ENDPOINT_MARKER = 'ROLLGATE_ENDPOINT=';

/** `ROLLGATE_ENDPOINT=host:port` as a whole line (surrounding blanks allowed): the `command` target's form. */
export function endpointOnLine(line: string): string | null {
  const trimmed = line.trim();
  return trimmed.startsWith(ENDPOINT_MARKER) ? trimmed.slice(ENDPOINT_MARKER.length) : null;
}

/** Every `ROLLGATE_ENDPOINT=host:port` anywhere in a line (Ansible prints them inside JSON: `{"msg": "ROLLGATE_ENDPOINT=…"}`). */
export function endpointsInText(line: string): string[] {
  const found: string[] = [];
  for (const match of line.matchAll(/ROLLGATE_ENDPOINT=([^\s"',\\]+)/g)) found.push(match[1]!);
  return found;
}

export interface EndpointTemplateValues {
  port: number | null;
  version: string;
  service: string;
  environment: string;
}

const PLACEHOLDERS = new Set(['port', 'version', 'service', 'environment']);

/** Throws when a template names a placeholder other than {{port}}, {{version}}, {{service}}, {{environment}}. */
export function checkEndpointTemplates(templates: readonly string[], who: string): void {
  for (const template of templates) {
    for (const match of template.matchAll(/\{\{\s*([^}\s]*)\s*\}\}/g)) {
      if (!PLACEHOLDERS.has(match[1]!)) {
        throw new TypeError(`${who}: endpoint template "${template}" uses {{${match[1]}}}; only {{port}}, {{version}}, {{service}} and {{environment}} exist`);
      }
    }
  }
}

/** Fills in the placeholders of an endpoint template. */
export function fillEndpoint(template: string, values: EndpointTemplateValues): string {
  return template.replace(/\{\{\s*(port|version|service|environment)\s*\}\}/g, (_all, name: string) => {
    const value = values[name as keyof EndpointTemplateValues];
    return value === null ? '' : String(value);
  });
}
