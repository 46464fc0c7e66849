/**
 * The node flags the hub runs best with, and whether this process has them. A 64 MiB young
 * generation: the store's objects live until their group commit's fsync and then die, and in the
 * default 16 MiB one they were promoted first (bench:queue: about half the store's CPU per task,
 * docs/benchmarks.md). A flag of the node process, not settable from inside it (V8 sizes the heap
 * at start), so the launchers carry it: the pm2 app (ecosystem.config.cjs) and `npm start`;
 * tests/hub/node-flags.test.ts keeps those and this list equal. A hub started another way says
 * so in its log, with the command that adds it.
 */
export const HUB_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

/** The flags of HUB_NODE_FLAGS this process was started without (on its command line or in NODE_OPTIONS). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)];
  return HUB_NODE_FLAGS.filter((flag) => {
    const name = flag.split('=')[0]!;
    return !given.some((g) => g === flag || g.startsWith(`${name}=`));
  });
}
