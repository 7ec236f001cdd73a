import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConsoleNotifier, formatEventLine } from '../../src/adapters/notifiers/console.js';
import { describeNotifierContract, sampleEvent } from '../contract/notifier-contract.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return { stream, lines: () => text.split('\n').filter((line) => line !== '') };
}

/** Reads the id back from a text line: `id=<bare>` or `id="<json string>"`. */
function idOf(line: string): string {
  const match = / id=("(?:[^"\\]|\\.)*"|\S+)/.exec(line);
  if (!match) throw new Error(`no id in ${line}`);
  return match[1]!.startsWith('"') ? (JSON.parse(match[1]!) as string) : match[1]!;
}

describeNotifierContract('ConsoleNotifier (text)', async () => {
  const { stream, lines } = capture();
  return {
    notifier: new ConsoleNotifier(stream),
    delivered: async () => lines().map((line) => ({ id: idOf(line), type: line.split(' ')[1] })),
    teardown: async () => void stream.end(),
  };
});

describeNotifierContract('ConsoleNotifier (json)', async () => {
  const { stream, lines } = capture();
  return {
    notifier: new ConsoleNotifier(stream, { format: 'json' }),
    delivered: async () => lines().map((line) => JSON.parse(line) as { id: string; type: string }),
    teardown: async () => void stream.end(),
  };
});

describe('ConsoleNotifier', () => {
  it('writes exactly one readable line per event, even with awkward values', async () => {
    const { stream, lines } = capture();
    const notifier = new ConsoleNotifier(stream);
    const event = sampleEvent({
      id: 'ro 1:step 2',
      data: { note: 'two\nlines', weight: 25, ok: true, nested: { a: [1, 2] }, 'odd key': 'x' },
    });
    await notifier.notify(event);
    expect(lines()).toHaveLength(1);
    const line = lines()[0]!;
    expect(line).toBe(
      `2025-03-04T10:15:00.000Z rollout.step.completed rollout/checkout-prod id="ro 1:step 2" note="two\\nlines" weight=25 ok=true nested={"a":[1,2]} "odd key"=x`,
    );
    expect(idOf(line)).toBe('ro 1:step 2');
  });

  it('json format is the event itself, one object per line', () => {
    const event = sampleEvent();
    expect(JSON.parse(formatEventLine(event, 'json'))).toEqual(event);
  });

  it('rejects when the stream fails', async () => {
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    broken.on('error', () => undefined);
    await expect(new ConsoleNotifier(broken).notify(sampleEvent())).rejects.toThrow(/disk full/);
  });
});
