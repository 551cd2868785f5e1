/**
 * Restate-style code (test/compat: `import * as restate from
 * 'dormant-lambda'`, written as Restate's docs and examples write it) on
 * the local plane over HTTP, with Restate's own ingress client where its
 * docs use it.
 */
import * as clients from '@restatedev/restate-sdk-clients';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { charged } from '../compat/basics.ts';
import { greetTwice, signUp, waiting } from '../compat/clients.ts';
import { admitted } from '../compat/objects.ts';
import { supplierLog } from '../compat/sagas.ts';
import { services } from '../compat/services.ts';
import { outbox } from '../compat/workflows.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, eventually, send, startTestPlane, untilOutput, untilStatus } from './support.ts';

describe('Restate-style code on the local plane', () => {
  let plane: LocalPlane;
  let ingress: clients.Ingress;

  beforeAll(async () => {
    plane = await startTestPlane(services);
    ingress = clients.connect({ url: plane.url, retry: true });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  /** Starts a handler with /send and waits for its answer (output or failure). */
  async function run(path: string, input: unknown, headers: Record<string, string> = {}) {
    const id = await send(plane, path, input, headers);
    return { id, answer: await untilOutput(plane, id, 20_000) };
  }

  it('durable execution: unnamed ctx.run steps run to completion, each body once', async () => {
    // Act
    const { answer } = await run('/payments/subscribe', { user: 'sam', plans: ['news', 'films'] });

    // Assess
    expect(answer.status).toBe(200);
    const { ref, created } = answer.json as { ref: string; created: string[] };
    expect(created).toEqual([`sam/news/${ref}`, `sam/films/${ref}`]);
    expect(charged.filter((id) => ref === `pay-${id.slice(0, 8)}`)).toHaveLength(1);
  });

  it('building blocks: a client from a { name } stub, an awakeable, durations, and a delayed send with rpc.sendOpts', async () => {
    // Act
    const { answer } = await run('/buildingBlocks/run', 'ann');

    // Assess
    expect(answer.json).toEqual({ created: 'created gold for ann', got: 'resolved by id', late: 'timed out' });
    // The one-way create ran; the cancel sent with a one-second delay clears it later.
    await eventually(
      async () => ((await call(plane, 'POST', '/subscriptions/ann/plan')).json === null ? true : undefined),
      'the delayed cancel',
    );
  });

  it('virtual objects, typed for Restate’s ingress client by the definition', async () => {
    await expect(greetTwice(ingress, 'ada')).resolves.toEqual(['Hi ada #1', 'Hi ada #2']);
    expect((await call(plane, 'POST', '/greeterObject/ada/ungreet')).json).toBe('ada down to 1');
  });

  it('a priority queue with typed state lets every worker in, one at a time, and logs through ctx.console', async () => {
    // Act
    const ids = await Promise.all(
      ['low', 'high', 'mid'].map((name, i) => send(plane, '/worker/work', { name, priority: [9, 1, 5][i], queue: 'q1' })),
    );
    const answers = await Promise.all(ids.map((id) => untilOutput(plane, id, 20_000)));

    // Assess
    expect(answers.map((a) => a.json)).toEqual(['low done', 'high done', 'mid done']);
    expect([...admitted].sort()).toEqual(['high', 'low', 'mid']);
    await expect(waiting(ingress, 'q1')).resolves.toBe(0);
  });

  it('a workflow: await ctx.promise(name) in run, shared handlers resolving it and waiting on the run’s own promise', async () => {
    // Prepare: a shared handler waits on `verified` before the run even starts
    const waiter = await send(plane, '/signup/ada/awaitVerified', undefined);
    await untilStatus(plane, waiter, 'suspended');
    const patient = await send(plane, '/signup/ada/awaitOrGiveUp', 60);

    // Act: Restate's ingress client submits, clicks the link the run sent, attaches
    const result = await signUp(ingress, 'ada', (key) => eventually(async () => outbox.get(key), `the email to ${key}`));

    // Assess: the run's resolve of `verified` reached both shared handlers
    expect(result).toEqual({ submitted: 'Accepted', verified: true });
    expect((await untilOutput(plane, waiter, 20_000)).json).toBe(true);
    expect((await untilOutput(plane, patient, 20_000)).json).toBe('verified');
    expect((await call(plane, 'POST', '/signup/ada/stage')).json).toBe('verified');
  });

  it('a shared handler waiting on the run’s promise with a timeout gives up when nobody resolves it', async () => {
    const { answer } = await run('/signup/nobody/awaitOrGiveUp', 1);

    expect(answer.json).toBe('gave up: timed out');
  });

  it('a saga: a TerminalError with an errorCode runs the compensations in reverse, and the failure stands', async () => {
    // Act
    const booked = await run('/trips/book', 'lisbon');
    const refused = await run('/trips/book', 'no-cars-porto');

    // Assess
    expect(booked.answer.json).toBe('booked lisbon');
    expect(refused.answer.status).toBe(409);
    expect(refused.answer.json).toMatchObject({ code: 'TerminalError', message: 'no cars left for no-cars-porto' });
    expect(supplierLog.filter((l) => l.includes('no-cars-porto'))).toEqual([
      'flight booked for no-cars-porto',
      'car cancelled for no-cars-porto',
      'flight cancelled for no-cars-porto',
    ]);
  });

  it('ctx.request(): the caller’s headers (not its credentials), target and body', async () => {
    const { answer } = await run('/requests/describe', { n: 7 }, { 'x-tenant': 'acme', authorization: 'Bearer secret' });

    expect(answer.json).toEqual({ tenant: 'acme', credentials: false, target: 'requests/describe', bodyBytes: 7, n: 7, isId: true });
  });

  it('calls by name: genericCall with serdes, and a stub typed by a hand-written API', async () => {
    expect((await run('/requests/byName', 'bob')).answer.json).toBe('created bronze for bob');
    expect((await run('/requests/greetByStub', 'Eve')).answer.json).toBe('Hello, Eve!');
  });

  it('RestatePromise.all/race/any/allSettled and map', async () => {
    const { answer } = await run('/combinators/run', undefined);

    expect(answer.json).toEqual({
      both: ['fast', 2],
      first: 'fast',
      any: 'fast',
      settled: ['rejected', 'fulfilled'],
      mapped: '418 no luck',
    });
  });

  it('serde.schema checks the input: a mismatch fails the invocation once with 400', async () => {
    expect((await call(plane, 'POST', '/greeter/greet', '{"name":"Ada"}')).json).toBe('Hello, Ada!');

    const { id, answer } = await run('/greeter/greet', { name: 7 });

    expect(answer.status).toBe(400);
    expect(answer.json.message).toContain('does not match the schema: name: name must be a string');
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json).toMatchObject({ status: 'failed', retries: 0 });
  });

  it('invocation ids from send handles: ctx.attach to a finished one, ctx.cancel and ctx.attach to a running one', async () => {
    // Act
    expect((await call(plane, 'POST', '/boss/b1/start', '"report"')).json).toBe('started');
    const { answer } = await run('/boss/b1/results', undefined);

    // Assess: the cancelled job cleaned up and its attacher got its CancelledError
    expect(answer.json).toEqual({ short: 'report finished', cancelled: expect.stringMatching(/^409 invocation inv_\S+ was cancelled$/) });
  });

  it('a wrong-shaped call fails the invocation once, naming the call and its journal position', async () => {
    // Act
    const { id, answer } = await run('/mistakes/run', undefined);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(
      /^ctx\.run at journal entry 1 of mistakes\.run \(invocation inv_\S+\): expected ctx\.run\(fn\), ctx\.run\(fn, options\) or ctx\.run\(name, fn, options\), got a first argument undefined$/,
    );
    // Failed for good at the first attempt: no retry was scheduled.
    expect((await call(plane, 'GET', `/restate/invocation/${id}`)).json).toMatchObject({ status: 'failed', retries: 0 });
  });
});
