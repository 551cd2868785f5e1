import { describe, expect, it } from 'vitest';
import { AWS_LATENCY, latencyProfile } from '../../src/local/latency.ts';
import { main } from '../../src/local/cli.ts';

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.floor((p / 100) * (values.length - 1))]!;

describe('the local plane’s latency profiles', () => {
  it('aws: stream to wake has the published p50 and p99, and the same seed draws the same delays', () => {
    // Act
    const a = latencyProfile('aws', 42);
    const draws = Array.from({ length: 20_000 }, () => a.streamToWakeMs());
    const again = latencyProfile('aws', 42);
    const other = latencyProfile('aws', 43);

    // Assess
    expect(percentile(draws, 50)).toBeGreaterThan(AWS_LATENCY.streamToWake.p50 * 0.95);
    expect(percentile(draws, 50)).toBeLessThan(AWS_LATENCY.streamToWake.p50 * 1.05);
    expect(percentile(draws, 99)).toBeGreaterThan(AWS_LATENCY.streamToWake.p99 * 0.85);
    expect(percentile(draws, 99)).toBeLessThan(AWS_LATENCY.streamToWake.p99 * 1.15);
    expect(Array.from({ length: 5 }, () => again.streamToWakeMs())).toEqual(draws.slice(0, 5));
    expect(other.streamToWakeMs()).not.toBe(draws[0]);
  });

  it('aws: invoke to handler start has p50 30 ms, and a 250 ms cold start on about one in twenty', () => {
    // Act
    const profile = latencyProfile('aws', 7);
    const draws = Array.from({ length: 20_000 }, () => profile.invokeToStartMs());

    // Assess
    expect(percentile(draws, 50)).toBeGreaterThan(27);
    expect(percentile(draws, 50)).toBeLessThan(36);
    const cold = draws.filter((d) => d >= AWS_LATENCY.coldStartMs).length / draws.length;
    expect(cold).toBeGreaterThan(0.04);
    expect(cold).toBeLessThan(0.07);
  });

  it('none adds nothing; dormant dev refuses an unknown profile with a clear message', async () => {
    // Prepare
    const errors: string[] = [];
    const original = console.error;
    console.error = (message: string) => void errors.push(message);

    // Act
    let code: number;
    try {
      code = await main(['dev', 'examples/index.ts', '--latency', 'mars']);
    } finally {
      console.error = original;
    }

    // Assess
    expect(latencyProfile('none').streamToWakeMs() + latencyProfile('none').invokeToStartMs()).toBe(0);
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain("--latency must be one of none, aws, not 'mars'");
  });
});
