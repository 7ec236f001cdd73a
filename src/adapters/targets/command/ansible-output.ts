/**
 * Reads ansible-playbook's output as the `ansible` target runs it: the stdout callback `default`
 * with results as one-line JSON (ANSIBLE_CALLBACK_RESULT_FORMAT=json, ANSIBLE_CALLBACK_FORMAT_PRETTY
 * =false, no colour), which keeps the log readable for people while making the lines that matter
 * parseable:
 *
 *   TASK [Start the demo app] ******************************************************
 *   fatal: [web1]: FAILED! => {"changed": true, "msg": "non-zero return code", "rc": 3, "stderr_lines": ["oops"], ...}
 *   failed: [web1] (item=a) => {...}
 *   ...ignoring
 *   ok: [web1] => {"msg": "ROLLGATE_ENDPOINT=10.0.0.7:8080"}
 *   ERROR! the playbook: site.yml could not be found          (stderr)
 */
import { endpointsInText, isEndpoint } from './output.js';

interface TaskFailure {
  task: string | null;
  host: string;
  kind: 'FAILED' | 'UNREACHABLE';
  item: string | null;
  result: string;
}

const HEADER = /^(PLAY|TASK|RUNNING HANDLER) \[(.*)\] \**\s*$/;
const FATAL = /^fatal: \[([^\]]+)\]: (FAILED|UNREACHABLE)! => (.*)$/;
const ITEM_FAILED = /^failed: \[([^\]]+)\] \(item=(.*?)\) => (.*)$/;
const ERROR = /^(?:ERROR!|\[ERROR\]:)\s*(.*)$/;
const MAX_ERROR_LINES = 6;
const MAX_DETAIL_LINES = 5;

export class AnsibleOutput {
  private task: string | null = null;
  private readonly failures: TaskFailure[] = [];
  private readonly errors: string[] = [];
  private errorLines = 0;
  private inError = false;
  private readonly found: string[] = [];

  line(line: string, stream: 'stdout' | 'stderr'): void {
    const header = HEADER.exec(line);
    if (header) {
      if (header[1] !== 'PLAY') this.task = header[2]!;
      this.inError = false;
      return;
    }
    const fatal = FATAL.exec(line);
    if (fatal) {
      this.failures.push({ task: this.task, host: fatal[1]!, kind: fatal[2] as TaskFailure['kind'], item: null, result: fatal[3]! });
      return;
    }
    const itemFailed = ITEM_FAILED.exec(line);
    if (itemFailed) {
      this.failures.push({ task: this.task, host: itemFailed[1]!, kind: 'FAILED', item: itemFailed[2]!, result: itemFailed[3]! });
      return;
    }
    if (line.trim() === '...ignoring') {
      this.failures.pop();
      return;
    }
    const error = ERROR.exec(line);
    if (error) {
      this.inError = true;
      this.errors.push(error[1]!.trim());
      this.errorLines = 1;
      return;
    }
    if (this.inError) {
      if (line.trim() === '' || this.errorLines >= MAX_ERROR_LINES) {
        this.inError = false;
      } else {
        this.errors[this.errors.length - 1] += `\n${line.trimEnd()}`;
        this.errorLines++;
      }
      return;
    }
    if (stream === 'stdout' && line.includes('ROLLGATE_ENDPOINT=')) {
      // Only well-formed ones: with -v Ansible also echoes the task's own text (e.g. "$ADDR").
      for (const endpoint of endpointsInText(line)) if (isEndpoint(endpoint)) this.found.push(endpoint);
    }
  }

  endpoints(): string[] {
    return [...this.found];
  }

  /** The failing task and its message (the last failure that was not ignored), else Ansible's ERROR text; null when neither was seen. */
  failure(): string | null {
    const failure = this.failures.at(-1);
    if (failure) {
      const where = failure.task === null ? `on ${failure.host}` : `task "${failure.task}" on ${failure.host}`;
      const item = failure.item === null ? '' : ` (item ${failure.item})`;
      const detail = describeResult(failure.result);
      return failure.kind === 'UNREACHABLE' ? `${where}: host unreachable: ${detail}` : `${where}${item} failed: ${detail}`;
    }
    if (this.errors.length > 0) return this.errors.join('\n');
    return null;
  }
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join('\n');
  return JSON.stringify(value);
}

function lines(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((line) => (typeof line === 'string' ? line : JSON.stringify(line)));
  if (typeof value === 'string' && value !== '') return value.split('\n');
  return [];
}

/** A task result's JSON as one message: `msg`, the return code, and the last lines of stderr (or stdout). */
export function describeResult(raw: string): string {
  let result: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return raw;
    result = parsed as Record<string, unknown>;
  } catch {
    return raw;
  }
  const parts: string[] = [];
  const msg = result.msg !== undefined ? text(result.msg) : result.reason !== undefined ? text(result.reason) : '';
  let head = msg || 'failed';
  if (typeof result.rc === 'number' && !/\brc\b|return code \d/.test(head)) head += ` (rc ${result.rc})`;
  parts.push(head);
  const stderr = lines(result.stderr_lines ?? result.stderr).filter((line) => line.trim() !== '');
  const stdout = lines(result.stdout_lines ?? result.stdout).filter((line) => line.trim() !== '');
  const output = stderr.length > 0 ? stderr : stdout;
  if (output.length > 0) parts.push(...output.slice(-MAX_DETAIL_LINES));
  if (msg === '' && output.length === 0) {
    const { changed: _changed, ...rest } = result;
    parts[0] = JSON.stringify(rest);
  }
  return parts.join('\n');
}
