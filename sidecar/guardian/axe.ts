/**
 * The UX guardian's accessibility check: each HTML page a change adds or edits, opened from the
 * worktree in headless Chromium and scanned with axe-core; violations of impact serious or
 * critical are findings that reject. It needs playwright-core, axe-core and a Chromium on the host
 * (`SWITCHYARD_CHROMIUM`, else Debian's /usr/bin/chromium); a host without them says so, and the
 * check is reported as not run rather than passed.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding } from '../../shared/workflow.js';

export type AxeReading = { ok: true; pages: number; findings: Finding[] } | { ok: false; reason: string };

const PAGES = /\.html?$/i;
/** Pages scanned at most per change. */
const MAX_PAGES = 20;
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Run in the page (a string: this module has no DOM types): axe's violations, five nodes each. */
const SCAN = `(async () => {
  const r = await window.axe.run(document);
  return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.map(String).join(' ')) }));
})()`;

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.SWITCHYARD_CHROMIUM) return existsSync(env.SWITCHYARD_CHROMIUM) ? env.SWITCHYARD_CHROMIUM : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** The pages among a change's files. Pure. */
export function changedPages(files: readonly string[]): string[] {
  return files.filter((f) => PAGES.test(f) && !/(?:^|\/)node_modules\//.test(f)).slice(0, MAX_PAGES);
}

export async function scanPages(cwd: string, pages: readonly string[], signal?: AbortSignal): Promise<AxeReading> {
  const browserPath = chromiumPath();
  if (!browserPath) return { ok: false, reason: 'no Chromium on this host (set SWITCHYARD_CHROMIUM or install chromium)' };
  const require = createRequire(import.meta.url);
  let axeFile: string;
  let chromium: typeof import('playwright-core').chromium;
  try {
    axeFile = require.resolve('axe-core/axe.min.js');
    ({ chromium } = await import('playwright-core'));
  } catch {
    return { ok: false, reason: 'playwright-core and axe-core are not installed with this sidecar (npm install playwright-core axe-core)' };
  }
  const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
  const abort = () => void browser.close();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const findings: Finding[] = [];
    const page = await browser.newPage();
    // A page under review may not reach the network: only its own folder's files load.
    await page.route(/^(?!file:)/, (route) => route.abort());
    for (const file of pages) {
      const path = join(cwd, file);
      if (!existsSync(path)) continue; // deleted by the change
      await page.goto(pathToFileURL(path).href, { waitUntil: 'load', timeout: 15_000 });
      await page.addScriptTag({ path: axeFile });
      const violations = (await page.evaluate(SCAN)) as Violation[];
      for (const v of violations) {
        if (v.impact !== 'serious' && v.impact !== 'critical') continue;
        findings.push({ message: `${v.id}: ${v.help} (at ${v.nodes.join(', ')})`, file, severity: v.impact === 'critical' ? 'critical' : 'high' });
      }
    }
    return { ok: true, pages: pages.length, findings };
  } finally {
    signal?.removeEventListener('abort', abort);
    await browser.close().catch(() => undefined);
  }
}
