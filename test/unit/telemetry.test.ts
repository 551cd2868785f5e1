/**
 * The handler role's telemetry in Lambda: one structured line per attempt
 * (invocation id, epoch, outcome, request id, cold start) and the
 * `FailedInvocations` metric in CloudWatch's embedded metric format for an
 * invocation that failed for good, under the dimensions the runtime's
 * alarm watches.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TerminalError, lambdaHandler, service, type Context } from 'dormant-lambda';
import { IdSigner, MemoryStore, newInvocationId, newInvocationMeta } from 'dormant-lambda/internal';
import {
  FAILED_INVOCATIONS_METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  TABLE_DIMENSION,
  lambdaTelemetry,
} from '../../src/runtime/telemetry.ts';
import { withBatchLog, withRequestLog } from '../../src/runtime/role-logs.ts';

const jobs = service({
  name: 'jobs',
  handlers: {
    ok: async () => 'done',
    refuse: async () => {
      throw new TerminalError('no such account', { code: 404 });
    },
    wait: async (ctx: Context) => ctx.awakeable<string>().promise,
  },
});

/** Lines Powertools writes on stdout and stderr (errors), parsed. */
function captureOutput(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return lines;
}

async function run(handlerName: string, requestId: string, handler: ReturnType<typeof lambdaHandler>, store: MemoryStore) {
  const id = newInvocationId();
  await store.createInvocation(
    newInvocationMeta({ id, service: 'jobs', handler: handlerName, kind: 'service', shared: false, input: '', now: Date.now() }),
  );
  await handler({ invocationId: id, epoch: 0 }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: requestId });
  return id;
}

afterEach(() => vi.restoreAllMocks());

describe('handler telemetry', () => {
  it('logs one line per attempt with its invocation, outcome, request id and cold start', async () => {
    const store = new MemoryStore();
    const telemetry = lambdaTelemetry({ tableName: 'dormant-table' });
    const handler = lambdaHandler({
      services: [jobs],
      runtime: { store, signer: new IdSigner('telemetry-signing-key-0123456789'), telemetry },
    });
    const lines = captureOutput();

    const first = await run('ok', 'req-1', handler, store);
    const second = await run('wait', 'req-2', handler, store);

    const attempts = lines.filter((l) => l.message === 'attempt ended');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({
      level: 'INFO',
      service: 'dormant-handler',
      invocationId: first,
      epoch: 0,
      outcome: 'completed',
      requestId: 'req-1',
      coldStart: true,
    });
    expect(attempts[1]).toMatchObject({ invocationId: second, outcome: 'suspended', requestId: 'req-2', coldStart: false });
    expect(attempts[1]!.awaiting).toEqual(expect.arrayContaining(['C#00000000']));
    // No metric for what did not fail.
    expect(lines.some((l) => '_aws' in l)).toBe(false);
  });

  it('emits FailedInvocations under the dimensions the alarm watches, and logs the failure as an error', async () => {
    const store = new MemoryStore();
    const telemetry = lambdaTelemetry({ tableName: 'dormant-table' });
    const handler = lambdaHandler({
      services: [jobs],
      runtime: { store, signer: new IdSigner('telemetry-signing-key-0123456789'), telemetry },
    });
    const lines = captureOutput();

    const id = await run('refuse', 'req-3', handler, store);

    expect(lines.find((l) => l.message === 'attempt ended')).toMatchObject({
      level: 'ERROR',
      invocationId: id,
      outcome: 'failed',
      failure: 'no such account',
    });
    const emf = lines.find((l) => '_aws' in l) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
    };
    expect(emf).toBeDefined();
    expect(emf[FAILED_INVOCATIONS_METRIC]).toBe(1);
    expect(emf[TABLE_DIMENSION]).toBe('dormant-table');
    expect(emf.service).toBe(METRICS_SERVICE);
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive!.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive!.Metrics).toEqual([{ Name: FAILED_INVOCATIONS_METRIC, Unit: 'Count' }]);
    expect(directive!.Dimensions[0]!.sort()).toEqual([TABLE_DIMENSION, 'service'].sort());
  });

  it('stays silent where no telemetry is given (the local plane and tests pass their own runtime)', async () => {
    const store = new MemoryStore();
    const handler = lambdaHandler({ services: [jobs], runtime: { store, signer: new IdSigner('telemetry-signing-key-0123456789') } });
    const lines = captureOutput();
    await run('refuse', 'req-4', handler, store);
    expect(lines).toEqual([]);
  });
});

describe("the runtime functions' lines", () => {
  const recorder = () => {
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const at = (level: string) => (message: string, fields?: unknown) =>
      lines.push({ level, message, fields: fields as Record<string, unknown> });
    return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
  };

  it('logs one line per ingress request with its invocation, correlation id and cold start; errors at error', async () => {
    const { lines, logger } = recorder();
    const answers = [
      { statusCode: 202, body: '{"invocationId":"inv_started0000000000000"}' },
      { statusCode: 500, body: '{"code":"internal_error"}' },
    ];
    const handler = withRequestLog(async () => ({ headers: {}, ...answers.shift()! }), logger);
    const event = (path: string) => ({ httpMethod: 'POST', path, requestContext: { requestId: 'gw-1' } }) as never;
    await handler(event('/review/request/send'), { awsRequestId: 'req-1' });
    await handler(event('/restate/awakeables/awk_AgAAAAExAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/resolve'));
    expect(lines[0]).toMatchObject({
      level: 'info',
      message: 'request',
      fields: {
        method: 'POST',
        status: 202,
        invocationId: 'inv_started0000000000000',
        correlationId: 'gw-1',
        requestId: 'req-1',
        coldStart: true,
      },
    });
    expect(lines[1]!.level).toBe('error');
    expect(lines[1]!.fields.coldStart).toBe(false);
    // A capability never lands whole in a log.
    expect(String(lines[1]!.fields.path)).not.toContain('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  });

  it('logs one line per wake batch with the invocations it was about and what was handed back', async () => {
    const { lines, logger } = recorder();
    const handler = withBatchLog(async () => ({ batchItemFailures: [{ itemIdentifier: '2' }] }), logger);
    const record = (id: string, n: string) => ({ eventID: n, dynamodb: { Keys: { pk: { S: `I#${id}` }, sk: { S: 'meta' } } } });
    await handler({ Records: [record('inv_a', '1'), record('inv_b', '2'), record('inv_a', '3')] } as never, { awsRequestId: 'req-9' });
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'batch',
        fields: { records: 3, invocationIds: ['inv_a', 'inv_b'], retried: 1, requestId: 'req-9', coldStart: true },
      },
    ]);
  });
});
