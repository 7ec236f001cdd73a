import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/client/sse.js';

/** Feeds `text` cut at every position in `cuts` and returns every event. */
function parse(text: string, cuts: number[] = []) {
  const parser = new SseParser();
  const events = [];
  let start = 0;
  for (const cut of [...cuts, text.length]) {
    events.push(...parser.push(text.slice(start, cut)));
    start = cut;
  }
  return { events, parser };
}

describe('SseParser', () => {
  const stream = ': comment\n\nevent: change\nid: 7\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\n';

  it('parses events, data lines, ids and comments', () => {
    expect(parse(stream).events).toEqual([
      { event: 'change', data: '{"a":1}', id: '7' },
      // No `event:` means "message"; the last id carries over.
      { event: 'message', data: 'line one\nline two', id: '7' },
    ]);
  });

  it('gives the same events however the text is cut into chunks, with LF or CRLF line endings', () => {
    for (const text of [stream, stream.replaceAll('\n', '\r\n')]) {
      const whole = parse(text).events;
      expect(whole).toHaveLength(2);
      for (let cut = 1; cut < text.length; cut++) expect(parse(text, [cut]).events).toEqual(whole);
      expect(parse(text, Array.from({ length: text.length }, (_, i) => i)).events).toEqual(whole);
    }
  });

  it('accepts CRLF and CR line endings, also with CR and LF in different chunks', () => {
    const crlf = 'event: change\r\ndata: x\r\n\r\n';
    expect(parse(crlf).events).toEqual([{ event: 'change', data: 'x', id: '' }]);
    const cr = crlf.indexOf('\r\n\r\n') + 1;
    expect(parse(crlf, [cr]).events).toEqual([{ event: 'change', data: 'x', id: '' }]);
    expect(parse('data: a\r\rdata: b\r\r').events.map((event) => event.data)).toEqual(['a', 'b']);
    // "\r" ending one chunk and "\n" starting the next are one line break, not a blank line.
    expect(parse('data: a\r\ndata: b\r\n\r\n', [8]).events).toEqual([{ event: 'message', data: 'a\nb', id: '' }]);
  });

  it('strips one leading space only, a BOM at the start, and ignores unknown fields', () => {
    expect(parse('\uFEFFdata:  two spaces\nfoo: bar\ndata\n\n').events).toEqual([{ event: 'message', data: ' two spaces\n', id: '' }]);
  });

  it('keeps retry, dispatches nothing for an event without data, and drops an unterminated event at the end', () => {
    const { events, parser } = parse('retry: 3000\nevent: change\n\ndata: half');
    expect(events).toEqual([]);
    expect(parser.retryMs).toBe(3000);
    parser.end();
    expect(parser.push('\n\n')).toEqual([]);
  });
});
