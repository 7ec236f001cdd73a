/**
 * The SecretProvider contract (src/ports/secret-provider.ts): every implementation, fakes included,
 * runs this suite. The setup gives a provider and a way to make secrets exist by the provider's own
 * means (environment variables, files, or writes for a provider Rollgate can write).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSecretStore, type SecretProvider, type SecretStore } from '../../src/ports/secret-provider.js';

export interface SecretProviderContractSetup {
  provider: SecretProvider;
  /** Makes each `secrets[name][key]` exist with that value (replacing what the secret held). */
  seed(secrets: Record<string, Record<string, string>>): Promise<void>;
  teardown(): Promise<void>;
}

/** Values chosen to break naive storage: unicode, newlines, quotes, a value longer than a block. */
export const AWKWARD_VALUES: Record<string, string> = {
  unicode: 'pässwörd-🔑-密码',
  multiline: '-----BEGIN KEY-----\nMIIBOgIBAAJBAK\n-----END KEY-----\n',
  quotes: `it's "quoted" \\ back\\slash $HOME \`tick\``,
  long: 'x'.repeat(5000),
  spaces: '  leading and trailing  ',
};

export function describeSecretProviderContract(label: string, setup: () => Promise<SecretProviderContractSetup>): void {
  describe(`SecretProvider contract: ${label}`, () => {
    let ctx: SecretProviderContractSetup;

    beforeEach(async () => {
      ctx = await setup();
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    it('declares its capabilities as booleans', () => {
      expect(typeof ctx.provider.capabilities.write).toBe('boolean');
      expect(typeof ctx.provider.capabilities.list).toBe('boolean');
      // A provider that says it can be written must offer the writes.
      expect(isSecretStore(ctx.provider)).toBe(ctx.provider.capabilities.write);
    });

    it('resolves each key of a secret, exactly as stored, and repeatably', async () => {
      await ctx.seed({ db: { password: 's3cret-value', user: 'app' } });
      expect(await ctx.provider.resolve({ name: 'db', key: 'password' })).toBe('s3cret-value');
      expect(await ctx.provider.resolve({ name: 'db', key: 'user' })).toBe('app');
      expect(await ctx.provider.resolve({ name: 'db', key: 'password' })).toBe('s3cret-value');
    });

    it('keeps awkward values byte for byte (unicode, newlines, quotes, long values, spaces)', async () => {
      await ctx.seed({ awkward: AWKWARD_VALUES });
      for (const [key, value] of Object.entries(AWKWARD_VALUES)) expect(await ctx.provider.resolve({ name: 'awkward', key })).toBe(value);
    });

    it('returns null for a secret or a key that does not exist', async () => {
      await ctx.seed({ db: { password: 's3cret-value' } });
      expect(await ctx.provider.resolve({ name: 'nothing-here', key: 'password' })).toBeNull();
      expect(await ctx.provider.resolve({ name: 'db', key: 'no-such-key' })).toBeNull();
    });

    it('returns null (never another secret, never a file elsewhere) for references that are not names', async () => {
      await ctx.seed({ db: { password: 's3cret-value' } });
      for (const ref of [
        { name: '../db', key: 'password' },
        { name: 'db/..', key: 'password' },
        { name: 'db', key: '..' },
        { name: 'db', key: '../db/password' },
        { name: '', key: 'password' },
        { name: 'db', key: '' },
        { name: 'DB', key: 'password/..' },
      ]) {
        expect(await ctx.provider.resolve(ref), JSON.stringify(ref)).toBeNull();
      }
    });

    it('lists names and keys (sorted) and never a value, or says it cannot list', async () => {
      await ctx.seed({ zeta: { b: 'value-of-zeta-b', a: 'value-of-zeta-a' }, alpha: { token: 'value-of-alpha-token' } });
      const list = await ctx.provider.list();
      if (!ctx.provider.capabilities.list) {
        expect(list).toBeNull();
        return;
      }
      expect(list).not.toBeNull();
      const mine = list!.filter((info) => info.name === 'alpha' || info.name === 'zeta');
      expect(mine.map((info) => [info.name, info.keys])).toEqual([
        ['alpha', ['token']],
        ['zeta', ['a', 'b']],
      ]);
      for (const info of mine) expect(info.updatedAt === null || !Number.isNaN(Date.parse(info.updatedAt))).toBe(true);
      expect(JSON.stringify(list)).not.toMatch(/value-of-/);
    });

    describe('writes', () => {
      const store = (): SecretStore | null => (isSecretStore(ctx.provider) ? ctx.provider : null);

      it('replace: put makes the secret exactly `data`; repeating it changes nothing; no value in the answer', async (test) => {
        const writable = store();
        if (!writable) return test.skip(`${label} is read-only (capabilities.write is false): it is written outside Rollgate`);
        const first = await writable.put('api', { token: 'token-value-1', extra: 'extra-value' });
        expect(first).toMatchObject({ name: 'api', keys: ['extra', 'token'] });
        const second = await writable.put('api', { token: 'token-value-2' }, 'replace');
        const again = await writable.put('api', { token: 'token-value-2' }, 'replace');
        expect(second.keys).toEqual(['token']);
        expect(again.keys).toEqual(['token']);
        expect(await writable.resolve({ name: 'api', key: 'token' })).toBe('token-value-2');
        expect(await writable.resolve({ name: 'api', key: 'extra' })).toBeNull();
        expect(JSON.stringify([first, second, again])).not.toMatch(/-value/);
      });

      it('merge: put sets the given keys and keeps the others', async (test) => {
        const writable = store();
        if (!writable) return test.skip(`${label} is read-only (capabilities.write is false): it is written outside Rollgate`);
        await writable.put('db', { user: 'app', password: 'old-password' });
        const merged = await writable.put('db', { password: 'new-password' }, 'merge');
        expect(merged.keys).toEqual(['password', 'user']);
        expect(await writable.resolve({ name: 'db', key: 'password' })).toBe('new-password');
        expect(await writable.resolve({ name: 'db', key: 'user' })).toBe('app');
      });

      it('delete removes every key; deleting again returns null', async (test) => {
        const writable = store();
        if (!writable) return test.skip(`${label} is read-only (capabilities.write is false): it is written outside Rollgate`);
        await writable.put('gone', { a: 'value-a', b: 'value-b' });
        const deleted = await writable.delete('gone');
        expect(deleted).toMatchObject({ name: 'gone', keys: ['a', 'b'] });
        expect(JSON.stringify(deleted)).not.toMatch(/value-/);
        expect(await writable.resolve({ name: 'gone', key: 'a' })).toBeNull();
        expect(await writable.delete('gone')).toBeNull();
        if (writable.capabilities.list) expect((await writable.list())!.map((info) => info.name)).not.toContain('gone');
      });

      it('refuses names and keys that are not names, before writing anything', async (test) => {
        const writable = store();
        if (!writable) return test.skip(`${label} is read-only (capabilities.write is false): it is written outside Rollgate`);
        await expect(writable.put('../escape', { a: 'value' })).rejects.toThrow();
        await expect(writable.put('ok-name', { '..': 'value' })).rejects.toThrow();
        await expect(writable.put('ok-name', {})).rejects.toThrow();
        expect(await writable.resolve({ name: 'ok-name', key: '..' })).toBeNull();
      });
    });
  });
}
