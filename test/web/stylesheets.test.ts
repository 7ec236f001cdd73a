/**
 * Page stylesheets stay inside their page. Vite loads a page's CSS with its chunk and never unloads
 * it, so a generic class in one page's stylesheet (`.digest`, `.steps`, `.num`, `.ok`) restyles
 * every page visited afterwards that uses the same name. Every selector in web/src/pages/<page>/*.css
 * therefore starts with the page's own class: a class with the page's prefix, or the page's root
 * classes in `:where(...)` (zero specificity, so scoping changes no precedence).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const PAGES = path.resolve(import.meta.dirname, '../../web/src/pages');

/** The class prefix each page's stylesheet scopes its rules with. */
const PREFIXES: Record<string, string> = {
  audit: 'audit-',
  calendar: 'cal',
  changes: 'chg-',
  releases: 'rel-',
  rollouts: 'rollout',
};

/** Every selector of a stylesheet (rules inside @media too; @-rules themselves and keyframe stops skipped). */
export function selectorsOf(css: string): string[] {
  const text = css.replace(/\/\*[\s\S]*?\*\//g, '');
  const selectors: string[] = [];
  for (const match of text.matchAll(/([^{}]+)\{/g)) {
    const prelude = match[1]!.trim();
    if (prelude.startsWith('@') || /^(from|to|\d+%)$/.test(prelude)) continue;
    selectors.push(...splitList(prelude));
  }
  return selectors.filter(Boolean);
}

/** A selector list split at its top-level commas (not those inside `:where(...)` / `:is(...)`). */
function splitList(prelude: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < prelude.length; i++) {
    const char = prelude[i];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(prelude.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(prelude.slice(start).trim());
  return parts;
}

/** The first class a selector names (`:where(.rollout, .rollouts) .num` → `rollout`), or null. */
const firstClass = (selector: string): string | null => /\.([A-Za-z][\w-]*)/.exec(selector)?.[1] ?? null;

function stylesheets(): Array<{ page: string; file: string; css: string }> {
  return readdirSync(PAGES)
    .filter((page) => statSync(path.join(PAGES, page)).isDirectory())
    .flatMap((page) =>
      readdirSync(path.join(PAGES, page))
        .filter((file) => file.endsWith('.css'))
        .map((file) => ({ page, file: `${page}/${file}`, css: readFileSync(path.join(PAGES, page, file), 'utf8') })),
    );
}

describe('page stylesheets', () => {
  it('finds the selectors of a stylesheet, in media queries too', () => {
    expect(selectorsOf('/* a { } */ .x, .y .z { color: red }\n@media (max-width: 1px) { .w { margin: 0 } }')).toEqual(['.x', '.y .z', '.w']);
    expect(selectorsOf(':where(.a, .b) .c, .d { color: red }')).toEqual([':where(.a, .b) .c', '.d']);
    expect(firstClass(':where(.rollout, .rollouts) .num')).toBe('rollout');
    expect(firstClass('div.rel-actions')).toBe('rel-actions');
    expect(firstClass('table td')).toBeNull();
  });

  it('scope every rule to its page (its class prefix or its root classes)', () => {
    const sheets = stylesheets();
    expect(sheets.map((sheet) => sheet.file)).toEqual(expect.arrayContaining(['releases/releases.css', 'rollouts/rollouts.css', 'changes/changes.css']));
    const leaks: string[] = [];
    for (const sheet of sheets) {
      const prefix = PREFIXES[sheet.page];
      if (prefix === undefined) {
        leaks.push(`${sheet.file}: no class prefix for page "${sheet.page}" in PREFIXES`);
        continue;
      }
      for (const selector of selectorsOf(sheet.css)) {
        if (!firstClass(selector)?.startsWith(prefix)) leaks.push(`${sheet.file}: ${selector}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('keeps the generic names that clashed inside their pages', () => {
    const css = (file: string) => selectorsOf(readFileSync(path.join(PAGES, file), 'utf8'));
    const generic = /^\.(digest|steps|step|step-[\w-]+|num|ok|bad)\b/;
    for (const file of ['releases/releases.css', 'rollouts/rollouts.css', 'changes/changes.css']) {
      expect(css(file).filter((selector) => generic.test(selector)), file).toEqual([]);
    }
    expect(css('rollouts/rollouts.css')).toEqual(expect.arrayContaining([':where(.rollout, .rollouts) .digest', ':where(.rollout, .rollouts) .steps', ':where(.rollout, .rollouts) .num', ':where(.rollout, .rollouts) .ok', ':where(.rollout, .rollouts) .bad']));
    expect(css('releases/releases.css')).toEqual(expect.arrayContaining([':where(.rel-page) .digest']));
  });
});
