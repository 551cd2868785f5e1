/**
 * One seed: draw a workload and fault rates, run it with faults, check the
 * quiescent state, run it again without faults and compare.
 */
import { Prng } from './prng.ts';
import { checkWorld, compareWithReference } from './checks.ts';
import { drawWorkload } from './workload.ts';
import type { Mutation } from './mutations.ts';
import { NO_FAULTS, World, drawFaults, type Violation, type WorldStats } from './world.ts';

/** What one seed did and found. */
export interface SeedResult {
  seed: number;
  violations: Violation[];
  invocations: number;
  stats: WorldStats;
  /** Wall time, ms. */
  ms: number;
}

/** Options of `runSeed`. */
export interface SeedOptions {
  /** A deliberately broken rule (see `mutations.ts`): the run must catch it. */
  mutation?: Mutation | undefined;
  /** Receives the faulty run's trace. */
  trace?: (line: string) => void;
  /** Run the fault-free reference too (default true). */
  reference?: boolean;
}

/**
 * Runs one seed.
 *
 * @example
 * ```ts
 * const result = await runSeed(42);
 * result.violations // [] when every rule held
 * ```
 */
export async function runSeed(seed: number, options: SeedOptions = {}): Promise<SeedResult> {
  const undo = options.mutation?.patch?.();
  try {
    return await run(seed, options);
  } finally {
    undo?.();
  }
}

async function run(seed: number, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const decideWake = options.mutation?.decideWake;
  const root = new Prng(seed);
  const workload = drawWorkload(root.fork('workload'), root.fork('workload-extras'));
  const faults = drawFaults(root.fork('faults'), root.fork('fault-extras'));
  const deploys = drawDeploys(root.fork('deploys'));
  options.trace?.(
    `seed ${seed}: deploys at ${JSON.stringify(deploys)} ms; ${workload.invocations.length} invocations (${workload.invocations.map((s) => s.label).join(', ')}); lease ${workload.leaseMs} ms${workload.alwaysReplay ? ', always-replay' : ''}; faults ${JSON.stringify(faults)}`,
  );
  const world = new World({ workload, faults, rng: root.fork('schedule'), decideWake, trace: options.trace, deploys });
  await world.run();
  const checked = await checkWorld(world);
  const violations = [...world.violations, ...checked.violations];
  if (options.reference !== false) {
    const reference = new World({ workload, faults: NO_FAULTS, rng: root.fork('reference'), decideWake, deploys });
    await reference.run();
    const ref = await checkWorld(reference);
    for (const v of [...reference.violations, ...ref.violations]) violations.push({ kind: v.kind, detail: `(fault-free run) ${v.detail}` });
    violations.push(...compareWithReference(checked.facts, ref.facts));
  }
  return { seed, violations, invocations: world.specs.length, stats: world.stats, ms: performance.now() - started };
}

/**
 * Deploys of new handler code during a run (rule 12): none to three, in the
 * first ten minutes, when invocations are suspended, retrying and recovering.
 * From a fork of their own, so every other draw of a seed stays as it was.
 */
export function drawDeploys(rng: Prng): number[] {
  return Array.from({ length: rng.int(4) }, () => rng.between(0, 600_000)).sort((a, b) => a - b);
}
