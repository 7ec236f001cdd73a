import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EXIT_CODES, main } from '../../src/cli/main.js';
import { apiObject, sendJson, sendProblem, startStub, type StubHandler, type StubServer } from '../client/stub-server.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `rollgate ...args` in-process with its own cwd and environment (none of the developer's ROLLGATE_*). */
async function rollgate(args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: options.env ?? {},
    cwd: options.cwd ?? work,
  });
  return { code, stdout, stderr };
}

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const env = (name: string, extra = '') => `apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: ${name}\nspec: {${extra}}\n`;
const service = `apiVersion: rollgate.dev/v1alpha1
kind: Service
metadata:
  name: checkout
spec:
  owner: team-payments
  strategy: standard-canary
  target:
    type: process
    command: node server.js
`;

mkdirSync(path.join(work, 'good/nested'), { recursive: true });
writeFileSync(path.join(work, 'good/envs.yaml'), [env('dev'), env('prod', 'production: true')].join('---\n'));
writeFileSync(path.join(work, 'good/nested/checkout.yaml'), service);
mkdirSync(path.join(work, 'bad'));
writeFileSync(path.join(work, 'bad/envs.yaml'), [env('dev'), env('prod', 'production: maybe, colour: red')].join('---\n'));

let stub: StubServer | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});
async function serve(handler: StubHandler): Promise<StubServer> {
  stub = await startStub(handler);
  return stub;
}

describe('rollgate: usage and exit codes', () => {
  it('--help lists the commands and documents the exit codes', async () => {
    const run = await rollgate(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['serve', 'validate', 'apply', 'get', 'delete', 'token', 'audit']) expect(run.stdout).toContain(`  ${command}`);
    expect(run.stdout).toContain('Exit codes:');
    expect(run.stdout).toContain('3  conflict or rejected by the server (HTTP 409, 403, 422)');
    expect(EXIT_CODES).toEqual({ ok: 0, failure: 1, usage: 2, rejected: 3 });
  });

  it('an unknown command is a usage error (2)', async () => {
    const run = await rollgate(['frobnicate']);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
  });

  it('an unknown option, a missing argument and a bad --output are usage errors (2)', async () => {
    expect((await rollgate(['validate', '--frobnicate'])).code).toBe(2);
    expect((await rollgate(['get'])).code).toBe(2);
    expect((await rollgate(['-o', 'xml', 'get', 'svc'])).code).toBe(2);
    expect((await rollgate(['token'])).code).toBe(2);
  });

  it('an unknown KIND is a usage error (2), found before any request', async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { items: [], nextCursor: null }));
    const run = await rollgate(['get', 'gizmos', '--server', server.url]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr).toMatch(/^error: unknown kind "gizmos"; known kinds: services/);
    expect(server.requests).toHaveLength(0);
  });

  it('validate without -f is a usage error (2)', async () => {
    const run = await rollgate(['validate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('-f FILE');
  });
});

describe('rollgate validate', () => {
  it('prints ok with the number of documents for valid files and directories', async () => {
    const run = await rollgate(['validate', '-f', 'good']);
    expect(run).toEqual({ code: 0, stdout: 'ok: 3 documents valid\n', stderr: '' });
  });

  it('prints file:line:col errors (paths as given) on stderr and exits 1', async () => {
    const run = await rollgate(['validate', '-f', 'good/nested/checkout.yaml', '-f', 'bad/envs.yaml']);
    expect(run.code).toBe(EXIT_CODES.failure);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'bad/envs.yaml:11:20: spec.production: Invalid input: expected boolean, received string',
      'bad/envs.yaml:11:27: spec.colour: unknown field "colour"',
      'error: 2 errors in 3 documents',
    ]);
  });

  it('with --output json prints the errors as a JSON problem on stderr', async () => {
    const run = await rollgate(['validate', '-f', 'bad', '--output', 'json']);
    expect(run.code).toBe(1);
    const problem = JSON.parse(run.stderr) as { title: string; errors: Array<{ file: string; line: number; col: number; path: string }> };
    expect(problem.title).toBe('Invalid manifests');
    expect(problem.errors.map((error) => [error.file, error.line, error.col, error.path])).toEqual([
      [path.join('bad', 'envs.yaml'), 11, 20, 'spec.production'],
      [path.join('bad', 'envs.yaml'), 11, 27, 'spec.colour'],
    ]);
  });

  it('reads stdin for -f -', async () => {
    const run = await rollgate(['validate', '-f', '-'], { stdin: env('dev', 'production: 3') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('<stdin>:5:20: spec.production: Invalid input: expected boolean, received number');
  });

  it('accepts every example in examples/ and rejects the invalid fixture', async () => {
    const examples = await rollgate(['validate', '-f', 'examples'], { cwd: repoRoot });
    expect(examples.stderr).toBe('');
    expect(examples.stdout).toMatch(/^ok: \d+ documents valid\n$/);
    const bad = await rollgate(['validate', '-f', 'test/fixtures/invalid/bad-canary.yaml'], { cwd: repoRoot });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('test/fixtures/invalid/bad-canary.yaml:11:20: spec.canary.steps[1].setWeight: Too big: expected number to be <=100');
  });
});

