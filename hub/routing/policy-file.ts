/** Reads the routing policy file (SWITCHYARD_ROUTING_POLICY): JSON, checked by the policy service. */
import { readFile } from 'node:fs/promises';
import { SwitchyardError } from '../../shared/errors.js';

export async function readPolicyFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SwitchyardError('ROUTING_POLICY_INVALID', `routing policy file ${path} cannot be read: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SwitchyardError('ROUTING_POLICY_INVALID', `routing policy file ${path} is not JSON: ${(err as Error).message}`);
  }
}
