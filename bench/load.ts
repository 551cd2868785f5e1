/**
 * `npm run load [-- --invocations 1000] [-- --concurrency 50] [-- --duplicates 0.1] [-- --rejects 0.05] [-- --json]`:
 * a load run on the local plane with DynamoDB Local, over HTTP as clients
 * see it.
 *
 * 1. Start N invocations (`POST /load/run/send`); each creates an awakeable,
 *    hands its id out from a step and suspends on it. Wait until all N are
 *    suspended at once, with no handler execution in flight.
 * 2. Resolve each awakeable (`POST /restate/awakeables/{id}/resolve`, or
 *    `/reject` for a share of them) with bounded concurrency, in shuffled
 *    order. A share gets a second, duplicate completion: after the first
 *    answered (it must get 409), or racing it (exactly one of the two gets 202).
 * 3. Wait for every output and count: completed (the output is the outcome of
 *    the completion that got 202), lost (no output by the deadline, or a
 *    different one), duplicated (a journaled step ran twice, or an awakeable
 *    accepted two completions). Lost and duplicated must both be 0.
 *
 * Tables go to stdout, progress lines to stderr; `--json` adds one JSON
 * object on the last line of stdout. Exit code 1 when anything was lost or
 * duplicated. The plane and its DynamoDB Local (in memory, free ports) are
 * started here and stopped at the end, on an error, and on Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { TerminalError, service, type Context } from '../src/index.ts';
import { startLocalPlane } from '../src/local/plane.ts';
import { NOT_READY } from '../src/runtime/http.ts';
import { Prng } from '../test/sim/prng.ts';
import type { Log } from '../src/runtime/log.ts';
import { fmt, printTable, progress, round, since } from './report.ts';

/**
 * What a load run does. Every field has a default.
 *
 * @example
 * ```ts
 * const options: LoadOptions = { invocations: 1000, concurrency: 50, duplicates: 0.1, rejects: 0.05 };
 * ```
 */
export interface LoadOptions {
  /** Invocations suspended at once, then resolved. Default 1 000. */
  invocations?: number;
  /** HTTP requests in flight at most (a racing duplicate adds one for its moment). Default 50. */
  concurrency?: number;
  /** Share of awakeables that get a second, duplicate completion. Default 0.1. */
  duplicates?: number;
  /** Share of awakeables completed with a reject instead of a resolve. Default 0.05. */
  rejects?: number;
  /** Seed of the choice of which invocations are rejected or duplicated, and of the resolve order. Default 1. */
  seed?: number;
  /** Use this DynamoDB Local instead of starting one (the tests' run-wide instance). */
  dynamoDbEndpoint?: string;
  /** How long each phase may take before what is missing counts as lost. Default 600 000 ms. */
  phaseTimeoutMs?: number;
  /** Pause between polling rounds of statuses and outputs. Default 250 ms. */
  pollMs?: number;
  /** Progress lines; default none. The CLI prints them on stderr. */
  onProgress?: (line: string) => void;
  /** Aborts the run (Ctrl-C); the plane is stopped all the same. */
  signal?: AbortSignal;
}

/**
 * How a duplicate completion is sent: after the first one answered (`after`,
 * must get 409), or at the same time (`race`, exactly one of the two gets 202);
 * as a resolve or a reject.
 *
 * @example
 * ```ts
 * const kind: DuplicateKind = 'race-reject';
 * ```
 */
export type DuplicateKind = 'resolve-after' | 'reject-after' | 'race-resolve' | 'race-reject';

/** Duplicate kinds, in the order they are dealt out (so every kind is exercised once there are four duplicates). */
const DUPLICATE_KINDS: readonly DuplicateKind[] = ['resolve-after', 'race-reject', 'reject-after', 'race-resolve'];

/**
 * What a load run found.
 *
 * @example
 * ```ts
 * const r = await runLoad({ invocations: 30 });
 * r.lost === 0 && r.duplicated === 0 // true when the runtime kept its promises
 * ```
 */
