import { describe, expect, it } from 'vitest';
import { MIN_REDACTED_LENGTH, REDACTED, redactedForms, SecretRedactor, StreamRedactor } from '../../src/core/secrets/redact.js';
import { mulberry32 } from '../../src/core/analysis/kayenta/random.js';

describe('SecretRedactor', () => {
  const secret = 'hunter2-Sup3r/S3cret+value';

  it('blanks a value out wherever it appears, in every recognised form', () => {
    const redactor = new SecretRedactor([secret]);
    const b64 = Buffer.from(secret).toString('base64');
    const texts = [
      `password=${secret}`,
      JSON.stringify({ message: `failed: ${secret}` }),
      `https://example.test/?token=${encodeURIComponent(secret)}`,
      `Authorization: Basic ${b64}`,
      `b64url ${Buffer.from(secret).toString('base64url')}`,
    ];
    for (const text of texts) {
      const redacted = redactor.redact(text);
      expect(redacted).toContain(REDACTED);
      expect(redacted).not.toContain(secret);
      expect(redacted).not.toContain(b64);
      expect(redacted).not.toContain(encodeURIComponent(secret));
    }
  });

  it('catches a value escaped inside JSON (quotes, backslashes, newlines) and keeps the JSON valid', () => {
    const awkward = 'a"b\\c\nd-long-enough';
    const redactor = new SecretRedactor([awkward]);
    const line = JSON.stringify({ msg: 'oops', value: awkward, nested: { list: [awkward] } });
    const redacted = redactor.redact(line);
    expect(JSON.parse(redacted)).toEqual({ msg: 'oops', value: REDACTED, nested: { list: [REDACTED] } });
  });

  it('blanks each line of a multi-line value (output is captured line by line)', () => {
    const pem = '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----';
    const redactor = new SecretRedactor([pem]);
    expect(redactor.redact('line: MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu')).toBe(`line: ${REDACTED}`);
  });

  it('blanks the longer of two overlapping values whole', () => {
    const redactor = new SecretRedactor(['abcd', 'abcdefgh']);
    expect(redactor.redact('x abcdefgh y abcd')).toBe(`x ${REDACTED} y ${REDACTED}`);
  });

  it(`leaves values shorter than ${MIN_REDACTED_LENGTH} characters alone (they would blank out ordinary words)`, () => {
    const redactor = new SecretRedactor(['on', '1', 'abc']);
    expect(redactor.redact('on 1 abc')).toBe('on 1 abc');
    expect(redactedForms('abc')).toEqual([]);
  });

  it('redactDeep copies only what changed, and keys too', () => {
    const redactor = new SecretRedactor([secret]);
    const clean = { a: 1, b: ['x', { c: 'y' }] };
    expect(redactor.redactDeep(clean)).toBe(clean);
    const dirty = { ok: 'fine', list: ['fine', `has ${secret}`], [secret]: true, n: 3, nil: null };
    const out = redactor.redactDeep(dirty);
    expect(out).not.toBe(dirty);
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(out.ok).toBe('fine');
    expect(out.list[0]).toBe('fine');
    expect(out.n).toBe(3);
    expect(out.nil).toBeNull();
    expect(new SecretRedactor().redactDeep(dirty)).toBe(dirty);
  });

  it('grows: values added later are redacted from then on', () => {
    const redactor = new SecretRedactor();
    expect(redactor.redact(`x ${secret}`)).toBe(`x ${secret}`);
    redactor.add([secret]);
    expect(redactor.redact(`x ${secret}`)).toBe(`x ${REDACTED}`);
    expect(redactor.size).toBe(1);
    expect(redactor.matches(`x ${secret}`)).toBe(true);
    expect(redactor.matches('nothing')).toBe(false);
  });

  it('treats regular-expression characters in values literally', () => {
    const redactor = new SecretRedactor(['a.*b(c)[d]$']);
    expect(redactor.redact('zzz a.*b(c)[d]$ zzz axxb(c)[d]$')).toBe(`zzz ${REDACTED} zzz axxb(c)[d]$`);
  });
});

describe('StreamRedactor', () => {
  it('redacts a value split across chunks, and holds back no more than could start a value', () => {
    const redactor = new SecretRedactor(['correct-horse-battery']);
    const stream = new StreamRedactor(redactor);
    let out = '';
    out += stream.write('starting\nthe password is correct-ho');
    // "correct-ho" could still become the value: held back.
    expect(out).toBe('starting\nthe password is ');
    out += stream.write('rse-battery and more\n');
    expect(out).toBe(`starting\nthe password is ${REDACTED} and more\n`);
    out += stream.write('done\n');
    expect(out.endsWith('done\n')).toBe(true);
    expect(stream.end()).toBe('');
  });

  it('gives back a held tail that did not become a value at the end', () => {
    const stream = new StreamRedactor(new SecretRedactor(['correct-horse-battery']));
    expect(stream.write('tail correct')).toBe('tail ');
    expect(stream.end()).toBe('correct');
  });

  it('over random chunkings, joins to exactly redact(whole text)', () => {
    const random = mulberry32(42);
    const values = ['s3cr3t-token', 'abcdabcdX', 'xyzw', 'pass word with spaces'];
    const redactor = new SecretRedactor(values);
    const alphabet = ['a', 'b', 'c', 'd', 'X', 'x', 'y', 'z', 'w', ' ', '\n', ...values];
    for (let run = 0; run < 300; run += 1) {
      let text = '';
      const pieces = 1 + Math.floor(random() * 40);
      for (let i = 0; i < pieces; i += 1) text += alphabet[Math.floor(random() * alphabet.length)];
      const stream = new StreamRedactor(redactor);
      let out = '';
      let at = 0;
      while (at < text.length) {
        const size = 1 + Math.floor(random() * 7);
        out += stream.write(text.slice(at, at + size));
        at += size;
      }
      out += stream.end();
      expect(out, JSON.stringify(text)).toBe(redactor.redact(text));
    }
  });
});