describe('rollgate apply (against a stub server)', () => {
  it('sends nothing when a document is invalid', async () => {
    const server = await serve((_req, res) => sendJson(res, 500, {}));
    const run = await rollgate(['apply', '-f', 'bad', '--server', server.url]);
    expect(run.code).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  it('POSTs every document in one request and prints one line per object', async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, {
        dryRun: true,
        results: [
          { kind: 'Environment', name: 'dev', action: 'created', version: 1 },
          { kind: 'Environment', name: 'prod', action: 'unchanged', version: 4 },
          { kind: 'Service', name: 'checkout', action: 'configured', version: 2 },
        ],
      }),
    );
    const run = await rollgate(['apply', '-f', 'good', '--dry-run', '--server', server.url, '--token', 'rg_t']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('environment/dev created (dry run)\nenvironment/prod unchanged (dry run)\nservice/checkout configured (dry run)\n');
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.path).toBe('/api/v1/apply');
    expect(request!.headers.authorization).toBe('Bearer rg_t');
    const body = request!.json as { dryRun: boolean; documents: Array<{ metadata: { name: string } }> };
    expect(body.dryRun).toBe(true);
    expect(body.documents.map((document) => document.metadata.name)).toEqual(['dev', 'prod', 'checkout']);
  });

  it('maps the server\'s field errors back to file:line:col and exits 3 on 422', async () => {
    const server = await serve((_req, res) =>
      sendProblem(res, 422, {
        title: 'Unprocessable Content',
        detail: 'documents refer to objects that do not exist',
        errors: [{ document: 2, path: ['spec', 'strategy'], message: 'RolloutStrategy "standard-canary" does not exist' }],
      }),
    );
    const run = await rollgate(['apply', '-f', 'good', '--server', server.url]);
    expect(run.code).toBe(EXIT_CODES.rejected);
    expect(run.stderr.split('\n')[0]).toBe(
      `${path.join('good', 'nested', 'checkout.yaml')}:7:13: spec.strategy: RolloutStrategy "standard-canary" does not exist`,
    );
  });

  it('says which server it cannot reach and exits 1', async () => {
    const run = await rollgate(['apply', '-f', 'good', '--server', 'http://127.0.0.1:9']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot reach Rollgate at http:\/\/127\.0\.0\.1:9 \(/);
  });
});

