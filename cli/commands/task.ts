/** `switchyard task add|list|show|cancel|retry|answer|force-unblock|approve|reject|supervision` */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Task, TaskEvent, TaskSpec } from '../../shared/task.js';
import { CliError, HubClient } from '../client.js';
import { table, taskRow, TASK_HEADER, time, usageText } from '../format.js';
import { resultLines } from '../result-format.js';
import { TASK_WORKFLOW_HELP, taskWorkflowCommand, WORKFLOW_SUBCOMMANDS } from './task-workflow.js';
import { contextLines } from './history.js';

export const TASK_HELP = `Usage: switchyard task <command> [options]

Commands:
  add       Submit a task
  list      List tasks (newest last), with filters and paging
  show ID   Show one task and its event history (an archived task too, marked archived)
  cancel ID Cancel a task (from any state that is not final)
  retry ID  Retry a dead-lettered task (or a failed one without waiting for backoff)
${TASK_WORKFLOW_HELP}
Common options:
  --hub URL        Hub URL (default $SWITCHYARD_HUB or http://127.0.0.1:7070)
  --token T        Admin token (default $SWITCHYARD_ADMIN_TOKEN or .switchyard/hub/admin.token)
  --json           Print JSON instead of text

add options:
  --title T              Title (required unless --file)
  --command C            Shell command (sets --executor shell)
  --executor E           shell | ollama | claude
  --model M              Model for ollama/claude
  --description D        Description / prompt
  --lane L               urgent | high | normal | low (default normal)
  --repo R               Repo the task works on
  --capability C         Required capability (repeatable)
  --depends-on ID        Dependency (repeatable)
  --max-attempts N       Attempts before dead-letter (default 3)
  --run-at ISO           Do not start before this time
  --idempotency-key K    Same key again returns the existing task
  --agent ID             Offer to this agent first
  --file F               Read the task (JSON, the full schema; docs/tasks.md) from F ('-' for stdin)

list options:
  --status S  --lane L  --repo R  --agent ID  --limit N  --after CURSOR
`;

