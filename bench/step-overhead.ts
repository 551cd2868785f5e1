/**
 * Engine CPU per `ctx.run` step on the in-memory store, beside the same work
 * as plain awaited async functions.
 *
 * One repetition runs an attempt of `steps.run(n)` from start to finish
 * (acquire, load, n steps each journaled, finish) and divides its CPU time
 * (user + system, `process.cpuUsage`) by n; the figure is the median over
 * the repetitions, after unmeasured warm-up ones. The baseline awaits the
 * same step body n times as a plain async function.
 */
import {
  IdSigner,
  MemoryStore,
  catalogOf,
  registry,
  runAttempt,
  startInvocation,
  systemClock,
  type AttemptDeps,
  type IngressDeps,
} from '../src/internal.ts';
import { median, since } from './report.ts';
import { BENCH_SERVICES, stepBody } from './workflows.ts';

/** Result of {@link measureStepOverhead}, microseconds per step. */
export interface StepOverhead {
  engine: number;
  baseline: number;
  ratio: number;
  /** Wall time per step of the engine, for comparison with CPU. */
  engineWall: number;
  steps: number;
  reps: number;
}

const SIGNER = new IdSigner('bench-signing-key-0123456789abcdef');
/** The baseline is so fast that one pass of n steps is below the clock's grain: repeat it this many times. */
const BASELINE_PASSES = 50;

/**
 * Measures engine and baseline CPU per step.
 *
 * @example
 * ```ts
 * const { engine, baseline, ratio } = await measureStepOverhead({ steps: 1000, reps: 20, warmup: 3 });
 * ```
 */
export async function measureStepOverhead(o: { steps: number; reps: number; warmup: number }): Promise<StepOverhead> {
  const services = registry(BENCH_SERVICES);
  const engineCpu: number[] = [];
  const engineWall: number[] = [];
  const baselineCpu: number[] = [];
  for (let rep = 0; rep < o.warmup + o.reps; rep++) {
    const store = new MemoryStore();
    const deps: AttemptDeps = { store, signer: SIGNER, clock: systemClock, services };
    const ingress: IngressDeps = { store, signer: SIGNER, clock: systemClock, catalog: catalogOf(services) };
    const { invocationId } = await startInvocation(ingress, { service: 'steps', handler: 'run', body: String(o.steps) });

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const outcome = await runAttempt(deps, { invocationId, epoch: 0 });
    const wall = since(t0);
    const cpu = cpuMicros(process.cpuUsage(cpu0));
    if (outcome.kind !== 'completed') throw new Error(`step overhead: the attempt ended ${outcome.kind}, expected completed`);

    const base = await baseline(o.steps);
    if (rep < o.warmup) continue;
    engineCpu.push(cpu / o.steps);
    engineWall.push((wall * 1000) / o.steps);
    baselineCpu.push(base);
  }
  const engine = median(engineCpu);
  const base = median(baselineCpu);
  return { engine, baseline: base, ratio: engine / base, engineWall: median(engineWall), steps: o.steps, reps: o.reps };
}

/** CPU microseconds per step of the same bodies as plain awaited async functions. */
async function baseline(steps: number): Promise<number> {
  const results: string[] = [];
  const cpu0 = process.cpuUsage();
  for (let pass = 0; pass < BASELINE_PASSES; pass++) {
    results.length = 0;
    for (let i = 0; i < steps; i++) results.push(await plainStep(`step-${i}`, stepBody));
  }
  const cpu = cpuMicros(process.cpuUsage(cpu0));
  if (results.length !== steps) throw new Error('baseline lost a result');
  return cpu / (steps * BASELINE_PASSES);
}

async function plainStep<T>(_name: string, fn: () => T | Promise<T>): Promise<T> {
  return fn();
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}
