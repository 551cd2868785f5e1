/**
 * Rule 2 (one outcome per completion), rule 4 (two resolves at once cause no
 * second outcome) and rule 8 (ids are capabilities), through the ingress core
 * on a real table: both completion writes are held at a gate and released
 * together, so they race inside the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service, TerminalError, type Context } from '../../src/index.ts';
import {
  IdSigner,
  IngressError,
  catalogOf,
  registry,
  rejectAwakeable,
  resolveAwakeable,
  runAttempt,
  startInvocation,
  type IngressDeps,
} from '../../src/internal.ts';
import { completionKey } from '../../src/store/keys.ts';
import type { Store } from '../../src/store/store.ts';
import { BACKENDS, Gates, SIGNER, Waker, invokes, useBackend, type Backend } from './support.ts';
import { TestClock } from '../../src/testing/index.ts';

const approval = service({
  name: 'approval',
  handlers: {
    request: async (ctx: Context) => {
      const { promise } = ctx.awakeable<string>();
      try {
        return `resolved: ${await promise}`;
      } catch (e) {
        if (e instanceof TerminalError) return `rejected: ${e.message}`;
        throw e;
      }
    },
  },
});

describe.each(BACKENDS)('rule 2 on $label: completions race', ({ open }) => {
  const rt = useBackend(open, [approval]);

  /** A suspended invocation awaiting its awakeable; returns both ids. */
  async function suspendedOnAwakeable(): Promise<{ id: string; awakeableId: string }> {
    const { invocationId: id } = await startInvocation(rt.ingress, { service: 'approval', handler: 'request', body: '' });
    await expect(runAttempt(rt.deps, { invocationId: id, epoch: 0 })).resolves.toMatchObject({ kind: 'suspended' });
    const awakeableId = (await rt.backend.store.getInvocation(id))?.awakeables?.[completionKey(0)];
    expect(awakeableId).toMatch(/^awk_/);
    return { id, awakeableId: awakeableId! };
  }

  /** Runs two completions with both writes held until both arrived, then let through together. */
  async function together(
    first: (d: IngressDeps) => Promise<unknown>,
    second: (d: IngressDeps) => Promise<unknown>,
  ): Promise<PromiseSettledResult<unknown>[]> {
    const gates = new Gates<Store>(rt.backend.store);
    const a = gates.hold('complete');
    const b = gates.hold('complete');
    const gated = { ...rt.ingress, store: gates.store };
    const results = Promise.allSettled([first(gated), second(gated)]);
    await Promise.all([a.reached, b.reached]);
    a.open();
    b.open();
    return results;
  }

  /** Wakes the invocation from its stream records and runs every invoke, one after another; returns its output. */
  async function resume(id: string): Promise<unknown> {
    const wakeUps = invokes(await new Waker(rt.backend).drain(id, (c) => c.some((x) => x.sk === completionKey(0))));
    const outcomes = [];
    for (const w of wakeUps) outcomes.push(await runAttempt(rt.deps, w));
    const completed = outcomes.filter((o) => o.kind === 'completed');
    expect(completed).toHaveLength(1);
    return completed[0]!.kind === 'completed' && JSON.parse(completed[0]!.output);
  }

  it('rule 2 and 4: two resolves at once: one is accepted, the other gets 409 naming the outcome and when, never the value', async () => {
    // Prepare
    const { id, awakeableId } = await suspendedOnAwakeable();

    // Act
    const results = await together(
      (d) => resolveAwakeable(d, awakeableId, '"alpha"'),
      (d) => resolveAwakeable(d, awakeableId, '"beta"'),
    );

    // Assess
    const won = results.findIndex((r) => r.status === 'fulfilled');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = won === 0 ? 'alpha' : 'beta';
    const lost = results[1 - won] as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(IngressError);
    expect(lost.reason).toMatchObject({ status: 409, code: 'already_completed' });
    expect((lost.reason as IngressError).details).toEqual({ outcome: 'resolved', completedAt: expect.stringMatching(/^\d{4}-/) });
    expect(JSON.stringify({ ...(lost.reason as IngressError), message: (lost.reason as IngressError).message })).not.toContain(winner);
    await expect(resume(id)).resolves.toBe(`resolved: ${winner}`);
  });

  it('rule 2 and 4: the same resolve delivered twice at once: both answered as accepted, one completion', async () => {
    // Prepare
    const { id, awakeableId } = await suspendedOnAwakeable();

    // Act
    const results = await together(
      (d) => resolveAwakeable(d, awakeableId, '"same"'),
      (d) => resolveAwakeable(d, awakeableId, '"same"'),
    );

    // Assess
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason)).sort()).toEqual(['completed', 'redelivered']);
    await expect(resume(id)).resolves.toBe('resolved: same');
  });

  it('rule 2: resolve vs reject at once: the first write decides the outcome; the other learns which it was', async () => {
    // Prepare
    const { id, awakeableId } = await suspendedOnAwakeable();

    // Act
    const results = await together(
      (d) => resolveAwakeable(d, awakeableId, '"yes"'),
      (d) => rejectAwakeable(d, awakeableId, 'declined'),
    );

    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const resolveWon = results[0]!.status === 'fulfilled';
    const lost = results[resolveWon ? 1 : 0] as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ status: 409, details: { outcome: resolveWon ? 'resolved' : 'rejected' } });
    await expect(resume(id)).resolves.toBe(resolveWon ? 'resolved: yes' : 'rejected: declined');
  });

  it('rule 2: a resolve after the invocation resumed gets a definite answer, never a silent drop', async () => {
    const { id, awakeableId } = await suspendedOnAwakeable();
    await resolveAwakeable(rt.ingress, awakeableId, '"first"');
    await resume(id);

    const late = resolveAwakeable(rt.ingress, awakeableId, '"late"');

    // It lost to the resolve that woke the invocation: 409 saying so, even after the finish; the same resolve again is a redelivery.
    await expect(late).rejects.toMatchObject({ status: 409, code: 'already_completed', details: { outcome: 'resolved' } });
    await expect(resolveAwakeable(rt.ingress, awakeableId, '"first"')).resolves.toBe('redelivered');
    await expect(rejectAwakeable(rt.ingress, awakeableId, 'first')).rejects.toMatchObject({ status: 409 });
  });
});

