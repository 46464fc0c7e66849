/**
 * Imports point one way (docs/architecture.md): no cycles, `shared/` imports nothing of ours, the
 * hub and the sidecar never import each other, and only hub/store/level-kv.ts imports `level`.
 * The rules live in .dependency-cruiser.cjs; this runs them over the source tree, so a violation
 * fails `npm test`, and over a small planted tree, so a rule that stopped matching fails too.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './support/processes.js';

const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as IConfiguration;

async function violations(baseDir: string, roots: string[]): Promise<Array<{ rule: string; from: string; to: string }>> {
  const { output } = await cruise(roots, {
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden! },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|node_modules)/' },
  });
  const result = output as ICruiseResult;
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('import rules', () => {
  it('the source tree keeps them', async () => {
    expect(await violations(ROOT, ['hub', 'shared', 'sidecar', 'cli', 'bench', 'tests'])).toEqual([]);
  });

  it('catches each kind of violation planted in a small tree', async () => {
    const dir = tempDir('imports');
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    // The planted tree resolves `level` like the real one does.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    file('shared/wire.ts', "import { x } from '../hub/x.js';\nexport const wire = x;\n");
    file('hub/x.ts', "import { y } from '../sidecar/y.js';\nexport const x = y;\n");
    file('sidecar/y.ts', "import { x } from '../hub/x.js';\nexport const y = 1;\nexport const back = () => x;\n");
    file('hub/store/other.ts', "import { Level } from 'level';\nexport const db = Level;\n");
    file('hub/store/level-kv.ts', "import { Level } from 'level';\nexport const db = Level;\n");
    const found = await violations(dir, ['shared', 'hub', 'sidecar']);
    const rules = (name: string) => found.filter((v) => v.rule === name).map((v) => `${v.from} -> ${v.to}`);
    expect(rules('shared-imports-nothing-of-ours')).toEqual(['shared/wire.ts -> hub/x.ts']);
    expect(rules('hub-never-imports-sidecar')).toEqual(['hub/x.ts -> sidecar/y.ts']);
    expect(rules('sidecar-never-imports-hub')).toEqual(['sidecar/y.ts -> hub/x.ts']);
    expect(rules('no-cycles').length).toBeGreaterThan(0);
    expect(rules('only-level-kv-imports-level')).toEqual([expect.stringMatching(/^hub\/store\/other\.ts -> (.*\/)?node_modules\/level\//)]);
  });
});
