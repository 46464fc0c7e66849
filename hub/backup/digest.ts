/**
 * What a backup's manifest says of one store, computed the same way while the backup is written
 * and when it is verified: the number of keys, per key space (the prefix before the first '!'),
 * and a SHA-256 over every key and value in order (each length-prefixed, so no two different
 * stores hash alike by shifting bytes between a key and its value).
 */
import { createHash, type Hash } from 'node:crypto';
import type { BackupStoreManifest } from '../../shared/rest.js';

export class StoreDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly len = Buffer.alloc(8);
  private keys = 0;
  private readonly byPrefix: Record<string, number> = {};
  /** The last key of each key space, in store order (the newest event id is the last `e!` key). */
  readonly lastByPrefix = new Map<string, [key: string, value: string]>();
  /** The values of the keys asked for (the store format's `m!version`). */
  readonly picked = new Map<string, string>();

  constructor(private readonly pick: readonly string[] = []) {}

  add(key: string, value: string): void {
    if (this.pick.includes(key)) this.picked.set(key, value);
    // The UTF-8 lengths without encoding twice: hash.update encodes the strings itself.
    this.len.writeUInt32BE(Buffer.byteLength(key, 'utf8'), 0);
    this.len.writeUInt32BE(Buffer.byteLength(value, 'utf8'), 4);
    this.hash.update(this.len);
    this.hash.update(key, 'utf8');
    this.hash.update(value, 'utf8');
    this.keys++;
    const bang = key.indexOf('!');
    const prefix = bang < 0 ? '' : key.slice(0, bang);
    this.byPrefix[prefix] = (this.byPrefix[prefix] ?? 0) + 1;
    this.lastByPrefix.set(prefix, [key, value]);
  }

  result(): BackupStoreManifest {
    return { keys: this.keys, by_prefix: { ...this.byPrefix }, sha256: this.hash.digest('hex') };
  }
}

/** The same JSON for the same value, whatever order its keys were set in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
