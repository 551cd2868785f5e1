/**
 * The simulator's command line.
 *
 *   npm run sim -- --seeds 1000            seeds 1..1000, a summary
 *   npm run sim -- --seeds 1000 --from 5000
 *   npm run sim -- --seed 42               one seed, with its full trace
 *
 * Exits 1 if any seed broke a rule, and prints the command that replays it.
 */
import { parseArgs } from 'node:util';
import { MUTATIONS } from './mutations.ts';
import { runSeed, type SeedResult } from './simulate.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    'no-reference': { type: 'boolean', default: false },
    break: { type: 'string' },
    'stop-at-first': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || (values.seeds === undefined && values.seed === undefined)) {
  console.log('usage: npm run sim -- --seeds N [--from S] [--stop-at-first]   |   npm run sim -- --seed S');
  console.log(`       --break RULE runs a deliberately broken rule (${Object.keys(MUTATIONS).join(', ')}): the simulator must catch it`);
  process.exit(values.help ? 0 : 2);
}

if (values.break !== undefined && !MUTATIONS[values.break]) {
  console.error(`--break: no rule named '${values.break}' (known: ${Object.keys(MUTATIONS).join(', ')})`);
  process.exit(2);
}
const options = { reference: !values['no-reference'], mutation: values.break === undefined ? undefined : MUTATIONS[values.break] };
const reproduce = (seed: number) => `npm run sim -- --seed ${seed}${values.break === undefined ? '' : ` --break ${values.break}`}`;

// A rejection nobody handled is a bug of its own.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (error) => unhandled.push(error));

function integer(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${what} must be a non-negative integer, got '${text}'`);
    process.exit(2);
  }
  return n;
}

if (values.seed !== undefined) {
  const seed = integer(values.seed, '--seed');
  const result = await runSeed(seed, { ...options, trace: (line) => console.log(line) });
  console.log('');
  console.log(
    `seed ${seed}: ${result.invocations} invocations, ${result.stats.events} events, ${result.stats.attempts} attempts, ${result.stats.crashes} crashes, ${result.stats.zombies} zombies, ${result.stats.timeouts} timeouts, ${result.stats.dupRecords} duplicate records (${result.ms.toFixed(0)} ms)`,
  );
  for (const v of result.violations) console.log(`VIOLATION ${v.kind}: ${v.detail}`);
  for (const e of unhandled) console.log(`VIOLATION unhandled-rejection: ${String(e)}`);
  const bad = result.violations.length > 0 || unhandled.length > 0;
  console.log(bad ? `FAILED — replay with: ${reproduce(seed)}` : 'ok: every rule held');
  process.exit(bad ? 1 : 0);
}

const count = integer(values.seeds!, '--seeds');
const from = integer(values.from, '--from');
const started = performance.now();
const totals = {
  invocations: 0,
  events: 0,
  attempts: 0,
  directWakes: 0,
  directWakeCrashes: 0,
  crashes: 0,
  zombies: 0,
  dupRecords: 0,
  dupInvokes: 0,
  recoveries: 0,
  timeouts: 0,
  leaseHeld: 0,
  pinnedElsewhere: 0,
  steps: 0,
};
const byKind = new Map<string, number>();
const steals = new Map<string, number>();
const failing: SeedResult[] = [];
const every = Math.max(1, Math.min(100, Math.ceil(count / 10)));

for (let i = 0; i < count; i++) {
  const seed = from + i;
  const before = unhandled.length;
  const result = await runSeed(seed, options);
  for (const e of unhandled.slice(before)) result.violations.push({ kind: 'unhandled-rejection', detail: String(e) });
  totals.invocations += result.invocations;
  for (const k of [
    'events',
    'attempts',
    'crashes',
    'directWakes',
    'directWakeCrashes',
    'zombies',
    'dupRecords',
    'dupInvokes',
    'recoveries',
    'timeouts',
    'leaseHeld',
    'pinnedElsewhere',
    'steps',
  ] as const)
    totals[k] += result.stats[k];
  for (const [kind, n] of Object.entries(result.stats.steals)) steals.set(kind, (steals.get(kind) ?? 0) + n);
  if (result.violations.length > 0) {
    failing.push(result);
    for (const v of result.violations) byKind.set(v.kind, (byKind.get(v.kind) ?? 0) + 1);
    console.log(`seed ${seed}: ${result.violations.length} violation(s): ${result.violations[0]!.kind}: ${result.violations[0]!.detail}`);
    console.log(`  replay with: ${reproduce(seed)}`);
    if (values['stop-at-first']) {
      console.log(`first violation after ${i + 1} seed(s)`);
      break;
    }
  }
  if ((i + 1) % every === 0 || i + 1 === count) {
    const secs = (performance.now() - started) / 1000;
    console.log(`… ${i + 1}/${count} seeds, ${failing.length} failing, ${((i + 1) / secs).toFixed(1)} seeds/s`);
  }
}

const secs = (performance.now() - started) / 1000;
console.log('');
const ran = failing.length > 0 && values['stop-at-first'] ? failing[0]!.seed - from + 1 : count;
console.log(`seeds ${from}..${from + ran - 1}: ${ran} seeds in ${secs.toFixed(1)} s (${(ran / secs).toFixed(1)} seeds/s)`);
console.log(
  `  invocations ${totals.invocations}, attempts ${totals.attempts}, scheduling events ${totals.events}, step bodies ${totals.steps}`,
);
console.log(
  `  faults: crashes ${totals.crashes}, zombies ${totals.zombies}, duplicate stream records ${totals.dupRecords}, duplicate invokes ${totals.dupInvokes}, direct wakes ${totals.directWakes} (crashed before the invoke ${totals.directWakeCrashes}), on-failure recoveries ${totals.recoveries}, Lambda timeouts ${totals.timeouts}, invokes failed on a live lease ${totals.leaseHeld}, invokes that reached a version other than the pin ${totals.pinnedElsewhere}`,
);
console.log(
  `  entries a zombie won from a newer attempt, by kind: ${
    [...steals]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none'
  }`,
);
if (byKind.size === 0) {
  console.log('  violations: 0');
} else {
  console.log(`  violations: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')} in ${failing.length} seed(s)`);
  console.log(`  first failing seed: ${reproduce(failing[0]!.seed)}`);
}
process.exit(failing.length > 0 ? 1 : 0);
