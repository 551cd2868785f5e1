/**
 * Names and filters two sides must agree on: the environment the CDK app
 * sets and the loader reads, and the wake's event filters (one definition,
 * src/runtime/wake-filter.ts, used by the CDK mapping and the local stream
 * poller) as the local matcher applies them.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DormantEnv } from '../../cdk/lib/environment.ts';
import { matchesFilter } from '../../src/local/event-filter.ts';
import { WAKE_FILTER_PATTERNS } from '../../src/runtime/wake-filter.ts';
import type { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { IdSigner } from '../../src/engine/ids.ts';
import { ConfigError, ENV, loadConfig, signerFor, signingKeys, type Role, type SigningSource } from '../../src/runtime/config.ts';
import type { Catalog } from '../../src/runtime/registry.ts';

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
    // The first journal entry's removal (the wake renews a journal DynamoDB's TTL is taking), never its insert.
    expect(passes(record('REMOVE', 'J#00000000'))).toBe(true);
    expect(passes(record('INSERT', 'J#00000000'))).toBe(false);
    expect(passes(record('REMOVE', 'J#00000001'))).toBe(false);
    expect(passes(record('REMOVE', 'C#00000001'))).toBe(false);
    expect(passes(record('MODIFY', 'C#00000001.beat'))).toBe(false);
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

  const problemsOf = (role: Role, env: Record<string, string>): readonly string[] => {
    try {
      loadConfig(role, env);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    return [];
  };

  it.each([
    [
      'ingress',
      [
        'DORMANT_TABLE_NAME is not set',
        'neither DORMANT_SIGNING_SECRET_ARN nor DORMANT_SIGNING_KEY is set (awakeable ids need the signing key)',
        'DORMANT_SERVICES is not set',
      ],
    ],
    ['wake', ['DORMANT_TABLE_NAME is not set', 'DORMANT_TIMER_QUEUE_URL is not set', 'DORMANT_ROUTES is not set']],
    ['timer', ['DORMANT_TABLE_NAME is not set', 'DORMANT_TIMER_QUEUE_URL is not set', 'DORMANT_ROUTES is not set']],
    [
      'handler',
      [
        'DORMANT_TABLE_NAME is not set',
        'neither DORMANT_SIGNING_SECRET_ARN nor DORMANT_SIGNING_KEY is set (awakeable ids need the signing key)',
      ],
    ],
  ] as const)('refuses an empty environment for the %s role, naming each variable it requires', (role, expected) => {
    // Act
    const problems = problemsOf(role, {});

    // Assess: exactly what this role needs, no more (the others' variables are optional to it)
    expect(problems).toEqual(expected);
  });

  it('accepts each role with only the variables it requires', () => {
    // Prepare
    const table = { DORMANT_TABLE_NAME: 'journal' };
    const signing = { DORMANT_SIGNING_KEY: 'k'.repeat(32) };
    const queue = { DORMANT_TIMER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/timers', DORMANT_ROUTES: '{"review":"fn"}' };

    // Act
    const ingress = loadConfig('ingress', { ...table, ...signing, DORMANT_SERVICES: '{}' });
    const wake = loadConfig('wake', { ...table, ...queue });
    const timer = loadConfig('timer', { ...table, ...queue });
    const handler = loadConfig('handler', { ...table, ...signing });

    // Assess: present at run time, and typed present (checked by the typecheck), so no role needs `!`
    expect(ingress.catalog).toEqual({});
    expect(ingress.signing).toEqual({ key: 'k'.repeat(32) });
    expect(wake.timerQueueUrl).toBe(queue.DORMANT_TIMER_QUEUE_URL);
    expect(timer.routes).toEqual({ review: 'fn' });
    expect(handler.signing.key).toBe('k'.repeat(32));
    expectTypeOf(ingress.catalog).toEqualTypeOf<Catalog>();
    expectTypeOf(ingress.signing).toEqualTypeOf<SigningSource>();
    expectTypeOf(wake.timerQueueUrl).toEqualTypeOf<string>();
    expectTypeOf(timer.timerQueueUrl).toEqualTypeOf<string>();
    expectTypeOf(handler.signing).toEqualTypeOf<SigningSource>();
    // What a role does not require stays optional to it.
    expectTypeOf(wake.catalog).toEqualTypeOf<Catalog | undefined>();
    expectTypeOf(handler.timerQueueUrl).toEqualTypeOf<string | undefined>();
  });

  it('refuses a signing key and a secret ARN set together, naming both (no silent precedence)', () => {
    const both = {
      DORMANT_TABLE_NAME: 't',
      DORMANT_SERVICES: '{}',
      DORMANT_SIGNING_KEY: 'k'.repeat(32),
      DORMANT_SIGNING_SECRET_ARN: 'arn:s',
    };
    expect(problemsOf('ingress', both)).toEqual([
      'both DORMANT_SIGNING_KEY and DORMANT_SIGNING_SECRET_ARN are set: set exactly one (the key for local use, the secret on AWS)',
    ]);
    expect(
      problemsOf('handler', { DORMANT_TABLE_NAME: 't', DORMANT_SIGNING_SECRET_ARN: 'arn:s', DORMANT_SIGNING_KEY_PREVIOUS: 'p'.repeat(32) }),
    ).toEqual(['DORMANT_SIGNING_KEY_PREVIOUS is set without DORMANT_SIGNING_KEY (a secret ARN keeps its previous version itself)']);
    expect(
      loadConfig('handler', { DORMANT_TABLE_NAME: 't', DORMANT_SIGNING_KEY: 'k'.repeat(32), DORMANT_SIGNING_KEY_PREVIOUS: 'p'.repeat(32) })
        .signing,
    ).toEqual({
      key: 'k'.repeat(32),
      previousKey: 'p'.repeat(32),
    });
  });
});

describe('what the ingress is told about its callers', () => {
  const base = { DORMANT_TABLE_NAME: 't', DORMANT_SERVICES: '{}', DORMANT_SIGNING_KEY: 'k'.repeat(32) };

  it("reads DORMANT_INGRESS_AUTH and DORMANT_INGRESS_SERVES; unset counts as unauthenticated callers ('none'), every route served", () => {
    expect(loadConfig('ingress', base).ingressAccess).toEqual({ serves: 'all', callersAuthenticated: false });
    expect(loadConfig('ingress', { ...base, DORMANT_INGRESS_AUTH: 'none' }).ingressAccess.callersAuthenticated).toBe(false);
    for (const mode of ['iam', 'api-key', 'authorizer']) {
      expect(loadConfig('ingress', { ...base, DORMANT_INGRESS_AUTH: mode }).ingressAccess.callersAuthenticated).toBe(true);
    }
    expect(loadConfig('ingress', { ...base, DORMANT_INGRESS_SERVES: 'callbacks' }).ingressAccess.serves).toBe('callbacks');
    expect(() => loadConfig('ingress', { ...base, DORMANT_INGRESS_AUTH: 'IAM ', DORMANT_INGRESS_SERVES: 'some' })).toThrow(
      /DORMANT_INGRESS_AUTH must be one of iam, api-key, authorizer, none, not 'IAM'[\s\S]*DORMANT_INGRESS_SERVES must be one of all, callbacks, invocations, not 'some'/,
    );
  });
});

describe('signing secrets from Secrets Manager', () => {
  /** Secrets Manager cannot run here: a client answering GetSecretValue by version stage, as the service does. */
  const secretsWith = (stages: Record<string, string>, asked: string[] = []) =>
    (() => ({
      send: async (command: GetSecretValueCommand) => {
        const stage = command.input.VersionStage ?? 'AWSCURRENT';
        asked.push(stage);
        if (stages[stage] === undefined)
          throw Object.assign(new Error(`no version with stage ${stage}`), { name: 'ResourceNotFoundException' });
        return { SecretString: stages[stage] };
      },
    })) as unknown as () => SecretsManagerClient;

  it('reads AWSCURRENT to mint and AWSPREVIOUS to verify; a secret never rotated has no previous', async () => {
    const asked: string[] = [];
    expect(
      await signingKeys({ secretArn: 'arn:s' }, secretsWith({ AWSCURRENT: 'new-'.repeat(8), AWSPREVIOUS: 'old-'.repeat(8) }, asked)),
    ).toEqual({
      current: 'new-'.repeat(8),
      previous: ['old-'.repeat(8)],
    });
    expect(asked.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect(await signingKeys({ secretArn: 'arn:s' }, secretsWith({ AWSCURRENT: 'new-'.repeat(8) }))).toEqual({
      current: 'new-'.repeat(8),
      previous: [],
    });
    await expect(signingKeys({ secretArn: 'arn:s' }, secretsWith({}))).rejects.toThrow(/ResourceNotFound|no version/);
  });

  it('gives a signer that verifies ids of the previous secret and mints under the current one', async () => {
    const before = new IdSigner('old-'.repeat(8)).awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 2);
    const signer = await signerFor({ secretArn: 'arn:s' }, secretsWith({ AWSCURRENT: 'new-'.repeat(8), AWSPREVIOUS: 'old-'.repeat(8) }));
    expect(signer.verifyAwakeableId(before)).toMatchObject({ ok: true, target: { index: 2 } });
    expect(signer.keyIds[0]).toBe(new IdSigner('new-'.repeat(8)).keyIds[0]);
  });
});
