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
import { startLocalPlane, type LocalPlane } from '../src/local/plane.ts';
import { percentile, since } from './report.ts';
import { approval } from './workflows.ts';

/** HTTP status of `…/output` while the invocation has not finished. */
const NOT_READY = 470;

/**
 * Starts the plane on a free port over an existing DynamoDB Local, serving
 * the round-trip handler.
 *
 * @example
 * ```ts
 * const plane = await startBenchPlane(db.local.endpoint);
 * ```
 */
export function startBenchPlane(dynamoDbEndpoint: string): Promise<LocalPlane> {
  return startLocalPlane({
    services: [approval],
    port: 0,
    inMemory: true,
    dynamoDbEndpoint,
    tableName: `plane-${Date.now().toString(36)}`,
    signingKey: 'bench-signing-key-0123456789abcdef',
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
  pollMs: number;
}

/**
 * Runs `trips` round trips one after the other.
 *
 * @example
 * ```ts
 * const latency = await measureResumeLatency(plane.url, 200);
 * ```
 */
export async function measureResumeLatency(url: string, trips: number, pollMs = 5, onProgress?: (done: number) => void): Promise<ResumeLatency> {
  const resume: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < trips; i++) {
    const trip = await roundTrip(url, pollMs);
    resume.push(trip.resumeMs);
    whole.push(trip.totalMs);
    onProgress?.(i + 1);
  }
  return {
    p50: percentile(resume, 50),
    p99: percentile(resume, 99),
    mean: resume.reduce((s, v) => s + v, 0) / resume.length,
    max: Math.max(...resume),
    roundTripP50: percentile(whole, 50),
    trips,
    pollMs,
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
export async function measureThroughput(url: string, concurrency: number, seconds: number, pollMs = 25, maxPollMs = 400): Promise<Throughput> {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const whole: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) whole.push((await roundTrip(url, pollMs, maxPollMs)).totalMs);
    }),
  );
  const elapsed = since(t0) / 1000;
  return { perSecond: whole.length / elapsed, completed: whole.length, concurrency, seconds: elapsed, roundTripP50: percentile(whole, 50), pollMs, maxPollMs };
}

/**
 * One round trip over HTTP; `resumeMs` from the resolve returning to the
 * output readable. Polls `pollMs` apart, backing off to `maxPollMs`.
 */
async function roundTrip(url: string, pollMs: number, maxPollMs = pollMs): Promise<{ resumeMs: number; totalMs: number }> {
  const backoff = (pause: number) => Math.min(maxPollMs, pause * 1.5);
  const t0 = performance.now();
  const started = await http(url, 'POST', '/approval/request/send', '');
  if (started.status !== 202) throw new Error(`start: HTTP ${started.status} ${started.text}`);
  const invocationId = (JSON.parse(started.text) as { invocationId: string }).invocationId;

  let awakeableId: string | undefined;
  for (let deadline = Date.now() + 30_000, pause = pollMs; !awakeableId; await sleep(pause), pause = backoff(pause)) {
    const status = await http(url, 'GET', `/restate/invocation/${invocationId}`);
    if (status.status !== 200) throw new Error(`status: HTTP ${status.status} ${status.text}`);
    const view = JSON.parse(status.text) as { status: string; awaiting: { awakeableId?: string }[] };
    awakeableId = view.status === 'suspended' ? view.awaiting.find((a) => a.awakeableId)?.awakeableId : undefined;
    if (!awakeableId && Date.now() > deadline) throw new Error(`invocation ${invocationId} did not suspend on its awakeable within 30 s (status ${view.status})`);
  }

  const resolved = await http(url, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '"approved"');
  if (resolved.status !== 202) throw new Error(`resolve: HTTP ${resolved.status} ${resolved.text}`);
  const r0 = performance.now();
  for (let deadline = Date.now() + 30_000, pause = pollMs; ; await sleep(pause), pause = backoff(pause)) {
    const output = await http(url, 'GET', `/restate/invocation/${invocationId}/output`);
    if (output.status === 200) {
      if (output.text !== '"approved"') throw new Error(`output: expected "approved", got ${output.text}`);
      return { resumeMs: since(r0), totalMs: since(t0) };
    }
    if (output.status !== NOT_READY) throw new Error(`output: HTTP ${output.status} ${output.text}`);
    if (Date.now() > deadline) throw new Error(`invocation ${invocationId} did not complete within 30 s of its resolve`);
  }
}

async function http(url: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
  return { status: response.status, text: await response.text() };
}
