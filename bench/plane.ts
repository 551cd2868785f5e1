/**
 * Resume latency and throughput on the local plane, over HTTP, as a client
 * sees them: start an invocation (`POST …/send`), find its awakeable id in
 * its status (`GET /restate/invocation/{id}`, `awaiting[].awakeableId`),
 * resolve it (`POST /restate/awakeables/{id}/resolve`), and poll
 * `GET /restate/invocation/{id}/output` until the output is there.
 *
 * Resume latency runs from the resolve call returning to the output being
 * readable: the stream poller noticing the completion, the wake deciding,
 * the local Lambda invoking the handler, the attempt replaying and finishing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalPlane, type LocalPlane, type LocalPlaneOptions } from '../src/local/plane.ts';
import { NOT_READY } from '../src/runtime/http.ts';
import { percentile, since } from './report.ts';
import { approval } from './workflows.ts';

/** HTTP status of `…/output` while the invocation has not finished. */

/**
 * Starts the plane on a free port over an existing DynamoDB Local, serving
 * the round-trip handler.
 *
 * @example
 * ```ts
 * const plane = await startBenchPlane(db.local.endpoint);
 * ```
 */
export function startBenchPlane(
  dynamoDbEndpoint: string,
  options: Pick<LocalPlaneOptions, 'latency' | 'latencySeed' | 'directWake' | 'onTableRequest'> = {},
): Promise<LocalPlane> {
  return startLocalPlane({
    services: [approval],
    port: 0,
    inMemory: true,
    dynamoDbEndpoint,
    tableName: `plane-${Date.now().toString(36)}`,
    signingKey: 'bench-signing-key-0123456789abcdef',
    ...options,
  });
}

/**
 * Latency figures, milliseconds.
 *
 * @example
 * ```ts
 * { p50: 120, p99: 230, … }
 * ```
 */
export interface ResumeLatency {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** Start to output for the whole round trip (includes waiting for the first suspension). */
  roundTripP50: number;
  trips: number;
  /** Output polls are this far apart; the figure overstates the latency by up to this plus one GET. */
  pollMs: number;
  /** Round trips that failed (HTTP errors, or nothing within 30 s), with their messages. */
  failures: string[];
}

/**
 * Runs `trips` round trips one after the other.
 *
 * @example
 * ```ts
 * const latency = await measureResumeLatency(plane.url, 200);
 * ```
 */
export async function measureResumeLatency(
  url: string,
  trips: number,
  pollMs = 10,
  onProgress?: (done: number) => void,
): Promise<ResumeLatency> {
  const resume: number[] = [];
  const whole: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < trips; i++) {
    try {
      const trip = await roundTrip(url, {
        statusPollMs: STATUS_POLL_MS,
        maxStatusPollMs: MAX_STATUS_POLL_MS,
        outputPollMs: pollMs,
        maxOutputPollMs: pollMs,
      });
      resume.push(trip.resumeMs);
      whole.push(trip.totalMs);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
    onProgress?.(i + 1);
  }
  if (resume.length === 0) throw new Error(`every round trip failed; the first: ${failures[0]}`);
  return {
    p50: percentile(resume, 50),
    p99: percentile(resume, 99),
    mean: resume.reduce((s, v) => s + v, 0) / resume.length,
    max: Math.max(...resume),
    roundTripP50: percentile(whole, 50),
    trips,
    pollMs,
    failures,
  };
}

/**
 * Throughput figures.
 *
 * @example
 * ```ts
 * { perSecond: 21.5, completed: 430, concurrency: 50, seconds: 20.0 }
 * ```
 */
export interface Throughput {
  perSecond: number;
  completed: number;
  concurrency: number;
  seconds: number;
  /** Median whole round trip under this load, ms. */
  roundTripP50: number;
  /** Polls start `pollMs` apart and back off (× 1.5) to `maxPollMs`, so that polling does not crowd out the work measured. */
  pollMs: number;
  maxPollMs: number;
  /** Round trips that failed, with their messages (not counted as completed). */
  failures: string[];
}

