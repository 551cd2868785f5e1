/**
 * AWS's durable callback API as `@aws-sdk/client-lambda` speaks it, unchanged
 * but for `endpoint`, against the local plane: succeed, fail and heartbeat
 * Dormant awakeables by id, with the SDK's own typed errors for refusals.
 */
import {
  CallbackTimeoutException,
  InvalidParameterValueException,
  LambdaClient,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from '@aws-sdk/client-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError, service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { send, startTestPlane, untilAwakeable, untilOutput, untilStatus } from './support.ts';

const worker = service({
  name: 'worker',
  handlers: {
    job: async (ctx: Context, heartbeatTimeoutMs: number) => {
      const job = ctx.awakeable<{ rows: number }>({ heartbeatTimeoutMs });
      try {
        return await job.promise;
      } catch (e) {
        if (e instanceof TimeoutError) return 'timed out';
        throw e;
      }
    },
  },
});

describe("AWS's durable callback client", () => {
  let plane: LocalPlane;
  let lambda: LambdaClient;
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  beforeAll(async () => {
    plane = await startTestPlane([review, worker]);
    // Dormant does not check SigV4 signatures; the SDK needs some credentials to sign with.
    lambda = new LambdaClient({
      endpoint: plane.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    lambda?.destroy();
    await plane?.stop();
  });

  it('succeeds an awakeable with a result, and a second completion throws CallbackTimeoutException', async () => {
    // Prepare
    const id = await send(plane, '/review/request', { title: 'Q3' });
    const CallbackId = await untilAwakeable(plane, id);

    // Act
    await lambda.send(
      new SendDurableExecutionCallbackSuccessCommand({ CallbackId, Result: encode({ approved: true, comment: 'ship it' }) }),
    );
    const late = await lambda
      .send(new SendDurableExecutionCallbackFailureCommand({ CallbackId, Error: { ErrorMessage: 'too late' } }))
      .catch((e: unknown) => e);

    // Assess
    expect((await untilOutput(plane, id)).json).toEqual({ title: 'Q3', approved: true, comment: 'ship it' });
    expect(late).toBeInstanceOf(CallbackTimeoutException);
    expect((late as CallbackTimeoutException).message).toMatch(/already resolved/);
  });

  it('fails an awakeable with an ErrorObject: the handler sees a TerminalError with its type and message', async () => {
    // Prepare
    const id = await send(plane, '/review/request', { title: 'Q4' });
    const CallbackId = await untilAwakeable(plane, id);

    // Act
    await lambda.send(
      new SendDurableExecutionCallbackFailureCommand({
        CallbackId,
        Error: { ErrorType: 'Declined', ErrorMessage: 'numbers do not add up' },
      }),
    );

    // Assess
    expect((await untilOutput(plane, id)).json).toEqual({ title: 'Q4', approved: false, rejected: 'Declined: numbers do not add up' });
  });

  it('refuses a forged callback id with InvalidParameterValueException', async () => {
    // Prepare
    const id = await send(plane, '/review/request', { title: 'Q5' });
    const real = await untilAwakeable(plane, id);
    const forged = real.slice(0, -4) + (real.endsWith('AAAA') ? 'BBBB' : 'AAAA');

    // Act
    const refused = await lambda
      .send(new SendDurableExecutionCallbackSuccessCommand({ CallbackId: forged, Result: encode({ approved: true }) }))
      .catch((e: unknown) => e);

    // Assess: refused, and the real one still waits
    expect(refused).toBeInstanceOf(InvalidParameterValueException);
    expect((await untilStatus(plane, id, 'suspended')).awaiting[0].awakeableId).toBe(real);
  });

  it('keeps a heartbeat awakeable open while heartbeats arrive, then takes the result', async () => {
    // Prepare: a 1.5 s heartbeat timeout
    const id = await send(plane, '/worker/job', 1_500);
    const CallbackId = await untilAwakeable(plane, id);

    // Act: heartbeat every 500 ms for 3 s, twice the timeout
    for (let i = 0; i < 6; i++) {
      await lambda.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId }));
      await sleep(500);
    }
    await lambda.send(new SendDurableExecutionCallbackSuccessCommand({ CallbackId, Result: encode({ rows: 42 }) }));

    // Assess
    expect((await untilOutput(plane, id)).json).toEqual({ rows: 42 });
  });

  it('times the wait out when heartbeats stop, and refuses a late heartbeat or result with CallbackTimeoutException', async () => {
    // Prepare
    const id = await send(plane, '/worker/job', 1_000);
    const CallbackId = await untilAwakeable(plane, id);
    await lambda.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId }));

    // Act: no more heartbeats
    const out = await untilOutput(plane, id, 20_000);
    const lateBeat = await lambda.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId })).catch((e: unknown) => e);
    const lateResult = await lambda
      .send(new SendDurableExecutionCallbackSuccessCommand({ CallbackId, Result: encode({ rows: 1 }) }))
      .catch((e: unknown) => e);

    // Assess
    expect(out.json).toBe('timed out');
    expect(lateBeat).toBeInstanceOf(CallbackTimeoutException);
    expect(lateResult).toBeInstanceOf(CallbackTimeoutException);
  });
});
