/**
 * The review workflow's alert rules, passed to the alerts engine as `extraRules`
 * (hub/service/index.ts): `circuit_open` (critical; repeated until acknowledged, as every critical
 * alert) for each task whose circuit breaker opened, and `escalation_open` (warning) for each
 * other open escalation of priority high. Both clear when the escalation is resolved (by the
 * operator, or because the task moved on). They read the open escalations through `open`, the
 * escalation service's in-memory list, rather than a snapshot field: the engine's checks then
 * cost no store read, and the snapshot module stays the alerts' own.
 */
import type { Escalation } from '../../shared/workflow.js';
import type { AlertRuleDef } from '../alerts/rules.js';

export function workflowAlertRules(open: () => readonly Escalation[]): AlertRuleDef[] {
  const finding = (e: Escalation) => ({ key: e.task_id, title: e.title, message: e.message, subject: { task_id: e.task_id }, url: `/#/tasks/${e.task_id}` });
  return [
    { rule: 'circuit_open', severity: 'critical', evaluate: () => open().filter((e) => e.kind === 'circuit_open').map(finding) },
    {
      rule: 'escalation_open',
      severity: 'warning',
      evaluate: () => open().filter((e) => e.kind !== 'circuit_open' && e.priority !== 'normal').map((e) => ({ ...finding(e), key: `${e.kind}:${e.task_id}` })),
    },
  ];
}
