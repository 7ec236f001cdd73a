/** Reads the few numbers the demo needs out of the embedded router's Prometheus exposition. */

export interface RouterNumbers {
  byVersion: Record<string, { requests: number; errors: number }>;
  canaryWeight: number | null;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(LABEL)) labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return labels;
}

/** `rollgate_proxy_requests_total` summed per version (5xx as errors), and `rollgate_proxy_canary_weight`. */
export function routerNumbers(exposition: string): RouterNumbers {
  const numbers: RouterNumbers = { byVersion: {}, canaryWeight: null };
  for (const line of exposition.split('\n')) {
    const match = LINE.exec(line.trim());
    if (!match) continue;
    const [, name, rawLabels, rawValue] = match;
    const value = Number(rawValue);
    if (!Number.isFinite(value)) continue;
    const labels = labelsOf(rawLabels!);
    if (name === 'rollgate_proxy_requests_total' && labels.version) {
      const entry = (numbers.byVersion[labels.version] ??= { requests: 0, errors: 0 });
      entry.requests += value;
      if (labels.code_class === '5xx') entry.errors += value;
    } else if (name === 'rollgate_proxy_canary_weight') {
      numbers.canaryWeight = value;
    }
  }
  return numbers;
}
