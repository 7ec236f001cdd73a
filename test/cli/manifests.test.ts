import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkManifests, formatIssue, loadManifests, locate, mapServerErrors, parseManifests } from '../../src/cli/manifests.js';

/** Parses and validates YAML text as the CLI does; returns the printed error lines. */
function errorsOf(text: string, file = 'examples/bad.yaml'): string[] {
  const parsed = parseManifests(text, file);
  return [...parsed.issues, ...checkManifests(parsed.documents).issues].map(formatIssue);
}

const strategy = (steps: string) => `apiVersion: rollgate.dev/v1alpha1
kind: RolloutStrategy
metadata:
  name: standard-canary
spec:
  canary:
    steps:
${steps}`;

describe('manifest errors at file:line:column', () => {
  it('points a wrong value at the value', () => {
    const text = strategy(['      - setWeight: 5', '      - setWeight: 150', '      - pause: {}'].join('\n'));
    expect(errorsOf(text)).toEqual(['examples/bad.yaml:9:20: spec.canary.steps[1].setWeight: Too big: expected number to be <=100']);
  });

  it('points an unknown key at the key itself', () => {
    const text = strategy('      - setWeight: 5\n    maxSurge: 3');
    expect(errorsOf(text)).toEqual(['examples/bad.yaml:9:5: spec.canary.maxSurge: unknown field "maxSurge"']);
  });

  it('points a missing required field at its parent mapping', () => {
    const text = `apiVersion: rollgate.dev/v1alpha1
kind: Service
metadata:
  name: checkout
spec:
  owner: team-payments
  target:
    type: process
    workingDir: /srv
`;
    expect(errorsOf(text)).toEqual(['examples/bad.yaml:7:3: spec.target.command: required field is missing (expected string)']);
  });

  it('points a missing top-level field at the start of the document', () => {
    const text = 'apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nspec: {}\n';
    expect(errorsOf(text)).toEqual(['examples/bad.yaml:1:1: metadata: required field is missing (expected object)']);
  });

  it('reports a YAML syntax error with its position and skips the broken document', () => {
    const text = 'apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: [dev\nspec: {}\n';
    const parsed = parseManifests(text, 'envs.yaml');
    expect(parsed.documents).toHaveLength(0);
    expect(parsed.issues.map(formatIssue)).toEqual([
      expect.stringMatching(/^envs\.yaml:5:1: YAML syntax error: /),
    ]);
    expect(errorsOf('a: b: c\n', 'x.yml')).toEqual(['x.yml:1:4: YAML syntax error: Nested mappings are not allowed in compact mappings']);
  });

  it('reports a duplicate (kind, name) at the second document, naming the first', () => {
    const env = (name: string) => `apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: ${name}\nspec: {}\n`;
    const text = [env('dev'), env('prod'), env('dev')].join('---\n');
    expect(errorsOf(text, 'envs.yaml')).toEqual(['envs.yaml:16:9: metadata.name: Environment "dev" is also defined at envs.yaml:4:9']);
  });

  it('finds duplicates across files too', () => {
    const env = 'apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: dev\nspec: {}\n';
    const documents = [...parseManifests(env, 'a.yaml').documents, ...parseManifests(`# again\n${env}`, 'b.yaml').documents];
    expect(checkManifests(documents).issues.map(formatIssue)).toEqual(['b.yaml:5:9: metadata.name: Environment "dev" is also defined at a.yaml:4:9']);
  });

  it('gives line numbers of the whole file for the second document of a multi-document file', () => {
    const text = `apiVersion: rollgate.dev/v1alpha1
kind: Environment
metadata:
  name: dev
spec:
  production: false
---
apiVersion: rollgate.dev/v1alpha1
kind: Environment
metadata:
  name: prod
spec:
  production: "yes"
  dataSensitivity: secret
`;
    expect(errorsOf(text, 'envs.yaml')).toEqual([
      'envs.yaml:13:15: spec.production: Invalid input: expected boolean, received string',
      'envs.yaml:14:20: spec.dataSensitivity: Invalid option: expected one of "public"|"internal"|"confidential"|"restricted"',
    ]);
  });

  it('skips empty documents and accepts JSON', () => {
    const json = '{"apiVersion": "rollgate.dev/v1alpha1", "kind": "Environment", "metadata": {"name": "dev"}, "spec": {"production": 1}}';
    const parsed = parseManifests(`---\n# only a comment\n---\n${json}\n---\n`, 'env.json');
    expect(parsed.documents).toHaveLength(1);
    const col = json.indexOf(': 1}') + 3;
    expect(checkManifests(parsed.documents).issues.map(formatIssue)).toEqual([`env.json:4:${col}: spec.production: Invalid input: expected boolean, received number`]);
  });

  it('returns the valid documents with defaults filled when there are no issues', () => {
    const parsed = parseManifests('apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: dev\nspec: {}\n', 'env.yaml');
    const checked = checkManifests(parsed.documents);
    expect(checked.issues).toEqual([]);
    expect(checked.valid[0]!.spec).toEqual({ production: false, dataSensitivity: 'internal' });
  });
});

