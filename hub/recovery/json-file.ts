/**
 * The recovery's small JSON files (store.json, watermark.json): read whole, checked by shape.
 * A file that is not there is null; one that does not parse or has the wrong shape is 'garbled'
 * (the caller decides what that means); any other read error is thrown.
 */
import { readFile } from 'node:fs/promises';

export async function readJsonFile<T>(path: string, isValid: (value: T) => boolean): Promise<T | 'garbled' | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const value = JSON.parse(text) as T;
    return value !== null && typeof value === 'object' && isValid(value) ? value : 'garbled';
  } catch {
    return 'garbled';
  }
}