export interface LoadResult {
  invocations: number;
  concurrency: number;
  /** Invocations seen suspended on their awakeable at the same time, before any was resolved. */
  suspended: number;
  /** Handler executions in flight at that moment, after the last suspension returned (must be 0). */
  inflightWhileSuspended: number;
  /** Output present and equal to the outcome of the completion that got 202. */
  completed: number;
  /** No output by the deadline, or an output other than the winning completion's. */
  lost: number;
  /** Invocations with a journaled step that ran more than once, or an awakeable that accepted two completions. */
  duplicated: number;
  /** First completions sent: resolves and rejects. */
  resolvesSent: number;
  rejectsSent: number;
  /** Duplicate completions sent, by kind. */
  duplicatesSent: number;
  duplicateKinds: Record<DuplicateKind, number>;
  /** Races the duplicate won (its 202; the first then got 409). */
  racesWonByDuplicate: number;
  /** Outcomes that were rejects (the handler caught the TerminalError). */
  rejectedOutcomes: number;
  /** HTTP answers to the completions, by status (202, 409, …). */
  answers: Record<string, number>;
  /** Requests sent again after a network error or a 5xx. */
  retries: number;
  /** Handler attempts per invocation (the status's `attempts`): how many invocations took how many. */
  attempts: Record<string, number>;
  /** Outcomes of handler executions, as the plane logged them (completed, suspended, lost, skipped, …). */
  executions: Record<string, number>;
  /** Awakeables completed per second, from the first resolve sent to the last answered. */
  resolvesPerSecond: number;
  /** Completion requests (first and duplicate) answered per second over the same span. */
  requestsPerSecond: number;
  /** Invocations completed per second, from the first resolve sent to the last completion (its `updatedAt`). */
  completionsPerSecond: number;
  /** Wall time of each phase and of the whole run, seconds. */
  seconds: { plane: number; start: number; suspend: number; resolve: number; complete: number; total: number };
  /** Warnings and errors the plane logged, counted; the first few verbatim in `problems`. */
  planeWarnings: number;
  /** What went wrong, invocation by invocation (at most 20 lines). */
  problems: string[];
}

/** The outcome a handler returns. */
type Outcome = { resolved: string } | { rejected: string };

/** What a 409 says the awakeable's outcome was (never the value: DESIGN rule 2). */
type OutcomeKind = 'resolved' | 'rejected';

/** One invocation's plan and what happened to it. */
interface Tracked {
  index: number;
  invocationId: string;
  awakeableId?: string;
  primary: 'resolve' | 'reject';
  duplicate?: DuplicateKind;
  /** Completions that got 202 (or whose retry found its own value in place). */
  accepted: Outcome[];
  /** `outcome` of every 409. */
  conflicts: OutcomeKind[];
  output?: { status: number; text: string };
}

/** How many times each journaled step's body ran, per invocation. */
interface StepRuns {
  handOut: number;
  record: number;
}

/** HTTP status of `…/output` while the invocation has not finished. */
const MAX_PROBLEMS = 20;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The handler under load: an awakeable whose id leaves through a step, a
 * wait that turns a reject into an outcome, and one step after the wait.
 * Each step body counts its runs in `runs`, so a step that ran twice shows.
 */
function loadService(runs: Map<string, StepRuns>) {
  const count = (invocationId: string, step: keyof StepRuns) => {
    const entry = runs.get(invocationId) ?? { handOut: 0, record: 0 };
    entry[step]++;
    runs.set(invocationId, entry);
  };
  return service({
    name: 'load',
    handlers: {
      run: async (ctx: Context, _index: number): Promise<Outcome> => {
        const invocationId = ctx.request().id;
        const { id, promise } = ctx.awakeable<string>();
        await ctx.run('hand out', () => {
          count(invocationId, 'handOut');
          return id;
        });
        let outcome: Outcome;
        try {
          outcome = { resolved: await promise };
        } catch (error) {
          if (!(error instanceof TerminalError)) throw error;
          outcome = { rejected: error.message };
        }
        await ctx.run('record', () => {
          count(invocationId, 'record');
          return true;
        });
        return outcome;
      },
    },
  });
}

