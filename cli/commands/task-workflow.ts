/**
 * `switchyard task answer|force-unblock|approve|reject|supervision`: the review workflow's
 * operator actions (docs/workflow.md), over REST.
 */
import type { Task } from '../../shared/task.js';
import { CliError, type HubClient } from '../client.js';

export const TASK_WORKFLOW_HELP = `  answer ID "TEXT"      Answer a blocked task's question: it is queued again with the answer
  force-unblock ID      Queue a blocked task again without an answer (--note N: a note for the agent)
  approve ID            Approve a task in review (a plan: queued for its implementation)
  reject ID "FEEDBACK"  Reject a task in review with feedback (or --reason): reopened with it, counted by the breaker
  supervision ID MODE   Override the gate: auto | plan | strict (--reason R)
`;

export const WORKFLOW_SUBCOMMANDS = new Set(['answer', 'force-unblock', 'approve', 'reject', 'supervision']);

export async function taskWorkflowCommand(
  sub: string,
  positionals: string[],
  values: { reason?: string | undefined; note?: string | undefined },
  client: HubClient,
  out: (value: unknown, text: () => string) => void,
): Promise<void> {
  const [id, text] = positionals;
  if (!id) throw new CliError(`switchyard task ${sub} needs a task ID (see switchyard task --help)`, 2);
  const path = (action: string) => `/v1/tasks/${encodeURIComponent(id)}/${action}`;
  let res: { body: Task };
  switch (sub) {
    case 'answer':
      if (!text) throw new CliError('switchyard task answer needs the answer: switchyard task answer ID "your answer"', 2);
      res = await client.request<Task>('POST', path('answer'), { answer: text });
      break;
    case 'force-unblock':
      res = await client.request<Task>('POST', path('force-unblock'), values.note ? { note: values.note } : {});
      break;
    case 'approve':
      res = await client.request<Task>('POST', path('approve'), {});
      break;
    case 'reject': {
      const feedback = text ?? values.reason;
      if (!feedback) throw new CliError('switchyard task reject needs feedback: switchyard task reject ID "what to change"', 2);
      res = await client.request<Task>('POST', path('request-changes'), { feedback });
      break;
    }
    case 'supervision':
      if (!text) throw new CliError('switchyard task supervision needs a mode: auto, plan or strict', 2);
      res = await client.request<Task>('POST', path('supervision'), { mode: text, ...(values.reason ? { reason: values.reason } : {}) });
      break;
    default:
      throw new CliError(`unknown command 'task ${sub}'`, 2);
  }
  const t = res.body;
  out(t, () => {
    const extra = t.last_error?.code === 'CIRCUIT_OPEN' ? ` (circuit breaker open: ${t.last_error.message})` : t.supervision && sub === 'supervision' ? ` (mode ${t.supervision.mode})` : '';
    return `${t.id} is ${t.status}${extra}`;
  });
}