describe('mapServerErrors', () => {
  it('maps {document, path} from the server back to file:line:col of the document sent', () => {
    const first = parseManifests('apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: dev\nspec: {}\n', 'envs.yaml').documents;
    const second = parseManifests(
      'apiVersion: rollgate.dev/v1alpha1\nkind: Service\nmetadata:\n  name: checkout\nspec:\n  owner: a\n  strategy: nope\n  target: {type: process, command: x}\n',
      'svc.yaml',
    ).documents;
    const { located, unlocated } = mapServerErrors(
      [...first, ...second],
      [
        { document: 1, path: ['spec', 'strategy'], message: 'RolloutStrategy "nope" does not exist' },
        { path: ['documents'], message: 'too many' },
      ],
    );
    expect(located.map(formatIssue)).toEqual(['svc.yaml:7:13: spec.strategy: RolloutStrategy "nope" does not exist']);
    expect(unlocated).toEqual(['documents: too many']);
  });

  it('locate falls back to the closest existing node for paths the document lacks', () => {
    const [document] = parseManifests('kind: Service\nspec:\n  target:\n    type: process\n', 's.yaml').documents;
    expect(locate(document!, ['spec', 'target', 'type'])).toEqual({ line: 4, col: 11 });
    expect(locate(document!, ['spec', 'target', 'env', 'X'])).toEqual({ line: 3, col: 3 });
    expect(locate(document!, ['spec', 'router'])).toEqual({ line: 2, col: 1 });
  });
});

describe('loadManifests', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-manifests-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = (name: string) => `apiVersion: rollgate.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: ${name}\nspec: {}\n`;

  mkdirSync(path.join(dir, 'specs/nested'), { recursive: true });
  mkdirSync(path.join(dir, 'specs/.hidden'), { recursive: true });
  writeFileSync(path.join(dir, 'specs/b.yaml'), env('b'));
  writeFileSync(path.join(dir, 'specs/a.yml'), env('a'));
  writeFileSync(path.join(dir, 'specs/nested/c.json'), JSON.stringify({ apiVersion: 'rollgate.dev/v1alpha1', kind: 'Environment', metadata: { name: 'c' }, spec: {} }));
  writeFileSync(path.join(dir, 'specs/notes.txt'), 'not a manifest');
  writeFileSync(path.join(dir, 'specs/.hidden/x.yaml'), env('hidden'));
  mkdirSync(path.join(dir, 'empty'));

  it('reads directories recursively in path order, only *.yaml/*.yml, naming files as given', async () => {
    const result = await loadManifests(['specs'], { cwd: dir });
    expect(result.issues).toEqual([]);
    expect(result.documents.map((document) => document.file)).toEqual([path.join('specs', 'a.yml'), path.join('specs', 'b.yaml')]);
  });

  it('reads a JSON manifest when it is named explicitly', async () => {
    const result = await loadManifests([path.join('specs', 'nested', 'c.json')], { cwd: dir });
    expect(result.issues).toEqual([]);
    expect(result.documents).toHaveLength(1);
  });

  it('reads a file named twice once, and stdin for -', async () => {
    const result = await loadManifests(['specs/a.yml', './specs/a.yml', '-'], { cwd: dir, stdin: Readable.from([env('from-stdin')]) });
    expect(result.documents.map((document) => document.file)).toEqual(['specs/a.yml', '<stdin>']);
    expect((result.documents[1]!.value as { metadata: { name: string } }).metadata.name).toBe('from-stdin');
  });

  it('reports missing paths and empty directories', async () => {
    const result = await loadManifests(['missing.yaml', 'empty'], { cwd: dir });
    expect(result.issues.map(formatIssue)).toEqual([
      'missing.yaml: cannot read: no such file or directory',
      'empty: cannot read: no *.yaml or *.yml files in directory',
    ]);
  });
});
