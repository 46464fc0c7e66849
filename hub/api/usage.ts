/** REST: /v1/usage (tokens and cost, grouped) and /v1/budgets (daily limits per repo). docs/usage.md. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { Ref } from '../../shared/schema.js';
import { BudgetBody, BudgetList, BudgetParams, BudgetView, UsageAnswer, UsageQuery } from '../../shared/usage.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);
const BudgetRemoved = Type.Object({ repo: Type.String(), removed: Type.Literal(true) });

export function usageRoutes(fastify: FastifyInstance, { usage, budgets }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/usage',
    {
      config: { action: 'usage.read' },
      schema: {
        summary: 'Tokens and cost, summed by day, repo, model and/or executor (by=repo,day), between two UTC days',
        querystring: UsageQuery,
        response: withErrors({ 200: answer('One row per group, and the total', UsageAnswer) }, error),
      },
    },
    async (req) => usage.query(callerOf(req), req.query),
  );

  app.get(
    '/v1/budgets',
    { config: { action: 'budgets.read' }, schema: { summary: "Every repo's daily budget with today's spend, its percent and whether it is at its limit", response: withErrors({ 200: answer('The budgets, by repo', BudgetList) }, error) } },
    async (req) => budgets.list(callerOf(req)),
  );

  app.put(
    '/v1/budgets/:repo',
    {
      config: { action: 'budgets.write' },
      schema: {
        summary: "Set a repo's daily budget (cost, tokens or both) and what its tasks do at the limit: wait, or run on a local executor",
        params: BudgetParams,
        body: BudgetBody,
        response: withErrors({ 200: answer("The budget, with today's spend", BudgetView) }, error),
      },
    },
    async (req) => budgets.set(callerOf(req), req.params.repo, req.body),
  );

  app.delete(
    '/v1/budgets/:repo',
    {
      config: { action: 'budgets.write' },
      schema: { summary: "Remove a repo's budget: its tasks may use paid executors again", params: BudgetParams, response: withErrors({ 200: answer('Removed', BudgetRemoved) }, error) },
    },
    async (req) => {
      await budgets.remove(callerOf(req), req.params.repo);
      return { repo: req.params.repo, removed: true as const };
    },
  );
}
