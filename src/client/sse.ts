/**
 * A parser for the `text/event-stream` format (WHATWG HTML, "Server-sent events"). It is fed text
 * chunks as they arrive; a line or an event may be split across any number of chunks.
 */

export interface SseMessage {
  /** The `event:` field; "message" when the server gave none. */
  event: string;
  /** The `data:` lines joined by "\n". */
  data: string;
  /** The last `id:` seen on the stream so far (the value to send back as Last-Event-ID). */
  id: string;
}

export class SseParser {
  private buffer = '';
  /** The previous chunk ended in "\r": a "\n" starting the next chunk belongs to that line ending. */
  private skipLeadingLf = false;
  private atStreamStart = true;
  private eventType = '';
  private data: string[] = [];
  private lastEventId = '';
  private retry: number | undefined;

  /** The reconnection time the server asked for with `retry:`, in milliseconds. */
  get retryMs(): number | undefined {
    return this.retry;
  }

  /** Feeds decoded text; returns the events completed by it. */
  push(chunk: string): SseMessage[] {
    if (this.atStreamStart && chunk.length > 0) {
      this.atStreamStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.skipLeadingLf && chunk.startsWith('\n')) chunk = chunk.slice(1);
    if (chunk.length > 0) this.skipLeadingLf = false;
    this.buffer += chunk;

    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      const message = this.line(this.buffer.slice(start, i));
      if (message) messages.push(message);
      if (ch === '\r') {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === '\n') i++;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  /** The stream ended. An event without its terminating blank line is discarded, as the spec says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.eventType = '';
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    const hadData = this.data.length > 0;
    const message: SseMessage = { event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastEventId };
    this.data = [];
    this.eventType = '';
    return hadData ? message : null;
  }
}
