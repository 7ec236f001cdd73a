/**
 * Enforces DESIGN.md's import directions: core is pure, ports depend on core, the CLI and the
 * web UI reach the server only through the typed client.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry) ? [full] : [];
  });
}

interface ImportEdge {
  from: string;
  specifier: string;
  /** Layer folder under src/ for relative imports, e.g. "core"; null for packages. */
  layer: string | null;
}

function importsOf(file: string): ImportEdge[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return { from: file, specifier: fileName, layer: null };
    const target = path.relative(src, path.resolve(path.dirname(file), fileName));
    return { from: file, specifier: fileName, layer: target.startsWith('..') ? '(outside src)' : target.split(path.sep)[0]! };
  });
}

/** Packages core may use: pure computation only, nothing that does I/O. */
const CORE_PACKAGES = new Set(['zod', 'semver', 'node:crypto', '@bufbuild/cel', 'rrule', 'luxon', 'hdr-histogram-js']);

/** Which of our layers each layer may import (itself always allowed). */
const ALLOWED_LAYERS: Record<string, string[]> = {
  core: [],
  ports: ['core'],
  adapters: ['core', 'ports', 'proxy'],
  proxy: ['core', 'ports'],
  engine: ['core', 'ports', 'adapters', 'proxy'],
  server: ['core', 'ports', 'adapters', 'engine', 'proxy'],
  client: ['core'],
  cli: ['client', 'core'],
};

/** Process entry points that compose the whole control plane; they alone may reach past the client. */
const COMPOSITION_ROOTS = new Set(['cli/commands/serve.ts', 'cli/commands/demo.ts']);

/** The violations among one file's imports; `relative` is the file's path under src/. */
function violationsOf(relative: string, edges: ImportEdge[]): string[] {
  const layer = relative.split('/')[0]!;
  if (COMPOSITION_ROOTS.has(relative)) return [];
  if (layer === 'core') {
    return edges
      .filter((edge) => (edge.layer === null ? !CORE_PACKAGES.has(edge.specifier) && !edge.specifier.startsWith('zod/') : edge.layer !== 'core'))
      .map((edge) => `${relative} (core) imports ${edge.specifier}`);
  }
  const allowed = ALLOWED_LAYERS[layer];
  if (!allowed) return [`${relative}: layer "${layer}" is not in DESIGN.md's layout`];
  return edges
    .filter((edge) => edge.layer !== null && edge.layer !== layer && !allowed.includes(edge.layer))
    .map((edge) => `${relative} (${layer}) imports ${edge.specifier} (${edge.layer})`);
}

const files = sourceFiles(src);
const relativeOf = (file: string) => path.relative(src, file).split(path.sep).join('/');

describe('import directions (DESIGN.md)', () => {
  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('no file in src/ breaks a layer rule', () => {
    expect(files.flatMap((file) => violationsOf(relativeOf(file), importsOf(file)))).toEqual([]);
  });

  it('the rules catch an I/O import in core and a CLI command reaching into the server', () => {
    const edge = (specifier: string, layer: string | null): ImportEdge => ({ from: '', specifier, layer });
    expect(violationsOf('core/risk.ts', [edge('node:fs', null)])).toHaveLength(1);
    expect(violationsOf('core/risk.ts', [edge('../engine/loop.js', 'engine')])).toHaveLength(1);
    expect(violationsOf('cli/commands/get.ts', [edge('../../server/app.js', 'server')])).toHaveLength(1);
    expect(violationsOf('client/index.ts', [edge('../server/app.js', 'server')])).toHaveLength(1);
    expect(violationsOf('cli/commands/get.ts', [edge('../../client/index.js', 'client')])).toEqual([]);
  });
});

describe('web UI imports (DESIGN.md: web -> client -> HTTP -> server)', () => {
  const web = path.join(root, 'web');
  const webFiles = sourceFiles(path.join(web, 'src'));

  /** What a web/ file may reach outside web/: the typed client and pure core, nothing that runs the server. */
  function webViolations(file: string): string[] {
    return importsOf(file).flatMap((edge) => {
      if (!edge.specifier.startsWith('.')) return edge.specifier.startsWith('node:') ? [`${path.relative(root, file)} imports ${edge.specifier}`] : [];
      const target = path.resolve(path.dirname(file), edge.specifier);
      if (target.startsWith(web + path.sep)) return [];
      const layer = path.relative(src, target).split(path.sep)[0];
      return layer === 'client' || layer === 'core' ? [] : [`${path.relative(root, file)} imports ${edge.specifier} (${layer})`];
    });
  }

  it('finds the UI sources', () => {
    expect(webFiles.length).toBeGreaterThan(5);
  });

  it('reaches the server only through src/client (and pure src/core)', () => {
    expect(webFiles.flatMap(webViolations)).toEqual([]);
  });
});
