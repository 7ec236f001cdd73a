/**
 * Blanks secret values out of text Rollgate writes: captured target output, version and rollout
 * status messages, audit event details, log lines. Built from the values `resolveEnv` returned,
 * it also catches the forms a value commonly takes on the way out:
 *
 * - as written;
 * - escaped inside a JSON string (a log line or a status document: quotes, backslashes, newlines);
 * - percent-encoded (a URL or query string);
 * - base64 and base64url of its UTF-8 bytes (a value encoded on its own, e.g. a token printed
 *   as base64; base64 of a longer text that merely contains the value cannot be recognised);
 * - each line of a multi-line value (PEM keys: output is captured line by line).
 *
 * Values (and forms) shorter than MIN_REDACTED_LENGTH are left alone: blanking every "on" or "1"
 * out of every log would destroy the logs and protect nothing. Pure: no I/O.
 */

/** What a secret value is replaced with. JSON-safe (no quote or backslash), so a redacted JSON line stays valid. */
export const REDACTED = '[redacted]';

/** Shorter values and forms are not redacted (see the file comment). */
export const MIN_REDACTED_LENGTH = 4;

/** The UTF-8 bytes of `text` in base64 (padded), without Node's Buffer so core stays portable. */
function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every form of `value` the redactor looks for (including `value`), each at least MIN_REDACTED_LENGTH long. */
export function redactedForms(value: string): string[] {
  if (value.length < MIN_REDACTED_LENGTH) return [];
  const forms = new Set<string>([value]);
  forms.add(JSON.stringify(value).slice(1, -1));
  forms.add(encodeURIComponent(value));
  const b64 = base64(value);
  forms.add(b64);
  forms.add(b64.replace(/=+$/, ''));
  forms.add(b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= MIN_REDACTED_LENGTH) forms.add(line.trim());
  }
  return [...forms].filter((form) => form.length >= MIN_REDACTED_LENGTH);
}

/**
 * A growing set of secret values and the text filter built from them. One per control-plane
 * process (every value any spec resolved) or one per version (exactly that version's values).
 */
export class SecretRedactor {
  readonly #values = new Set<string>();
  readonly #forms = new Set<string>();
  #pattern: RegExp | null = null;
  #longest = 0;

  constructor(values: Iterable<string> = []) {
    this.add(values);
  }

  /** Adds values to blank out (repeats and short values are ignored). */
  add(values: Iterable<string>): this {
    for (const value of values) {
      if (typeof value !== 'string' || this.#values.has(value)) continue;
      this.#values.add(value);
      for (const form of redactedForms(value)) {
        if (this.#forms.has(form)) continue;
        this.#forms.add(form);
        this.#pattern = null;
        this.#longest = Math.max(this.#longest, form.length);
      }
    }
    return this;
  }

  /** How many distinct values it holds (short ones included). */
  get size(): number {
    return this.#values.size;
  }

  /** True when `text` holds some secret value (in any recognised form). */
  matches(text: string): boolean {
    const pattern = this.#regex();
    if (!pattern) return false;
    pattern.lastIndex = 0;
    return pattern.test(text);
  }

  /** `text` with every secret value (in every recognised form) replaced by REDACTED. */
  redact(text: string): string {
    const pattern = this.#regex();
    if (!pattern || typeof text !== 'string') return text;
    return text.replace(pattern, REDACTED);
  }

  /**
   * A copy of a JSON-like value with every string (object keys included) redacted; the value itself
   * when nothing needed redacting (so callers can compare by identity).
   */
  redactDeep<T>(value: T): T {
    if (!this.#regex()) return value;
    return this.#deep(value) as T;
  }

  /** Length of the longest form: how much text a stream must hold back (StreamRedactor). */
  get longestForm(): number {
    return this.#longest;
  }

  /** Where secret values (in any form) are in `text`: [start, end) pairs, in order, not overlapping. */
  spans(text: string): Array<[number, number]> {
    const pattern = this.#regex();
    if (!pattern) return [];
    return [...text.matchAll(pattern)].map((match) => [match.index, match.index + match[0].length]);
  }

  /** Whether some form starts with `tail` (a stream must hold such a tail back until it knows more). */
  isPrefixOfSome(tail: string): boolean {
    for (const form of this.#forms) if (form.length > tail.length && form.startsWith(tail)) return true;
    return false;
  }

  #deep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) {
      let copy: unknown[] | null = null;
      value.forEach((item, index) => {
        const next = this.#deep(item);
        if (next !== item) (copy ??= [...value])[index] = next;
      });
      return copy ?? value;
    }
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      let changed = false;
      const entries = Object.entries(value).map(([key, item]) => {
        const nextKey = this.redact(key);
        const nextItem = this.#deep(item);
        if (nextKey !== key || nextItem !== item) changed = true;
        return [nextKey, nextItem] as const;
      });
      return changed ? Object.fromEntries(entries) : value;
    }
    return value;
  }

  #regex(): RegExp | null {
    if (this.#forms.size === 0) return null;
    if (!this.#pattern) {
      // Longest first, so a value that contains another value is blanked out whole.
      const alternatives = [...this.#forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#pattern = new RegExp(alternatives.join('|'), 'g');
    }
    return this.#pattern;
  }
}

/**
 * Redacts a stream of text chunks (a command's stdout piped to a log file), where a value may be
 * split across two chunks: the end of a chunk that could be the start of a value is held back
 * until the next chunk (or `end()`) tells. What comes out, joined, is exactly
 * `redactor.redact(everything written)`, and nothing is held back that could not start a value.
 */
export class StreamRedactor {
  #pending = '';

  constructor(private readonly redactor: SecretRedactor) {}

  /** Redacted text that is safe to write now (possibly empty). */
  write(chunk: string): string {
    const text = this.#pending + chunk;
    const longest = this.redactor.longestForm;
    // The first position from which the rest of the text could still grow into a value. Earlier
    // positions are settled: every form starting there either fits in `text` or cannot match.
    let open = text.length;
    for (let start = Math.max(0, text.length - longest + 1); start < text.length; start += 1) {
      if (this.redactor.isPrefixOfSome(text.slice(start))) {
        open = start;
        break;
      }
    }
    // A settled match that runs past `open` is emitted whole (it cannot change any more).
    let cut = open;
    if (open < text.length) {
      for (const [start, end] of this.redactor.spans(text)) {
        if (start >= open) break;
        if (end > open) cut = end;
      }
    }
    this.#pending = text.slice(cut);
    return this.redactor.redact(text.slice(0, cut));
  }

  /** Whatever was held back, redacted. */
  end(): string {
    const rest = this.redactor.redact(this.#pending);
    this.#pending = '';
    return rest;
  }
}
