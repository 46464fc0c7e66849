/**
 * The ChatOps commands (docs/security.md, "ChatOps"): a line of text from a person, run through
 * the same services as REST with the person's role, answered as text for chat. One table: the
 * command, its usage, and what it does; each checks its own scope through the services, so a
 * viewer's `retry` is refused as it would be on REST.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Task } from '../../shared/task.js';
import { TASK_STATUSES } from '../../shared/task.js';
import type { Principal } from '../auth/authenticator.js';
import type { Services } from '../service/index.js';

interface Command {
  usage: string;
  help: string;
  run(s: Services, who: Principal, args: string[], rest: string): Promise<string>;
}

const line = (t: Task) => `\`${t.id}\` ${t.status.padEnd(11)} ${t.lane.padEnd(6)} ${t.title}`;
const need = (v: string | undefined, what: string): string => {
  if (!v) throw new SwitchyardError('VALIDATION_FAILED', `missing ${what}`);
  return v;
};

export const COMMANDS: Record<string, Command> = {
  status: {
    usage: 'status',
    help: 'the fleet: agents by state, the queue, open alerts',
    async run(s, who) {
      const stats = await s.tasks.stats();
      const agents = (await s.agents.list(who)).reduce<Record<string, number>>((m, a) => ({ ...m, [a.state]: (m[a.state] ?? 0) + 1 }), {});
      const queued = Object.values(stats.queued).reduce((a, b) => a + b, 0);
      const alerts = s.alerts.list(who, { state: 'active' });
      return [
        `*Agents:* ${Object.entries(agents).map(([k, n]) => `${n} ${k}`).join(', ') || 'none registered'}`,
        `*Queue:* ${queued} queued (urgent ${stats.queued.urgent}, high ${stats.queued.high}, normal ${stats.queued.normal}, low ${stats.queued.low}); ${stats.byStatus.running ?? 0} running; ${stats.byStatus.dead_letter ?? 0} dead-lettered`,
        `*Alerts:* ${alerts.length ? alerts.map((a) => `${a.severity} ${a.title}`).join('; ') : 'none open'}`,
      ].join('\n');
    },
  },
  tasks: {
    usage: 'tasks [status]',
    help: 'the newest tasks, or those in one status',
    async run(s, who, [status]) {
      if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) throw new SwitchyardError('VALIDATION_FAILED', `no status '${status}' (one of ${TASK_STATUSES.join(', ')})`);
      const page = await s.tasks.list(who, { ...(status ? { status: status as Task['status'] } : {}), limit: 15, order: 'desc' });
      return page.items.length ? page.items.map(line).join('\n') : 'no tasks';
    },
  },
  task: {
    usage: 'task ID',
    help: 'one task: status, attempts, last error, what it waits for',
    async run(s, who, [id]) {
      const { task, waiting } = await s.tasks.show(who, need(id, 'a task ID'));
      const out = [line(task), `attempts ${task.attempts}/${task.max_attempts}${task.lease ? `, on ${task.lease.agent_id}` : ''}`];
      if (task.last_error) out.push(`last error: ${task.last_error.code}: ${task.last_error.message}`);
      if (waiting) out.push(`waiting: ${waiting}`);
      return out.join('\n');
    },
  },
  retry: { usage: 'retry ID', help: 'retry a failed or dead-lettered task', run: async (s, who, [id]) => `retried: ${line(await s.tasks.retry(who, need(id, 'a task ID')))}` },
  cancel: { usage: 'cancel ID', help: 'cancel a task', run: async (s, who, [id]) => `cancelled: ${line(await s.tasks.cancel(who, need(id, 'a task ID'), 'cancelled from Slack'))}` },
  approve: { usage: 'approve ID', help: 'approve a task (or plan) in review', run: async (s, who, [id]) => `approved: ${line(await s.review.approve(who, need(id, 'a task ID')))}` },
  reject: {
    usage: 'reject ID reason',
    help: 'send a task in review back with the reason as feedback',
    async run(s, who, [id], rest) {
      const reason = rest.trim();
      return `rejected: ${line(await s.review.reject(who, need(id, 'a task ID'), need(reason || undefined, 'a reason')))}`;
    },
  },
  answer: {
    usage: 'answer ID text',
    help: "answer a blocked task's question",
    run: async (s, who, [id], rest) => `answered: ${line(await s.workflow.answer(who, need(id, 'a task ID'), need(rest.trim() || undefined, 'the answer')))}`,
  },
  dlq: {
    usage: 'dlq',
    help: 'dead-lettered tasks, with their error codes',
    async run(s, who) {
      const page = await s.tasks.list(who, { status: 'dead_letter', limit: 20, order: 'desc' });
      return page.items.length ? page.items.map((t) => `${line(t)} — ${t.last_error?.code ?? 'no code'}`).join('\n') : 'nothing is dead-lettered';
    },
  },
  agent: {
    usage: 'agent ID',
    help: 'one agent: state, executors, tasks',
    async run(s, who, [id]) {
      const a = await s.agents.get(who, need(id, 'an agent ID'));
      const ex = (a.executors ?? []).map((e) => `${e.name} ${e.available ? 'available' : `UNAVAILABLE: ${e.reason ?? ''}`}`).join(', ');
      return `*${a.id}* ${a.state}; ${a.tasks.length} task(s)${ex ? `; ${ex}` : ''}`;
    },
  },
  alerts: {
    usage: 'alerts',
    help: 'open alerts',
    async run(s, who) {
      const list = s.alerts.list(who, { state: 'active' });
      return list.length ? list.map((a) => `\`${a.id}\` ${a.severity}: ${a.title} — ${a.message}`).join('\n') : 'no open alerts';
    },
  },
  ack: { usage: 'ack ID', help: 'acknowledge an alert', run: async (s, who, [id]) => `acknowledged: ${(await s.alerts.ack(who, need(id, 'an alert ID'))).title}` },
  help: { usage: 'help', help: 'this list', run: async () => helpText() },
};

export function helpText(): string {
  return ['Commands:', ...Object.values(COMMANDS).map((c) => `• \`${c.usage}\` — ${c.help}`)].join('\n');
}

/** Runs a command line; its answer as text. Refusals (scope, not found, bad input) become their message. */
export async function runCommand(services: Services, who: Principal, text: string): Promise<{ ok: boolean; text: string }> {
  const trimmed = text.trim();
  const [name = 'help', ...args] = trimmed.split(/\s+/).filter(Boolean);
  const command = COMMANDS[name.toLowerCase()];
  if (!command) return { ok: false, text: `unknown command \`${name}\`.\n${helpText()}` };
  // What follows the command and its first argument, as typed (a reason or an answer keeps its spaces).
  const rest = trimmed.slice(trimmed.indexOf(name) + name.length).trim().replace(/^\S+\s*/, '');
  try {
    return { ok: true, text: await command.run(services, who, args, rest) };
  } catch (err) {
    if (err instanceof SwitchyardError) return { ok: false, text: `${err.code}: ${err.message}` };
    throw err;
  }
}
