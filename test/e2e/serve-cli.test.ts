/**
 * The foundation's "done when", end to end: a real `rollgate serve` process on SQLite (and on
 * PostgreSQL when ROLLGATE_TEST_DATABASE_URL is set), driven by the CLI.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, rollgate, startServe, type ServeProcess } from './helpers.js';

const postgresUrl = process.env.ROLLGATE_TEST_DATABASE_URL;
if (!postgresUrl && process.env.CI === 'true') {
  throw new Error('ROLLGATE_TEST_DATABASE_URL not set, but CI=true: the PostgreSQL end-to-end suite must run in CI');
}

interface Backend {
  label: string;
  /** Prepares a fresh database; returns serve's extra env and a cleanup. */
  prepare(): Promise<{ env: Record<string, string>; tamper(seq: number): Promise<void>; cleanup(): Promise<void> }>;
}

const sqliteBackend = (cwd: () => string): Backend => ({
  label: 'SQLite',
  prepare: async () => ({
    env: {},
    tamper: async (seq) => {
      const db = new Database(path.join(cwd(), '.rollgate', 'rollgate.db'));
      db.prepare("UPDATE audit_events SET actor = 'token:mallory' WHERE seq = ?").run(seq);
      db.close();
    },
    cleanup: async () => undefined,
  }),
});

const postgresBackend = (url: string): Backend => ({
  label: 'PostgreSQL',
  prepare: async () => {
    const database = `rollgate_e2e_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const databaseUrl = new URL(url);
    databaseUrl.pathname = `/${database}`;
    return {
      env: { ROLLGATE_DATABASE_URL: databaseUrl.toString() },
      tamper: async (seq) => {
        const client = new pg.Client({ connectionString: databaseUrl.toString() });
        await client.connect();
        await client.query("UPDATE audit_events SET actor = 'token:mallory' WHERE seq = $1", [seq]);
        await client.end();
      },
      cleanup: async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await client.end();
      },
    };
  },
});

let workDir = '';
const backends: Backend[] = [sqliteBackend(() => workDir)];
if (postgresUrl) backends.push(postgresBackend(postgresUrl));

describe.each(backends)('rollgate serve + CLI on $label', (backend) => {
  let serve: ServeProcess;
  let db: Awaited<ReturnType<Backend['prepare']>>;
  let cwd: string;

  beforeAll(async () => {
    cwd = mkdtempSync(path.join(tmpdir(), 'rollgate-e2e-'));
    workDir = cwd;
    cpSync(path.join(ROOT, 'examples'), path.join(cwd, 'examples'), { recursive: true });
    db = await backend.prepare();
    serve = await startServe(cwd, [], db.env);
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    await db?.cleanup();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('prints the admin token once on first start', () => {
    const token = /\n\s+(rg_[A-Za-z0-9_-]+)\n/.exec(serve.output())?.[1];
    expect(token).toBeDefined();
    expect(serve.output().split(token!).length - 1).toBe(1);
  });

  it('verifies the audit chain of a fresh database', async () => {
    const result = await rollgate(cwd, 'audit', 'verify');
    expect(result.stdout + result.stderr).toMatch(/audit chain verified: 1 events?/);
    expect(result.code).toBe(0);
  });

  it('applies the examples idempotently and lists them', async () => {
    const first = await rollgate(cwd, 'apply', '-f', 'examples/');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/service\/checkout created/);
    expect(first.stdout).toMatch(/pipeline\/\S+ created/);
    const again = await rollgate(cwd, 'apply', '-f', 'examples/');
    expect(again.stdout).not.toMatch(/created|configured/);
    expect(again.stdout).toMatch(/service\/checkout unchanged/);

    const services = await rollgate(cwd, 'get', 'services');
    expect(services.code).toBe(0);
    expect(services.stdout).toMatch(/^NAME/m);
    expect(services.stdout).toMatch(/^checkout\s/m);
    expect(services.stdout).toMatch(/^inventory\s/m);

    const json = await rollgate(cwd, 'get', 'service', 'checkout', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'Service', metadata: { name: 'checkout', version: 1 } });
  });

  it('rejects a malformed batch with file:line:column and the field path, applying nothing', async () => {
    writeFileSync(
      path.join(cwd, 'batch.yaml'),
      [
        'apiVersion: rollgate.dev/v1alpha1',
        'kind: Environment',
        'metadata: { name: perf }',
        'spec: {}',
        '---',
        'apiVersion: rollgate.dev/v1alpha1',
        'kind: RolloutStrategy',
        'metadata: { name: broken }',
        'spec:',
        '  canary:',
        '    steps:',
        '      - setWeight: 250',
        '',
      ].join('\n'),
    );
    const result = await rollgate(cwd, 'apply', '-f', 'batch.yaml');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/batch\.yaml:12:20: spec\.canary\.steps\[0\]\.setWeight: /);
    const perf = await rollgate(cwd, 'get', 'environment', 'perf');
    expect(perf.code).toBe(1);
  });

  it('rejects a reference to a missing object on the server side, naming where it is', async () => {
    writeFileSync(
      path.join(cwd, 'pipeline.yaml'),
      'apiVersion: rollgate.dev/v1alpha1\nkind: Pipeline\nmetadata: { name: orphan }\nspec:\n  stages:\n    - environment: nowhere\n',
    );
    const result = await rollgate(cwd, 'apply', '-f', 'pipeline.yaml');
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/pipeline\.yaml:6:\d+: spec\.stages\[0\]\.environment: .*nowhere/);
  });

  it('enforces roles for tokens made with the CLI', async () => {
    const created = await rollgate(cwd, 'token', 'create', '--name', 'ci', '--role', 'viewer');
    expect(created.code).toBe(0);
    const viewerToken = created.stdout.trim();
    expect(viewerToken).toMatch(/^rg_/);
    const denied = await rollgate(cwd, '--token', viewerToken, 'apply', '-f', 'examples/');
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/admin|deployer/);
    expect((await rollgate(cwd, '--token', viewerToken, 'get', 'services')).code).toBe(0);
    expect((await rollgate(cwd, 'token', 'revoke', 'ci')).code).toBe(0);
    expect((await rollgate(cwd, '--token', viewerToken, 'get', 'services')).code).toBe(1);
  });

  it('detects tampering with a stored audit event', async () => {
    expect((await rollgate(cwd, 'audit', 'verify')).code).toBe(0);
    await db.tamper(2);
    const result = await rollgate(cwd, 'audit', 'verify');
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(/#2/);
  });

  it('never writes the admin token into its log, and shuts down cleanly on SIGTERM', async () => {
    const token = /\n\s+(rg_[A-Za-z0-9_-]+)\n/.exec(serve.output())?.[1]!;
    const code = await serve.stop();
    expect(code).toBe(0);
    const logLines = serve.output().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((line) => line.includes('"stopped"') || line.includes('stopped'))).toBe(true);
    expect(logLines.filter((line) => line.includes(token))).toEqual([]);
  });
});
