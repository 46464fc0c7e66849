/**
 * The admin token: from config (SWITCHYARD_ADMIN_TOKEN) or, on first start, generated and written
 * to `<dataDir>/admin.token` with mode 0600 (atomically: temp file, fsync, rename).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { newToken } from './tokens.js';

export interface AdminTokenSource {
  token: string;
  /** Where it was read from or written to; null when it came from the environment. */
  path: string | null;
  generated: boolean;
}

export async function loadAdminToken(dataDir: string, configured: string | null): Promise<AdminTokenSource> {
  if (configured) return { token: configured, path: null, generated: false };
  const path = join(dataDir, 'admin.token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), path, generated: false };
  const token = newToken('sya');
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return { token, path, generated: true };
}
