/**
 * `npm run load` in small: the same run (suspend all, resolve over HTTP with
 * duplicates and rejects interleaved, count) on a few invocations, so the
 * load script keeps working and its counting keeps meaning something.
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/load.ts';
import { dynamoDbEndpoint } from '../support/dynamodb-local.ts';

describe('the load run, in small', () => {
  it('suspends 30 invocations at once and completes each once, with duplicates and rejects interleaved', async () => {
    // Act: five duplicates deal out all four kinds (after and racing, resolve and reject).
    // With seed 1 no primary reject has a racing duplicate, so all three rejects stand.
    const result = await runLoad({
      invocations: 30,
      concurrency: 10,
      duplicates: 0.14,
      rejects: 0.1,
      seed: 1,
      pollMs: 100,
      phaseTimeoutMs: 25_000,
      dynamoDbEndpoint: dynamoDbEndpoint(),
    });

    // Assess
    expect(result.problems).toEqual([]);
    expect(result.suspended).toBe(30);
    expect(result.inflightWhileSuspended).toBe(0);
    expect(result).toMatchObject({ completed: 30, lost: 0, duplicated: 0 });
    expect(result.rejectsSent).toBe(3);
    expect(result.duplicatesSent).toBe(5);
    expect(Object.values(result.duplicateKinds).every((count) => count >= 1)).toBe(true);
    // Every awakeable accepted exactly one completion; every duplicate got 409.
    expect(result.answers).toEqual({ 202: 30, 409: 5 });
    expect(result.rejectedOutcomes).toBeGreaterThanOrEqual(3);
    expect(result.completionsPerSecond).toBeGreaterThan(0);
  }, 40_000);
});
