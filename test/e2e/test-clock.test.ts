/**
 * A 30-day sleep on the local plane under a test clock: the timer rides the
 * real SQS emulator's long-timer queue as one message, parked and handed
 * back while it is not due (every hop compares with the test clock), and completes the sleep once
 * the clock passes its due time. Nothing runs while it waits.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../src/local/dynamodb-local.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { TestClock } from 'dormant-lambda/testing';
import { call, eventually, expectDormant, send, untilOutput, untilStatus } from './support.ts';
import { startTestPlane } from './support.ts';

const DAY = 86_400_000;

const nap = service({
  name: 'nap',
  handlers: {
    days: async (ctx: Context, days: number) => {
      const started = await ctx.date.now();
      await ctx.sleep(days * DAY);
      return { slept: Math.round(((await ctx.date.now()) - started) / DAY) };
    },
  },
});

describe('a chained long sleep on the local plane under a test clock', () => {
  let plane: LocalPlane;
  let sqs: SQSClient;
  // Starts at the real time: items carry TTLs, and DynamoDB Local acts on them.
  const clock = new TestClock(Date.now());

  const parked: string[] = [];

  beforeAll(async () => {
    plane = await startTestPlane([nap], { clock, log: (_level, message) => void (message.includes('parked') && parked.push(message)) });
    sqs = new SQSClient(localClientConfig(plane.endpoints.sqs));
  });

  afterAll(async () => {
    sqs?.destroy();
    await plane?.stop();
  });

  it('sleeps 30 days on one parked timer message and wakes once the clock passes', async () => {
    // Prepare
    const id = await send(plane, '/nap/days', 30);
    const view = await untilStatus(plane, id, 'suspended');
    const due = Date.parse(view.awaiting[0].timerAt);
    expect(due - clock.now()).toBeGreaterThan(30 * DAY - 60_000);

    // Act: ten days pass; the timer comes round and is parked again
    clock.advance(10 * DAY);
    await untilTimerReceived(2);

    // Assess: still asleep, one message on the queue, nothing running
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json.status).toBe('suspended');
    expect(await timerMessages()).toBe(1);
    await expectDormant(plane, id, 0);

    // Act: a minute before it is due, still nothing; then the clock passes it
    clock.time = due - 60_000;
    await untilTimerReceived(2);
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json.status).toBe('suspended');
    clock.time = due + 1;

    // Assess
    expect((await untilOutput(plane, id, 20_000)).json).toEqual({ slept: 30 });
    expect(await eventually(async () => ((await timerMessages()) === 0 ? 0 : undefined), 'the timer message to be deleted')).toBe(0);
  });

  async function timerQueueUrl(): Promise<string> {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: 'dormant-long-timers' }))).QueueUrl!;
  }

  /** Visible, in flight (parked) and delayed messages of the long-timer queue. */
  async function timerMessages(): Promise<number> {
    const names = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: await timerQueueUrl(), AttributeNames: [...names] }));
    return names.reduce((sum, name) => sum + Number(Attributes?.[name] ?? 0), 0);
  }

  /** Waits until the timer has come round and been parked `times` more times. */
  async function untilTimerReceived(times: number): Promise<void> {
    const target = parked.length + times;
    await eventually(async () => (parked.length >= target ? true : undefined), `${times} more parks of the timer`);
  }
});
