import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES, object, service, workflow, type Context } from 'dormant-lambda';
import { IdSigner, newInvocationId, startInvocation, type Store } from 'dormant-lambda/internal';
import { META, invocationPk } from '../../src/store/keys.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

const defs = [
  service({
    name: 'review',
    handlers: {
      request: async (ctx: Context) => {
        const a = ctx.awakeable<string>();
        return a.promise;
      },
    },
  }),
  object({ name: 'ledger', handlers: { add: async () => 1 } }),
  workflow({ name: 'flow', handlers: { run: async () => 1 } }),
];

/** Counts store calls, to show refusals happen before any read or write. */
function countCalls(store: Store): { calls: string[] } {
  const seen = { calls: [] as string[] };
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(store)) as (keyof Store)[]) {
    const original = store[name];
    if (typeof original !== 'function' || (name as string) === 'constructor') continue;
    (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      seen.calls.push(name);
      return (original as (...a: unknown[]) => unknown).apply(store, args);
    };
  }
  return seen;
}

async function suspendedReview() {
  const rt = new MemoryRuntime(defs);
  const id = await rt.start('review', 'request');
  await rt.settle();
  const [awk] = await rt.awaitedAwakeables(id);
  return { rt, id, awk: awk! };
}

describe('ingress core', () => {
  describe('resolveAwakeable', () => {
    it('rule 2: accepts the first resolve, answers a different one with 409 naming the outcome and when (never the value), and the same one again as a redelivery', async () => {
      const { rt, id, awk } = await suspendedReview();
      await expect(rt.resolve(awk, '"winner-value"')).resolves.toBe('completed');
      const second = await rt.resolve(awk, '"second"').catch((e: unknown) => e);
      expect(second).toMatchObject({
        status: 409,
        code: 'already_completed',
        details: { outcome: 'resolved', completedAt: expect.any(String) },
      });
      expect(JSON.stringify(second) + (second as Error).message).not.toContain('winner-value');
      await expect(rt.reject(awk, 'late')).rejects.toMatchObject({ status: 409, details: { outcome: 'resolved' } });
      await expect(rt.resolve(awk, '"winner-value"')).resolves.toBe('redelivered');
      // The same bytes, not the same value: a body spelled differently is another completion.
      await expect(rt.resolve(awk, ' "winner-value"')).rejects.toMatchObject({ status: 409 });
      await rt.settle();
      expect(await rt.output(id)).toBe('winner-value');
    });

    it('refuses a forged id with 403 without touching the table (rule 8)', async () => {
      const { rt, id } = await suspendedReview();
      // Right shape, right invocation and entry, wrong key.
      const forged = new IdSigner('someone-elses-key-0123456').awakeableId(id, 0);
      const before = rt.store.items();
      const seen = countCalls(rt.store);
      await expect(rt.resolve(forged, '"x"')).rejects.toMatchObject({ status: 403, code: 'forged_awakeable_id' });
      await expect(rt.resolve('awk_garbage', '"x"')).rejects.toMatchObject({ status: 400, code: 'malformed_awakeable_id' });
      expect(seen.calls).toEqual([]);
      expect(rt.store.items()).toEqual(before);
    });

    it('refuses invalid JSON (400) and oversized bodies (413), state unchanged (rule 7)', async () => {
      const { rt, awk } = await suspendedReview();
      const before = rt.store.items();
      await expect(rt.resolve(awk, '{not json')).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
      await expect(rt.resolve(awk, JSON.stringify('x'.repeat(MAX_PAYLOAD_BYTES)))).rejects.toMatchObject({
        status: 413,
        message: expect.stringContaining(`${MAX_PAYLOAD_BYTES}-byte limit`),
      });
      expect(rt.store.items()).toEqual(before);
    });

    it('answers 404 for a valid id whose invocation does not exist and 410 once it finished', async () => {
      const { rt, id, awk } = await suspendedReview();
      const unknown = await rt.resolve(rt.signer.awakeableId(newInvocationId(), 0), '').catch((e: unknown) => e);
      expect(unknown).toMatchObject({ status: 404, code: 'unknown_awakeable' });
      // Rule 10: no answer on a callback route names an invocation.
      expect((unknown as Error).message).not.toMatch(/inv_/);
      await rt.resolve(awk, '"done"');
      await rt.settle();
      expect((await rt.status(id)).status).toBe('completed');
      const other = rt.signer.awakeableId(id, 5);
      const gone = await rt.resolve(other, '"late"').catch((e: unknown) => e);
      expect(gone).toMatchObject({ status: 410, code: 'invocation_finished' });
      expect(JSON.stringify(gone) + (gone as Error).message).not.toContain(id);
      // The awakeable that woke it: a second resolve lost to that one (409), even after the finish.
      await expect(rt.resolve(awk, '"again"')).rejects.toMatchObject({ status: 409, details: { outcome: 'resolved' } });
      await expect(rt.resolve(awk, '"done"')).resolves.toBe('redelivered');
    });
  });

  describe('startInvocation', () => {
    it('rule 7: refuses unknown services and handlers, missing and unexpected keys, bad JSON: nothing written', async () => {
      const rt = new MemoryRuntime(defs);
      await expect(rt.start('nope', 'x')).rejects.toMatchObject({
        status: 404,
        code: 'unknown_service',
        message: expect.stringContaining('flow, ledger, review'),
      });
      await expect(rt.start('review', 'nope')).rejects.toMatchObject({ status: 404, code: 'unknown_handler' });
      await expect(rt.start('ledger', 'add', '1')).rejects.toMatchObject({ status: 400, code: 'missing_key' });
      await expect(rt.start('review', 'request', '', 'k')).rejects.toMatchObject({ status: 400, code: 'unexpected_key' });
      await expect(rt.start('review', 'request', '{')).rejects.toMatchObject({ status: 400, code: 'invalid_json' });
      await expect(rt.start('review', 'request', JSON.stringify('y'.repeat(MAX_PAYLOAD_BYTES)))).rejects.toMatchObject({ status: 413 });
      expect(rt.store.items()).toEqual([]);
    });

    it('the same idempotency key returns the same invocation; a different body is refused', async () => {
      const rt = new MemoryRuntime(defs);
      const a = await rt.start('review', 'request', '"x"', undefined, 'key-1');
      const b = await rt.start('review', 'request', '"x"', undefined, 'key-1');
      expect(b).toBe(a);
      await expect(rt.start('review', 'request', '"y"', undefined, 'key-1')).rejects.toMatchObject({
        status: 409,
        code: 'idempotency_key_reused',
      });
    });

    it("a workflow's run submitted again returns the existing invocation, or with ifExists 'fail' a 409 that writes nothing", async () => {
      const rt = new MemoryRuntime(defs);
      const first = await startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'k', body: '1', ifExists: 'fail' });
      expect(first.created).toBe(true);
      const again = await startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'k', body: '1', ifExists: 'attach' });
      expect(again).toMatchObject({ invocationId: first.invocationId, created: false });
      const before = rt.store.items();

      const refused = startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'k', body: '2', ifExists: 'fail' });

      await expect(refused).rejects.toMatchObject({
        status: 409,
        code: 'workflow_already_submitted',
        details: { invocationId: first.invocationId, status: 'pending' },
        message: expect.stringMatching(new RegExp(`workflow flow 'k' .*${first.invocationId}.*pending`)),
      });
      expect(rt.store.items()).toEqual(before);
    });

    it("with ifExists 'fail', a client retrying its own submit (same Idempotency-Key and body) gets its run; anyone else gets 409", async () => {
      const rt = new MemoryRuntime(defs);
      const submit = (body: string, idempotencyKey?: string) =>
        startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'k', body, ifExists: 'fail', idempotencyKey });
      const first = await submit('1', 'attempt-1');

      expect(await submit('1', 'attempt-1')).toMatchObject({ invocationId: first.invocationId, created: false });
      await expect(submit('1')).rejects.toMatchObject({ status: 409, code: 'workflow_already_submitted' });
      await expect(submit('1', 'other')).rejects.toMatchObject({ status: 409, code: 'workflow_already_submitted' });
      await expect(submit('2', 'attempt-1')).rejects.toMatchObject({ status: 409, code: 'workflow_already_submitted' });
    });

    it('refuses a workflow key or Idempotency-Key whose meta expired while its journal lives on (409), and writes nothing', async () => {
      const stamped = workflow({ name: 'stamped', handlers: { run: async (ctx: Context) => ctx.run('stamp', () => 'first run') } });
      const charge = service({ name: 'charge', handlers: { once: async (ctx: Context) => ctx.run('charge', () => 'charged') } });
      const rt = new MemoryRuntime([...defs, stamped, charge]);
      const run = await rt.start('stamped', 'run', '', 'k');
      const paid = await rt.start('charge', 'once', '', undefined, 'pay-1');
      await rt.settle();
      expect([await rt.output(run), await rt.output(paid)]).toEqual(['first run', 'charged']);
      // Their retention is over: DynamoDB's TTL deletes the meta items, not the journals (365 days).
      rt.store.expire(invocationPk(run), META);
      rt.store.expire(invocationPk(paid), META);
      const before = rt.store.items();

      const again = startInvocation(rt.ingress, { service: 'stamped', handler: 'run', key: 'k', body: '' });
      const retried = startInvocation(rt.ingress, { service: 'charge', handler: 'once', body: '', idempotencyKey: 'pay-1' });

      await expect(again).rejects.toMatchObject({
        status: 409,
        code: 'key_reused_after_expiry',
        details: { invocationId: run },
        message: expect.stringMatching(/workflow stamped 'k' .*Use a new key/),
      });
      await expect(retried).rejects.toMatchObject({
        status: 409,
        code: 'key_reused_after_expiry',
        message: expect.stringMatching(/Idempotency-Key 'pay-1'/),
      });
      expect(rt.store.items()).toEqual(before);
      // A workflow that journaled nothing left nothing to replay: its key is free again.
      const flowRun = await rt.start('flow', 'run', '', 'free');
      await rt.settle();
      rt.store.expire(invocationPk(flowRun), META);
      await expect(startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'free', body: '' })).resolves.toMatchObject({
        invocationId: flowRun,
        created: true,
      });
    });

    it("refuses ifExists on anything but a workflow's run, and values other than fail and attach (400)", async () => {
      const rt = new MemoryRuntime(defs);
      await expect(
        startInvocation(rt.ingress, { service: 'flow', handler: 'run', key: 'k', body: '', ifExists: 'never' as 'fail' }),
      ).rejects.toMatchObject({ status: 400, code: 'invalid_if_exists' });
      await expect(
        startInvocation(rt.ingress, { service: 'ledger', handler: 'add', key: 'k', body: '', ifExists: 'fail' }),
      ).rejects.toMatchObject({ status: 400, code: 'if_exists_needs_workflow_run' });
      expect(rt.store.items()).toEqual([]);
    });

    it('status and output refuse malformed (400) and unknown (404) invocation ids', async () => {
      const rt = new MemoryRuntime(defs);
      await expect(rt.status('bogus')).rejects.toMatchObject({ status: 400 });
      await expect(rt.status(newInvocationId())).rejects.toMatchObject({ status: 404 });
    });
  });
});
