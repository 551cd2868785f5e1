/**
 * Names and filters two sides must agree on: the environment the CDK app
 * sets and the loader reads, and the wake's event filters (one definition,
 * src/runtime/wake-filter.ts, used by the CDK mapping and the local stream
 * poller) as the local matcher applies them.
 */
import { describe, expect, it } from 'vitest';
import { DormantEnv } from '../../cdk/lib/environment.ts';
import { matchesFilter } from '../../src/local/event-filter.ts';
import { WAKE_FILTER_PATTERNS } from '../../src/runtime/wake-filter.ts';
import { ConfigError, ENV, loadConfig } from '../../src/runtime/config.ts';

describe('contracts between the CDK app and the runtime', () => {
  it('reads every variable the CDK app sets', () => {
    const read = new Set<string>(Object.values(ENV));
    for (const name of Object.values(DormantEnv)) expect(read).toContain(name);
  });
});

describe('matchesFilter', () => {
  const record = (eventName: string, sk: string, status?: string) => ({
    eventName,
    dynamodb: { Keys: { pk: { S: 'I#x' }, sk: { S: sk } }, ...(status ? { NewImage: { status: { S: status } } } : {}) },
  });
  const passes = (r: unknown) => WAKE_FILTER_PATTERNS.some((p) => matchesFilter(p, r));

  it('passes what can wake something and drops the rest', () => {
    expect(passes(record('INSERT', 'C#00000001'))).toBe(true);
    expect(passes(record('INSERT', 'P#review'))).toBe(true);
    expect(passes(record('MODIFY', 'L#lock'))).toBe(true);
    expect(passes(record('INSERT', 'meta', 'pending'))).toBe(true);
    expect(passes(record('MODIFY', 'meta', 'suspended'))).toBe(true);
    expect(passes(record('MODIFY', 'meta', 'running'))).toBe(false);
    expect(passes(record('INSERT', 'J#00000001'))).toBe(false);
    expect(passes(record('MODIFY', 'C#00000001'))).toBe(false);
    expect(passes(record('REMOVE', 'meta', 'completed'))).toBe(false);
  });
});

describe('loadConfig', () => {
  it('names every missing or unusable variable at once', () => {
    let error: unknown;
    try {
      loadConfig('wake', { DORMANT_ROUTES: '{"a":1}', DORMANT_RETENTION_HOURS: 'soon' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'DORMANT_TABLE_NAME is not set',
      'DORMANT_TIMER_QUEUE_URL is not set',
      'DORMANT_ROUTES: every value must be a function name or ARN',
      "DORMANT_RETENTION_HOURS must be a non-negative number, not 'soon'",
    ]);
  });

  it('reads a complete configuration', () => {
    const config = loadConfig('ingress', {
      DORMANT_TABLE_NAME: 'journal',
      DORMANT_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:k',
      DORMANT_SERVICES: '{"greeter":{"kind":"service","handlers":{"greet":{"shared":false,"json":true}}}}',
      DORMANT_API_URL: 'https://x.execute-api.eu-west-1.amazonaws.com/prod/',
    });
    expect(config).toMatchObject({
      tableName: 'journal',
      signing: { secretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:k' },
      apiUrl: 'https://x.execute-api.eu-west-1.amazonaws.com/prod',
      retentionMs: 24 * 3_600_000,
      ingressWaitMs: 10_000,
    });
    expect(config.catalog?.greeter?.kind).toBe('service');
  });
});
