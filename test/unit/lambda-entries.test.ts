/**
 * The files in `lambda/` as Lambda loads them: each builds its role from the
 * environment on first use (not at import time) and hands events to the core
 * in src/runtime. Only requests that need no AWS call are sent, so no
 * endpoint is involved: a route nobody serves, a journal record the wake
 * filters out in its rule, an unreadable queue message.
 */
import type { APIGatewayProxyEvent, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const TABLE = { DORMANT_TABLE_NAME: 'journal' };
const QUEUES = { DORMANT_TIMER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/timers', DORMANT_ROUTES: '{"review":"fn"}' };
const INGRESS = { DORMANT_SIGNING_KEY: 'k'.repeat(32), DORMANT_SERVICES: '{"review":{"kind":"service","handlers":{}}}' };

function stubEnv(variables: Record<string, string>): void {
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
}

const request = (path: string): APIGatewayProxyEvent => ({ httpMethod: 'POST', path, body: '' }) as unknown as APIGatewayProxyEvent;
const journalRecord: DynamoDBStreamEvent = {
  Records: [
    {
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: '1',
        Keys: { pk: { S: 'I#inv_AAAAAAAAAAAAAAAAAAAAAA' }, sk: { S: 'J#00000000' } },
        NewImage: { pk: { S: 'I#inv_AAAAAAAAAAAAAAAAAAAAAA' }, sk: { S: 'J#00000000' }, kind: { S: 'run' } },
      },
    },
  ],
};
const unreadable = { Records: [{ messageId: 'm-1', body: 'not json', attributes: {} }] } as unknown as SQSEvent;

describe('the Lambda entry files', () => {
  beforeEach(() => {
    // A fresh module per test: each entry keeps what it built (once per cold start).
    vi.resetModules();
    vi.unstubAllEnvs();
    for (const name of ['DORMANT_TABLE_NAME', 'DORMANT_TIMER_QUEUE_URL', 'DORMANT_ROUTES', 'DORMANT_SIGNING_KEY', 'DORMANT_SERVICES']) {
      vi.stubEnv(name, undefined);
    }
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('ingress: builds from the environment on the first request and routes through the core', async () => {
    // Prepare: the environment is read on first use, so setting it after the import is in time
    const { handler } = await import('../../lambda/ingress.ts');
    stubEnv({ ...TABLE, ...INGRESS });

    // Act
    const answer = await handler(request('/nobody/here'));

    // Assess
    expect(answer.statusCode).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'unknown_service' });
  });

  it('ingress: a missing variable answers 500 misconfigured, and a later request with it set is served', async () => {
    // Prepare
    const { handler } = await import('../../lambda/ingress.ts');
    stubEnv(TABLE);

    // Act
    const refused = await handler(request('/nobody/here'));
    stubEnv(INGRESS);
    const served = await handler(request('/nobody/here'));

    // Assess: a failed build is forgotten (once), not kept for the warm container
    expect(refused.statusCode).toBe(500);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'misconfigured' });
    expect(served.statusCode).toBe(404);
  });

  it('wake: a missing variable is a ConfigError naming it; with the variables set a batch is handled', async () => {
    // Prepare
    const { handler } = await import('../../lambda/wake.ts');
    stubEnv({ ...TABLE, DORMANT_ROUTES: QUEUES.DORMANT_ROUTES });

    // Act
    const refused = await handler(journalRecord).catch((e: unknown) => e);
    stubEnv(QUEUES);
    const handled = await handler(journalRecord);

    // Assess
    // (a fresh module graph per test, so the class is compared by name)
    expect(refused).toMatchObject({ name: 'ConfigError', role: 'wake', problems: ['DORMANT_TIMER_QUEUE_URL is not set'] });
    expect(handled).toEqual({ batchItemFailures: [] });
  });

  it('timer: built from the environment, it reports an unreadable message failed alone', async () => {
    // Prepare
    const { handler } = await import('../../lambda/timer.ts');
    stubEnv({ ...TABLE, ...QUEUES });

    // Act
    const result = await handler(unreadable);

    // Assess
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }] });
  });
});
