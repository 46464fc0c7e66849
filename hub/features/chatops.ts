/**
 * ChatOps (docs/security.md, "ChatOps"): `POST /v1/chatops/slack` takes Slack slash commands —
 * verified by Slack's request signature over the raw body before anything else, run with the
 * Slack user's role (`slackUsers`; anyone else is a viewer) through the services every surface
 * uses, and answered in Slack's message format within its 3 s: a command that takes longer is
 * answered "working on it" and its result posted to the command's `response_url` (only to the
 * hosts `slackResponseHosts` allows). Alerts are posted to `slackWebhookUrl` as they fire.
 */
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { ErrorBody, SwitchyardError } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import { TOKEN_KINDS, type TokenKind } from '../../shared/tokens.js';
import type { Alert } from '../../shared/alerts.js';
import type { Principal } from '../auth/authenticator.js';
import { withErrors } from '../api/validation.js';
import { runCommand } from '../chatops/commands.js';
import { SlackVerifier } from '../chatops/slack-signature.js';
import type { HubBus } from '../service/bus.js';
import type { Services } from '../service/index.js';
import { feature } from './feature.js';
import { shouldNotify } from '../push/notification.js';

export interface ChatOpsOptions {
  services: Services;
  bus: HubBus;
  log: Logger;
  now: () => number;
  signingSecret: string | null;
  users: readonly string[];
  responseHosts: readonly string[];
  webhookUrl: string | null;
  /** Slack's limit for the first answer, less a margin. @defaultValue 2500 */
  answerWithinMs?: number;
}

const SlackAnswer = Type.Object({ response_type: Type.Union([Type.Literal('ephemeral'), Type.Literal('in_channel')]), text: Type.String() }, { description: "Slack's message format" });

export const chatOpsFeature = feature<ChatOpsOptions>('chatops', async (app, o) => {
  const verifier = o.signingSecret ? new SlackVerifier(o.signingSecret, o.now) : null;
  const roles = new Map<string, TokenKind>();
  for (const entry of o.users) {
    const [user, role] = entry.split('=') as [string, string];
    if ((TOKEN_KINDS as readonly string[]).includes(role)) roles.set(user, role as TokenKind);
  }
  const answerWithin = o.answerWithinMs ?? 2_500;

  // Slack sends a form; the signature is over its exact bytes, so the body is kept as text here.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

  app.post(
    '/v1/chatops/slack',
    {
      config: { public: true, authBy: 'slack', tier: 'normal' },
      schema: {
        summary: 'Slack slash commands (signed by Slack); answered in Slack’s message format',
        response: withErrors({ 200: SlackAnswer }, Ref(ErrorBody)),
      },
    },
    async (req) => {
      if (!verifier) throw new SwitchyardError('NOT_FOUND', 'ChatOps is not configured on this hub (SWITCHYARD_SLACK_SIGNING_SECRET)');
      const raw = typeof req.body === 'string' ? req.body : '';
      const header = (name: string) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const check = verifier.check(header('x-slack-request-timestamp'), header('x-slack-signature'), raw);
      if (!check.ok) {
        req.log.warn({ why: check.why }, 'refused a Slack request');
        throw new SwitchyardError('UNAUTHORIZED', `not a valid Slack request: ${check.why}`);
      }
      const form = new URLSearchParams(raw);
      const userId = form.get('user_id') ?? '';
      const userName = form.get('user_name') ?? userId;
      const role = roles.get(userId) ?? 'viewer';
      const who = { kind: role, actor: `slack:${userName}`, tokenId: `slack:${userId}` } as Principal;
      const text = form.get('text') ?? '';
      req.log.info({ slack_user: userId, role, command: text.split(/\s+/)[0] ?? '' }, 'slack command');
      const work = runCommand(o.services, who, text);
      const late = Symbol('late');
      const first = await Promise.race([work, new Promise<typeof late>((r) => setTimeout(() => r(late), answerWithin).unref())]);
      if (first !== late) return { response_type: 'ephemeral' as const, text: first.text };
      // Longer than Slack waits: answered now, the result follows at response_url.
      const target = responseTarget(form.get('response_url'), o.responseHosts);
      if (!target) return { response_type: 'ephemeral' as const, text: 'Working on it, but this request has no response_url the hub may answer at; see the dashboard for the result.' };
      void work.then((r) => postJson(target, { response_type: 'ephemeral', replace_original: false, text: r.text }, o.log));
      return { response_type: 'ephemeral' as const, text: 'Working on it…' };
    },
  );

  if (o.webhookUrl) {
    const url = o.webhookUrl;
    // The same alerts push sends (a new one, and a critical one's repeats).
    const off = o.bus.on('alert.changed', (alert) => {
      if (shouldNotify(alert)) void postJson(url, { text: alertText(alert) }, o.log);
    });
    app.addHook('onClose', async () => off());
  }
});

/** The response_url, when it is one the hub may post to: https on an allowed host, or http on 127.0.0.1 (tests). */
export function responseTarget(raw: string | null, hosts: readonly string[]): string | null {
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  const allowed = hosts.includes(u.hostname) || hosts.includes(u.host);
  if (!allowed) return null;
  if (u.protocol === 'https:') return u.href;
  return u.protocol === 'http:' && u.hostname === '127.0.0.1' ? u.href : null;
}

export function alertText(a: Alert): string {
  return `*${a.severity.toUpperCase()}* ${a.title}${a.count > 1 ? ` (×${a.count})` : ''}: ${a.message}`;
}

async function postJson(url: string, body: unknown, log: Logger): Promise<void> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) log.warn({ status: res.status }, 'slack did not take a message');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'posting to slack failed');
  }
}
