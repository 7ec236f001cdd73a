/**
 * Generated names for records created without one: `deployment-01j9z3k8q2m4x7c1b5`. The time
 * part sorts by creation, so listing by name lists in creation order; the random part keeps
 * names created in the same millisecond apart. Lowercase Crockford base32 fits DNS-1123 names.
 */
import { randomBytes } from 'node:crypto';
import type { KindName } from '../../core/resources/kinds.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(length: number): string {
  return [...randomBytes(length)].map((byte) => ALPHABET[byte % 32]!).join('');
}

export function generateName(kind: KindName, now: Date): string {
  return `${kind.toLowerCase()}-${encodeTime(now.getTime())}${encodeRandom(8)}`;
}
