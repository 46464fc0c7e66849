/**
 * The dashboard's files: served publicly at /, /sw.js, /ui/* and /vendor/*, from their own
 * folders only, never listed among the REST API's routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInprocHub, type InprocHub } from '../support/hub-inproc.js';

let h: InprocHub;
beforeAll(async () => {
  h = await startInprocHub();
});
afterAll(async () => h.close());

describe('the dashboard files', () => {
  it('serves the page at / without a token', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('<title>Switchyard');
  });

  it('serves the service worker at the root, so that its scope is the whole site', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/sw.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['service-worker-allowed']).toBe('/');
  });

  it('serves vendored libraries from node_modules, and no other package', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.esm.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('uPlot');
    expect((await h.hub.app.inject({ method: 'GET', url: '/vendor/fastify/package.json' })).statusCode).toBe(404);
  });

  it('refuses paths that climb out of their folder', async () => {
    for (const url of ['/ui/../../package.json', '/ui/%2e%2e/%2e%2e/package.json', '/vendor/uplot/..%2f..%2fpackage.json', '/ui/..%2f..%2fhub%2fapp.ts']) {
      const res = await h.hub.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.body, url).not.toContain('"name": "switchyard"');
    }
  });

  it('keeps the REST API to itself: unknown /v1 paths still get the API 404, and the files are not API routes', async () => {
    const res = await h.hub.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: h.auth() });
    expect(res.statusCode).toBe(404);
    expect(h.hub.routes.some((r) => r.url === '/' || r.url.startsWith('/ui') || r.url.startsWith('/vendor'))).toBe(false);
  });
});
