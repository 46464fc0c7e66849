/**
 * How a CLI entry point ends on an error: the message (with the code for a SwitchyardError) on
 * stderr and a stable exit status — 2 for a usage mistake, the CliError's own, else 1. A stack is
 * printed only for what nobody expected. One place for `switchyard` and `scripts/onboard.ts`.
 */
import { SwitchyardError } from '../shared/errors.js';
import { CliError } from './client.js';

export function exitOnError(program: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof SwitchyardError) {
      process.stderr.write(`${program}: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${program}: ${(err as Error).message} (see --help)\n`);
      process.exit(2);
    }
    process.stderr.write(`${program}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  };
}
