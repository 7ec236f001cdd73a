import { describe, expect, it } from 'vitest';
import { canonicalJson, chainEvent, digestOf, GENESIS_HASH, verifyChain, type ChainedAuditEvent } from '../../src/core/audit/chain.js';

function buildChain(count: number): ChainedAuditEvent[] {
  const events: ChainedAuditEvent[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq += 1) {
    const event = chainEvent(prev, {
      seq, time: `2026-01-01T00:00:0${seq}.000Z`, actor: 'token:admin', action: 'create', kind: 'Service', name: `svc-${seq}`,
      beforeDigest: null, afterDigest: digestOf({ n: seq }), details: seq % 2 ? { reason: 'x' } : undefined,
    });
    events.push(event);
    prev = event.hash;
  }
  return events;
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
  });
  it('gives equal digests for equal values regardless of key order', () => {
    expect(digestOf({ a: 1, b: [2] })).toBe(digestOf({ b: [2], a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
    expect(digestOf(null)).toBeNull();
  });
  it('refuses non-finite numbers', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/non-finite/);
  });
});

describe('audit hash chain', () => {
  it('verifies an intact chain and reports its head', () => {
    const events = buildChain(5);
    expect(verifyChain(events)).toEqual({ ok: true, checked: 5, headHash: events[4]!.hash });
  });

  it('names an altered event', () => {
    const events = buildChain(5);
    events[2] = { ...events[2]!, actor: 'token:mallory' };
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 3, checked: 2, reason: expect.stringMatching(/altered/) });
  });

  it('names a removed event', () => {
    const events = buildChain(5);
    events.splice(1, 1);
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/removed or reordered/) });
  });

  it('names an event re-hashed without its successor being updated', () => {
    const events = buildChain(4);
    events[1] = chainEvent(events[0]!.hash, { ...events[1]!, actor: 'token:mallory' });
    expect(verifyChain(events)).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringMatching(/does not point/) });
  });

  it('continues a verification from a page boundary', () => {
    const events = buildChain(6);
    const first = verifyChain(events.slice(0, 3));
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(verifyChain(events.slice(3), first.headHash, 4)).toMatchObject({ ok: true, checked: 3 });
  });
});
