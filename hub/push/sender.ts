/**
 * Sends push messages (RFC 8030) to the stored subscriptions, off the hot path: the bus listener
 * only queues (in memory), and a few sends run at a time in the background.
 *
 * Each push service answer decides what happens to that subscription:
 * - 2xx: sent (last_sent_at recorded).
 * - 404 / 410: the browser unsubscribed or the subscription expired: deleted, durably ("pruned").
 * - 429 / 5xx, or no answer (network, timeout): retried with exponential backoff and jitter,
 *   waiting at least the Retry-After the service asked for, up to `maxAttempts` sends.
 * - any other 4xx (a bad key, a payload too large): failed; retrying the same request cannot help.
 *
 * The queue is bounded (`maxQueued`): when a push service stalls, the oldest waiting sends are
 * dropped (and counted as failed) rather than the hub's memory growing without end.
 */
import type { Agent } from 'node:https';
import webpush from 'web-push';
import type { Logger } from 'pino';
import { retryDelayMs } from '../queue/backoff.js';
import type { PushStore, PushSubscriptionRecord } from '../store/push-store.js';
import type { PushPayload } from './notification.js';
import type { VapidKeys } from './vapid.js';

/** What the metrics (`push sends`) and `GET /v1/push/subscriptions` callers read. */
export interface PushStats {
  /** Messages a push service accepted. */
  sent: number;
  /** Messages given up on: a refusal, attempts spent, or dropped from a full queue. */
  failed: number;
  /** Subscriptions deleted because their push service answered 404 or 410. */
  pruned: number;
  /** Sends repeated after a 429, a 5xx or no answer. */
  retried: number;
}

export type PushOutcome = 'sent' | 'failed' | 'pruned';

export interface PushSenderOptions {
  store: PushStore;
  keys: VapidKeys;
  /** The VAPID `sub`: a mailto: or https: contact for the push services' operators. */
  subject: string;
  log: Logger;
  now?: () => number;
  /** TLS agent for the push services (tests trust their fake's CA this way); default: Node's. */
  agent?: Agent;
  /** Sends in flight at once. @defaultValue 4 */
  concurrency?: number;
  /** Sends of one message before it fails. @defaultValue 5 */
  maxAttempts?: number;
  /** First retry delay; doubles each time. @defaultValue 1000 */
  baseDelayMs?: number;
  /** Largest retry delay, Retry-After included. @defaultValue 300000 */
  maxDelayMs?: number;
  /** Time to wait for a push service's answer. @defaultValue 10000 */
  timeoutMs?: number;
  /** Queued sends (waiting or backing off) beyond which the oldest are dropped. @defaultValue 10000 */
  maxQueued?: number;
  /** Seconds a push service keeps an undelivered message (TTL header). @defaultValue 86400 */
  ttlS?: number;
  /** Told of each send's outcome and each retry (the push-sends metric). */
  onOutcome?: (outcome: PushOutcome | 'retried') => void;
}

interface Job {
  sub: PushSubscriptionRecord;
  payload: string;
  urgency: 'normal' | 'high';
  attempt: number;
  done: (outcome: PushOutcome) => void;
}