/**
 * Runs `concurrency` clients, each doing round trips back to back, until
 * `seconds` have passed; counts the round trips completed.
 *
 * @example
 * ```ts
 * const t = await measureThroughput(plane.url, 50, 20);
 * ```
 */
export async function measureThroughput(
  url: string,
  concurrency: number,
  seconds: number,
  pollMs = 25,
  maxPollMs = 400,
): Promise<Throughput> {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const whole: number[] = [];
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          whole.push(
            (await roundTrip(url, { statusPollMs: pollMs, maxStatusPollMs: maxPollMs, outputPollMs: pollMs, maxOutputPollMs: maxPollMs }))
              .totalMs,
          );
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    }),
  );
  const elapsed = since(t0) / 1000;
  return {
    perSecond: whole.length / elapsed,
    completed: whole.length,
    concurrency,
    seconds: elapsed,
    roundTripP50: percentile(whole, 50),
    pollMs,
    maxPollMs,
    failures,
  };
}

/** Before the resolve, the client polls the status from this far apart, backing off to the maximum (it is not timed). */
const STATUS_POLL_MS = 20;
const MAX_STATUS_POLL_MS = 200;
/** Gives up on a round trip after this long in one phase. */
const PHASE_TIMEOUT_MS = 30_000;

/**
 * One round trip over HTTP; `resumeMs` from the resolve returning to the
 * output readable. Each phase polls from its first interval, backing off
 * (× 1.5) to its maximum: every poll is a table read, and polling hard
 * slows down the work it waits for.
 */
async function roundTrip(
  url: string,
  poll: { statusPollMs: number; maxStatusPollMs: number; outputPollMs: number; maxOutputPollMs: number },
): Promise<{ resumeMs: number; totalMs: number }> {
  const t0 = performance.now();
  const started = await http(url, 'POST', '/approval/request/send', '');
  if (started.status !== 202) throw new Error(`start: HTTP ${started.status} ${started.text}`);
  const invocationId = (JSON.parse(started.text) as { invocationId: string }).invocationId;

  let awakeableId: string | undefined;
  for (
    let deadline = Date.now() + PHASE_TIMEOUT_MS, pause = poll.statusPollMs;
    !awakeableId;
    await sleep(pause), pause = Math.min(poll.maxStatusPollMs, pause * 1.5)
  ) {
    const status = await http(url, 'GET', `/restate/invocation/${invocationId}`);
    if (status.status !== 200) throw new Error(`status: HTTP ${status.status} ${status.text}`);
    const view = JSON.parse(status.text) as { status: string; awaiting: { awakeableId?: string }[] };
    awakeableId = view.status === 'suspended' ? view.awaiting.find((a) => a.awakeableId)?.awakeableId : undefined;
    if (!awakeableId && Date.now() > deadline)
      throw new Error(
        `invocation ${invocationId} did not suspend on its awakeable within ${PHASE_TIMEOUT_MS / 1000} s (status ${view.status})`,
      );
  }

  const resolved = await http(url, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '"approved"');
  if (resolved.status !== 202) throw new Error(`resolve: HTTP ${resolved.status} ${resolved.text}`);
  const r0 = performance.now();
  for (
    let deadline = Date.now() + PHASE_TIMEOUT_MS, pause = poll.outputPollMs;
    ;
    await sleep(pause), pause = Math.min(poll.maxOutputPollMs, pause * 1.5)
  ) {
    const output = await http(url, 'GET', `/restate/invocation/${invocationId}/output`);
    if (output.status === 200) {
      if (output.text !== '"approved"') throw new Error(`output: expected "approved", got ${output.text}`);
      return { resumeMs: since(r0), totalMs: since(t0) };
    }
    if (output.status !== NOT_READY) throw new Error(`output: HTTP ${output.status} ${output.text}`);
    if (Date.now() > deadline)
      throw new Error(`invocation ${invocationId} did not complete within ${PHASE_TIMEOUT_MS / 1000} s of its resolve`);
  }
}

async function http(url: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
  return { status: response.status, text: await response.text() };
}