/**
 * Runs the load: starts a plane, suspends `invocations` invocations at once,
 * resolves them over HTTP with duplicates and rejects interleaved, waits for
 * every output, stops the plane, and counts.
 *
 * @example
 * ```ts
 * const result = await runLoad({ invocations: 1000, concurrency: 50, onProgress: (l) => console.error(l) });
 * console.log(result.completed, result.lost, result.duplicated, result.completionsPerSecond);
 * ```
 */
export async function runLoad(options: LoadOptions = {}): Promise<LoadResult> {
  const n = options.invocations ?? 1000;
  const concurrency = options.concurrency ?? 50;
  const duplicateShare = options.duplicates ?? 0.1;
  const rejectShare = options.rejects ?? 0.05;
  const phaseTimeoutMs = options.phaseTimeoutMs ?? 600_000;
  const pollMs = options.pollMs ?? 250;
  const say = options.onProgress ?? (() => undefined);
  const signal = options.signal;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`invocations must be a positive integer, got ${n}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  for (const [name, share] of [
    ['duplicates', duplicateShare],
    ['rejects', rejectShare],
  ] as const) {
    if (!(share >= 0 && share <= 1)) throw new RangeError(`${name} must be a share between 0 and 1, got ${share}`);
  }

  const problems: string[] = [];
  const problem = (line: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(line);
  };
  const executions: Record<string, number> = {};
  let planeWarnings = 0;
  const log: Log = (level, message, details) => {
    // The plane logs one line per handler execution: "handler inv_…: suspended, …".
    const execution = /^handler (?:\S+: )?(\w+)/.exec(message)?.[1];
    if (execution) executions[execution] = (executions[execution] ?? 0) + 1;
    if (level !== 'info') {
      planeWarnings++;
      problem(`plane ${level}: ${message}${details === undefined ? '' : ` (${describe(details)})`}`);
    }
  };

  const runs = new Map<string, StepRuns>();
  const t0 = performance.now();
  say(`starting the local plane${options.dynamoDbEndpoint ? '' : ' and DynamoDB Local (in memory)'}`);
  const plane = await startLocalPlane({
    services: [loadService(runs)],
    port: 0,
    inMemory: true,
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    tableName: `load-${randomUUID().slice(0, 8)}`,
    log,
  });
  const seconds = { plane: since(t0) / 1000, start: 0, suspend: 0, resolve: 0, complete: 0, total: 0 };
  const http = client(plane.url, signal);
  try {
    const random = new Prng(options.seed ?? 1, 'load');
    const rejectCount = share(n, rejectShare);
    const duplicateCount = share(n, duplicateShare);
    const rejected = new Set(random.shuffled(range(n)).slice(0, rejectCount));
    const duplicated = random.shuffled(range(n)).slice(0, duplicateCount);
    const plan = new Map(duplicated.map((index, k) => [index, DUPLICATE_KINDS[k % DUPLICATE_KINDS.length]!]));

    // ---- phase 1: start and suspend ------------------------------------------
    const runId = randomUUID().slice(0, 8);
    const tracked: Tracked[] = [];
    let phase = performance.now();
    const started = meter('started', n, say);
    await pool(range(n), concurrency, signal, async (index) => {
      // The idempotency key makes a retried start the same invocation.
      const answer = await http.send('POST', '/load/run/send', JSON.stringify(index), { 'idempotency-key': `load-${runId}-${index}` });
      if (answer.status !== 202) throw new Error(`POST /load/run/send answered ${answer.status}: ${answer.text}`);
      tracked[index] = {
        index,
        invocationId: (JSON.parse(answer.text) as { invocationId: string }).invocationId,
        primary: rejected.has(index) ? 'reject' : 'resolve',
        duplicate: plan.get(index),
        accepted: [],
        conflicts: [],
      };
      started.tick();
    });
    seconds.start = since(phase) / 1000;

    phase = performance.now();
    const suspending = meter('suspended', n, say);
    await pollRounds(tracked, concurrency, pollMs, performance.now() + phaseTimeoutMs, signal, async (t) => {
      const view = await statusOf(http, t.invocationId);
      t.awakeableId = view.status === 'suspended' ? view.awaiting?.find((a) => a.awakeableId)?.awakeableId : undefined;
      if (t.awakeableId) suspending.tick();
      return t.awakeableId !== undefined;
    });
    // A status reads `suspended` as soon as the suspension is written; the
    // handler returns right after. Wait for the last to return, then look again.
    const quietDeadline = performance.now() + 30_000;
    while (plane.inflight().length > 0 && performance.now() < quietDeadline) await sleep(20, undefined, { signal });
    await sleep(300, undefined, { signal });
    const inflightWhileSuspended = plane.inflight().length;
    let suspended = 0;
    await pool(tracked, concurrency, signal, async (t) => {
      if (!t.awakeableId) return;
      const view = await statusOf(http, t.invocationId);
      if (view.status === 'suspended') suspended++;
      else problem(`${t.invocationId}: ${view.status}, not suspended, before any resolve`);
    });
    seconds.suspend = since(phase) / 1000;
    say(`${suspended}/${n} suspended at once; handler executions in flight: ${inflightWhileSuspended}`);
    for (const t of tracked)
      if (!t.awakeableId) problem(`${t.invocationId}: never suspended on its awakeable within ${phaseTimeoutMs / 1000} s`);

    // ---- phase 2: resolve, reject, duplicate ----------------------------------
    const answers: Record<string, number> = {};
    let racesWonByDuplicate = 0;
    const complete = async (t: Tracked, operation: 'resolve' | 'reject', what: string): Promise<number> => {
      const outcome: Outcome = operation === 'resolve' ? { resolved: what } : { rejected: what };
      const body = operation === 'resolve' ? JSON.stringify(what) : what;
      const headers = { 'content-type': operation === 'resolve' ? 'application/json' : 'text/plain' };
      const answer = await http.send('POST', `/restate/awakeables/${t.awakeableId}/${operation}`, body, headers);
      answers[answer.status] = (answers[answer.status] ?? 0) + 1;
      // A retry (after a lost answer) that finds its own completion in place is answered 202 too (a redelivery).
      if (answer.status === 202) t.accepted.push(outcome);
      else if (answer.status === 409) t.conflicts.push((JSON.parse(answer.text) as { outcome: OutcomeKind }).outcome);
      else problem(`${t.invocationId}: ${operation} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      return answer.status;
    };
    const order = random.shuffled(tracked.filter((t) => t.awakeableId));
    phase = performance.now();
    const firstResolveAt = Date.now();
    const resolving = meter('resolved', order.length, say);
    await pool(order, concurrency, signal, async (t) => {
      const first = () => complete(t, t.primary, t.primary === 'resolve' ? `v-${t.index}` : `no-${t.index}`);
      const second = () =>
        t.duplicate?.endsWith('resolve') ? complete(t, 'resolve', `dup-${t.index}`) : complete(t, 'reject', `dup-no-${t.index}`);
      if (!t.duplicate) await first();
      else if (t.duplicate.startsWith('race')) {
        const [a, b] = await Promise.all([first(), second()]);
        if (b === 202 && a === 409) racesWonByDuplicate++;
      } else {
        await first();
        const late = await second();
        if (late !== 409) problem(`${t.invocationId}: a ${t.duplicate} completion after the first answered ${late}, not 409`);
      }
      resolving.tick();
    });
    const lastResolveAt = Date.now();
    seconds.resolve = since(phase) / 1000;

    // ---- phase 3: outputs -----------------------------------------------------
    phase = performance.now();
    const completing = meter('completed', n, say);
    await pollRounds(tracked, concurrency, pollMs, performance.now() + phaseTimeoutMs, signal, async (t) => {
      if (!t.awakeableId) return true;
      const answer = await http.send('GET', `/restate/invocation/${t.invocationId}/output`);
      if (answer.status === NOT_READY) return false;
      t.output = { status: answer.status, text: answer.text };
      completing.tick();
      return true;
    });
    // The status's updatedAt is when the invocation completed (server clock, this machine).
    let lastCompletionAt = 0;
    const attempts: Record<string, number> = {};
    await pool(tracked, concurrency, signal, async (t) => {
      if (!t.output) return;
      const view = await statusOf(http, t.invocationId);
      attempts[view.attempts] = (attempts[view.attempts] ?? 0) + 1;
      if (view.status === 'completed') lastCompletionAt = Math.max(lastCompletionAt, Date.parse(view.updatedAt));
    });
    seconds.complete = since(phase) / 1000;

    // ---- count ----------------------------------------------------------------
    let completed = 0;
    let lost = 0;
    let duplicatedCount = 0;
    let rejectedOutcomes = 0;
    for (const t of tracked) {
      const winner = t.accepted.length === 1 ? t.accepted[0] : undefined;
      const output = t.output?.status === 200 ? (JSON.parse(t.output.text) as Outcome) : undefined;
      if (winner && output && same(output, winner)) {
        completed++;
        if ('rejected' in output) rejectedOutcomes++;
      } else {
        lost++;
        problem(
          `${t.invocationId}: lost: ${t.accepted.length} completion(s) accepted (${JSON.stringify(t.accepted)}), output ${t.output ? `${t.output.status} ${t.output.text.slice(0, 200)}` : 'none'}`,
        );
      }
      const stepRuns = runs.get(t.invocationId);
      const doubled =
        t.accepted.length > 1 ||
        (stepRuns !== undefined && (stepRuns.handOut > 1 || stepRuns.record > 1)) ||
        (winner !== undefined && t.conflicts.some((c) => c !== ('resolved' in winner ? 'resolved' : 'rejected')));
      if (doubled) {
        duplicatedCount++;
        problem(
          `${t.invocationId}: duplicated: steps ran ${JSON.stringify(stepRuns)}, accepted ${JSON.stringify(t.accepted)}, 409s reported ${JSON.stringify(t.conflicts)}`,
        );
      }
    }

    const resolveSpan = Math.max(1, lastResolveAt - firstResolveAt) / 1000;
    const completionSpan = Math.max(1, lastCompletionAt - firstResolveAt) / 1000;
    const requests = Object.values(answers).reduce((s, v) => s + v, 0);
    seconds.total = since(t0) / 1000;
    const duplicateKinds = Object.fromEntries(DUPLICATE_KINDS.map((k) => [k, 0])) as Record<DuplicateKind, number>;
    for (const kind of plan.values()) duplicateKinds[kind]++;
    return {
      invocations: n,
      concurrency,
      suspended,
      inflightWhileSuspended,
      completed,
      lost,
      duplicated: duplicatedCount,
      resolvesSent: order.filter((t) => t.primary === 'resolve').length,
      rejectsSent: order.filter((t) => t.primary === 'reject').length,
      duplicatesSent: order.filter((t) => t.duplicate).length,
      duplicateKinds,
      racesWonByDuplicate,
      rejectedOutcomes,
      answers,
      retries: http.retries(),
      attempts,
      executions,
      resolvesPerSecond: order.length / resolveSpan,
      requestsPerSecond: requests / resolveSpan,
      completionsPerSecond: lastCompletionAt > 0 ? completed / completionSpan : 0,
      seconds: {
        plane: round(seconds.plane, 1),
        start: round(seconds.start, 1),
        suspend: round(seconds.suspend, 1),
        resolve: round(seconds.resolve, 1),
        complete: round(seconds.complete, 1),
        total: round(seconds.total, 1),
      },
      planeWarnings,
      problems,
    };
  } finally {
    say('stopping the plane');
    await plane.stop();
  }
}

