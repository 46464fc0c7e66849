/**
 * A hub feature: a fastify plugin that runs in the hub's own scope, as fastify-plugin's plugins do
 * (`skip-override`), so its routes get the hub's hooks and error handling, and its hooks run in
 * the order features are registered. A feature starts when it is registered (it subscribes to the
 * bus, arms its timers) and stops in a `preClose` hook: every feature has stopped listening
 * before the sockets close and the stores shut (app.ts registers the pinger, which closes the
 * sockets, last).
 */
import type { FastifyInstance } from 'fastify';

export type Feature<O> = ((app: FastifyInstance, options: O) => Promise<void>) & { [key: symbol]: unknown };

export function feature<O>(name: string, start: (app: FastifyInstance, options: O) => Promise<void>): Feature<O> {
  return Object.assign(start, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name });
}

/** Stops `stop` when the hub closes (before its sockets and stores). */
export function onStop(app: FastifyInstance, stop: () => void): void {
  app.addHook('preClose', async () => stop());
}
