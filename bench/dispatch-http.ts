/**
 * A small JSON client for the hub's REST API, on node:http with keep-alive. The dispatch bench
 * times requests (enqueue-to-assign starts just before the POST), so the client must add as little
 * as possible: no fetch/undici machinery, one pooled connection per concurrent caller.
 */
import http from 'node:http';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
}

export class HubHttp {
  private readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  /**
   * @param baseUrl e.g. http://127.0.0.1:7070
   * @param adminToken sent as the bearer token on every request
   * @param maxSockets keep-alive connections to hold (one per concurrent caller). @defaultValue 64
   */
  constructor(
    baseUrl: string,
    private readonly adminToken: string,
    maxSockets = 64,
  ) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpResult<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.adminToken}`,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text.length > 0 ? JSON.parse(text) : null;
            } catch {
              // keep the raw text: it goes into the error message below
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** POSTs and insists on a 2xx answer; anything else is an error naming the route and the hub's answer. */
  async post<T = unknown>(path: string, body: unknown): Promise<T> {
    const res = await this.request<T>('POST', path, body);
    if (res.status < 200 || res.status >= 300) {
      throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
    }
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
