/**
 * API tokens, as an admin manages them (docs/security.md): add one with a role (shown once, kept
 * as a hash), list them with their last use, revoke one (it stops working at once, on REST and on
 * feeds it opened), and rotate the admin token without a restart.
 */
import type { TokenCreateBody, TokenKind, TokenView } from '../../shared/tokens.js';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import type { Authenticator } from '../auth/authenticator.js';
import { hashToken, newToken } from '../auth/tokens.js';
import type { TokenRecord, TokenStore } from '../store/token-store.js';
import { Access, type Principal } from './access.js';
import type { AuditService } from './audit.js';

/** Each kind's prefix: a token says what it is (and the guardians' secret scan knows the shape). */
const PREFIX: Record<TokenKind, string> = { admin: 'sya', operator: 'syo', viewer: 'syv', metrics: 'sym' };

/** Last uses are written at most this often. */
const USE_FLUSH_MS = 60_000;

export interface AdminTokenPlace {
  /** The hub's admin.token file, or null when the token came from the environment (SWITCHYARD_ADMIN_TOKEN). */
  path: string | null;
  /** Hash of the token the hub was started with (from the file or the environment). */
  configuredHash: string;
}

export class TokenService {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tokens: TokenStore,
    private readonly auth: Authenticator,
    private readonly admin: AdminTokenPlace,
    private readonly now: () => number,
    private readonly audit?: AuditService,
  ) {}

  /**
   * The admin token in force at start: an earlier rotation of the configured token holds (the
   * environment cannot be rewritten), unless the environment now names another token.
   */
  async adminHashAtStart(): Promise<string> {
    const rotation = await this.tokens.rotation();
    if (!rotation) return this.admin.configuredHash;
    if (rotation.from === this.admin.configuredHash) return rotation.to;
    await this.tokens.clearRotation();
    return this.admin.configuredHash;
  }

  /** Starts writing last uses, once a minute. */
  start(): void {
    this.timer ??= setInterval(() => void this.flushUses(), USE_FLUSH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushUses();
  }

  async flushUses(): Promise<void> {
    const uses = this.auth.takeUses();
    if (uses.size > 0) await this.tokens.noteUse(uses).catch(() => undefined);
  }

  async create(caller: Principal, body: TokenCreateBody): Promise<{ token: string; record: TokenView }> {
    Access.authorize(caller, 'tokens.write');
    const token = newToken(PREFIX[body.kind]);
    const hash = hashToken(token);
    const now = this.now();
    const record = await this.tokens.create({
      id: hash.slice(0, 16),
      name: body.name,
      kind: body.kind,
      token_hash: hash,
      created_at: now,
      created_by: caller.actor,
      expires_at: body.expires_in_ms === undefined ? null : now + body.expires_in_ms,
      last_used_at: null,
      revoked_at: null,
      revoked_by: null,
    }, this.audit?.ops(caller, 'token.added', hash.slice(0, 16), `${body.name} (${body.kind})`));
    this.auth.addToken(record);
    return { token, record: this.view(record) };
  }

  async list(caller: Principal): Promise<TokenView[]> {
    Access.authorize(caller, 'tokens.read');
    await this.flushUses();
    return (await this.tokens.list()).map((r) => this.view(r));
  }

  async revoke(caller: Principal, id: string): Promise<TokenView> {
    Access.authorize(caller, 'tokens.write');
    const record = await this.tokens.revoke(id, caller.actor, this.now(), this.audit?.ops(caller, 'token.revoked', id));
    this.auth.revokeToken(id);
    return this.view(record);
  }

  /**
   * A new admin token, in force at once; the old one stops working now (on REST, and feeds it
   * opened are closed). Written to admin.token when the hub has that file; else the rotation is
   * recorded in the store, so it holds across a restart with the old token still in the environment.
   */
  async rotateAdmin(caller: Principal): Promise<{ token: string; written_to: string | null }> {
    Access.authorize(caller, 'tokens.write');
    const token = newToken(PREFIX.admin);
    const hash = hashToken(token);
    if (this.admin.path) {
      await writeFileAtomic(this.admin.path, `${token}\n`, 0o600);
      await this.audit?.record(caller, 'token.admin_rotated', 'admin', `written to ${this.admin.path}`);
    } else {
      await this.tokens.setRotation({ from: this.admin.configuredHash, to: hash, at: this.now(), by: caller.actor }, this.audit?.ops(caller, 'token.admin_rotated', 'admin', 'kept in the store'));
    }
    this.auth.rotateAdmin(hash);
    return { token, written_to: this.admin.path };
  }

  private view(r: TokenRecord): TokenView {
    const { token_hash: _hidden, ...rest } = r;
    const status = r.revoked_at !== null ? 'revoked' : r.expires_at !== null && this.now() >= r.expires_at ? 'expired' : 'active';
    return { ...rest, status };
  }
}
