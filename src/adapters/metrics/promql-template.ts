/**
 * PromQL templates of AnalysisTemplate metrics: `{{version}}`, `{{arm}}`, `{{window}}`,
 * `{{service}}` and `{{args.NAME}}` (whitespace inside the braces is allowed: `{{ version }}`).
 *
 * - `{{version}}` and `{{service}}` are escaped for a double-quoted PromQL string literal, so a
 *   version such as `2.0.0-"rc"\1` cannot break out of `version="{{version}}"`. (In a regular
 *   expression matcher, `=~`, regex metacharacters such as `.` keep their regex meaning.)
 * - `{{arm}}` is `baseline` or `canary`.
 * - `{{window}}` is the window's length as a PromQL duration in whole seconds (rounded, at least
 *   `1s`), e.g. `60s`, for range selectors such as `[{{window}}]`.
 * - `{{args.NAME}}` is the analysis run's argument, inserted verbatim: arguments are written by the
 *   template's and strategy's authors and may hold PromQL fragments (as in Argo Rollouts).
 *
 * An unknown placeholder, `{{service}}` without a service and `{{args.NAME}}` without such an
 * argument are errors naming the placeholder; nothing is left unrendered.
 */

export interface PromqlTemplateContext {
  version: string;
  arm: 'baseline' | 'canary';
  /** Window length, ms. */
  windowMs: number;
  service?: string;
  args?: Readonly<Record<string, string>>;
}

export class PromqlTemplateError extends Error {
  override name = 'PromqlTemplateError';
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** `value` escaped for the inside of a double-quoted PromQL string literal (Go escapes). */
export function promqlString(value: string): string {
  return value.replace(/[\\"\u0000-\u001f\u007f]/g, (ch) => {
    switch (ch) {
      case '\\':
        return '\\\\';
      case '"':
        return '\\"';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
}

/** A window length as a PromQL duration in whole seconds, at least `1s`. */
export function promqlDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`window length must be a finite, non-negative number of ms, got ${ms}`);
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

/** Renders every placeholder of `template`; throws PromqlTemplateError naming the first it cannot fill. */
export function renderPromql(template: string, context: PromqlTemplateContext): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    switch (name) {
      case 'version':
        return promqlString(context.version);
      case 'arm':
        return context.arm;
      case 'window':
        return promqlDuration(context.windowMs);
      case 'service':
        if (context.service === undefined) throw new PromqlTemplateError(`placeholder {{service}} cannot be filled: no service name was given`);
        return promqlString(context.service);
      default:
        break;
    }
    if (name.startsWith('args.')) {
      const arg = name.slice('args.'.length);
      const args = context.args ?? {};
      if (!Object.prototype.hasOwnProperty.call(args, arg)) {
        const known = Object.keys(args);
        throw new PromqlTemplateError(`placeholder {{args.${arg}}} cannot be filled: the analysis run has no argument "${arg}"${known.length > 0 ? ` (it has: ${known.join(', ')})` : ' (it has none)'}`);
      }
      return args[arg]!;
    }
    throw new PromqlTemplateError(`unknown placeholder ${whole}; known: {{version}}, {{arm}}, {{window}}, {{service}}, {{args.NAME}}`);
  });
}
