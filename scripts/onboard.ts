#!/usr/bin/env node
/**
 * Onboarding as a script: `node dist/scripts/onboard.js --hub URL --join TOKEN [--repo name=url …]`,
 * the same as `switchyard onboard` (cli/commands/onboard.ts; the steps: cli/onboard/onboard.ts).
 */
import { exitOnError } from '../cli/exit.js';
import { onboardCommand } from '../cli/commands/onboard.js';

onboardCommand(process.argv.slice(2)).catch(exitOnError('onboard'));