/** `ceil(n × share)`: a share above 0 is exercised at least once, even on a small run. */
function share(n: number, fraction: number): number {
  return Math.min(n, Math.ceil(n * fraction));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Outcomes compare by their JSON (both are one-key objects built the same way). */
function same(a: Outcome, b: Outcome): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : typeof value === 'string' ? value : JSON.stringify(value);
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        signal?.throwIfAborted();
        await work(items[next++]!);
      }
    }),
  );
}

/**
 * Checks every item not done yet, round after round, `pauseMs` apart, until
 * all are done or the deadline passes. One pass over the pending items per
 * round keeps the poll load proportional to what is still missing.
 */
async function pollRounds<T>(
  items: readonly T[],
  concurrency: number,
  pauseMs: number,
  deadline: number,
  signal: AbortSignal | undefined,
  check: (item: T) => Promise<boolean>,
): Promise<void> {
  let pending = [...items];
  while (pending.length > 0 && performance.now() < deadline) {
    const still: T[] = [];
    await pool(pending, concurrency, signal, async (item) => {
      if (!(await check(item))) still.push(item);
    });
    pending = still;
    if (pending.length > 0) await sleep(pauseMs, undefined, { signal });
  }
}

/** Counts done items and says so at every tenth of the total, and at least every 5 s. */
function meter(what: string, total: number, say: (line: string) => void): { tick(): void } {
  let done = 0;
  let lastSaid = performance.now();
  const step = Math.max(1, Math.ceil(total / 10));
  return {
    tick() {
      done++;
      if (done % step === 0 || done === total || performance.now() - lastSaid > 5_000) {
        say(`${what} ${done}/${total}`);
        lastSaid = performance.now();
      }
    },
  };
}

