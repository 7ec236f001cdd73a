/**
 * Notifier that POSTs each event as a CloudEvents 1.0 JSON document (structured content mode) to a
 * URL, signed, with bounded retries.
 *
 * Body (`Content-Type: application/cloudevents+json; charset=utf-8`):
 * `{ specversion: "1.0", id, source: "rollgate", type: "dev.rollgate.<event.type>",
 *    subject: "<kind>/<name>", time, datacontenttype: "application/json", data }`.
 * `id` is the event's id, so a repeated delivery carries the same id and the receiver drops it.
 * The body of a given event is the same bytes on every attempt and every repeat.
 *
 * Signature (only when `secret` is set) — how a receiver verifies a request:
 * 1. `X-Rollgate-Timestamp` is the sending time in whole Unix seconds (decimal), fresh per attempt.
 * 2. `X-Rollgate-Signature` is `sha256=` followed by the lowercase hex HMAC-SHA256, keyed with the
 *    shared secret (its UTF-8 bytes), of the UTF-8 string `<timestamp>.<raw body>` — the timestamp
 *    header value, one dot, then the request body exactly as received (before any JSON parsing).
 * 3. Recompute it, compare in constant time, and reject the request if the timestamp is more than
 *    5 minutes away from the receiver's clock: a captured request cannot be replayed later, and
 *    the timestamp cannot be changed without breaking the signature. Within the window, drop
 *    duplicates by the CloudEvent `id`. `verifyWebhookSignature` below implements these checks.
 *
 * Delivery: each attempt is bounded by `timeoutMs` (AbortSignal.timeout). Network errors, timeouts
 * and 5xx answers are retried up to `retries` times with exponential backoff (`backoffMs` doubling,
 * at most 30 s per wait, with jitter); 4xx answers (and redirects, which are not followed) are
 * never retried. `notify` rejects with a `WebhookDeliveryError` when delivery failed. Error
 * messages name the URL without its query string or credentials, and never include the secret.
 * Credentials in the URL (`https://user:pass@host/...`) are sent as HTTP Basic authentication.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NotificationEvent, Notifier } from '../../ports/notifier.js';

export const SIGNATURE_HEADER = 'X-Rollgate-Signature';
export const TIMESTAMP_HEADER = 'X-Rollgate-Timestamp';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
/** Default replay window of `verifyWebhookSignature`. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface WebhookNotifierConfig {
  url: string;
  /** Shared HMAC secret; without it requests are unsigned. */
  secret?: string;
  /** Per attempt; default 10000. */
  timeoutMs?: number;
  /** Extra attempts after the first for network errors, timeouts and 5xx; default 3. */
  retries?: number;
  /** Wait before the first retry, doubling each time (capped at 30 s); default 500. */
  backoffMs?: number;
  /** CloudEvents `source`; default "rollgate". */
  source?: string;
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

export function toCloudEvent(event: NotificationEvent, source = 'rollgate'): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: `dev.rollgate.${event.type}`,
    subject: `${event.subject.kind}/${event.subject.name}`,
    time: event.time,
    datacontenttype: 'application/json',
    data: event.data,
  };
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

export interface VerifyWebhookInput {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string;
  /** Value of X-Rollgate-Timestamp. */
  timestamp: string | null | undefined;
  /** Value of X-Rollgate-Signature. */
  signature: string | null | undefined;
  toleranceSeconds?: number;
  /** Receiver clock in Unix seconds; default now. */
  nowSeconds?: number;
}