describe('rule 8 on DynamoDB Local: ids are capabilities', () => {
  let backend: Backend;
  let ingress: IngressDeps;
  let calls: string[];

  beforeAll(async () => {
    backend = await BACKENDS[0]!.open();
    calls = [];
    // Counts every store call the ingress makes.
    const counted = new Proxy(backend.store, {
      get: (target, property) => {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(property));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    ingress = { store: counted, signer: SIGNER, clock: new TestClock(Date.now()), catalog: catalogOf(registry([approval])) };
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('rule 8: a forged or altered awakeable id is refused with no table access at all', async () => {
    // Prepare: a real invocation, an id signed with another key, and a real id with one nonce character changed.
    const { invocationId } = await startInvocation(
      { ...ingress, store: backend.store },
      { service: 'approval', handler: 'request', body: '' },
    );
    const forged = new IdSigner('an-attackers-own-signing-key-000').awakeableId(invocationId, 0);
    const genuine = SIGNER.awakeableId(invocationId, 0);
    const at = 4 + 30; // inside the ciphertext
    const altered = genuine.slice(0, at) + (genuine[at] === 'A' ? 'B' : 'A') + genuine.slice(at + 1);
    backend.ledger!.take();

    // Act + Assess
    await expect(resolveAwakeable(ingress, forged, '"x"')).rejects.toMatchObject({ status: 403, code: 'forged_awakeable_id' });
    await expect(rejectAwakeable(ingress, altered, 'x')).rejects.toMatchObject({ status: 403, code: 'forged_awakeable_id' });
    await expect(resolveAwakeable(ingress, 'awk_short', '"x"')).rejects.toMatchObject({ status: 400, code: 'malformed_awakeable_id' });
    expect(calls).toEqual([]);
    expect(backend.ledger!.take()).toEqual([]);
    await expect(backend.store.getCompletion(invocationId, completionKey(0))).resolves.toBeUndefined();
  });

  it('rule 8: ids carry at least 128 random bits: the same entry never gets the same id twice', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => SIGNER.awakeableId('inv_AAAAAAAAAAAAAAAAAAAAAA', 3)));

    expect(ids.size).toBe(1000);
    const raw = Buffer.from([...ids][0]!.slice(4), 'base64url');
    // version(1) | key id(4) | nonce(12) | AES-256-GCM of invocation(16) index(4) random(8) | tag(16)
    expect(raw.length).toBe(1 + 4 + 12 + 28 + 16);
    const nonces = new Set([...ids].map((id) => Buffer.from(id.slice(4), 'base64url').subarray(5, 17).toString('hex')));
    expect(nonces.size).toBe(1000);
    // Rule 10: the invocation id is not in it, in any alignment.
    const invocation = Buffer.from('AAAAAAAAAAAAAAAAAAAAAA', 'base64url');
    for (const id of ids) expect(Buffer.from(id.slice(4), 'base64url').includes(invocation.subarray(0, 8))).toBe(false);
  });
});
