/**
 * Header routes for HAProxy as ONE regular expression over the request's header block.
 *
 * HAProxy cannot read a header whose name is only known at run time (`req.hdr(<name>)` takes a
 * constant), and a configuration change would need a reload. So the rendered frontend matches the
 * whole header block — the `req.hdrs` sample fetch, which HAProxy builds as `name: value\r\n` per
 * header line, names in lower case, values trimmed, ending with an empty line — against the keys
 * of a regex map (`map_reg`), and Rollgate sets the route by replacing that map's content through
 * the Runtime API. A route becomes one PCRE2 pattern: an anchored lookahead per match, so every
 * match must hold (AND) on some line, in any order:
 *
 *   \A(?=(?:[^\n]*\n)*?<line of match 1>)(?=(?:[^\n]*\n)*?<line of match 2>)...
 *
 * Semantics, per match (the embedded router's, src/proxy/routing.ts, with the differences noted):
 * - header: a line with that name whose value equals `exact`, starts with `prefix`, and in which
 *   `regex` is found; a header sent on several lines matches when one of its lines does.
 * - `cookie:NAME`: a `name=value` pair in a Cookie line, value trimmed and unquoted as the embedded
 *   router does. Difference: any pair with that name counts, not only the first.
 * - `regex` is JavaScript syntax translated to PCRE2 for ASCII patterns: searched anywhere in the
 *   value; `^` and `$` anchor at the value's start and end; `.`, `\s`, `\W`, `\D` and negated
 *   classes never cross into the next line (or, in a cookie, past the pair's `;`). Refused, with a
 *   reason: non-ASCII characters, `\u` escapes, `\W`/`\D` inside a class, and flags syntax. For
 *   cookies, `^` holds after `=`, a blank or a quote (an approximation of "at the value's start").
 *
 * The pattern holds no literal blank (spaces become `\x20`), so it is a single word both in a map
 * file and on the CLI.
 */
import type { HeaderRoute } from '../../../ports/traffic-router.js';
import { compileHeaderRoute } from '../../../proxy/routing.js';

/** Every byte outside [A-Za-z0-9_] as \xHH: a literal for PCRE2 (no UTF mode), with no blank. */
export function pcreLiteral(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_]/.test(c) ? c : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Characters that end a value: the line for a header, also `;` for a cookie. */
type Context = 'header' | 'cookie';

/**
 * Translates a JavaScript regex (searched in a value) to PCRE2 that stays inside the value, with
 * `^` → `startAssertion` and `$` → `endAssertion`.
 */
export function translateValueRegex(source: string, context: Context, startAssertion: string, endAssertion: string): string {
  const where = `regex ${JSON.stringify(source)}`;
  if (/[^\x00-\x7f]/.test(source)) throw new TypeError(`${where}: the HAProxy router takes ASCII patterns only (write other characters as \\xHH escapes of their UTF-8 bytes)`);
  const stops = context === 'header' ? '\\r\\n' : ';\\r\\n';
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined) throw new TypeError(`${where}: ends with a lone backslash`);
      i++;
      if (n === 'u') throw new TypeError(`${where}: \\u escapes are JavaScript-only; write \\xHH for ASCII`);
      if (n === 's') {
        out += inClass ? '\\t\\x0b\\x0c\\x20' : '[\\t\\x0b\\x0c\\x20]';
        // In JavaScript `[\s-z]` holds a literal `-`; after the expansion it would make a range.
        if (inClass && source[i + 1] === '-') {
          out += '\\-';
          i++;
        }
        continue;
      }
      if (n === 'W' || n === 'D') {
        if (inClass) throw new TypeError(`${where}: \\${n} inside a character class is not supported by the HAProxy router`);
        out += `[^${n === 'W' ? '\\w' : '\\d'}${stops}]`;
        continue;
      }
      if (n === ' ') {
        out += '\\x20';
        continue;
      }
      out += `\\${n}`;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
        continue;
      }
      out += c === ' ' ? '\\x20' : c === '\t' ? '\\t' : c;
      continue;
    }
    switch (c) {
      case '[': {
        inClass = true;
        out += '[';
        if (source[i + 1] === '^') {
          out += `^${stops}`;
          i++;
        }
        // A `]` right after `[` or `[^` is a literal in PCRE, but an empty class in JavaScript.
        if (source[i + 1] === ']') throw new TypeError(`${where}: an empty character class ([] or [^]) is not supported by the HAProxy router`);
        break;
      }
      case '.':
        out += `[^${stops}]`;
        break;
      case '^':
        out += startAssertion;
        break;
      case '$':
        out += endAssertion;
        break;
      case ' ':
        out += '\\x20';
        break;
      case '\t':
        out += '\\t';
        break;
      case '(':
        if (source[i + 1] === '?' && /^[imsxn-]/.test(source[i + 2] ?? '')) throw new TypeError(`${where}: inline flags are not supported by the HAProxy router`);
        out += c;
        break;
      default:
        out += c;
    }
  }
  if (inClass) throw new TypeError(`${where}: unterminated character class`);
  return out;
}

const SKIP_LINES = '(?:[^\\n]*\\n)*?';

function headerLine(name: string, exact: string | undefined, prefix: string | undefined, regex: string | undefined): string {
  const n = `(?i:${pcreLiteral(name)})`;
  let line = `${n}:\\x20`;
  if (exact !== undefined) line += `(?=${pcreLiteral(exact)}\\r\\n)`;
  if (prefix !== undefined) line += `(?=${pcreLiteral(prefix)})`;
  if (regex !== undefined) {
    const start = `(?<=\\n${n}:\\x20|\\A${n}:\\x20)`;
    line += `(?=[^\\r\\n]*?(?:${translateValueRegex(regex, 'header', start, '(?=\\r\\n)')}))`;
  }
  return line;
}

function cookieLine(cookie: string, exact: string | undefined, prefix: string | undefined, regex: string | undefined): string {
  // A pair starts the value or follows a `;`; blanks around the name, `=` and the value are trimmed.
  let line = `(?i:cookie):\\x20(?:[^\\r\\n]*?;)?[\\t\\x20]*${pcreLiteral(cookie)}[\\t\\x20]*=[\\t\\x20]*`;
  const end = '[\\t\\x20]*(?:;|\\r\\n)';
  if (exact !== undefined) {
    const e = pcreLiteral(exact);
    line += `(?=(?:${e}|\\x22${e}\\x22)${end})`;
  }
  if (prefix !== undefined) {
    const p = pcreLiteral(prefix);
    line += `(?=(?:\\x22${p}[^;\\r\\n]*\\x22|${p}[^;\\r\\n]*)${end})`;
  }
  if (regex !== undefined) {
    line += `(?=[^;\\r\\n]*?(?:${translateValueRegex(regex, 'cookie', '(?<=[=\\t\\x20\\x22])', '(?=\\x22?[\\t\\x20]*(?:;|\\r\\n))')}))`;
  }
  return line;
}

/**
 * The PCRE2 pattern for `route` (validated as the embedded router validates it: a name, at least
 * one match, header names that are tokens, regexes that compile in JavaScript).
 */
export function headerRoutePattern(route: HeaderRoute): string {
  const compiled = compileHeaderRoute(route);
  let pattern = '\\A';
  for (const m of compiled.spec.match) {
    const lower = m.headerName.toLowerCase();
    const line = lower.startsWith('cookie:')
      ? cookieLine(m.headerName.slice('cookie:'.length), m.exact, m.prefix, m.regex)
      : headerLine(lower, m.exact, m.prefix, m.regex);
    pattern += `(?=${SKIP_LINES}${line})`;
  }
  return pattern;
}