const common = {
  hub: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function taskCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(TASK_HELP);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...common,
      title: { type: 'string' },
      command: { type: 'string' },
      executor: { type: 'string' },
      model: { type: 'string' },
      description: { type: 'string' },
      lane: { type: 'string' },
      repo: { type: 'string' },
      capability: { type: 'string', multiple: true },
      'depends-on': { type: 'string', multiple: true },
      'max-attempts': { type: 'string' },
      'run-at': { type: 'string' },
      'idempotency-key': { type: 'string' },
      agent: { type: 'string' },
      file: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      after: { type: 'string' },
      reason: { type: 'string' },
      note: { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(TASK_HELP);
    return;
  }
  const client = new HubClient(values);
  const out = (value: unknown, text: () => string) => process.stdout.write(`${values.json ? JSON.stringify(value, null, 2) : text()}\n`);
  const needId = () => {
    const id = positionals[0];
    if (!id) throw new CliError(`switchyard task ${sub} needs a task ID (see switchyard task --help)`, 2);
    return id;
  };

  if (WORKFLOW_SUBCOMMANDS.has(sub)) {
    await taskWorkflowCommand(sub, positionals, values, client, out);
    return;
  }

  switch (sub) {
    case 'add': {
      let spec: TaskSpec;
      if (values.file) {
        spec = JSON.parse(readFileSync(values.file === '-' ? 0 : values.file, 'utf8')) as TaskSpec;
      } else {
        if (!values.title) throw new CliError('switchyard task add needs --title (or --file)', 2);
        spec = { title: values.title };
        if (values.command) Object.assign(spec, { command: values.command, executor: 'shell' });
        if (values.executor) spec.executor = values.executor as TaskSpec['executor'];
        if (values.model) spec.model = values.model;
        if (values.description) spec.description = values.description;
        if (values.lane) spec.lane = values.lane as TaskSpec['lane'];
        if (values.repo) spec.repo = values.repo;
        if (values.capability) spec.capabilities = values.capability;
        if (values['depends-on']) spec.depends_on = values['depends-on'];
        if (values['max-attempts']) spec.max_attempts = Number(values['max-attempts']);
        if (values['run-at']) {
          const at = Date.parse(values['run-at']);
          if (Number.isNaN(at)) throw new CliError(`--run-at '${values['run-at']}' is not a date (use ISO 8601)`, 2);
          spec.run_at = at;
        }
        if (values.agent) spec.agent = values.agent;
      }
      const headers: Record<string, string> = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : {};
      const { status, body } = await client.request<Task>('POST', '/v1/tasks', spec, headers);
      out(body, () => `${status === 201 ? 'created' : 'exists'} ${body.id} (${body.status})`);
      return;
    }
    case 'list': {
      const q = new URLSearchParams();
      for (const k of ['status', 'lane', 'repo', 'agent', 'limit', 'after'] as const) if (values[k]) q.set(k, values[k]!);
      const { body } = await client.request<{ tasks: Task[]; next: string | null }>('GET', `/v1/tasks?${q}`);
      out(body, () => {
        const lines = [table([TASK_HEADER, ...body.tasks.map(taskRow)])];
        if (body.next) lines.push(`(more: --after ${body.next})`);
        return body.tasks.length ? lines.join('\n') : 'no tasks';
      });
      return;
    }
    case 'show': {
      const { body } = await client.request<{ task: Task; events: TaskEvent[]; progress_tail: string | null; waiting?: string | null; archived?: boolean }>(
        'GET',
        `/v1/tasks/${encodeURIComponent(needId())}`,
      );
      out(body, () => {
        const t = body.task;
        const lines = [
          `${t.id}  ${t.title}`,
          `status ${t.status}  lane ${t.lane}  complexity ${t.complexity} (${t.complexity_reason})  attempts ${t.attempts}/${t.max_attempts}  generation ${t.generation}`,
        ];
        // Retention removed it from the live store: this is the archive's copy (read-only history).
        if (body.archived) lines.push(`archived: removed from the live store by retention (finished ${time(t.updated_at)}); shown from the archive`);
        if (t.lease) lines.push(`leased to ${t.lease.agent_id} until ${time(t.lease.expires_at)}`);
        if (body.waiting) lines.push(`waiting: ${body.waiting}`);
        lines.push(...routeLines(t));
        if (t.depends_on.length) lines.push(`depends on ${t.depends_on.join(', ')}`);
        if (t.last_error) {
          lines.push(`last error ${t.last_error.code}: ${t.last_error.message}`);
          // A failed attempt's result (its last verification report, say) is kept with its error.
          const details = t.last_error.details as { result?: unknown } | undefined;
          lines.push(...resultLines(details?.result, "last attempt's result"));
        }
        lines.push(...resultLines(t.result));
        if (t.usage) {
          lines.push(`usage: ${usageText(t.usage)}`);
          for (const [key, u] of Object.entries(t.usage.by_model ?? {})) lines.push(`  ${key}: ${usageText(u)}`);
        }
        lines.push(...contextLines(t.assembled_context));
        if (body.progress_tail) lines.push('', 'live output (last lines):', ...body.progress_tail.trimEnd().split('\n').slice(-20));
        lines.push('', table([['TIME', 'FROM', 'TO', 'GEN', 'BY', 'REASON'], ...body.events.map((e) => [time(e.at), e.from ?? '-', e.to, String(e.generation), e.actor, e.reason])]));
        return lines.join('\n');
      });
      return;
    }
    case 'cancel':
    case 'retry': {
      const body = sub === 'cancel' && values.reason ? { reason: values.reason } : {};
      const res = await client.request<Task>('POST', `/v1/tasks/${encodeURIComponent(needId())}/${sub}`, body);
      out(res.body, () => `${res.body.id} is ${res.body.status}`);
      return;
    }
    default:
      throw new CliError(`unknown command 'task ${sub}' (see switchyard task --help)`, 2);
  }
}

/** A routed task's chain, where it is on it, each move, and the decision that placed it (docs/routing.md). */
export function routeLines(t: Task): string[] {
  const r = t.route;
  if (!r) return [];
  const chain = r.chain.map((c, i) => (i === r.stage ? `[${c}]` : c)).join(' → ');
  const lines = [`route (${r.tier}): ${chain}`];
  for (const m of r.moves) lines.push(`  moved ${time(m.at)} to ${m.candidate}: ${m.reason}`);
  if (r.decision) lines.push(`  placed ${time(r.decision.at)}: ${r.decision.reasons} (score ${r.decision.score})`);
  return lines;
}
