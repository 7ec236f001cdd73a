import { describe, expect, it } from 'vitest';
import { compileHeaderRoute, getCookie, routeMatches } from '../../src/proxy/index.js';

describe('getCookie', () => {
  it.each([
    ['a=1; b=2', 'b', '2'],
    ['a=1;b=2', 'b', '2'],
    ['  a = 1 ;  b =  2  ', 'b', '2'],
    ['ab=1; b=2', 'b', '2'],
    ['b=; c=3', 'b', ''],
    ['b="quoted value"', 'b', 'quoted value'],
    ['x=1=2', 'x', '1=2'],
    ['a=1; b=2', 'c', undefined],
    ['flag; b=2', 'b', '2'],
    ['', 'b', undefined],
  ])('%j → %s = %j', (header, name, expected) => {
    expect(getCookie(header, name)).toBe(expected);
  });
  it('handles a missing header', () => {
    expect(getCookie(undefined, 'a')).toBeUndefined();
  });
});

describe('header routes', () => {
  const route = compileHeaderRoute({
    name: 'r',
    match: [
      { headerName: 'X-Tenant', prefix: 'acme-', regex: '-(eu|us)$' },
      { headerName: 'cookie:beta', exact: 'yes' },
      { headerName: 'X-Present' },
    ],
  });

  it('requires every match (AND), case-insensitive header names, cookie matches', () => {
    expect(routeMatches(route, { 'x-tenant': 'acme-eu', cookie: 'beta=yes', 'x-present': '' })).toBe(true);
    expect(routeMatches(route, { 'x-tenant': 'acme-eu', cookie: 'beta=yes' })).toBe(false);
    expect(routeMatches(route, { 'x-tenant': 'acme-apac', cookie: 'beta=yes', 'x-present': '1' })).toBe(false);
    expect(routeMatches(route, { 'x-tenant': 'other-eu', cookie: 'beta=yes', 'x-present': '1' })).toBe(false);
    expect(routeMatches(route, { 'x-tenant': 'acme-us', cookie: 'beta=no', 'x-present': '1' })).toBe(false);
    expect(routeMatches(route, { 'x-tenant': 'acme-us', 'x-present': '1' })).toBe(false);
  });

  it('a header sent several times matches when any value does', () => {
    const multi = compileHeaderRoute({ name: 'm', match: [{ headerName: 'x-multi', exact: 'b' }] });
    expect(routeMatches(multi, { 'x-multi': ['a', 'b'] } as never)).toBe(true);
    expect(routeMatches(multi, { 'x-multi': ['a', 'c'] } as never)).toBe(false);
  });

  it('freezes a copy of the spec and validates it', () => {
    const spec = { name: 'n', match: [{ headerName: 'x-a', exact: '1' }] };
    const compiled = compileHeaderRoute(spec);
    spec.match[0]!.exact = '2';
    expect(compiled.spec.match[0]!.exact).toBe('1');
    expect(Object.isFrozen(compiled.spec.match[0])).toBe(true);
    expect(() => compileHeaderRoute({ name: '', match: [{ headerName: 'x' }] })).toThrow(/name/);
    expect(() => compileHeaderRoute({ name: 'n', match: [{ headerName: 'bad header' }] })).toThrow(/valid header name/);
    expect(() => compileHeaderRoute({ name: 'n', match: [{ headerName: 'cookie:' }] })).toThrow(/cookie name/);
  });
});
