/**
 * Budgets per repo (docs/usage.md) in the agents database, `bg!<repo>` keys (record-store.ts),
 * each set or removal written in one batch with its audit entry.
 */
import type { Budget } from '../../shared/usage.js';
import type { AgentStore } from './agent-store.js';
import { levelAgentStore, RecordStore } from './record-store.js';

export type BudgetStore = RecordStore<Budget>;

export function budgetStoreOf(agents: AgentStore): BudgetStore {
  return new RecordStore<Budget>(levelAgentStore(agents, 'budgets'), 'bg!');
}
