/** Reading a closed LevelDB task store folder key by key, below the task store. */
import { openLevelKv } from '../../hub/store/level-kv.js';

/** Every key and value in a closed store folder, in key order. */
export async function rawContents(dir: string): Promise<Array<[string, string]>> {
  const kv = await openLevelKv(dir);
  try {
    const all: Array<[string, string]> = [];
    for await (const entries of kv.entries({})) all.push(...entries);
    return all;
  } finally {
    await kv.close();
  }
}
