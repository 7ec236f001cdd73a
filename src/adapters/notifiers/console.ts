/**
 * Notifier that writes one line per event to a writable stream (stdout by default): for people
 * watching a terminal (`text`) or for a log shipper (`json`, one JSON object per line).
 *
 * text: `<time> <type> <kind>/<name> id=<id> key=value ...` — values that contain spaces, quotes,
 * `=` or control characters are JSON-quoted, nested values are JSON, so a line never breaks.
 */
import type { NotificationEvent, Notifier } from '../../ports/notifier.js';

export interface ConsoleNotifierOptions {
  /** Default 'text'. */
  format?: 'text' | 'json';
}

const BARE = /^[\w.:/@+%,-]+$/;

function renderValue(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value);
  return json === undefined ? JSON.stringify(String(value)) : json;
}

export function formatEventLine(event: NotificationEvent, format: 'text' | 'json' = 'text'): string {
  if (format === 'json') return JSON.stringify(event);
  const parts = [
    renderValue(event.time),
    renderValue(event.type),
    `${renderValue(event.subject.kind)}/${renderValue(event.subject.name)}`,
    `id=${renderValue(event.id)}`,
  ];
  for (const [key, value] of Object.entries(event.data ?? {})) {
    parts.push(`${BARE.test(key) ? key : JSON.stringify(key)}=${renderValue(value)}`);
  }
  return parts.join(' ');
}

export class ConsoleNotifier implements Notifier {
  private readonly format: 'text' | 'json';

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stdout,
    options: ConsoleNotifierOptions = {},
  ) {
    this.format = options.format ?? 'text';
  }

  /** Resolves once the stream accepted the line (its write callback ran). */
  notify(event: NotificationEvent): Promise<void> {
    const line = `${formatEventLine(event, this.format)}\n`;
    return new Promise((resolve, reject) => {
      this.stream.write(line, (error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}
