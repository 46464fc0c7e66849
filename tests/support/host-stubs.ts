/**
 * Stand-ins for the programs onboarding's preflight (and the sidecar) run, printing what the real
 * ones print, in a bin folder to put first on PATH:
 *
 *  - `nvidia-smi`: the CSV of `--query-gpu=... --format=csv,noheader,nounits` for two H100s (it
 *    checks it was asked that exact query), or, with `gpu: 'failing'`, the driver error and exit 9;
 *  - `gh`: `gh --version`, `gh auth status` as gh 2.x answers (logged in on stdout, exit 0; not
 *    logged in on stderr, exit 1), and `gh pr create` printing the new PR's URL;
 *  - `claude`: tests/fixtures/stub-claude/claude (`--version`, `auth status`, transcripts), logged
 *    in or, with `claude: 'logged-out'`, not.
 * A program left out (`'missing'`) is simply not there: preflight must say so.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NVIDIA_SMI_ARGS } from '../../sidecar/resources.js';

export const TWO_H100 = '0, NVIDIA H100 80GB HBM3, 81559, 1024, 37\n1, NVIDIA H100 80GB HBM3, 81559, 0, 0\n';
export const STUB_CLAUDE = resolve(import.meta.dirname, '..', 'fixtures', 'stub-claude', 'claude');
export const PR_URL = 'https://github.com/acme/calc/pull/7';

export interface HostStubs {
  gpu?: 'two' | 'failing' | 'missing';
  gh?: 'logged-in' | 'logged-out' | 'missing';
  claude?: 'logged-in' | 'logged-out' | 'missing';
}

function script(path: string, body: string): void {
  writeFileSync(path, `#!/bin/sh\n${body}`);
  chmodSync(path, 0o755);
}

/** Writes the stubs into `dir` (created); returns it. */
export function writeHostStubs(dir: string, o: HostStubs = {}): string {
  mkdirSync(dir, { recursive: true });
  const gpu = o.gpu ?? 'two';
  if (gpu === 'two') {
    script(join(dir, 'nvidia-smi'), `if [ "$*" != "${NVIDIA_SMI_ARGS.join(' ')}" ]; then echo "unexpected args: $*" >&2; exit 2; fi\nprintf '%s' '${TWO_H100}'\n`);
  } else if (gpu === 'failing') {
    script(join(dir, 'nvidia-smi'), `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."\nexit 9\n`);
  }
  const gh = o.gh ?? 'logged-in';
  if (gh !== 'missing') {
    const status =
      gh === 'logged-in'
        ? `printf '%s\\n' 'github.com' '  ✓ Logged in to github.com account switchyard-bot (keyring)' '  - Active account: true' '  - Git operations protocol: https' "  - Token: gho_************************************" "  - Token scopes: 'gist', 'read:org', 'repo', 'workflow'"; exit 0`
        : `echo "You are not logged into any GitHub hosts. To log in, run: gh auth login" >&2; exit 1`;
    script(
      join(dir, 'gh'),
      [
        'case "$1 $2" in',
        `  "--version "*) echo "gh version 2.63.2 (2024-12-05)"; echo "https://github.com/cli/cli/releases/tag/v2.63.2"; exit 0 ;;`,
        `  "auth status") ${status} ;;`,
        `  "pr create") cat > /dev/null; echo "${PR_URL}"; exit 0 ;;`,
        'esac',
        'echo "unknown command \\"$1\\" for \\"gh\\"" >&2; exit 1',
        '',
      ].join('\n'),
    );
  }
  const claude = o.claude ?? 'logged-in';
  if (claude !== 'missing') {
    script(join(dir, 'claude'), `${claude === 'logged-out' ? 'STUB_CLAUDE_LOGGED_OUT=1 ' : ''}exec "${process.execPath}" "${STUB_CLAUDE}" "$@"\n`);
  }
  return dir;
}
