/**
 * The repo registry (docs/repos.md) in the agents database: one `rp!<name>` key per repo, each
 * change one fsync'd write on the database's serial path together with its audit entry, so a
 * backup holds the repos with the agents and they persist across restarts.
 *
 * Keys: `rp!<name>` -> Repo.
 */
import { SwitchyardError } from '../../shared/errors.js';
import type { Repo } from '../../shared/repos.js';
import { LevelAgentStore, type AgentStore } from './agent-store.js';
import { prefixRange, type KvOp } from './kv.js';

const PREFIX = 'rp!';
const key = (name: string) => `${PREFIX}${name}`;

export class RepoStore {
  constructor(private readonly db: LevelAgentStore) {}

  async list(): Promise<Repo[]> {
    const out: Repo[] = [];
    for await (const entries of this.db.kv.entries(prefixRange(PREFIX))) for (const [, raw] of entries) out.push(JSON.parse(raw) as Repo);
    return out;
  }

  /**
   * Writes `next` with `extra` (its audit entry) in one batch, on the serial path. `expect`
   * guards the read-then-write: 'absent' refuses REPO_EXISTS, 'present' REPO_NOT_FOUND.
   */
  put(next: Repo, expect: 'absent' | 'present', extra: KvOp[] = []): Promise<Repo> {
    return this.db.serial(async () => {
      const exists = (await this.db.kv.get(key(next.name))) !== undefined;
      if (expect === 'absent' && exists) throw new SwitchyardError('REPO_EXISTS', `repo '${next.name}' is already registered`, { repo: next.name });
      if (expect === 'present' && !exists) throw notFound(next.name);
      await this.db.write([{ type: 'put', key: key(next.name), value: JSON.stringify(next) }, ...extra]);
      return next;
    });
  }

  /** Removes the repo with `extra` in one batch; REPO_NOT_FOUND when there is none. */
  remove(name: string, extra: KvOp[] = []): Promise<void> {
    return this.db.serial(async () => {
      if ((await this.db.kv.get(key(name))) === undefined) throw notFound(name);
      await this.db.write([{ type: 'del', key: key(name) }, ...extra]);
    });
  }
}

export function notFound(name: string): SwitchyardError {
  return new SwitchyardError('REPO_NOT_FOUND', `no repo '${name}' is registered (switchyard repo list)`, { repo: name });
}

export function repoStoreOf(agents: AgentStore): RepoStore {
  if (!(agents instanceof LevelAgentStore)) throw new SwitchyardError('INTERNAL', 'the repo registry needs the LevelDB agent store');
  return new RepoStore(agents);
}
