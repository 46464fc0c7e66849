/**
 * REST: the repo registry (docs/repos.md). Operators read (viewer and up) and change (operator,
 * admin) it; a sidecar reads the settings it needs with its own token.
 *
 *   GET    /v1/repos                 every repo, the highest priority first
 *   POST   /v1/repos                 add one (201)
 *   GET    /v1/repos/:name           one
 *   PATCH  /v1/repos/:name           change url, default_branch, test_command, priority
 *   POST   /v1/repos/:name/pause     its queued tasks wait (they do not fail)
 *   POST   /v1/repos/:name/resume    served again
 *   POST   /v1/repos/:name/move      set its priority
 *   DELETE /v1/repos/:name           remove the record (tasks keep their repo)
 *   GET    /v1/agent/repos           with an agent's own token: the settings of every repo
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { AgentRepoList, Repo, RepoAddBody, RepoList, RepoMoveBody, RepoNameParams, RepoPatchBody, RepoPauseBody } from '../../shared/repos.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { callerOf } from './auth-hook.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);
const read = { action: 'repos.read' } as const;
const write = { action: 'repos.write' } as const;
const one = (description: string) => withErrors({ 200: answer(description, Repo) }, error);

export function repoRoutes(fastify: FastifyInstance, { repos, self }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/v1/repos', { config: read, schema: { summary: 'The repo registry, the highest priority first', response: withErrors({ 200: answer('Repos', RepoList) }, error) } }, async (req) => ({
    repos: repos.list(callerOf(req)),
  }));

  app.post(
    '/v1/repos',
    { config: write, schema: { summary: 'Register a repo (active; priority 0 and branch main unless given)', body: RepoAddBody, response: withErrors({ 201: answer('The repo', Repo) }, error) } },
    async (req, reply) => reply.status(201).send(await repos.add(callerOf(req), req.body)),
  );

  app.get('/v1/repos/:name', { config: read, schema: { summary: 'One repo', params: RepoNameParams, response: one('The repo') } }, async (req) => repos.get(callerOf(req), req.params.name));

  app.patch(
    '/v1/repos/:name',
    { config: write, schema: { summary: "Change a repo's url, default_branch, test_command (null removes it) or priority", params: RepoNameParams, body: RepoPatchBody, response: one('The repo as changed') } },
    async (req) => repos.update(callerOf(req), req.params.name, req.body),
  );

  app.post(
    '/v1/repos/:name/pause',
    { config: write, schema: { summary: "Pause a repo: its queued tasks wait (they do not fail) until it is resumed", params: RepoNameParams, body: RepoPauseBody, response: one('The paused repo') } },
    async (req) => repos.pause(callerOf(req), req.params.name, req.body?.reason),
  );

  app.post('/v1/repos/:name/resume', { config: write, schema: { summary: "Resume a repo: its tasks are served again", params: RepoNameParams, response: one('The active repo') } }, async (req) =>
    repos.resume(callerOf(req), req.params.name),
  );

  app.post(
    '/v1/repos/:name/move',
    { config: write, schema: { summary: "Set a repo's priority (higher is served first within a lane)", params: RepoNameParams, body: RepoMoveBody, response: one('The repo at its new priority') } },
    async (req) => repos.move(callerOf(req), req.params.name, req.body.priority),
  );

  app.delete(
    '/v1/repos/:name',
    { config: write, schema: { summary: 'Remove a repo from the registry (its tasks keep their repo)', params: RepoNameParams, response: withErrors({ 204: Type.Null({ description: 'Removed' }) }, error) } },
    async (req, reply) => {
      await repos.remove(callerOf(req), req.params.name);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/v1/agent/repos',
    {
      // Public to the admin hook: the handler authenticates the agent by its own token.
      config: { public: true, authBy: 'agent' },
      schema: { summary: "With an agent's own token: every registered repo's settings (url, default branch, test command)", response: withErrors({ 200: answer('Repos', AgentRepoList) }, error) },
    },
    async (req) => {
      self.agentOf(req.headers.authorization);
      return { repos: repos.forAgents() };
    },
  );
}