/** Retry-After as ms: delta-seconds or an HTTP date (RFC 9110); null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export class PushSender {
  private readonly o: Required<Omit<PushSenderOptions, 'agent'>> & { agent?: Agent };
  private readonly waiting: Job[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backingOff = new Set<Job>();
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counts: PushStats = { sent: 0, failed: 0, pruned: 0, retried: 0 };

  constructor(options: PushSenderOptions) {
    this.o = {
      now: Date.now,
      concurrency: 4,
      maxAttempts: 5,
      baseDelayMs: 1000,
      maxDelayMs: 300_000,
      timeoutMs: 10_000,
      maxQueued: 10_000,
      ttlS: 86_400,
      onOutcome: () => undefined,
      ...options,
    };
  }

  /** Counts since the hub started. */
  stats(): PushStats {
    return { ...this.counts };
  }

  /**
   * Queues `payload` for each subscription; returns at once. The promise of each outcome is
   * there for callers that wait (`notify test`); the bus listener does not.
   */
  enqueue(subs: readonly PushSubscriptionRecord[], payload: PushPayload, urgency: 'normal' | 'high' = 'normal'): Promise<PushOutcome[]> {
    const text = JSON.stringify(payload);
    const outcomes = subs.map(
      (sub) =>
        new Promise<PushOutcome>((done) => {
          if (this.closed) return done('failed');
          this.waiting.push({ sub, payload: text, urgency, attempt: 0, done });
        }),
    );
    this.trim();
    this.pump();
    return Promise.all(outcomes);
  }

  /** Resolves when nothing is queued, backing off or in flight. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops: timers cleared, waiting sends failed (they are in memory only, by design: alerts
   * repeat), and the sends in flight given up to `graceMs` to finish, so that their outcomes are
   * recorded before the store closes — but a hung push service cannot hold the hub's shutdown.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const job of [...this.waiting.splice(0), ...this.backingOff]) this.finish(job, 'failed');
    this.backingOff.clear();
    this.wakeIdle();
    if (this.inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.inFlight === 0 && this.backingOff.size === 0;
  }

  private wakeIdle(): void {
    if (!this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private trim(): void {
    let dropped = 0;
    while (this.waiting.length + this.backingOff.size > this.o.maxQueued && this.waiting.length > 0) {
      this.finish(this.waiting.shift()!, 'failed');
      dropped++;
    }
    if (dropped > 0) this.o.log.warn({ dropped, max_queued: this.o.maxQueued }, 'push queue full: the oldest notifications were dropped');
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.o.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.inFlight++;
      void this.attempt(job).finally(() => {
        this.inFlight--;
        this.pump();
        this.wakeIdle();
      });
    }
  }

  private async attempt(job: Job): Promise<void> {
    job.attempt++;
    const { sub } = job;
    const log = this.o.log.child({ subscription: sub.id, endpoint_origin: originOf(sub.endpoint), attempt: job.attempt });
    let status: number | null = null;
    let headers: Record<string, string | string[] | undefined> = {};
    try {
      await webpush.sendNotification({ endpoint: sub.endpoint, keys: sub.keys }, job.payload, {
        vapidDetails: { subject: this.o.subject, publicKey: this.o.keys.publicKey, privateKey: this.o.keys.privateKey },
        TTL: this.o.ttlS,
        urgency: job.urgency,
        timeout: this.o.timeoutMs,
        ...(this.o.agent ? { agent: this.o.agent } : {}),
      });
      status = 201;
    } catch (err) {
      const e = err as { statusCode?: number; headers?: Record<string, string | string[] | undefined>; message?: string; body?: string };
      if (typeof e.statusCode === 'number') {
        status = e.statusCode;
        headers = e.headers ?? {};
      } else {
        log.warn({ err: e.message }, 'push service unreachable');
      }
      if (status !== null) log.warn({ status, body: e.body?.slice(0, 200) }, 'push service refused the message');
    }
    if (status !== null && status >= 200 && status < 300) {
      await this.record(sub.id, true);
      return this.finish(job, 'sent');
    }
    if (status === 404 || status === 410) {
      await this.o.store.delete(sub.id).catch((err: unknown) => log.error({ err }, 'could not delete a gone push subscription'));
      log.info({ status }, 'push subscription gone: removed');
      return this.finish(job, 'pruned');
    }
    const transient = status === null || status === 429 || status >= 500;
    if (!transient || job.attempt >= this.o.maxAttempts || this.closed) {
      await this.record(sub.id, false);
      log.warn({ status }, transient ? 'push message given up after its last attempt' : 'push message refused for good');
      return this.finish(job, 'failed');
    }
    const backoff = retryDelayMs(job.attempt, Math.random(), { baseMs: this.o.baseDelayMs, maxMs: this.o.maxDelayMs });
    const asked = status === null ? null : retryAfterMs(headers['retry-after'], this.o.now());
    const delay = Math.min(this.o.maxDelayMs, Math.max(backoff, asked ?? 0));
    this.counts.retried++;
    this.o.onOutcome('retried');
    this.backingOff.add(job);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.backingOff.delete(job);
      if (this.closed) return;
      this.waiting.push(job);
      this.pump();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async record(id: string, ok: boolean): Promise<void> {
    await this.o.store.recordOutcome(id, ok, this.o.now()).catch((err: unknown) => this.o.log.error({ err, subscription: id }, 'could not record a push outcome'));
  }

  private finish(job: Job, outcome: PushOutcome): void {
    this.counts[outcome]++;
    this.o.onOutcome(outcome);
    job.done(outcome);
  }
}

/** Only the origin of an endpoint is logged or shown: the full URL is a capability to push. */
export function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'invalid';
  }
}