interface StatusView {
  status: string;
  attempts: number;
  updatedAt: string;
  awaiting?: { awakeableId?: string }[];
}

async function statusOf(http: Client, invocationId: string): Promise<StatusView> {
  const answer = await http.send('GET', `/restate/invocation/${invocationId}`);
  if (answer.status !== 200) throw new Error(`GET /restate/invocation/${invocationId} answered ${answer.status}: ${answer.text}`);
  return JSON.parse(answer.text) as StatusView;
}

interface Client {
  send(
    method: string,
    path: string,
    body?: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string; retried: boolean }>;
  retries(): number;
}

/**
 * HTTP to the plane (fetch keeps connections alive). A network error or a
 * 5xx is sent again, up to three times, as a careful client would: starts
 * carry an idempotency key, and a completion sent again gets 202 if it is
 * the one that stands (a redelivery), a definite 409 otherwise.
 */
function client(url: string, signal: AbortSignal | undefined): Client {
  let retries = 0;
  return {
    retries: () => retries,
    async send(method, path, body, headers = {}) {
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted();
        const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
        try {
          const response = await fetch(url + path, {
            method,
            body,
            headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
          const text = await response.text();
          if (response.status < 500 || attempt >= 3) return { status: response.status, text, retried: attempt > 0 };
        } catch (error) {
          if (signal?.aborted || attempt >= 3) throw error;
        }
        retries++;
        await sleep(200 * 2 ** attempt, undefined, { signal });
      }
    },
  };
}

/**
 * The load run's report: a plain table on stdout.
 *
 * @example
 * ```ts
 * printLoadReport(await runLoad({ invocations: 1000 }));
 * ```
 */
export function printLoadReport(r: LoadResult): void {
  const share = (part: number) => (r.invocations > 0 ? ` (${fmt((100 * part) / r.invocations, 1)}%)` : '');
  printTable(
    `Load run on the local plane (DynamoDB Local): ${fmt(r.invocations, 0)} invocations, ${r.concurrency} HTTP requests in flight`,
    ['', 'value'],
    [
      ['suspended at once, before any resolve', r.suspended],
      ['handler executions in flight meanwhile', r.inflightWhileSuspended],
      ['completions sent: resolves / rejects', `${fmt(r.resolvesSent, 0)} / ${fmt(r.rejectsSent, 0)}`],
      [`duplicates sent${share(r.duplicatesSent)}`, r.duplicatesSent],
      [
        '  of which after the first / racing it',
        `${r.duplicateKinds['resolve-after'] + r.duplicateKinds['reject-after']} / ${r.duplicateKinds['race-resolve'] + r.duplicateKinds['race-reject']}`,
      ],
      ['  races the duplicate won', r.racesWonByDuplicate],
      [
        'answers to completions',
        Object.entries(r.answers)
          .map(([s, c]) => `${s}: ${c}`)
          .join(', '),
      ],
      ['completed', r.completed],
      ['  of which rejected (the handler caught it)', r.rejectedOutcomes],
      ['lost', r.lost],
      ['duplicated', r.duplicated],
      ['resolves per second', r.resolvesPerSecond],
      ['completion requests per second (with duplicates)', r.requestsPerSecond],
      ['completions per second', r.completionsPerSecond],
      [
        'handler attempts per invocation',
        Object.entries(r.attempts)
          .map(([a, c]) => `${a}: ${c}`)
          .join(', '),
      ],
      [
        'handler executions by outcome',
        Object.entries(r.executions)
          .map(([o, c]) => `${o}: ${c}`)
          .join(', '),
      ],
      ['HTTP requests retried / plane warnings', `${r.retries} / ${r.planeWarnings}`],
      [
        'seconds: plane / start / suspend / resolve / complete',
        `${r.seconds.plane} / ${r.seconds.start} / ${r.seconds.suspend} / ${r.seconds.resolve} / ${r.seconds.complete}`,
      ],
      ['wall time, s', r.seconds.total],
    ],
    [
      'Completed: the output is the outcome of the one completion answered 202. Lost: no output, or another one. Duplicated: a journaled step ran twice, or an awakeable accepted two completions.',
      'Resolves per second: awakeables completed from the first resolve sent to the last answered. Completions per second: from the first resolve to the last invocation completed (its status updatedAt).',
      ...r.problems.map((p) => `problem: ${p}`),
    ],
  );
}

/** Parses `--invocations N --concurrency C --duplicates 0.1 --rejects 0.05 --seed S --json`. */
function parseArgs(argv: string[]): { options: LoadOptions; json: boolean } {
  const options: LoadOptions = {};
  let json = false;
  const numeric = {
    '--invocations': 'invocations',
    '--concurrency': 'concurrency',
    '--duplicates': 'duplicates',
    '--rejects': 'rejects',
    '--seed': 'seed',
  } as const;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    if (flag === '--json') {
      json = true;
      continue;
    }
    const key = numeric[flag as keyof typeof numeric];
    if (!key)
      throw new UsageError(`unknown option ${flag}; use --invocations N --concurrency C --duplicates 0.1 --rejects 0.05 --seed S --json`);
    const value = inline ?? argv[++i];
    if (value === undefined || value.trim() === '' || !Number.isFinite(Number(value)))
      throw new UsageError(`${flag} needs a number, got ${value ?? 'nothing'}`);
    options[key] = Number(value);
  }
  return { options, json };
}

