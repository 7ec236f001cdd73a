/**
 * Request classification for the embedded proxy: header routes (compiled once when set, matched
 * per request without allocation or regex compilation) and cookie lookup.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HeaderRoute } from '../ports/traffic-router.js';

interface CompiledMatch {
  /** Lower-cased request header name, or null when this matches a cookie. */
  readonly header: string | null;
  /** Cookie name for `cookie:NAME` matches. */
  readonly cookie: string | null;
  readonly exact: string | undefined;
  readonly prefix: string | undefined;
  readonly regex: RegExp | undefined;
}

export interface CompiledRoute {
  readonly name: string;
  /** A frozen copy of the route as it was set. */
  readonly spec: HeaderRoute;
  readonly matches: readonly CompiledMatch[];
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Validates and compiles a header route. Semantics per match: the header (or cookie) must be
 * present, and every one of `exact` (equality), `prefix` and `regex` given must hold. `regex` is
 * searched anywhere in the value (JavaScript syntax): anchor it with ^...$ for a full match. A
 * header sent several times matches when any of its values does.
 */
export function compileHeaderRoute(route: HeaderRoute): CompiledRoute {
  if (typeof route?.name !== 'string' || route.name.length === 0) throw new TypeError('header route: name must be a non-empty string');
  if (!Array.isArray(route.match) || route.match.length === 0) {
    throw new TypeError(`header route "${route.name}": match must list at least one header (an empty match would send all traffic to the canary)`);
  }
  const matches = route.match.map((m, i): CompiledMatch => {
    const where = `header route "${route.name}": match[${i}]`;
    if (typeof m?.headerName !== 'string') throw new TypeError(`${where}.headerName must be a string`);
    let header: string | null = null;
    let cookie: string | null = null;
    if (m.headerName.toLowerCase().startsWith('cookie:')) {
      cookie = m.headerName.slice('cookie:'.length);
      if (cookie.length === 0) throw new TypeError(`${where}.headerName "cookie:" needs a cookie name`);
    } else {
      if (!HEADER_NAME.test(m.headerName)) throw new TypeError(`${where}.headerName "${m.headerName}" is not a valid header name`);
      header = m.headerName.toLowerCase();
    }
    for (const key of ['exact', 'prefix', 'regex'] as const) {
      if (m[key] !== undefined && typeof m[key] !== 'string') throw new TypeError(`${where}.${key} must be a string`);
    }
    let regex: RegExp | undefined;
    if (m.regex !== undefined) {
      try {
        regex = new RegExp(m.regex);
      } catch (err) {
        throw new TypeError(`${where}.regex is not a valid regular expression: ${(err as Error).message}`);
      }
    }
    return Object.freeze({ header, cookie, exact: m.exact, prefix: m.prefix, regex });
  });
  const spec: HeaderRoute = Object.freeze({
    name: route.name,
    match: Object.freeze(route.match.map((m) => Object.freeze({ ...m }))) as HeaderRoute['match'],
  });
  return Object.freeze({ name: route.name, spec, matches: Object.freeze(matches) });
}

function valueMatches(m: CompiledMatch, value: string): boolean {
  if (m.exact !== undefined && value !== m.exact) return false;
  if (m.prefix !== undefined && !value.startsWith(m.prefix)) return false;
  if (m.regex !== undefined && !m.regex.test(value)) return false;
  return true;
}

/** True when every match of `route` holds for these request headers. */
export function routeMatches(route: CompiledRoute, headers: IncomingHttpHeaders): boolean {
  const matches = route.matches;
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i]!;
    if (m.cookie !== null) {
      const value = getCookie(headers.cookie, m.cookie);
      if (value === undefined || !valueMatches(m, value)) return false;
      continue;
    }
    const value = headers[m.header!];
    if (value === undefined) return false;
    if (typeof value === 'string') {
      if (!valueMatches(m, value)) return false;
    } else {
      let any = false;
      for (let j = 0; j < value.length; j++) {
        if (valueMatches(m, value[j]!)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
    }
  }
  return true;
}

/**
 * The value of cookie `name` in a Cookie header (`a=1; b=2`), or undefined. Scans the string
 * without splitting it; surrounding double quotes are removed.
 */
export function getCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length === 0) return undefined;
  const len = header.length;
  let pos = 0;
  while (pos < len) {
    // Skip separators and whitespace before a pair.
    let c = header.charCodeAt(pos);
    while (pos < len && (c === 32 || c === 9 || c === 59)) c = header.charCodeAt(++pos);
    if (pos >= len) return undefined;
    let end = header.indexOf(';', pos);
    if (end === -1) end = len;
    const eq = header.indexOf('=', pos);
    if (eq !== -1 && eq < end) {
      let nameEnd = eq;
      while (nameEnd > pos && (header.charCodeAt(nameEnd - 1) === 32 || header.charCodeAt(nameEnd - 1) === 9)) nameEnd--;
      if (nameEnd - pos === name.length && header.startsWith(name, pos)) {
        let vs = eq + 1;
        let ve = end;
        while (vs < ve && (header.charCodeAt(vs) === 32 || header.charCodeAt(vs) === 9)) vs++;
        while (ve > vs && (header.charCodeAt(ve - 1) === 32 || header.charCodeAt(ve - 1) === 9)) ve--;
        if (ve - vs >= 2 && header.charCodeAt(vs) === 34 && header.charCodeAt(ve - 1) === 34) {
          vs++;
          ve--;
        }
        return header.slice(vs, ve);
      }
    }
    pos = end + 1;
  }
  return undefined;
}
