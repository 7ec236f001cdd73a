import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  WebhookDeliveryError,
  WebhookNotifier,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/adapters/notifiers/webhook.js';
import { describeNotifierContract, sampleEvent } from '../contract/notifier-contract.js';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = number | 'hang';

/** A webhook receiver on 127.0.0.1:0 that answers from a script of replies (then 200). */
async function startReceiver() {
  const received: Received[] = [];
  const replies: Reply[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = replies.shift() ?? 200;
      if (reply === 'hang') return;
      if (reply >= 300 && reply < 400) res.setHeader('location', '/elsewhere');
      res.writeHead(reply, { 'content-type': 'text/plain' });
      res.end(reply >= 400 ? `nope ${reply}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/rollgate`,
    port,
    received,
    replies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describeNotifierContract('WebhookNotifier', async () => {
  const receiver = await startReceiver();
  return {
    notifier: new WebhookNotifier({ url: receiver.url, secret: 'contract-secret', retries: 1, backoffMs: 10, timeoutMs: 2000 }),
    delivered: async () => receiver.received.map((request) => JSON.parse(request.body) as { id: string; type: string }),
    teardown: receiver.close,
  };
});

describe('WebhookNotifier', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    receiver = await startReceiver();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('POSTs a CloudEvents 1.0 structured-mode document', async () => {
    const event = sampleEvent();
    await new WebhookNotifier({ url: receiver.url }).notify(event);
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hooks/rollgate');
    expect(request!.headers['content-type']).toBe(CLOUDEVENTS_CONTENT_TYPE);
    expect(JSON.parse(request!.body)).toEqual({
      specversion: '1.0',
      id: event.id,
      source: 'rollgate',
      type: 'dev.rollgate.rollout.step.completed',
      subject: 'rollout/checkout-prod',
      time: event.time,
      datacontenttype: 'application/json',
      data: event.data,
    });
    expect(request!.headers['x-rollgate-signature']).toBeUndefined();
  });

  it('signs timestamp + raw body with HMAC-SHA256; the signature verifies and tampering does not', async () => {
    const secret = 'whsec_test_0123456789';
    await new WebhookNotifier({ url: receiver.url, secret }).notify(sampleEvent());
    const [request] = receiver.received;
    const timestamp = request!.headers['x-rollgate-timestamp'] as string;
    const signature = request!.headers['x-rollgate-signature'] as string;
    expect(timestamp).toMatch(/^\d+$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(10);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signature).toBe(signWebhook(secret, timestamp, request!.body));

    expect(verifyWebhookSignature({ secret, body: request!.body, timestamp, signature })).toEqual({ ok: true });
    const tampered = request!.body.replace('"pass"', '"fail"');
    expect(verifyWebhookSignature({ secret, body: tampered, timestamp, signature }).ok).toBe(false);
    expect(verifyWebhookSignature({ secret: 'other', body: request!.body, timestamp, signature }).ok).toBe(false);
    // Moving the timestamp breaks the signature; replaying it later falls outside the window.
    expect(verifyWebhookSignature({ secret, body: request!.body, timestamp: String(Number(timestamp) + 1), signature }).ok).toBe(false);
    expect(
      verifyWebhookSignature({ secret, body: request!.body, timestamp, signature, nowSeconds: Number(timestamp) + 301 }),
    ).toEqual({ ok: false, reason: 'timestamp outside the tolerance window' });
    expect(verifyWebhookSignature({ secret, body: request!.body, timestamp: null, signature }).ok).toBe(false);
  });

  it('retries 5xx with backoff, then succeeds; every attempt carries the same body and a valid signature', async () => {
    receiver.replies.push(503, 503);
    const secret = 's3cret-value';
    const started = Date.now();
    await new WebhookNotifier({ url: receiver.url, secret, retries: 3, backoffMs: 50 }).notify(sampleEvent());
    expect(receiver.received).toHaveLength(3);
    // waits ≥ 25 ms then ≥ 50 ms (half-to-full jitter of 50, 100)
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(new Set(receiver.received.map((request) => request.body)).size).toBe(1);
    for (const request of receiver.received) {
      const check = verifyWebhookSignature({
        secret,
        body: request.body,
        timestamp: request.headers['x-rollgate-timestamp'] as string,
        signature: request.headers['x-rollgate-signature'] as string,
      });
      expect(check.ok).toBe(true);
    }
  });

  it('never retries a 4xx', async () => {
    receiver.replies.push(400);
    const notify = new WebhookNotifier({ url: receiver.url, retries: 3, backoffMs: 10 }).notify(sampleEvent());
    await expect(notify).rejects.toBeInstanceOf(WebhookDeliveryError);
    await expect(notify).rejects.toMatchObject({ status: 400, attempts: 1, message: expect.stringContaining('HTTP 400: nope 400') });
    expect(receiver.received).toHaveLength(1);
  });

  it('does not follow redirects and does not retry them', async () => {
    receiver.replies.push(307);
    await expect(new WebhookNotifier({ url: receiver.url, retries: 2, backoffMs: 10 }).notify(sampleEvent())).rejects.toMatchObject({
      status: 307,
      attempts: 1,
    });
    expect(receiver.received).toHaveLength(1);
  });

  it('gives up after the configured retries on a persistent 5xx', async () => {
    receiver.replies.push(500, 502, 503, 504);
    await expect(new WebhookNotifier({ url: receiver.url, retries: 2, backoffMs: 10 }).notify(sampleEvent())).rejects.toMatchObject({
      status: 503,
      attempts: 3,
    });
    expect(receiver.received).toHaveLength(3);
  });

  it('times each attempt out and retries timeouts (bounded)', async () => {
    receiver.replies.push('hang', 'hang');
    const started = Date.now();
    await expect(new WebhookNotifier({ url: receiver.url, timeoutMs: 200, retries: 1, backoffMs: 10 }).notify(sampleEvent())).rejects.toThrow(
      /timed out after 200 ms/,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(3000);
    expect(receiver.received).toHaveLength(2);
  });

  it('retries network errors and reports them without credentials or query strings', async () => {
    const closed = await startReceiver();
    await closed.close();
    const notifier = new WebhookNotifier({ url: `http://user:hunter2@127.0.0.1:${closed.port}/hook?token=abc`, retries: 1, backoffMs: 10 });
    const error = (await notifier.notify(sampleEvent()).catch((e: unknown) => e)) as WebhookDeliveryError;
    expect(error).toBeInstanceOf(WebhookDeliveryError);
    expect(error.attempts).toBe(2);
    expect(error.message).toMatch(/network error: ECONNREFUSED/);
    expect(error.message).toContain(`http://127.0.0.1:${closed.port}/hook`);
    expect(error.message).not.toMatch(/hunter2|token=abc/);
  });

  it('validates its config', () => {
    expect(() => new WebhookNotifier({ url: 'not a url' })).toThrow(/valid URL/);
    expect(() => new WebhookNotifier({ url: 'ftp://example.com/x' })).toThrow(/http/);
    expect(() => new WebhookNotifier({ url: receiver.url, retries: -1 })).toThrow(/retries/);
    expect(() => new WebhookNotifier({ url: receiver.url, secret: '' })).toThrow(/secret/);
  });
});
