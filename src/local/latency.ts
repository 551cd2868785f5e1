/**
 * Latency profiles of the local plane: the delays that AWS's managed pieces
 * add and this machine does not, drawn from a seeded generator so that a
 * run repeats.
 *
 * `aws`:
 * - a stream record reaching the wake function: p50 213 ms, p99 552 ms, a
 *   published measurement of DynamoDB Streams to Lambda (Lambda polls each
 *   shard four times a second);
 * - an accepted asynchronous Invoke reaching the handler: p50 30 ms, p99
 *   120 ms, and a 250 ms cold start on one invocation in twenty (both
 *   assumptions, stated in docs/benchmarks.md).
 *
 * Each delay is log-normal with that median and 99th percentile. The
 * figures are fixed on purpose: a bench ratio between two designs measured
 * under them measures the designs, not the profile.
 */

/**
 * Delays in milliseconds, each call a fresh draw.
 *
 * @example
 * ```ts
 * const profile = latencyProfile('aws', 7);
 * await sleep(profile.streamToWakeMs());
 * ```
 */
export interface LatencyProfile {
  readonly name: 'none' | 'aws';
  /** A stream record written → the wake function starts on it. */
  streamToWakeMs(): number;
  /** An asynchronous Invoke accepted → the function starts (a cold start included, now and then). */
  invokeToStartMs(): number;
}

/** The profile names `startLocalPlane({ latency })` and `dormant dev --latency` accept. */
export const LATENCY_PROFILES = ['none', 'aws'] as const;

/** The published and assumed figures of the `aws` profile, milliseconds. */
export const AWS_LATENCY = {
  streamToWake: { p50: 213, p99: 552 },
  invokeToStart: { p50: 30, p99: 120 },
  coldStartMs: 250,
  coldStartEvery: 20,
} as const;

/** z of the 99th percentile of a standard normal. */
const Z99 = 2.3263;

/**
 * A profile by name, drawing from a generator seeded with `seed`.
 *
 * @example
 * ```ts
 * latencyProfile('none').streamToWakeMs() // 0
 * latencyProfile('aws', 1).streamToWakeMs() // about 213 at the median
 * ```
 */
export function latencyProfile(name: 'none' | 'aws', seed = 1): LatencyProfile {
  if (name === 'none') return { name, streamToWakeMs: () => 0, invokeToStartMs: () => 0 };
  const random = mulberry32(seed);
  const normal = (): number => {
    // Box–Muller; 1 - u keeps the logarithm finite.
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const logNormal = ({ p50, p99 }: { p50: number; p99: number }) => p50 * Math.exp((Math.log(p99 / p50) / Z99) * normal());
  return {
    name,
    streamToWakeMs: () => logNormal(AWS_LATENCY.streamToWake),
    invokeToStartMs: () => logNormal(AWS_LATENCY.invokeToStart) + (random() < 1 / AWS_LATENCY.coldStartEvery ? AWS_LATENCY.coldStartMs : 0),
  };
}

/** A small, fast, seedable generator of uniform numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
