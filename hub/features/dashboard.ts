/**
 * The dashboard: the static files in dashboard/ served at `/` (index.html), `/sw.js` (the service
 * worker, at the root so that its scope is the whole site) and `/ui/*` (modules, styles, icons),
 * and the libraries it uses vendored from node_modules at `/vendor/*` (nothing from a CDN: hubs
 * are often offline). The files are public, as a sign-in page must be; everything they show comes
 * from the token-checked REST routes and feed.
 *
 * @fastify/static does the serving (ranges, ETags, safe path resolution: `..` and encoded
 * escapes are refused). Its wildcard route is not used, because it cannot carry the route config
 * the auth hook requires; each route here names its folder and says `public`.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { feature } from './feature.js';

/** The repository's dashboard/ folder (from dist/hub/features or hub/features). */
export const DASHBOARD_DIR = findDashboard(dirname(fileURLToPath(import.meta.url)));

function findDashboard(from: string): string {
  for (let dir = from, i = 0; i < 5; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'dashboard', 'index.html'))) return join(dir, 'dashboard');
  }
  throw new Error(`dashboard/index.html not found above ${from}`);
}

const require = createRequire(import.meta.url);
/** Vendored libraries: URL prefix under /vendor/ -> the package's folder of browser files. */
export const VENDOR: Readonly<Record<string, string>> = {
  uplot: join(dirname(require.resolve('uplot/package.json')), 'dist'),
};

/**
 * A file that is not there, or a path that climbs out of its folder (send's 403): both are a plain
 * 404 that names nothing on disk. Anything else goes to the hub's error handler.
 */
function fileErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `no file ${req.url.split('?')[0]}`, retryable: false });
    return;
  }
  throw err;
}

const UI = { config: { public: true, ui: true }, schema: { hide: true }, errorHandler: fileErrors } as const;

export const dashboardFeature = feature<Record<string, never>>('dashboard', async (app: FastifyInstance) => {
  // Only the reply decorator: the routes below say which folder each path may reach.
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, serve: false });
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-cache');
  app.get('/', UI, (_req, reply) => noStore(reply).sendFile('index.html'));
  app.get('/sw.js', UI, (_req, reply) => noStore(reply).header('service-worker-allowed', '/').sendFile('sw.js'));
  app.get('/ui/*', UI, (req, reply) => noStore(reply).sendFile((req.params as { '*': string })['*'], resolve(DASHBOARD_DIR, 'ui')));
  app.get('/vendor/:lib/*', UI, (req, reply) => {
    const { lib, '*': file } = req.params as { lib: string; '*': string };
    const root = Object.hasOwn(VENDOR, lib) ? VENDOR[lib] : undefined;
    if (!root) return reply.status(404).send({ code: 'NOT_FOUND', message: `no vendored library ${lib}`, retryable: false });
    return reply.header('cache-control', 'public, max-age=86400').sendFile(file, root);
  });
});
