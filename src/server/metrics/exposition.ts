/**
 * Merges Prometheus text expositions from several sources (one per service's embedded router,
 * plus the engine's own counters) into one valid exposition: the text format requires every
 * sample of a metric family to follow its single `# HELP` / `# TYPE` header, so families that
 * appear in several sources are regrouped, never repeated.
 */
interface Family {
  help: string | null;
  type: string | null;
  samples: string[];
}

/** The family a sample belongs to: histogram/summary suffixes map to their base name. */
function familyOf(sampleName: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return sampleName;
}

export function mergeExpositions(texts: string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { help: null, type: null, samples: [] }));
    return found;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const header = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (header) {
        const entry = family(header[2]!);
        if (header[1] === 'HELP') entry.help ??= line;
        else entry.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(line)?.[1];
      if (name) family(familyOf(name, families)).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const entry of families.values()) {
    if (entry.samples.length === 0 && !entry.type) continue;
    if (entry.help) out.push(entry.help);
    if (entry.type) out.push(entry.type);
    out.push(...entry.samples);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
