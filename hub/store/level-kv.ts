/**
 * LevelDB behind the Kv interface. This is the only module that imports `level`.
 */
import { Level } from 'level';
import { SwitchyardError } from '../../shared/errors.js';
import type { Kv, KvOp, KvRange } from './kv.js';

export async function openLevelKv(location: string): Promise<Kv> {
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED' || /lock/i.test(cause?.message ?? '')) {
      throw new SwitchyardError(
        'STORE_LOCKED',
        `the store at ${location} is in use by another process; stop it first or choose another --data folder`,
      );
    }
    throw new SwitchyardError('STORE_FAILED', `cannot open the store at ${location}: ${(err as Error).message}`);
  }
  return new LevelKv(db);
}

class LevelKv implements Kv {
  constructor(private readonly db: Level<string, string>) {}

  get(key: string): Promise<string | undefined> {
    return this.db.get(key);
  }

  getMany(keys: string[]): Promise<(string | undefined)[]> {
    return this.db.getMany(keys);
  }

  write(ops: KvOp[], sync: boolean): Promise<void> {
    // classic-level honours `sync` on batch(); the type of abstract-level's options omits it.
    return this.db.batch(ops, { sync } as object);
  }

  async *keys(range: KvRange, chunk = 1000): AsyncGenerator<string[]> {
    const it = this.db.keys(range);
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch;
      }
    } finally {
      await it.close();
    }
  }

  async *entries(range: KvRange, chunk = 1000): AsyncGenerator<Array<[string, string]>> {
    const it = this.db.iterator(range);
    try {
      for (;;) {
        const batch = await it.nextv(chunk);
        if (batch.length === 0) return;
        yield batch as Array<[string, string]>;
      }
    } finally {
      await it.close();
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
