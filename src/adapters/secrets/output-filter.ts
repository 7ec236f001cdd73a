/**
 * Redacts a process's output on its way to a log file without passing it through the control
 * plane: the command runs under a small shell wrapper that pipes its stdout and stderr through a
 * filter process (Node.js, `-e`), and the filter writes to the wrapper's stdout, the log file.
 * Wrapper, command and filter are one process group, so a target that signals the group stops all
 * three, and none of them holds a pipe to the control plane (an instance outlives it, as the
 * `process` target requires for adoption).
 *
 * - The values travel in the environment variable ROLLGATE_REDACT (base64 of a JSON array), which
 *   the command does not get (it has the values in its own variables anyway).
 * - The wrapper exits with the command's status (POSIX sh has no pipefail; the status is carried
 *   out of the pipeline on a spare descriptor).
 * - The filter ignores SIGTERM/SIGINT/SIGHUP and ends when the command's output ends, so the last
 *   lines are written even when the group is stopped; SIGKILL still ends it.
 * - The filter blanks the same forms as SecretRedactor (src/core/secrets/redact.ts), holding back
 *   only a chunk's tail that could be the start of a value; test/secrets/output-filter.test.ts
 *   checks both agree.
 */

/** Carries the values to the filter; never given to the command. */
export const REDACT_ENV = 'ROLLGATE_REDACT';
const COMMAND_ENV = 'ROLLGATE_FILTERED_COMMAND';
const NODE_ENV = 'ROLLGATE_FILTER_NODE';
const SOURCE_ENV = 'ROLLGATE_FILTER_SOURCE';

/** The filter (plain JavaScript for `node -e`): stdin → redacted → stdout. Mirrors SecretRedactor and StreamRedactor. */
export const OUTPUT_FILTER_SOURCE = String.raw`
'use strict';
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => {});
const MIN = 4;
const REDACTED = '[redacted]';
const values = JSON.parse(Buffer.from(process.env.ROLLGATE_REDACT || 'W10=', 'base64').toString('utf8'));
const forms = new Set();
for (const value of values) {
  if (typeof value !== 'string' || value.length < MIN) continue;
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const candidates = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), b64, b64.replace(/=+$/, ''), b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')];
  if (/[\r\n]/.test(value)) for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= MIN) candidates.push(line.trim());
  for (const form of candidates) if (form.length >= MIN) forms.add(form);
}
const sorted = [...forms].sort((a, b) => b.length - a.length);
const pattern = sorted.length ? new RegExp(sorted.map((f) => f.replace(/[.*+?^$\{\}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
const longest = sorted.length ? sorted[0].length : 0;
const redact = (text) => (pattern ? text.replace(pattern, REDACTED) : text);
const isPrefix = (tail) => sorted.some((form) => form.length > tail.length && form.startsWith(tail));
let pending = '';
const write = (text) => { if (text) process.stdout.write(text); };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const text = pending + chunk;
  let open = text.length;
  for (let start = Math.max(0, text.length - longest + 1); start < text.length; start += 1) {
    if (isPrefix(text.slice(start))) { open = start; break; }
  }
  let cut = open;
  if (pattern && open < text.length) {
    for (const match of text.matchAll(pattern)) {
      if (match.index >= open) break;
      if (match.index + match[0].length > open) cut = match.index + match[0].length;
    }
  }
  pending = text.slice(cut);
  write(redact(text.slice(0, cut)));
});
process.stdin.on('end', () => { write(redact(pending)); pending = ''; });
`;

/**
 * The POSIX sh script that runs $ROLLGATE_FILTERED_COMMAND through the filter and exits with its
 * status. Run it as `/bin/sh -c <script>` with `filteredCommandEnv(...)` in the environment.
 */
export const FILTERED_COMMAND_SCRIPT = [
  'exec 4>&1',
  `status=$( { { ( unset ${REDACT_ENV} ${NODE_ENV} ${SOURCE_ENV}; cmd=$${COMMAND_ENV}; unset ${COMMAND_ENV}; exec /bin/sh -c "$cmd" ) 3>&- 4>&- 2>&1; echo $? >&3; } | "$${NODE_ENV}" -e "$${SOURCE_ENV}" 3>&- >&4; } 3>&1 )`,
  'exit "${status:-1}"',
].join('\n');

/** What to add to the command's environment so that `/bin/sh -c FILTERED_COMMAND_SCRIPT` runs `command` filtered. */
export function filteredCommandEnv(command: string, values: readonly string[], nodePath: string = process.execPath): Record<string, string> {
  return {
    [COMMAND_ENV]: command,
    [REDACT_ENV]: Buffer.from(JSON.stringify([...values]), 'utf8').toString('base64'),
    [NODE_ENV]: nodePath,
    [SOURCE_ENV]: OUTPUT_FILTER_SOURCE,
  };
}
