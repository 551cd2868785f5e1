/**
 * Restarting a failed invocation (`PATCH /restate/invocation/{id}/restart-as-new`):
 * a new invocation from the start with the same input, key and headers, its
 * own journal (none of the old one's entries), once however often it is
 * asked; and the refusals: what has not failed, a workflow's run, malformed,
 * unknown and expired ids.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { TerminalError, object, service, workflow, type Context, type ObjectContext, type WorkflowContext } from 'dormant-lambda';
import { MemoryRuntime } from 'dormant-lambda/testing';
import { describe, expect, it } from 'vitest';
import { newInvocationId } from '../../src/engine/ids.ts';
import { createIngressHandler } from '../../src/runtime/ingress.ts';

let broken = true;
const charge = service({
  name: 'charge',
  handlers: {
    run: async (ctx: Context, order: { id: string; pad?: string }) => {
      await ctx.run('reserve', () => `reserved ${order.id}`);
      const ok = await ctx.run('card', () => !broken);
      if (!ok) throw new TerminalError(`card declined for ${order.id}`);
      return { charged: order.id, padded: order.pad?.length ?? 0 };
    },
    wait: async (ctx: Context) => ctx.awakeable<string>().promise,
  },
});
const ledger = object({
  name: 'ledger',
  handlers: {
    add: async (ctx: ObjectContext, n: number) => {
      if (broken) throw new TerminalError('ledger closed');
      ctx.set('total', ((await ctx.get<number>('total')) ?? 0) + n);
      return n;
    },
  },
});
const flow = workflow({
  name: 'flow',
  handlers: {
    run: async (_ctx: WorkflowContext) => {
      throw new TerminalError('no');
    },
  },
});

function setup() {
  const rt = new MemoryRuntime([charge, ledger, flow]);
  const ingress = createIngressHandler({ ...rt.ingress, waitMs: 0 });
  const restart = async (id: string, method = 'PATCH') => {
    const answer = await ingress({
      httpMethod: method,
      path: `/restate/invocation/${id}/restart-as-new`,
      body: '',
      headers: {},
      multiValueHeaders: {},
      queryStringParameters: null,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent);
    return { status: answer.statusCode, json: answer.body ? JSON.parse(answer.body) : undefined };
  };
  return { rt, restart };
}

describe('restarting a failed invocation', () => {
  it('starts it again from the start with its input, under a new id with a journal of its own; asked twice, once', async () => {
    // Prepare: a charge that failed on its card step; a large input lives in an item of its own
    broken = true;
    const { rt, restart } = setup();
    const input = JSON.stringify({ id: 'o-7', pad: 'x'.repeat(2_000) });
    const failed = await rt.start('charge', 'run', input);
    await rt.settle();
    expect((await rt.status(failed)).status).toBe('failed');
    broken = false;

    // Act
    const first = await restart(failed);
    const again = await restart(failed);
    await rt.settle();

    // Assess
    expect(first).toEqual({
      status: 200,
      json: { new_invocation_id: expect.stringMatching(/^inv_/), invocationId: failed, status: 'Accepted' },
    });
    const restarted = first.json.new_invocation_id as string;
    expect(restarted).not.toBe(failed);
    expect(again.json).toEqual({ new_invocation_id: restarted, invocationId: failed, status: 'PreviouslyAccepted' });
    expect(await rt.output(restarted)).toEqual({ charged: 'o-7', padded: 2_000 });
    expect((await rt.journal(restarted)).map((e) => [e.index, e.name, e.value])).toEqual([
      [0, 'reserve', '"reserved o-7"'],
      [1, 'card', 'true'],
    ]);
    // The failed one stays as it was.
    expect((await rt.status(failed)).status).toBe('failed');
    expect((await rt.journal(failed)).map((e) => e.value)).toEqual(['"reserved o-7"', 'false']);
  });

  it('keeps an object call on its key', async () => {
    broken = true;
    const { rt, restart } = setup();
    const failed = await rt.start('ledger', 'add', '5', 'acct-1');
    await rt.settle();
    broken = false;

    const { json } = await restart(failed);
    await rt.settle();

    expect(await rt.status(json.new_invocation_id)).toMatchObject({ service: 'ledger', key: 'acct-1', status: 'completed' });
    expect(await rt.output(json.new_invocation_id)).toBe(5);
  });

  it('refuses what has not failed (409, with its status), a workflow run (409), malformed (400), unknown (404) and expired (410) ids, and GET (405)', async () => {
    broken = false;
    const { rt, restart } = setup();
    const waiting = await rt.start('charge', 'wait');
    const done = await rt.start('charge', 'run', '{"id":"o-1"}');
    const run = await rt.start('flow', 'run', '', 'k-1');
    await rt.settle();
    const expired = newInvocationId();
    await rt.store.append(expired, { index: 0, kind: 'run', name: 'reserve', value: '1' }); // its meta gone, its journal kept
    const before = rt.store.items().length;

    const answers = await Promise.all([waiting, done, run, 'inv_nope', newInvocationId(), expired].map((id) => restart(id)));

    expect(answers.map((a) => [a.status, a.json.code])).toEqual([
      [409, 'not_failed'],
      [409, 'not_failed'],
      [409, 'workflow_run'],
      [400, 'malformed_invocation_id'],
      [404, 'unknown_invocation'],
      [410, 'expired'],
    ]);
    expect(answers[0]!.json.message).toContain('suspended');
    expect(answers[0]!.json.message).toContain('cancel or kill it first');
    expect(answers[1]!.json.status).toBe('completed');
    expect((await restart(done, 'GET')).status).toBe(405);
    expect(rt.store.items()).toHaveLength(before);
  });
});
