/**
 * Slack's request signing (api.slack.com/authentication/verifying-requests-from-slack): the
 * signature is `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` under the app's signing
 * secret, in `X-Slack-Signature`, with the timestamp in `X-Slack-Request-Timestamp`. A request
 * older (or newer) than five minutes is refused, the comparison is constant-time, and a signature
 * already seen within those five minutes is refused as a replay. Nothing is done for a request
 * that fails any of these.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_MS = 5 * 60_000;

export type SignatureCheck = { ok: true } | { ok: false; why: string };

export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export class SlackVerifier {
  /** Signatures seen, with when, for replay refusal (kept five minutes). */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  check(timestamp: string | undefined, signature: string | undefined, body: string): SignatureCheck {
    if (!timestamp || !signature) return { ok: false, why: 'missing X-Slack-Request-Timestamp or X-Slack-Signature' };
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, why: 'the timestamp is not a number of seconds' };
    const now = this.now();
    if (Math.abs(now - Number(timestamp) * 1000) > MAX_SKEW_MS) return { ok: false, why: 'the request is more than five minutes old (or from the future)' };
    const expected = Buffer.from(slackSignature(this.secret, timestamp, body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, why: 'the signature does not match' };
    this.forgetOld(now);
    if (this.seen.has(signature)) return { ok: false, why: 'this request was already received (a replay)' };
    this.seen.set(signature, now);
    return { ok: true };
  }

  private forgetOld(now: number): void {
    for (const [sig, at] of this.seen) {
      if (now - at <= MAX_SKEW_MS) break; // insertion order is time order
      this.seen.delete(sig);
    }
  }
}
