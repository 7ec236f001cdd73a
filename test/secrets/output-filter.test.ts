/**
 * The output filter a target can put between a command and its log file (src/adapters/secrets/
 * output-filter.ts): it must blank the same forms as SecretRedactor, keep the command's exit
 * status, keep its own variables from the command, and stop with the process group.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILTERED_COMMAND_SCRIPT, filteredCommandEnv, OUTPUT_FILTER_SOURCE, REDACT_ENV } from '../../src/adapters/secrets/output-filter.js';
import { mulberry32 } from '../../src/core/analysis/kayenta/random.js';
import { SecretRedactor } from '../../src/core/secrets/redact.js';

const VALUES = ['db-Pa55word-7c1e9f', 'a"quoted\\value', '-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD9\n-----END KEY-----', 'tok+/en=='];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rg-output-filter-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `command` through the wrapper with stdout and stderr on a log file, as a detached group (what a target does). */
function startFiltered(command: string, values = VALUES) {
  const file = path.join(dir, `out-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(file, 'a', 0o600);
  const child = spawn('/bin/sh', ['-c', FILTERED_COMMAND_SCRIPT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...filteredCommandEnv(command, values) },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; log: string }>((resolve) =>
    child.once('exit', (code, signal) => {
      // The filter may still be writing its last chunk after the wrapper exits: give it a moment.
      setTimeout(() => resolve({ code, signal, log: readFileSync(file, 'utf8') }), 100);
    }),
  );
  return { pid: child.pid!, done };
}
const runFiltered = (command: string, values = VALUES) => startFiltered(command, values).done;

/** The filter on its own: `input` on stdin, its stdout back. */
const filterAlone = (input: string, values = VALUES): string =>
  spawnSync(process.execPath, ['-e', OUTPUT_FILTER_SOURCE], { input, env: { [REDACT_ENV]: Buffer.from(JSON.stringify(values)).toString('base64') }, encoding: 'utf8' }).stdout;

describe('output filter', () => {
  it('blanks values out of stdout and stderr on their way to the file, and keeps the exit status', async () => {
    const command = `echo "start"; echo "password ${VALUES[0]}"; echo "b64 $(printf %s '${VALUES[0]}' | base64)" >&2; printf 'split ${VALUES[0]!.slice(0, 6)}'; sleep 0.2; printf '${VALUES[0]!.slice(6)} end\\n'; exit 3`;
    const result = await runFiltered(command);
    expect(result.code).toBe(3);
    expect(result.log).toBe('start\npassword [redacted]\nb64 [redacted]\nsplit [redacted] end\n');
  });

  it('does not give the command its own variables (the values travel in ROLLGATE_REDACT)', async () => {
    const result = await runFiltered('echo "redact=${ROLLGATE_REDACT:-unset} command=${ROLLGATE_FILTERED_COMMAND:-unset} node=${ROLLGATE_FILTER_NODE:-unset}"');
    expect(result.code).toBe(0);
    expect(result.log).toBe('redact=unset command=unset node=unset\n');
  });

  it('passes output through unchanged when there is nothing to redact', async () => {
    const result = await runFiltered("printf 'a\\nb'; printf ' c\\n' >&2", []);
    expect(result.log).toBe('a\nb c\n');
  });

  it('stops with its process group, writing what the command printed last', async () => {
    const running = startFiltered(`echo "ready ${VALUES[0]}"; exec sleep 30`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(-running.pid, 'SIGTERM');
    const result = await running.done;
    expect(result.signal === 'SIGTERM' || result.code !== 0).toBe(true);
    expect(result.log).toBe('ready [redacted]\n');
  });

  it('agrees with SecretRedactor on awkward values and random texts', () => {
    const redactor = new SecretRedactor(VALUES);
    const random = mulberry32(7);
    const pieces = ['x', ' ', '\n', '"', '\\', ...VALUES, JSON.stringify(VALUES[1]), encodeURIComponent(VALUES[3]!), Buffer.from(VALUES[3]!).toString('base64'), 'MIIBOgIBAAJBAKj34GkxFhD9'];
    let text = '';
    for (let i = 0; i < 400; i += 1) text += pieces[Math.floor(random() * pieces.length)];
    expect(filterAlone(text)).toBe(redactor.redact(text));
  });
});
