import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { object, service, workflow, type Context } from 'dormant-lambda';
import { IdSigner, isInvocationId, newInvocationId, workflowInvocationId } from 'dormant-lambda/internal';
import { MemoryRuntime } from 'dormant-lambda/testing';

const signer = new IdSigner('a-signing-key-of-at-least-16-bytes');

describe('IdSigner', () => {
  it('round-trips the invocation and entry an awakeable id names (rule 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (index) => {
        const inv = newInvocationId();
        const id = signer.awakeableId(inv, index);
        expect(signer.verifyAwakeableId(id)).toEqual({ ok: true, target: { invocationId: inv, index } });
      }),
    );
  });

  it('mints ids with 128 random bits of their own: two ids for the same entry differ', () => {
    const inv = newInvocationId();
    expect(signer.awakeableId(inv, 1)).not.toBe(signer.awakeableId(inv, 1));
  });

  it('refuses any altered character as forged or malformed (rule 8)', () => {
    const id = signer.awakeableId(newInvocationId(), 7);
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: id.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
        (pos, ch) => {
          fc.pre(id[pos] !== ch);
          const altered = id.slice(0, pos) + ch + id.slice(pos + 1);
          expect(signer.verifyAwakeableId(altered).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses truncated, padded, foreign-key and non-id strings', () => {
    const id = signer.awakeableId(newInvocationId(), 3);
    expect(signer.verifyAwakeableId(id.slice(0, -1))).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId(id + 'A')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('sign_1abc')).toEqual({ ok: false, problem: 'malformed' });
    expect(signer.verifyAwakeableId('awk_!!!')).toEqual({ ok: false, problem: 'malformed' });
    expect(new IdSigner('another-key-entirely-0123').verifyAwakeableId(id)).toEqual({ ok: false, problem: 'forged' });
  });

  it('refuses short signing keys with a message naming the fix', () => {
    expect(() => new IdSigner('short')).toThrow(/at least 16 bytes.*DORMANT_SIGNING_KEY/);
  });
});

describe('invocation ids', () => {
  it('are random, well-formed, and derived for workflow runs', () => {
    const a = newInvocationId();
    expect(isInvocationId(a)).toBe(true);
    expect(a).not.toBe(newInvocationId());
    expect(workflowInvocationId('wf', 'k')).toBe(workflowInvocationId('wf', 'k'));
    expect(workflowInvocationId('wf', 'k')).not.toBe(workflowInvocationId('wf', 'k2'));
    expect(isInvocationId('inv_short')).toBe(false);
  });
});

/**
 * Derived invocation ids are stored (a workflow's `run`, an Idempotency-Key's
 * invocation, a callee's id in its caller's journal): a release that derived
 * them differently would start a second run, or orphan a caller's result
 * (DESIGN rule 13). Each derivation is pinned to the value the first release
 * computed, through the paths that use it.
 */
describe('derived invocation ids stay the same across releases (rule 13)', () => {
  const echo = service({ name: 'echo', handlers: { echo: async (_ctx: Context, n: number) => n } });
  const review = workflow({ name: 'review', handlers: { run: async () => 'reviewed' } });
  const cart = object({ name: 'cart', handlers: { add: async () => 'added' } });
  const caller = service({
    name: 'caller',
    handlers: {
      fanOut: async (ctx: Context) => {
        ctx.serviceSendClient(echo).echo(1);
        const two = ctx.serviceClient(echo).echo(2);
        ctx.workflowSendClient(review, 'doc-7').run();
        return two;
      },
    },
  });

  it("of a workflow's run, from (workflow, key)", async () => {
    const rt = new MemoryRuntime([review]);
    expect(workflowInvocationId('review', 'doc-7')).toBe('inv_KVzhtwVJ3M3dzuypBQmi2w');
    expect(workflowInvocationId('signup', 'ada@example.com')).toBe('inv_PUcqfUW9TVDFsD1QzLQXsQ');
    expect(await rt.start('review', 'run', '', 'doc-7')).toBe('inv_KVzhtwVJ3M3dzuypBQmi2w');
  });

  it('of a start with an Idempotency-Key, from (service, handler, key, idempotency key)', async () => {
    const rt = new MemoryRuntime([caller, echo, review, cart]);
    expect(await rt.start('caller', 'fanOut', '', undefined, 'order-42')).toBe('inv_Cx2fDfks2vwdjRK-GgpfXQ');
    expect(await rt.start('cart', 'add', '', 'ada', 'k-1')).toBe('inv_x3bXnUoZ5YlVS7h1nucAsQ');
  });

  it("of a callee, from (caller, entry); a workflow's run keeps its own", async () => {
    // Prepare: a caller whose own id is pinned above
    const rt = new MemoryRuntime([caller, echo, review]);
    const id = await rt.start('caller', 'fanOut', '', undefined, 'order-42');

    // Act
    await rt.settle();

    // Assess: the callee ids its journal holds
    expect(await rt.output(id)).toBe(2);
    expect((await rt.journal(id)).map((e) => [e.kind, e.value])).toEqual([
      ['send', 'inv_eXYrJiBPBgi0agEvRfaGRA'],
      ['call', 'inv_9nbARM1jMAN7qxBta-J8Hw'],
      ['send', 'inv_KVzhtwVJ3M3dzuypBQmi2w'],
    ]);
    expect(await rt.output('inv_KVzhtwVJ3M3dzuypBQmi2w')).toBe('reviewed');
  });
});
