import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clientUrl, parseListen, saveConfig } from '../../src/cli/commands/serve.js';

describe('serve helpers', () => {
  it('parses --listen forms and rejects the rest', () => {
    expect(parseListen('127.0.0.1:7070')).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListen(':7070')).toEqual({ host: '0.0.0.0', port: 7070 });
    expect(parseListen('7070')).toEqual({ host: '127.0.0.1', port: 7070 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['localhost', '127.0.0.1:99999', 'a:b:c', '']) expect(() => parseListen(bad)).toThrow(/invalid --listen/);
  });

  it('saves a wildcard listen address as loopback for clients', () => {
    expect(clientUrl('http://0.0.0.0:7070')).toBe('http://127.0.0.1:7070');
    expect(clientUrl('http://[::]:7070')).toBe('http://[::1]:7070');
    expect(clientUrl('http://127.0.0.1:7070')).toBe('http://127.0.0.1:7070');
  });

  describe('saveConfig', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-serve-'));
    const file = path.join(dir, 'config.json');
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('writes {server, token} with mode 0600 on first start', async () => {
      expect(await saveConfig(dir, 'http://127.0.0.1:7070', 'rg_first')).toEqual({ file, hasToken: true });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ server: 'http://127.0.0.1:7070', token: 'rg_first' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });

    it('on later starts rewrites the server URL and keeps the token', async () => {
      await saveConfig(dir, 'http://127.0.0.1:9090', null);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ server: 'http://127.0.0.1:9090', token: 'rg_first' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    });

    it('replaces an unreadable file, with no token when none is known', async () => {
      writeFileSync(file, '{not json');
      expect(await saveConfig(dir, 'http://127.0.0.1:7070', null)).toEqual({ file, hasToken: false });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ server: 'http://127.0.0.1:7070' });
    });
  });
});
