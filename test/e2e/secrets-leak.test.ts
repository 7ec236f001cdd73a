/**
 * Issue 6's "no secret value leaks", end to end: a real `rollgate serve` (builtin provider, key
 * file created on first start) runs a service whose process prints its secrets to stdout and
 * stderr (raw, base64, inside JSON); a second version prints them and crashes, so they reach a
 * failure message. Afterwards no value may appear anywhere Rollgate wrote: the database (and its
 * WAL), the logs directory, pid files, the server's own log output, and every API and CLI answer.
 * The process itself must still have received them (checked through a probe outside the data dir).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentSpecSchema } from '../../src/core/resources/deployment.js';
import { REDACTED } from '../../src/core/secrets/redact.js';
import { rollgate, startServe, type ServeProcess } from './helpers.js';

/** Whether the engine wiring (docs/secrets.md; the lead's edits) is in: Deployment env accepts secretRef. */

const DB_PASSWORD = 'db-Pa55word-7c1e9f';
const API_TOKEN = 'api-T0ken-4d8b2a';
const SECRETS = [DB_PASSWORD, API_TOKEN];
/** The forms the test app prints, and that must not be found anywhere. */
const forms = (value: string) => [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url'), Buffer.from(value).toString('hex')];
const FORBIDDEN = SECRETS.flatMap(forms);

const APP = `
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
const db = process.env.DB_PASSWORD ?? '', token = process.env.API_TOKEN ?? '';
const digest = createHash('sha256').update(db + '|' + token).digest('hex');
writeFileSync(process.env.PROBE_DIR + '/' + process.env.ROLLGATE_VERSION, digest === process.env.EXPECTED ? 'match' : 'mismatch');
console.log('connecting with password ' + db + ' and token ' + token);
console.error('token as base64: ' + Buffer.from(token).toString('base64') + ' ' + JSON.stringify({ db, token }));
if (process.env.CRASH === '1') { console.error('fatal: cannot log in as app with ' + db); process.exit(3); }
http.createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : 'hello ' + db)).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    const info = statSync(full);
    return info.isDirectory() ? filesUnder(full) : info.isFile() ? [full] : [];
  });
}

const leaksIn = (text: string): string[] => FORBIDDEN.filter((form) => text.includes(form));

describe('secret values never leak (end to end)', () => {
  it('Deployment env accepts secretRef', () => {
    expect(deploymentSpecSchema.safeParse({ service: 'x', version: '1', env: { X: { secretRef: { name: 'a', key: 'b' } } } }).success).toBe(true);
  });

  let root: string;
  let cwd: string;
  let probe: string;
  let serve: ServeProcess;
  let token: string;
  let server: string;
  const answers: Array<{ what: string; text: string }> = [];
  let serveOutput = '';

  const api = async (pathname: string) => {
    const response = await fetch(`${server}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    answers.push({ what: `GET ${pathname}`, text });
    return JSON.parse(text) as any;
  };
  const cli = async (...args: string[]) => {
    const run = await rollgate(cwd, ...args);
    answers.push({ what: `rollgate ${args.join(' ')}`, text: run.stdout + run.stderr });
    return run;
  };
  const waitFor = async <T>(what: string, read: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== null) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${serve.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const phaseOf = async (deployment: string) => (await api(`/api/v1/deployments/${deployment}`))?.status?.rollout?.phase ?? null;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'rg-secrets-leak-'));
    cwd = path.join(root, 'work');
    probe = path.join(root, 'probe');
    const input = path.join(root, 'input');
    for (const dir of [cwd, probe, input]) mkdirSync(dir);
    writeFileSync(path.join(cwd, 'app.mjs'), APP);
    // The user's own files: where the values come from, outside anything Rollgate writes.
    writeFileSync(path.join(input, 'db-password'), DB_PASSWORD);
    writeFileSync(path.join(input, 'api-token'), API_TOKEN);

    serve = await startServe(cwd, ['--log-level', 'debug']);
    ({ server, token } = JSON.parse(readFileSync(path.join(cwd, '.rollgate', 'config.json'), 'utf8')) as { server: string; token: string });

    expect((await cli('secret', 'set', 'db', '--from-file', `password=${path.join(input, 'db-password')}`)).code).toBe(0);
    expect((await cli('secret', 'set', 'api', '--from-file', `token=${path.join(input, 'api-token')}`)).code).toBe(0);

    const expected = createHash('sha256').update(`${DB_PASSWORD}|${API_TOKEN}`).digest('hex');
    const service = {
      apiVersion: 'rollgate.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'leaky' },
      spec: {
        owner: 'team-secrets',
        target: {
          type: 'process',
          command: `"${process.execPath}" app.mjs`,
          env: { API_TOKEN: { secretRef: { name: 'api', key: 'token' } }, PROBE_DIR: probe },
          healthCheck: { path: '/healthz', intervalSeconds: 1 },
        },
        router: { type: 'embedded', listen: '127.0.0.1:0' },
      },
    };
    const deployment = (name: string, version: string, extra: Record<string, string> = {}) => ({
      apiVersion: 'rollgate.dev/v1alpha1',
      kind: 'Deployment',
      metadata: { name },
      spec: { service: 'leaky', version, env: { DB_PASSWORD: { secretRef: { name: 'db', key: 'password' } }, EXPECTED: expected, ...extra } },
    });
    writeFileSync(path.join(root, 'service.json'), JSON.stringify(service));
    expect((await cli('apply', '-f', path.join(root, 'service.json'))).code).toBe(0);

    writeFileSync(path.join(root, 'v1.json'), JSON.stringify(deployment('leaky-v1', '1.0.0')));
    expect((await cli('apply', '-f', path.join(root, 'v1.json'))).code).toBe(0);
    await waitFor('leaky-v1 Healthy', async () => ((await phaseOf('leaky-v1')) === 'Healthy' ? true : null));

    writeFileSync(path.join(root, 'v2.json'), JSON.stringify(deployment('leaky-v2', '2.0.0', { CRASH: '1' })));
    expect((await cli('apply', '-f', path.join(root, 'v2.json'))).code).toBe(0);
    await waitFor('leaky-v2 to fail', async () => ((await phaseOf('leaky-v2')) === 'Aborted' ? true : null));

    // Everything a user would look at.
    await api('/api/v1/deployments');
    await api('/api/v1/services');
    await api('/api/v1/audit?limit=1000');
    await api('/api/v1/secrets');
    await cli('get', 'deployment', 'leaky-v2', '-o', 'yaml');
    await cli('rollout', 'status', 'leaky');
    await cli('audit', 'list', '--limit', '1000');
    await cli('secret', 'list', '-o', 'json');

    expect(await serve.stop()).toBe(0);
    serveOutput = serve.output();
  }, 120_000);

  afterAll(async () => {
    await serve?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the processes did receive the secrets (so the checks below are meaningful)', () => {
    expect(readFileSync(path.join(probe, '1.0.0'), 'utf8')).toBe('match');
    expect(readFileSync(path.join(probe, '2.0.0'), 'utf8')).toBe('match');
  });

  it('the failed version is reported with its last output, redacted', () => {
    const deployments = answers.find((answer) => answer.what === 'GET /api/v1/deployments')!.text;
    expect(deployments).toContain('fatal: cannot log in as app with');
    expect(deployments).toContain(REDACTED);
  });

  it('no value in any API answer or CLI output (objects, status, audit, secrets)', () => {
    const leaks = answers.flatMap(({ what, text }) => leaksIn(text).map((form) => `${what}: ${form}`));
    expect(leaks).toEqual([]);
  });

  it("no value in the server's log output", () => {
    expect(serveOutput).toContain('secret provider ready');
    expect(leaksIn(serveOutput)).toEqual([]);
  });

  it('no value in the database files (database, WAL) or the master key file', () => {
    const files = filesUnder(path.join(cwd, '.rollgate')).filter((file) => !file.includes(`${path.sep}services${path.sep}`));
    expect(files.some((file) => file.endsWith('rollgate.db'))).toBe(true);
    expect(files.some((file) => file.endsWith('master.key'))).toBe(true);
    const leaks = files.flatMap((file) => leaksIn(readFileSync(file).toString('latin1')).map((form) => `${path.relative(cwd, file)}: ${form}`));
    expect(leaks).toEqual([]);
  });

  it('no value in the logs directory (captured process output, pid files)', () => {
    const files = filesUnder(path.join(cwd, '.rollgate', 'services'));
    expect(files.some((file) => file.endsWith('.log'))).toBe(true);
    const leaks = files.flatMap((file) => leaksIn(readFileSync(file).toString('latin1')).map((form) => `${path.relative(cwd, file)}: ${form}`));
    expect(leaks).toEqual([]);
  });
});