class UsageError extends Error {
  override name = 'UsageError';
}

/** Aborted by Ctrl-C (or SIGTERM): whatever a loop threw then, the run was interrupted. */
const interruption = new AbortController();

async function main(): Promise<void> {
  const { options, json } = parseArgs(process.argv.slice(2));
  // The AWS SDK's notice that Node 20 support ends in 2027 is noise in a load report.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Ctrl-C aborts the run; the finally in runLoad stops the plane. A second one leaves at once.
  const interrupt = (signalName: string) => {
    if (interruption.signal.aborted) process.exit(130);
    progress(`${signalName}: stopping the plane (again to leave at once)`);
    interruption.abort(new Error(`interrupted by ${signalName}`));
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));
  // A rejection nobody handled inside the plane would end the process; count it and carry on.
  const unhandled: string[] = [];
  process.on('unhandledRejection', (reason) => {
    unhandled.push(describe(reason));
    progress(`unhandled rejection: ${describe(reason)}`);
  });

  const result = await runLoad({ ...options, signal: interruption.signal, onProgress: progress });
  printLoadReport(result);
  if (unhandled.length > 0) process.stdout.write(`unhandled rejections in the plane: ${unhandled.length}; first: ${unhandled[0]}\n`);
  const summary = `completed ${result.completed}, lost ${result.lost}, duplicated ${result.duplicated}; ${fmt(result.resolvesPerSecond, 1)} resolves/s, ${fmt(result.completionsPerSecond, 1)} completions/s; ${fmt(result.seconds.total, 1)} s`;
  progress(summary);
  if (json)
    process.stdout.write(
      JSON.stringify({
        ...result,
        resolvesPerSecond: round(result.resolvesPerSecond, 1),
        requestsPerSecond: round(result.requestsPerSecond, 1),
        completionsPerSecond: round(result.completionsPerSecond, 1),
        unhandledRejections: unhandled,
      }) + '\n',
    );
  process.exitCode = result.lost > 0 || result.duplicated > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    if (interruption.signal.aborted) {
      progress('interrupted; the plane is stopped');
      process.exitCode = 130;
      return;
    }
    process.stderr.write(
      error instanceof UsageError
        ? `${error.message}\n`
        : `load failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
}
