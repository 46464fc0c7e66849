/**
 * Push notifications, as every edge sees them (REST, the alert listener, the CLI through REST):
 * the VAPID public key browsers subscribe with, the durable subscriptions, test sends, and the
 * rule that turns an alert change into sends. Sending itself is hub/push/sender.ts's, in the
 * background: nothing here waits for a push service except `test`, which reports the outcome.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { PushSubscribeBody, PushSubscriptionView, PushTestResult } from '../../shared/push.js';
import { alertPayload, shouldNotify, testPayload, wants, type PushableAlert } from '../push/notification.js';
import { originOf, type PushSender } from '../push/sender.js';
import type { VapidKeys } from '../push/vapid.js';
import type { PushStore, PushSubscriptionRecord } from '../store/push-store.js';
import { Access, type Principal } from './access.js';

interface Log {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function subscriptionView(r: PushSubscriptionRecord): PushSubscriptionView {
  return { id: r.id, endpoint_origin: originOf(r.endpoint), kinds: r.kinds, label: r.label, created_at: r.created_at, last_sent_at: r.last_sent_at, failures: r.failures };
}

export class PushService {
  /** Alert changes whose subscriptions are being read (then queued): what idle() waits for first. */
  private readonly lookups = new Set<Promise<void>>();

  constructor(
    private readonly store: PushStore,
    readonly sender: PushSender,
    private readonly keys: VapidKeys,
    private readonly now: () => number,
  ) {}

  key(caller: Principal) {
    Access.authorize(caller, 'push.read');
    return { public_key: this.keys.publicKey };
  }

  async subscribe(caller: Principal, body: PushSubscribeBody, log: Log) {
    Access.authorize(caller, 'push.write');
    const { endpoint, keys } = body.subscription;
    const p256dh = Buffer.from(keys.p256dh, 'base64url');
    if (p256dh.length !== 65 || p256dh[0] !== 4) {
      throw new SwitchyardError('VALIDATION_FAILED', 'body.subscription.keys.p256dh: must be an uncompressed P-256 public key (65 bytes, base64url), as PushSubscription.toJSON() gives it');
    }
    if (Buffer.from(keys.auth, 'base64url').length !== 16) throw new SwitchyardError('VALIDATION_FAILED', 'body.subscription.keys.auth: must be 16 bytes, base64url');
    const { record, created } = await this.store.put({ endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth }, kinds: body.kinds, label: body.label ?? '' }, this.now());
    log.info({ subscription: record.id, endpoint_origin: originOf(endpoint), kinds: record.kinds, created }, created ? 'push subscription added' : 'push subscription updated');
    return { id: record.id, created };
  }

  async list(caller: Principal) {
    Access.authorize(caller, 'push.read');
    return { subscriptions: (await this.store.list()).map(subscriptionView), stats: this.sender.stats() };
  }

  async unsubscribe(caller: Principal, id: string, log: Log) {
    Access.authorize(caller, 'push.write');
    if (!(await this.store.delete(id))) throw new SwitchyardError('NOT_FOUND', `no push subscription ${id} (see GET /v1/push/subscriptions)`);
    log.info({ subscription: id }, 'push subscription removed');
    return { id, deleted: true as const };
  }

  /** A test notification to every subscription, waiting for the outcomes (retries included). */
  async test(caller: Principal): Promise<PushTestResult> {
    Access.authorize(caller, 'push.write');
    const outcomes = await this.sender.enqueue(await this.store.list(), testPayload(this.now()));
    return { sent: outcomes.filter((o) => o === 'sent').length, failed: outcomes.filter((o) => o === 'failed').length, pruned: outcomes.filter((o) => o === 'pruned').length };
  }

  /**
   * An alert changed (the bus's `alert.changed`): queue a notification for the subscriptions that
   * want it. Returns at once; the store read and the sends happen in the background.
   */
  alertChanged(alert: PushableAlert, log: Log): void {
    if (!shouldNotify(alert)) return;
    const lookup = this.store
      .list()
      .then((subs) => {
        const to = subs.filter((s) => wants(s.kinds, alert));
        if (to.length > 0) void this.sender.enqueue(to, alertPayload(alert), alert.severity === 'critical' ? 'high' : 'normal');
      })
      .catch((err: unknown) => log.error({ err, alert_id: alert.id }, 'could not read the push subscriptions for an alert'))
      .finally(() => this.lookups.delete(lookup));
    this.lookups.add(lookup);
  }

  /** Resolves once every alert change so far has been sent, refused or given up (tests; a clean stop). */
  async idle(): Promise<void> {
    while (this.lookups.size > 0) await Promise.all([...this.lookups]);
    await this.sender.idle();
  }
}