describe('rollgate get, delete, token, audit (against a stub server)', () => {
  it('get prints a table with kind-specific columns; -o json prints the API objects', async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, {
        items: [apiObject('Service', 'checkout', { owner: 'team-payments', tier: 'critical', target: { type: 'process' }, dependsOn: ['inventory'] }, 3)],
        nextCursor: null,
      }),
    );
    const table = await rollgate(['get', 'svc', '-l', 'team=payments', '--server', server.url]);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'OWNER', 'TIER', 'TARGET', 'ROUTER', 'DEPENDS-ON', 'VERSION', 'AGE']);
    expect(row!.split(/\s+/).slice(0, 7)).toEqual(['checkout', 'team-payments', 'critical', 'process', '-', 'inventory', '3']);
    expect(server.requests[0]!.query.get('labelSelector')).toBe('team=payments');

    const json = await rollgate(['get', 'services', '-o', 'json', '--server', server.url]);
    expect((JSON.parse(json.stdout) as Array<{ metadata: { name: string } }>)[0]!.metadata.name).toBe('checkout');
  });

  it('get NAME that does not exist exits 1', async () => {
    const server = await serve((_req, res) => sendProblem(res, 404, { title: 'Not Found' }));
    const run = await rollgate(['get', 'Service', 'nope', '--server', server.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('error: Service "nope" not found\n');
  });

  it('a 409 from the server exits 3', async () => {
    const server = await serve((_req, res) => sendProblem(res, 409, { title: 'Conflict', detail: 'Service "inventory" is still referred to' }));
    const run = await rollgate(['delete', 'svc', 'inventory', '--server', server.url]);
    expect(run.code).toBe(EXIT_CODES.rejected);
    expect(run.stderr).toBe('error: Conflict: Service "inventory" is still referred to\n');
  });

  it('delete -f deletes the documents\' objects, last first', async () => {
    const server = await serve((_req, res) => sendJson(res, 200, apiObject('Environment', 'x')));
    const run = await rollgate(['delete', '-f', 'good', '--server', server.url]);
    expect(run.code).toBe(0);
    expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /api/v1/services/checkout',
      'DELETE /api/v1/environments/prod',
      'DELETE /api/v1/environments/dev',
    ]);
    expect(run.stdout).toBe('service/checkout deleted\nenvironment/prod deleted\nenvironment/dev deleted\n');
  });

  it('token create prints the secret alone on stdout', async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 201, { id: 't1', name: 'ci', role: 'deployer', createdAt: '2026-01-01T00:00:00Z', revokedAt: null, token: 'rg_secret' }),
    );
    const run = await rollgate(['token', 'create', '--name', 'ci', '--role', 'deployer', '--server', server.url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('rg_secret\n');
    expect(run.stderr).toContain('not shown again');
    expect((await rollgate(['token', 'create', '--name', 'ci', '--role', 'emperor', '--server', server.url])).code).toBe(2);
  });

  it('audit verify: exit 0 when the chain holds, 1 naming the first broken event', async () => {
    let ok = true;
    const server = await serve((_req, res) =>
      sendJson(res, 200, ok ? { ok: true, checked: 12, headHash: 'abc' } : { ok: false, checked: 4, brokenAt: 5, reason: 'hash does not match its content' }),
    );
    expect(await rollgate(['audit', 'verify', '--server', server.url])).toEqual({ code: 0, stdout: 'audit chain verified: 12 events\n', stderr: '' });
    ok = false;
    const broken = await rollgate(['audit', 'verify', '--server', server.url]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('error: audit chain broken at event 5: hash does not match its content (4 events checked)\n');
  });

  it('audit list follows pages with afterSeq up to --limit', async () => {
    const event = (seq: number) => ({ seq, time: 't', actor: 'a', action: 'create', kind: 'Service', name: `s${seq}`, beforeDigest: null, afterDigest: null, prevHash: 'p', hash: 'h' });
    const server = await serve((req, res) => {
      const after = Number(req.query.get('afterSeq') ?? 0);
      sendJson(res, 200, { items: [event(after + 1), event(after + 2)], nextCursor: String(after + 2) });
    });
    const run = await rollgate(['audit', 'list', '--limit', '4', '--kind', 'svc', '--server', server.url]);
    expect(run.code).toBe(0);
    expect(server.requests.map((request) => [request.query.get('afterSeq'), request.query.get('limit'), request.query.get('kind')])).toEqual([
      [null, '4', 'Service'],
      ['2', '2', 'Service'],
    ]);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(run.stderr).toContain('--after-seq 4');
  });
});

describe('connection settings', () => {
  it('reads server and token from <data-dir>/config.json, and ROLLGATE_SERVER / ROLLGATE_TOKEN over it', async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { items: [], nextCursor: null }));
    const dataDir = path.join(work, 'state');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ server: server.url, token: 'rg_saved' }));

    expect((await rollgate(['get', 'env', '--data-dir', 'state'])).code).toBe(0);
    expect((await rollgate(['get', 'env'], { env: { ROLLGATE_DATA_DIR: dataDir, ROLLGATE_TOKEN: 'rg_env' } })).code).toBe(0);
    expect(server.requests.map((request) => request.headers.authorization)).toEqual(['Bearer rg_saved', 'Bearer rg_env']);
  });

  it('does not send the saved token to a different server', async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { items: [], nextCursor: null }));
    mkdirSync(path.join(work, '.rollgate'), { recursive: true });
    writeFileSync(path.join(work, '.rollgate/config.json'), JSON.stringify({ server: 'http://127.0.0.1:1', token: 'rg_local' }));
    const run = await rollgate(['get', 'env'], { env: { ROLLGATE_SERVER: server.url } });
    expect(run.code).toBe(0);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('an invalid server URL is a usage error', async () => {
    expect((await rollgate(['get', 'env', '--server', 'localhost'])).code).toBe(2);
  });
});
