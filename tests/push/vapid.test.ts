/**
 * The VAPID keys: made once into <data>/vapid.json (0600), the same after a restart of a real
 * hub, and a garbled or unreadable file stops the hub with PUSH_KEYS_INVALID instead of new
 * keys (which would orphan every subscription). Also: the fake push service's decrypter against
 * RFC 8291's own example, so the server-side tests rest on a receiver proven by the RFC.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadVapidKeys, VAPID_FILE } from '../../hub/push/vapid.js';
import { decryptAes128gcm } from '../fixtures/fake-push-service.js';
import { startInprocHub } from '../support/hub-inproc.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'sy-vapid-'));
  dirs.push(d);
  return d;
};

describe('the VAPID key file', () => {
  it('is made once, mode 0600, and read back the same', async () => {
    const dir = await tempDir();
    const first = await loadVapidKeys(dir);
    expect(first.generated).toBe(true);
    expect(statSync(join(dir, VAPID_FILE)).mode & 0o777).toBe(0o600);
    expect(Buffer.from(first.keys.publicKey, 'base64url')).toHaveLength(65);
    const again = await loadVapidKeys(dir);
    expect(again.generated).toBe(false);
    expect(again.keys).toEqual(first.keys);
  });

  it('a real hub keeps its public key across a restart', async () => {
    const h1 = await startInprocHub();
    const key1 = (await h1.hub.app.inject({ method: 'GET', url: '/v1/push/key', headers: h1.auth() })).json().public_key as string;
    const file = readFileSync(join(h1.dir, VAPID_FILE), 'utf8');
    await h1.hub.close();
    // A second hub on the same data folder: its key is the file's, unchanged.
    const dir = await tempDir();
    writeFileSync(join(dir, VAPID_FILE), file, { mode: 0o600 });
    const h2 = await startInprocHub({ config: { dataDir: dir } });
    try {
      const key2 = (await h2.hub.app.inject({ method: 'GET', url: '/v1/push/key', headers: h2.auth() })).json().public_key as string;
      expect(key2).toBe(key1);
      expect(readFileSync(join(dir, VAPID_FILE), 'utf8')).toBe(file);
    } finally {
      await h2.close();
      await h1.close();
    }
  });

  it('refuses a garbled file, a wrong pair and an unreadable file, and never replaces them', async () => {
    const dir = await tempDir();
    const path = join(dir, VAPID_FILE);
    writeFileSync(path, '{"public_key": "trunc', { mode: 0o600 });
    await expect(loadVapidKeys(dir)).rejects.toMatchObject({ code: 'PUSH_KEYS_INVALID', message: expect.stringContaining('restore it from a backup') });
    expect(readFileSync(path, 'utf8')).toBe('{"public_key": "trunc');

    const a = await loadVapidKeys(await tempDir());
    const b = await loadVapidKeys(await tempDir());
    writeFileSync(path, JSON.stringify({ public_key: a.keys.publicKey, private_key: b.keys.privateKey, created_at: 1 }));
    await expect(loadVapidKeys(dir)).rejects.toMatchObject({ code: 'PUSH_KEYS_INVALID', message: expect.stringContaining('does not belong') });

    // Unreadable: a folder where the file should be (root reads a 0000 file, so permissions cannot show it here).
    const other = await tempDir();
    mkdirSync(join(other, VAPID_FILE));
    await expect(loadVapidKeys(other)).rejects.toMatchObject({ code: 'PUSH_KEYS_INVALID', message: expect.stringContaining('EISDIR') });
  });

  it('stops a hub from starting on a garbled key file', async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, VAPID_FILE), 'not json');
    await expect(startInprocHub({ config: { dataDir: dir } })).rejects.toMatchObject({ code: 'PUSH_KEYS_INVALID' });
  });
});

describe("the fake push service's decrypter", () => {
  it("decrypts RFC 8291's example message (section 5, appendix A)", () => {
    const body = Buffer.from(
      'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
      'base64url',
    );
    const plain = decryptAes128gcm(body, {
      privateKey: Buffer.from('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94', 'base64url'),
      publicKey: Buffer.from('BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4', 'base64url'),
      auth: Buffer.from('BTBZMqHH6r4Tts7J_aSIgg', 'base64url'),
    });
    expect(plain.toString('utf8')).toBe('When I grow up, I want to be a watermelon');
    // One flipped bit of the ciphertext: the tag no longer verifies.
    body[body.length - 20]! ^= 1;
    expect(() => decryptAes128gcm(body, { privateKey: Buffer.alloc(32, 1), publicKey: Buffer.alloc(65), auth: Buffer.alloc(16) })).toThrow();
  });
});
