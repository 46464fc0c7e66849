/**
 * API tokens and their roles (docs/security.md): one definition of the kinds and of the REST
 * bodies and answers for `/v1/tokens`.
 *
 *   admin     everything
 *   operator  create, cancel, retry, approve/reject, answer, acknowledge alerts — not agents,
 *             tokens, backups or restores
 *   viewer    read, and subscribe to the feed
 *   metrics   only GET /v1/metrics (a Prometheus scraper)
 *
 * Agents have their own tokens, one per agent (`switchyard agent add`), which speak the sidecar
 * protocol and the MCP worker tools, on their own tasks only.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Ref, StringEnum } from './schema.js';

export const TOKEN_KINDS = ['admin', 'operator', 'viewer', 'metrics'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Every kind of caller an action can be granted to: the token kinds, and agents. */
export const ROLES = [...TOKEN_KINDS, 'agent'] as const;
export type Role = (typeof ROLES)[number];

const Ms = Type.Integer({ minimum: 0 });

export const TokenCreateBody = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$', description: 'Who or what holds it (letters, digits, . _ @ -; up to 64)' }),
    kind: StringEnum(TOKEN_KINDS),
    /** It stops working this many ms from now; absent: it does not expire. */
    expires_in_ms: Type.Optional(Type.Integer({ minimum: 60_000, maximum: 10 * 366 * 86_400_000 })),
  },
  { additionalProperties: false },
);
export type TokenCreateBody = Static<typeof TokenCreateBody>;

export const TokenView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    kind: StringEnum(TOKEN_KINDS),
    created_at: Ms,
    created_by: Type.String(),
    expires_at: Nullable(Ms),
    last_used_at: Nullable(Ms),
    revoked_at: Nullable(Ms),
    revoked_by: Nullable(Type.String()),
    status: StringEnum(['active', 'expired', 'revoked'] as const),
  },
  { $id: 'TokenView' },
);
export type TokenView = Static<typeof TokenView>;

export const TokenCreated = Type.Object({
  token: Type.String({ description: 'The token, shown this once' }),
  record: Ref(TokenView),
});
export const TokenList = Type.Object({ tokens: Type.Array(Ref(TokenView)) });
export const TokenIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) }, { additionalProperties: false });
export const AdminRotated = Type.Object({
  token: Type.String({ description: 'The new admin token, shown this once (also written to the hub’s admin.token file when it has one)' }),
  written_to: Nullable(Type.String()),
});