/** Checks a received webhook: signature over `<timestamp>.<body>` and timestamp freshness. */
export function verifyWebhookSignature(input: VerifyWebhookInput): { ok: true } | { ok: false; reason: string } {
  const { secret, body, timestamp, signature } = input;
  if (!timestamp || !/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  if (!signature || !/^sha256=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'missing or malformed signature' };
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature mismatch' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - Number(timestamp)) > tolerance) return { ok: false, reason: 'timestamp outside the tolerance window' };
  return { ok: true };
}

export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  constructor(
    message: string,
    /** Attempts made. */
    readonly attempts: number,
    /** Last HTTP status, when there was an answer. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const MAX_BACKOFF_MS = 30_000;

export class WebhookNotifier implements Notifier {
  private readonly config: Readonly<Required<Omit<WebhookNotifierConfig, 'secret'>> & { secret: string | undefined }>;
  private readonly displayUrl: string;

  constructor(config: WebhookNotifierConfig) {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new TypeError('WebhookNotifier: url is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('WebhookNotifier: url must be http(s)');
    const timeoutMs = config.timeoutMs ?? 10_000;
    const retries = config.retries ?? 3;
    const backoffMs = config.backoffMs ?? 500;
    if (!(timeoutMs > 0)) throw new RangeError('WebhookNotifier: timeoutMs must be positive');
    if (!Number.isInteger(retries) || retries < 0 || retries > 20) throw new RangeError('WebhookNotifier: retries must be an integer 0-20');
    if (!(backoffMs >= 0)) throw new RangeError('WebhookNotifier: backoffMs must be >= 0');
    if (config.secret !== undefined && config.secret === '') throw new TypeError('WebhookNotifier: secret must not be empty');
    this.config = Object.freeze({
      url: config.url,
      secret: config.secret,
      timeoutMs,
      retries,
      backoffMs,
      source: config.source ?? 'rollgate',
    });
    this.displayUrl = `${url.protocol}//${url.host}${url.pathname}`;
    // fetch refuses URLs with credentials: send them as HTTP Basic authentication instead.
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.requestUrl = url.toString();
  }

  private readonly requestUrl: string;
  private readonly authorization: string | undefined;

  /** Keeps the full URL (query string, credentials) out of error messages. */
  private scrub(text: string): string {
    return text.split(this.config.url).join(this.displayUrl).split(this.requestUrl).join(this.displayUrl);
  }

  async notify(event: NotificationEvent): Promise<void> {
    const body = JSON.stringify(toCloudEvent(event, this.config.source));
    const attempts = this.config.retries + 1;
    let lastProblem = '';
    let lastStatus: number | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const headers: Record<string, string> = {
        'content-type': CLOUDEVENTS_CONTENT_TYPE,
        'user-agent': 'rollgate-webhook',
      };
      if (this.authorization) headers.authorization = this.authorization;
      if (this.config.secret !== undefined) {
        const timestamp = String(Math.floor(Date.now() / 1000));
        headers[TIMESTAMP_HEADER] = timestamp;
        headers[SIGNATURE_HEADER] = signWebhook(this.config.secret, timestamp, body);
      }
      let retryable: boolean;
      try {
        const response = await fetch(this.requestUrl, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
        lastStatus = response.status;
        if (response.status >= 200 && response.status < 300) {
          await response.body?.cancel().catch(() => undefined);
          return;
        }
        const snippet = await response
          .text()
          .then((text) => text.slice(0, 200).replace(/\s+/g, ' ').trim())
          .catch(() => '');
        lastProblem = `HTTP ${response.status}${snippet ? `: ${this.scrub(snippet)}` : ''}`;
        retryable = response.status >= 500;
      } catch (error) {
        const err = error as Error & { cause?: { code?: string; message?: string } };
        lastStatus = undefined;
        lastProblem =
          err.name === 'TimeoutError' || err.name === 'AbortError'
            ? `timed out after ${this.config.timeoutMs} ms`
            : `network error: ${this.scrub(err.cause?.code ?? err.cause?.message ?? err.message)}`;
        retryable = true;
      }
      if (!retryable) {
        throw new WebhookDeliveryError(`webhook ${this.displayUrl} rejected event ${event.id}: ${lastProblem}`, attempt, lastStatus);
      }
      if (attempt < attempts) {
        const base = Math.min(this.config.backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
        await sleep(base / 2 + Math.random() * (base / 2));
      }
    }
    throw new WebhookDeliveryError(
      `webhook ${this.displayUrl} failed for event ${event.id} after ${attempts} attempt(s): ${lastProblem}`,
      attempts,
      lastStatus,
    );
  }
}
