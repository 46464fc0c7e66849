#!/usr/bin/env node
/**
 * Onboarding as a script: `node dist/scripts/onboard.js --hub URL --join TOKEN [--repo name=url …]`,
 * the same as `switchyard onboard` (cli/commands/onboard.ts; the steps: cli/onboard/onboard.ts).
 */
import { SwitchyardError } from '../shared/errors.js';
import { CliError } from '../cli/client.js';
import { onboardCommand } from '../cli/commands/onboard.js';

onboardCommand(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`onboard: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof SwitchyardError) {
    process.stderr.write(`onboard: ${err.code}: ${err.message}\n`);
    process.exit(1);
  }
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`onboard: ${(err as Error).message} (see --help)\n`);
    process.exit(2);
  }
  process.stderr.write(`onboard: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
