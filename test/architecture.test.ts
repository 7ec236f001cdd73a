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

describe("the web UI's bundle (docs/adr/0005-web-ui.md)", () => {
  /**
   * The imports of a file that survive compilation: `import type` and imports of types only are
   * erased, so they bring nothing into the bundle. `dynamic`: `import()`, i.e. a lazy chunk.
   */
  function runtimeImports(file: string): Array<{ specifier: string; dynamic: boolean }> {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const found: Array<{ specifier: string; dynamic: boolean }> = [];
    const keeps = (clause: ts.ImportClause | undefined): boolean => {
      if (!clause) return true; // `import './x.css'`
      if (clause.isTypeOnly) return false;
      const bindings = clause.namedBindings;
      return clause.name !== undefined || (bindings !== undefined && (ts.isNamespaceImport(bindings) || bindings.elements.some((element) => !element.isTypeOnly)));
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && keeps(node.importClause)) {
        found.push({ specifier: node.moduleSpecifier.text, dynamic: false });
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
        const clause = node.exportClause;
        if (!clause || ts.isNamespaceExport(clause) || clause.elements.some((element) => !element.isTypeOnly)) found.push({ specifier: node.moduleSpecifier.text, dynamic: false });
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        found.push({ specifier: node.arguments[0].text, dynamic: true });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  /** `./x.js` → the `.ts`/`.tsx` file beside it (what Vite resolves); null for a stylesheet. */
  function resolveRelative(from: string, specifier: string): string | null {
    const base = path.resolve(path.dirname(from), specifier);
    if (base.endsWith('.css')) return null;
    const stem = base.replace(/\.js$/, '');
    for (const candidate of [`${stem}.ts`, `${stem}.tsx`, path.join(stem, 'index.ts')]) {
      if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    }
    throw new Error(`${path.relative(root, from)}: cannot resolve ${specifier}`);
  }

  const packageOf = (specifier: string): string =>
    specifier.startsWith('node:') ? specifier : specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

  /** Every package reachable from `entry`, with the chain of files that reaches it first. */
  function packagesFrom(entry: string, followDynamic: boolean): Map<string, string[]> {
    const via = new Map<string, string | null>([[entry, null]]);
    const packages = new Map<string, string[]>();
    const chain = (file: string): string[] => {
      const files: string[] = [];
      for (let at: string | null | undefined = file; at; at = via.get(at)) files.unshift(path.relative(root, at));
      return files;
    };
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.shift()!;
      for (const { specifier, dynamic } of runtimeImports(file)) {
        if (dynamic && !followDynamic) continue;
        if (!specifier.startsWith('.')) {
          const name = packageOf(specifier);
          if (!packages.has(name)) packages.set(name, [...chain(file), specifier]);
          continue;
        }
        const target = resolveRelative(file, specifier);
        if (target && !via.has(target)) {
          via.set(target, file);
          queue.push(target);
        }
      }
    }
    return packages;
  }

  const main = path.join(root, 'web/src/main.tsx');
  const report = (packages: Map<string, string[]>, names: string[]) => names.map((name) => `${name}: ${packages.get(name)!.join(' -> ')}`);

  it('the entry chunk (what main.tsx imports, lazy pages left out) needs only React, wouter and zod', () => {
    // The client's wire schemas are in the entry chunk: they must come from core modules without
    // CEL, semver or luxon (e.g. policy-wire.ts, not policy.ts). A page's own libraries are fine
    // in its lazy chunk.
    const allowed = new Set(['react', 'react-dom', 'wouter', 'zod']);
    const packages = packagesFrom(main, false);
    expect(packages.has('zod')).toBe(true);
    expect(report(packages, [...packages.keys()].filter((name) => !allowed.has(name)))).toEqual([]);
  });

  it('no page reaches CEL, semver or a Node module (server-side core logic)', () => {
    const packages = packagesFrom(main, true);
    expect(packages.has('luxon')).toBe(true); // the calendar's: proves lazy pages are followed
    const forbidden = [...packages.keys()].filter((name) => name === '@bufbuild/cel' || name === 'semver' || name.startsWith('node:'));
    expect(report(packages, forbidden)).toEqual([]);
  });
});
