/**
 * `npx tsx bench/compare.ts [--base REV] [--rounds N] [--warmup N]`: step
 * overhead and replay cost of two builds of the engine, measured in one run,
 * so that a change of the engine can be held to "no slower than the run's
 * own spread".
 *
 * The base build is the commit REV (default b6b81a2, before the journaling
 * choke point) exported with `git archive` into a temporary directory that
 * shares this repository's node_modules; the head build is this working
 * tree. Each build is measured by its own `bench/step-overhead.ts` and
 * `bench/replay.ts` over its own `src/`, in one process. The rounds alternate
 * the builds, the order flipping each round, after unmeasured warm-up rounds:
 * both meet the same JIT state, heap and machine load, as the replay bench
 * alternates journal sizes. A round measures, per build, one attempt of 1,000
 * `ctx.run` steps (CPU µs per step) and one resuming attempt each of a
 * 1,000- and a 10,000-entry journal (CPU and wall ms, in memory).
 *
 * The table gives each build's median and interquartile range (its spread),
 * and head/base round by round (the two ran within a second of each other, so
 * a busy spell of the machine cancels out of the ratio). "within spread":
 * the medians differ by less than the larger of the two interquartile ranges.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, median, percentile, printTable, progress } from './report.ts';

type ReplayModule = typeof import('./replay.ts');
type StepModule = typeof import('./step-overhead.ts');
type EngineModule = typeof import('../src/store/memory.ts');

/** One build of the engine, with the bench functions of its own tree. */
interface Build {
  label: string;
  engine: EngineModule;
  replay: ReplayModule;
  step: StepModule;
}

/** The figures of one build in one round. */
interface Sample {
  stepCpuUs: number;
  replay1kCpuMs: number;
  replay1kWallMs: number;
  replay10kCpuMs: number;
  replay10kWallMs: number;
}

const FIGURES: { key: keyof Sample; name: string }[] = [
  { key: 'stepCpuUs', name: 'step overhead, CPU µs/step (1,000 steps)' },
  { key: 'replay1kCpuMs', name: 'replay 1k entries, CPU ms' },
  { key: 'replay1kWallMs', name: 'replay 1k entries, wall ms' },
  { key: 'replay10kCpuMs', name: 'replay 10k entries, CPU ms' },
  { key: 'replay10kWallMs', name: 'replay 10k entries, wall ms' },
];

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: 'b6b81a2' },
    rounds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
  },
});
const rounds = Number(values.rounds);
const warmup = Number(values.warmup);
const root = resolve(import.meta.dirname, '..');

/** Loads a tree's engine and bench modules. */
async function load(label: string, dir: string): Promise<Build> {
  const at = (path: string) => pathToFileURL(join(dir, path)).href;
  return {
    label,
    engine: (await import(at('src/store/memory.ts'))) as EngineModule,
    replay: (await import(at('bench/replay.ts'))) as ReplayModule,
    step: (await import(at('bench/step-overhead.ts'))) as StepModule,
  };
}

/** One round of one build. */
async function measure(build: Build): Promise<Sample> {
  const step = await build.step.measureStepOverhead({ steps: 1000, reps: 1, warmup: 0 });
  const store = () => new build.engine.MemoryStore();
  const [r1k] = (await build.replay.measureReplay(store, 1000, 1, undefined, 0)).samples;
  const [r10k] = (await build.replay.measureReplay(store, 10_000, 1, undefined, 0)).samples;
  return {
    stepCpuUs: step.engine,
    replay1kCpuMs: r1k!.cpuMs,
    replay1kWallMs: r1k!.wallMs,
    replay10kCpuMs: r10k!.cpuMs,
    replay10kWallMs: r10k!.wallMs,
  };
}

const spread = (xs: number[]) => `${fmt(percentile(xs, 25))}–${fmt(percentile(xs, 75))}`;
const iqr = (xs: number[]) => percentile(xs, 75) - percentile(xs, 25);

const dir = mkdtempSync(join(tmpdir(), 'dormant-base-'));
try {
  const rev = execFileSync('git', ['rev-parse', '--short', values.base], { cwd: root, encoding: 'utf8' }).trim();
  progress(`exporting ${rev} to ${dir}`);
  const archive = execFileSync('git', ['archive', rev, 'package.json', 'tsconfig.json', 'src', 'bench'], {
    cwd: root,
    maxBuffer: 1 << 28,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const builds = [await load(`base ${rev}`, dir), await load('head (working tree)', root)];
  const samples = new Map<Build, Sample[]>(builds.map((b) => [b, []]));
  for (let round = -warmup; round < rounds; round++) {
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) {
      const sample = await measure(build);
      if (round >= 0) samples.get(build)!.push(sample);
    }
    progress(`round ${round + 1 + warmup} of ${rounds + warmup}${round < 0 ? ' (warm-up)' : ''}`);
  }
  const [base, head] = builds.map((b) => samples.get(b)!) as [Sample[], Sample[]];
  const rows = FIGURES.map(({ key, name }) => {
    const b = base.map((s) => s[key]);
    const h = head.map((s) => s[key]);
    const ratios = h.map((x, i) => x / b[i]!);
    const within = Math.abs(median(h) - median(b)) <= Math.max(iqr(b), iqr(h));
    return [
      name,
      median(b),
      spread(b),
      median(h),
      spread(h),
      `${fmt(median(ratios), 3)} (${fmt(percentile(ratios, 25), 3)}–${fmt(percentile(ratios, 75), 3)})`,
      within ? 'within spread' : median(h) > median(b) ? 'head slower' : 'head faster',
    ];
  });
  printTable(
    `Engine: ${builds[0]!.label} vs ${builds[1]!.label}, ${rounds} alternating rounds after ${warmup} warm-up`,
    ['figure', 'base median', 'base p25–p75', 'head median', 'head p25–p75', 'head/base by round (p25–p75)', 'verdict'],
    rows,
    ['in memory (MemoryStore); CPU is this process (user + system) during the attempt'],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
