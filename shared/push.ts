/**
 * The push notifications' REST contract (`/v1/push/*`, docs/push.md), defined once as the other
 * REST bodies are (shared/rest.ts): route schemas, validation, OpenAPI and the CLI's types all
 * come from here. Its own module so that the push routes' schemas are one place to read.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './schema.js';

const Ms = Type.Integer({ minimum: 0 });
/** base64url, as PushSubscription.toJSON() gives the keys. */
const B64Url = (min: number, max: number, description: string) => Type.String({ minLength: min, maxLength: max, pattern: '^[A-Za-z0-9_-]+={0,2}$', description });

/** An alert rule (e.g. `no_agent_online`) or a severity (`info`, `warning`, `critical`). */
const Kind = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_.:-]+$' });

/** A browser's PushSubscription, as its toJSON() gives it (expirationTime and the like may come too, and are ignored). */
export const WebPushSubscription = Type.Object(
  {
    /** The push service URL (https only: RFC 8030 over TLS). */
    endpoint: Type.String({ minLength: 12, maxLength: 2048, pattern: '^https://[^\\s]+$' }),
    keys: Type.Object(
      {
        /** The browser's P-256 public key (65 bytes: 87 characters unpadded). */
        p256dh: B64Url(86, 90, 'the browser ECDH public key (uncompressed P-256), base64url'),
        /** The 16-byte auth secret (22 characters unpadded). */
        auth: B64Url(16, 32, 'the 16-byte auth secret, base64url'),
      },
      { additionalProperties: false },
    ),
    expirationTime: Type.Optional(Nullable(Type.Number())),
  },
  { additionalProperties: false },
);

export const PushSubscribeBody = Type.Object(
  {
    subscription: WebPushSubscription,
    /** Alert rules or severities to receive; [] = every alert. */
    kinds: Type.Array(Kind, { maxItems: 64, uniqueItems: true }),
    /** Which device this is, for the list (e.g. "phone"). */
    label: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type PushSubscribeBody = Static<typeof PushSubscribeBody>;

export const PushSubscriptionIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The subscription id' }) }, { additionalProperties: false });

export const PushKey = Type.Object({ public_key: Type.String({ description: 'The VAPID public key (uncompressed P-256, base64url): the applicationServerKey to subscribe with' }) });

export const PushSubscribed = Type.Object({ id: Type.String(), created: Type.Boolean({ description: 'false when this endpoint was already subscribed (its kinds and label were updated)' }) });

/** What the list shows of a subscription: never the endpoint's full URL (a capability) or the keys. */
export const PushSubscriptionView = Type.Object({
  id: Type.String(),
  endpoint_origin: Type.String(),
  kinds: Type.Array(Type.String()),
  label: Type.String(),
  created_at: Ms,
  last_sent_at: Nullable(Ms),
  failures: Type.Integer({ minimum: 0 }),
});
export type PushSubscriptionView = Static<typeof PushSubscriptionView>;

export const PushStatsView = Type.Object({ sent: Ms, failed: Ms, pruned: Ms, retried: Ms });

export const PushSubscriptionList = Type.Object({ subscriptions: Type.Array(PushSubscriptionView), stats: PushStatsView });

export const PushUnsubscribed = Type.Object({ id: Type.String(), deleted: Type.Literal(true) });

export const PushTestResult = Type.Object({
  sent: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  pruned: Type.Integer({ minimum: 0, description: 'subscriptions removed because their push service said they are gone (404/410)' }),
});
export type PushTestResult = Static<typeof PushTestResult>;
