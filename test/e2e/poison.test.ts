/**
 * DESIGN rule 11 over HTTP on the local plane: one bad request or record
 * harms no one else. A key the table cannot hold is refused before anything
 * is written, and a poison record already in the table (as an earlier
 * release wrote one) is given up alone while its neighbours still wake.
 *
 * Found by hand (issue 14): a 3,000-character object key answered 500 after
 * writing its `meta`; the wake then failed on that record, the re-wake of
 * the failed stream batch stopped at it, and a greeter call, a reviewFlow
 * run and a ledger call sent just after stayed `pending` with 0 attempts.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { object, type ObjectContext } from 'dormant-lambda';
import { newInvocationId } from 'dormant-lambda/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { reviewFlow } from '../../examples/review-flow.ts';
import { localClientConfig } from '../../src/local/dynamodb-local.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { newInvocationMeta } from '../../src/store/invocation.ts';
import { metaToItem } from '../../src/store/items.ts';
import { LOCK_GRANTED, stateScope } from '../../src/store/keys.ts';
import { call, send, startTestPlane, tableSnapshot, untilOutput } from './support.ts';

const ledger = object({
  name: 'ledger',
  handlers: {
    add: async (ctx: ObjectContext, n: number) => {
      const total = ((await ctx.get<number>('total')) ?? 0) + n;
      ctx.set('total', total);
      return total;
    },
  },
});

describe('one bad request or record harms no one else (rule 11)', () => {
  let plane: LocalPlane;
  const logged: string[] = [];

  beforeAll(async () => {
    plane = await startTestPlane([greeter, reviewFlow, ledger], {
      log: (level, message) => {
        if (level !== 'info') logged.push(message);
      },
    });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  /** A greeter call, a reviewFlow run (resolved through its shared handler) and a ledger call, each to its output. */
  async function innocentsComplete(tag: string): Promise<void> {
    const greet = await send(plane, '/greeter/greet', tag);
    const flow = await send(plane, `/reviewFlow/doc-${tag}/run`, { title: tag });
    const add = await send(plane, `/ledger/acct-${tag}/add`, 5);
    expect((await call(plane, 'POST', `/reviewFlow/doc-${tag}/submitReview`, '{"approved":true}')).status).toBe(200);
    expect((await untilOutput(plane, greet)).json).toBe(`Hello, ${tag}!`);
    expect((await untilOutput(plane, flow)).json).toEqual({ title: tag, approved: true });
    expect((await untilOutput(plane, add)).json).toBe(5);
  }

  it('refuses a 3,000-character object key with 400 before any write, and later invocations still run', async () => {
    // Prepare
    const before = await tableSnapshot(plane);

    // Act
    const refused = await call(plane, 'POST', `/ledger/${'k'.repeat(3_000)}/add/send`, '1');
    const unicode = await call(plane, 'POST', `/ledger/${encodeURIComponent('é'.repeat(600))}/add/send`, '1'); // 1,200 bytes
    const workflowKey = await call(plane, 'POST', `/reviewFlow/${'w'.repeat(1_025)}/run/send`, '{"title":"x"}');
    const idempotency = await call(plane, 'POST', '/greeter/greet/send', '"x"', { 'idempotency-key': 'i'.repeat(1_025) });

    // Assess: precise refusals, nothing written
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ code: 'key_too_long', limit: 1024, bytes: 3_000 });
    expect(refused.json.message).toMatch(/object key is 3000 bytes .* over the 1024-byte limit; nothing was written/);
    expect(unicode.json).toMatchObject({ code: 'key_too_long', bytes: 1_200 });
    expect(workflowKey.json).toMatchObject({ code: 'key_too_long', bytes: 1_025 });
    expect(idempotency.json).toMatchObject({ code: 'key_too_long', bytes: 1_025 });
    expect(await tableSnapshot(plane)).toEqual(before);
    // A key at the limit is fine.
    expect((await untilOutput(plane, await send(plane, `/ledger/${'k'.repeat(1_024)}/add`, 2))).json).toBe(2);
    await innocentsComplete('after-refusal');
  }, 60_000);

  it('gives up a poison record alone: the innocent invocations written before and after it both complete', async () => {
    // Prepare: an object call whose lock partition the table cannot hold,
    // as a release without the key check wrote it, between two innocents.
    const first = await send(plane, '/greeter/greet', 'first');
    const poisonId = newInvocationId();
    const longKey = 'p'.repeat(3_000);
    const poison = metaToItem({
      ...newInvocationMeta({
        id: newInvocationId(),
        service: 'ledger',
        handler: 'add',
        kind: 'object',
        shared: false,
        key: 'x',
        input: '1',
        now: Date.now(),
      }),
      id: poisonId,
      key: longKey,
      lockScope: stateScope('ledger', longKey),
      awaiting: [LOCK_GRANTED],
    });
    const dynamodb = new DynamoDBClient(localClientConfig(plane.endpoints.dynamodb));
    await dynamodb.send(new PutItemCommand({ TableName: plane.tableName, Item: marshall(poison, { removeUndefinedValues: true }) }));
    dynamodb.destroy();

    // Act
    const second = await send(plane, '/greeter/greet', 'second');

    // Assess: both neighbours complete, the poison is named in the log (never its whole key)
    expect((await untilOutput(plane, first)).json).toBe('Hello, first!');
    expect((await untilOutput(plane, second, 10_000)).json).toBe('Hello, second!');
    await innocentsComplete('after-poison');
    expect(logged.some((line) => line.includes('gave up') && line.includes(poisonId))).toBe(true);
    expect(logged.join('\n')).not.toContain(longKey);
  }, 60_000);
});
