/**
 * The hub's VAPID key pair (RFC 8292): made once, on first start, into `<data>/vapid.json`
 * (mode 0600, written atomically) and read from there on every start after.
 *
 * Why never regenerate: a browser's push subscription is bound to the public key it subscribed
 * with (`applicationServerKey`). New keys make every stored subscription useless without a word,
 * which is the failure the seeds' system had (fresh keys each start, subscribers silently lost).
 * So a key file that exists but cannot be read, or holds no valid P-256 pair, stops the hub with
 * PUSH_KEYS_INVALID; the operator restores it from a backup or deletes it on purpose.
 */
import { createECDH, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/atomic-file.js';
import { SwitchyardError } from '../../shared/errors.js';

/** The key file's name in the data folder (backups must copy it with the stores). */
export const VAPID_FILE = 'vapid.json';

export interface VapidKeys {
  /** Uncompressed P-256 point (65 bytes), base64url: what browsers take as `applicationServerKey`. */
  publicKey: string;
  /** The private scalar (32 bytes), base64url. */
  privateKey: string;
}

interface VapidFile {
  public_key: string;
  private_key: string;
  created_at: number;
}

/** A fresh P-256 key pair in web-push's encoding. */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey may drop leading zero bytes: pad to 32 so every decoder reads it the same.
  const priv = ecdh.getPrivateKey();
  const padded = Buffer.concat([Buffer.alloc(32 - priv.length), priv]);
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: padded.toString('base64url') };
}

/** Throws unless `keys` is a P-256 pair whose public point is the private key's. */
function checkPair(keys: VapidKeys): void {
  const pub = Buffer.from(keys.publicKey, 'base64url');
  const priv = Buffer.from(keys.privateKey, 'base64url');
  if (pub.length !== 65 || pub[0] !== 4) throw new Error('public_key is not an uncompressed P-256 point (65 bytes)');
  if (priv.length !== 32) throw new Error('private_key is not 32 bytes');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(priv);
  if (!ecdh.getPublicKey().equals(pub)) throw new Error('public_key does not belong to private_key');
  // And a point on the curve that node's key objects accept (what signing will use).
  createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') }, format: 'jwk' });
}

/**
 * The data folder's keys, made on first use. `generated` says whether this call made them.
 * Throws PUSH_KEYS_INVALID when the file exists but is unreadable or garbled.
 */
export async function loadVapidKeys(dataDir: string, now: () => number = Date.now): Promise<{ keys: VapidKeys; path: string; generated: boolean }> {
  const path = join(dataDir, VAPID_FILE);
  const exists = await stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw invalid(path, err.message);
    },
  );
  if (!exists) {
    const keys = generateVapidKeys();
    const file: VapidFile = { public_key: keys.publicKey, private_key: keys.privateKey, created_at: now() };
    await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    return { keys, path, generated: true };
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
  try {
    const file = JSON.parse(text) as Partial<VapidFile>;
    if (typeof file.public_key !== 'string' || typeof file.private_key !== 'string') throw new Error('public_key and private_key must be strings');
    const keys = { publicKey: file.public_key, privateKey: file.private_key };
    checkPair(keys);
    return { keys, path, generated: false };
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
}

function invalid(path: string, why: string): SwitchyardError {
  return new SwitchyardError(
    'PUSH_KEYS_INVALID',
    `the push key file ${path} cannot be used (${why}): restore it from a backup; only if it is lost, delete it, and every operator subscribes again (new keys orphan every subscription)`,
    { path },
  );
}
