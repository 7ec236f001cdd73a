/**
 * Keeps the last lines of a log file in memory by reading what was appended since the previous
 * read. Instances write straight into the file (their stdout/stderr are the file), so their
 * output survives the control plane and an adopted instance keeps logging to the same place.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** At most this many bytes are read per refresh; older output is skipped (it is still on disk). */
const MAX_READ_BYTES = 256 * 1024;

export class LogTail {
  private offset: number;
  private decoder = new StringDecoder('utf8');
  private partial = '';
  private readonly lines: string[] = [];
  /** True when the next chunk starts mid-line (after a skip) and its first line must be dropped. */
  private dropFirst = false;

  /**
   * @param file the log file
   * @param capacity lines kept in memory
   * @param from 'end': only output appended from now on; a number: start that many bytes before the end
   */
  constructor(
    private readonly file: string,
    private readonly capacity = 200,
    from: 'end' | number = 'end',
  ) {
    const size = sizeOf(file);
    if (from === 'end') this.offset = size;
    else {
      this.offset = Math.max(0, size - from);
      this.dropFirst = this.offset > 0;
    }
  }

  /** Reads whatever was appended since the last call. */
  refresh(): void {
    const size = sizeOf(this.file);
    if (size < this.offset) {
      // Truncated or replaced: start over.
      this.offset = 0;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
    }
    if (size === this.offset) return;
    let start = this.offset;
    if (size - start > MAX_READ_BYTES) {
      start = size - MAX_READ_BYTES;
      this.partial = '';
      this.decoder = new StringDecoder('utf8');
      this.dropFirst = true;
    }
    const buffer = Buffer.alloc(size - start);
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return;
    }
    let read = 0;
    try {
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, start + read);
        if (n === 0) break;
        read += n;
      }
    } finally {
      closeSync(fd);
    }
    this.offset = start + read;
    const text = this.partial + this.decoder.write(buffer.subarray(0, read));
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    if (this.dropFirst && parts.length > 0) {
      parts.shift();
      this.dropFirst = false;
    }
    for (const line of parts) this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** The last `count` lines (a trailing line without newline included), oldest first. */
  last(count: number): string[] {
    this.refresh();
    const all = this.partial ? [...this.lines, this.partial] : [...this.lines];
    const n = Math.max(0, Math.min(Math.floor(count), this.capacity));
    return n === 0 ? [] : all.slice(-n);
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
