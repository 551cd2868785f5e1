/**
 * The store contract: one suite, run against every `Store` (the in-memory
 * store and the DynamoDB store on DynamoDB Local), so the two cannot drift.
 * Each test uses fresh invocation ids, so one store serves the whole suite.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInvocationId } from '../../src/engine/ids.ts';
import { LOCK, META, completionKey, listPosition, invocationPk, journalSk, promiseKey, stateScope, stateSk } from '../../src/store/keys.ts';
import { inputSha256, metaToItem, sameInput } from '../../src/store/items.ts';
import { PayloadTooLargeError } from '../../src/store/limits.ts';
import type { Completion, InvocationMeta, ItemChange, JournalEntry, Store } from '../../src/store/store.ts';
import { withoutTtl } from './harness.ts';
import { eventPartition, type StoredEvent } from '../../src/store/events.ts';

/**
 * A store under test, with its change feed.
 *
 * @example
 * ```ts
 * storeContract('MemoryStore', async () => ({ store, changes, propertyRuns: 100, close: async () => {} }));
 * ```
 */
export interface ContractSubject {
  store: Store;
  /** Changes of partition `pk` so far, in order, once `done` holds for them (the stream may lag). */
  changes(pk: string, done?: (changes: ItemChange[]) => boolean): Promise<ItemChange[]>;
  /** Deletes one item, as DynamoDB's TTL would. */
  remove(pk: string, sk: string): Promise<void>;
  /** fast-check runs per property. */
  propertyRuns: number;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const LEASE = 60_000;

/** A pending invocation's meta. */
export function pendingMeta(overrides: Partial<InvocationMeta> = {}): InvocationMeta {
  return {
    id: newInvocationId(),
    service: 'svc',
    handler: 'run',
    kind: 'service',
    status: 'pending',
    epoch: 0,
    input: '{"n":1}',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function strip<T extends object | undefined>(value: T): T {
  return withoutTtl(value as Record<string, unknown> | undefined) as T;
}

/**
 * Registers the contract suite for a store.
 *
 * @example
 * ```ts
 * storeContract('DynamoDbStore', openDynamoDbSubject);
 * ```
 */
export function storeContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`${name} honours the store contract`, () => {
    let subject: ContractSubject;
    let store: Store;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject?.close();
    });

    /** Creates a pending invocation and acquires it (epoch 1). */
    async function running(overrides: Partial<InvocationMeta> = {}): Promise<InvocationMeta> {
      const meta = pendingMeta(overrides);
      await store.createInvocation(meta);
      const acquired = await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE });
      expect(acquired).toBeDefined();
      return acquired!;
    }

    describe('createInvocation', () => {
      it('inserts a pending invocation that getInvocation reads back exactly', async () => {
        const meta = pendingMeta({ kind: 'object', key: 'alice', idempotencyKey: 'k1' });

        await expect(store.createInvocation(meta)).resolves.toEqual({ created: true });

        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);
      });

      it('is idempotent: a second create returns the first invocation and changes nothing', async () => {
        const meta = pendingMeta();
        await store.createInvocation(meta);

        const again = await store.createInvocation({ ...meta, input: '"other"', createdAt: T0 + 5 });

        expect(again).toEqual({ created: false, existing: meta });
        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);
      });

      it('getInvocation of an unknown id is undefined', async () => {
        await expect(store.getInvocation(newInvocationId())).resolves.toBeUndefined();
      });

      it('refuses meta over 400 KB with PayloadTooLargeError and writes nothing', async () => {
        const meta = pendingMeta({ input: 'x'.repeat(401 * 1024) });

        await expect(store.createInvocation(meta)).rejects.toThrow(PayloadTooLargeError);

        await expect(store.getInvocation(meta.id)).resolves.toBeUndefined();
      });

      it('keeps an input over 1 KiB in an item of its own: meta carries its digest, load returns it, a second create meets the first', async () => {
        // Prepare
        const input = JSON.stringify('i'.repeat(100 * 1024));
        const meta = pendingMeta({ input });

        // Act
        await expect(store.createInvocation(meta)).resolves.toEqual({ created: true });
        const again = await store.createInvocation({ ...meta, input: '"another body"' });

        // Assess
        const stored = await store.getInvocation(meta.id);
        expect(stored?.input).toBeUndefined();
        expect(stored?.inputSha256).toBe(inputSha256(input));
        expect((await store.load(meta.id)).input).toBe(input);
        expect(again).toMatchObject({ created: false, existing: { inputSha256: inputSha256(input) } });
        expect((await store.load(meta.id)).input).toBe(input);
        expect(sameInput(stored!, input)).toBe(true);
        expect(sameInput(stored!, '"another body"')).toBe(false);
        // A small input stays on meta, as before.
        const small = pendingMeta({ input: '"small"' });
        await store.createInvocation(small);
        expect((await store.getInvocation(small.id))?.input).toBe('"small"');
        expect((await store.load(small.id)).input).toBeUndefined();
      });
    });

    describe('acquire', () => {
      it('takes a pending invocation at the seen epoch: running, epoch + 1, a lease', async () => {
        const meta = pendingMeta();
        await store.createInvocation(meta);

        const acquired = await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 10, leaseMs: LEASE });

        const expected = { ...meta, status: 'running', epoch: 1, lease: T0 + 10 + LEASE, updatedAt: T0 + 10 };
        expect(acquired).toEqual(expected);
        await expect(store.getInvocation(meta.id)).resolves.toEqual(expected);
      });

      it('takes a suspended invocation at the seen epoch and clears what it awaited', async () => {
        const meta = await running();
        await store.suspend(meta.id, {
          epoch: 1,
          now: T0 + 2,
          awaiting: ['C#00000001', 'C#00000002'],
          timers: [{ key: 'C#00000001', at: T0 + 99 }],
          awakeables: { 'C#00000001': 'awk_x' },
          callees: { 'C#00000002': 'inv_callee' },
        });

        const acquired = await store.acquire(meta.id, { seenEpoch: 1, now: T0 + 3, leaseMs: LEASE });

        expect(acquired).toEqual({ ...meta, status: 'running', epoch: 2, lease: T0 + 3 + LEASE, updatedAt: T0 + 3 });
        expect(acquired?.awaiting).toBeUndefined();
        expect(acquired?.callees).toBeUndefined();
        await expect(store.getInvocation(meta.id)).resolves.toEqual(acquired);
      });

      it('rule 4: refuses a stale epoch (a duplicate invoke) and changes nothing', async () => {
        const meta = await running();
        await store.suspend(meta.id, { epoch: 1, now: T0 + 2, awaiting: ['C#00000001'], timers: [] });
        const before = await store.getInvocation(meta.id);

        await expect(store.acquire(meta.id, { seenEpoch: 0, now: T0 + 3, leaseMs: LEASE })).resolves.toBeUndefined();

        await expect(store.getInvocation(meta.id)).resolves.toEqual(before);
      });

      it('refuses a running invocation whose lease is live, even at its epoch', async () => {
        const meta = await running();

        await expect(store.acquire(meta.id, { seenEpoch: 1, now: meta.lease! - 1, leaseMs: LEASE })).resolves.toBeUndefined();
        await expect(store.acquire(meta.id, { seenEpoch: 0, now: meta.lease! - 1, leaseMs: LEASE })).resolves.toBeUndefined();

        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);
      });

      it('takes over a running invocation whose lease expired, whatever epoch was seen', async () => {
        const meta = await running();

        const taken = await store.acquire(meta.id, { seenEpoch: 7, now: meta.lease! + 1, leaseMs: LEASE });

        expect(taken).toEqual({ ...meta, epoch: 2, lease: meta.lease! + 1 + LEASE, updatedAt: meta.lease! + 1 });
      });

      it('records the invoke id of the attempt holding the lease; a takeover without one clears it', async () => {
        const meta = pendingMeta();
        await store.createInvocation(meta);

        const first = await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE, invokeId: 'inv-A' });
        expect(first?.invokeId).toBe('inv-A');
        await expect(store.getInvocation(meta.id)).resolves.toMatchObject({ invokeId: 'inv-A', epoch: 1 });
        const second = await store.acquire(meta.id, { seenEpoch: 1, now: first!.lease! + 1, leaseMs: LEASE, invokeId: 'inv-B' });
        expect(second?.invokeId).toBe('inv-B');
        const third = await store.acquire(meta.id, { seenEpoch: 2, now: second!.lease! + 1, leaseMs: LEASE });
        expect(third?.invokeId).toBeUndefined();
        expect((await store.getInvocation(meta.id))?.invokeId).toBeUndefined();
      });

      it('refuses finished and unknown invocations without creating anything', async () => {
        const meta = await running();
        await store.finish(meta.id, { epoch: 1, now: T0 + 2, output: '1', ttl: 123 });
        const unknown = newInvocationId();

        await expect(store.acquire(meta.id, { seenEpoch: 1, now: T0 + 3, leaseMs: LEASE })).resolves.toBeUndefined();
        await expect(store.acquire(unknown, { seenEpoch: 0, now: T0 + 3, leaseMs: LEASE })).resolves.toBeUndefined();

        await expect(store.getInvocation(unknown)).resolves.toBeUndefined();
      });
    });

    describe('renewJournal', () => {
      it('puts a removed first entry back, leaves other removed items removed, and returns how many items it wrote', async () => {
        // Prepare: a suspended invocation with three entries and a completion; TTL removed the first entry and the completion
        const meta = await running();
        const entries = [0, 1, 2].map((index) => ({
          index,
          kind: 'run' as const,
          name: `step-${index}`,
          value: String(index),
          writtenAt: T0 + 1,
        }));
        for (const entry of entries) expect(await store.append(meta.id, entry)).toBe(true);
        await store.complete(meta.id, { key: 'C#00000009', value: '"x"', at: T0 + 2 });
        await subject.remove(invocationPk(meta.id), journalSk(0));
        await subject.remove(invocationPk(meta.id), 'C#00000009');

        // Act
        const written = await store.renewJournal(meta.id, { head: entries[0]!, now: T0 + 10 * 86_400_000 });
        const again = await store.renewJournal(meta.id, { head: entries[0]!, now: T0 + 10 * 86_400_000 });

        // Assess: the head and the two other entries (raised); nothing more the second time; meta untouched
        expect(written).toBe(3);
        expect(again).toBe(0);
        const loaded = await store.load(meta.id);
        expect([...loaded.journal.values()].sort((a, b) => a.index - b.index)).toEqual(entries);
        expect(loaded.completions.has('C#00000009')).toBe(false);
        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);
      });

      it('with the first entry still there, writes nothing to it', async () => {
        const meta = await running();
        const head = { index: 0, kind: 'now' as const, value: '1', writtenAt: T0 + 1 };
        await store.append(meta.id, head);

        await expect(store.renewJournal(meta.id, { head: { ...head, value: '2' }, now: T0 + 3 })).resolves.toBe(0);

        expect((await store.load(meta.id)).journal.get(0)).toEqual(head);
      });
    });

    describe('version pins (rule 12)', () => {
      it('the first acquire naming a version pins it; later acquires never overwrite it; another version is refused', async () => {
        // Prepare
        const meta = pendingMeta();
        await store.createInvocation(meta);

        // Act
        const first = await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE, version: '3' });
        await store.suspend(meta.id, { epoch: 1, now: T0 + 2, awaiting: ['C#00000000'], timers: [] });
        const elsewhere = await store.acquire(meta.id, { seenEpoch: 1, now: T0 + 3, leaseMs: LEASE, version: '4' });
        const unversioned = await store.acquire(meta.id, { seenEpoch: 1, now: T0 + 3, leaseMs: LEASE });

        // Assess
        expect(first?.version).toBe('3');
        expect(elsewhere).toBeUndefined();
        expect(unversioned).toMatchObject({ epoch: 2, version: '3' });
        await store.suspend(meta.id, { epoch: 2, now: T0 + 4, awaiting: ['C#00000000'], timers: [] });
        expect(await store.acquire(meta.id, { seenEpoch: 2, now: T0 + 5, leaseMs: LEASE, version: '3' })).toMatchObject({
          epoch: 3,
          version: '3',
        });
      });

      it('meta written before pinning (no version) is acquired, and pinned by the first versioned acquire', async () => {
        const meta = pendingMeta();
        await store.createInvocation(meta);
        expect(await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE })).not.toHaveProperty('version');
        await store.suspend(meta.id, { epoch: 1, now: T0 + 2, awaiting: ['C#00000000'], timers: [] });

        expect((await store.acquire(meta.id, { seenEpoch: 1, now: T0 + 3, leaseMs: LEASE, version: '9' }))?.version).toBe('9');
      });

      it('unpin moves a suspended, pinned invocation off its version; anything else is answered and unchanged', async () => {
        // Prepare: one suspended on version 3, one running, one unknown
        const meta = pendingMeta();
        await store.createInvocation(meta);
        await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE, version: '3' });
        const live = await running();
        await store.suspend(meta.id, { epoch: 1, now: T0 + 2, awaiting: ['C#00000000'], timers: [] });

        // Act
        const busy = await store.unpin(live.id, { now: T0 + 3 });
        const moved = await store.unpin(meta.id, { now: T0 + 3 });
        const again = await store.unpin(meta.id, { now: T0 + 4 });
        const unknown = await store.unpin(newInvocationId(), { now: T0 + 4 });

        // Assess
        expect(busy).toEqual({ kind: 'not-suspended', status: 'running' });
        expect(await store.getInvocation(live.id)).toEqual(live);
        expect(moved).toEqual({ kind: 'upgraded', from: '3' });
        expect(again).toEqual({ kind: 'unpinned' });
        expect(unknown).toEqual({ kind: 'unknown' });
        const after = await store.getInvocation(meta.id);
        expect(after).toMatchObject({ status: 'suspended', epoch: 1, upgradedFrom: '3', updatedAt: T0 + 3 });
        expect(after).not.toHaveProperty('version');
        // Its next attempt, on the new version, pins that one.
        expect(await store.acquire(meta.id, { seenEpoch: 1, now: T0 + 5, leaseMs: LEASE, version: '4' })).toMatchObject({
          version: '4',
          upgradedFrom: '3',
        });
      });
    });

    describe('hasJournal', () => {
      it('is false for an unknown id and for meta, completions and promises alone; true once an entry is journaled', async () => {
        await expect(store.hasJournal(newInvocationId())).resolves.toBe(false);
        const meta = await running({ kind: 'workflow', key: 'doc' });
        await store.complete(meta.id, { key: promiseKey('review'), value: '"early"', at: T0 + 2 });
        await store.complete(meta.id, { key: completionKey(7), value: '1', at: T0 + 2 });
        await expect(store.hasJournal(meta.id)).resolves.toBe(false);

        await store.append(meta.id, { index: 0, kind: 'run', name: 'first' });

        await expect(store.hasJournal(meta.id)).resolves.toBe(true);
      });
    });

    describe('load', () => {
      it('returns the journal (with gaps) and every completion and promise in one call, nothing else', async () => {
        const meta = await running({ kind: 'workflow', key: 'doc' });
        const entries: JournalEntry[] = [
          { index: 0, kind: 'run', name: 'charge', value: '{"ok":true}' },
          { index: 1, kind: 'awakeable', id: 'awk_1' },
          { index: 3, kind: 'combinator', name: 'all', settled: [1, 0] },
          { index: 4, kind: 'run', name: 'fails', failure: { name: 'TerminalError', message: 'no', code: 400 } },
        ];
        for (const e of entries) await store.append(meta.id, e);
        const completions: Completion[] = [
          { key: completionKey(1), value: '"approved"', at: T0 + 5 },
          { key: 'C#r00000001', at: T0 + 6 },
          { key: promiseKey('review'), failure: { name: 'TerminalError', message: 'declined', code: 500 }, at: T0 + 7 },
        ];
        for (const c of completions) await store.complete(meta.id, c);
        await store.writeState(stateScope('svc', 'doc'), 'x', '1', 'f1');

        const loaded = await store.load(meta.id);

        expect([...loaded.journal.entries()]).toEqual(entries.map((e) => [e.index, e]));
        expect(loaded.journal.has(2)).toBe(false);
        expect(new Map([...loaded.completions].map(([k, c]) => [k, strip(c)]))).toEqual(new Map(completions.map((c) => [c.key, c])));
      });

      it('returns empty maps for an unknown invocation', async () => {
        const loaded = await store.load(newInvocationId());

        expect(loaded.journal.size).toBe(0);
        expect(loaded.completions.size).toBe(0);
      });

      it('returns a journal larger than one 1 MB Query page whole', async () => {
        const meta = await running();
        const big = 'y'.repeat(100 * 1024);
        for (let i = 0; i < 12; i++) await store.append(meta.id, { index: i, kind: 'run', name: `s${i}`, value: `"${big}"` });

        const loaded = await store.load(meta.id);

        expect([...loaded.journal.keys()]).toEqual([...Array(12).keys()]);
        expect(loaded.journal.get(11)?.value).toHaveLength(big.length + 2);
      });
    });

    describe('append', () => {
      it('writes entry i once: the first writer wins, the second learns it lost', async () => {
        const meta = await running();
        const first: JournalEntry = { index: 0, kind: 'run', name: 'a', value: '1' };

        await expect(store.append(meta.id, first)).resolves.toBe(true);
        await expect(store.append(meta.id, { index: 0, kind: 'run', name: 'a', value: '2' })).resolves.toBe(false);

        expect((await store.load(meta.id)).journal.get(0)).toEqual(first);
      });

      it('refuses an entry over 400 KB with PayloadTooLargeError naming the entry, and writes nothing', async () => {
        const meta = await running();

        const write = store.append(meta.id, { index: 0, kind: 'run', name: 'huge', value: 'z'.repeat(400 * 1024) });

        await expect(write).rejects.toThrow(PayloadTooLargeError);
        await expect(write).rejects.toThrow(/journal entry 0 \(run 'huge'\).*409600-byte item limit/);
        expect((await store.load(meta.id)).journal.size).toBe(0);
      });

      it('property: with two writers racing in any order, every index is written once, by its first writer', async () => {
        const op = fc.record({ writer: fc.constantFrom('A', 'B'), index: fc.nat({ max: 4 }), together: fc.boolean() });
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 10 }), async (ops) => {
            const id = newInvocationId();
            // Consecutive ops marked `together` are sent at once; the rest one after another.
            const rounds: (typeof ops)[] = [];
            for (const o of ops) {
              const last = rounds.at(-1);
              if (o.together && last && last.length < 2) last.push(o);
              else rounds.push([o]);
            }
            const results: { writer: string; index: number; value: string; won: boolean; round: number }[] = [];
            for (const [round, batch] of rounds.entries()) {
              const outcomes = await Promise.all(
                batch.map(async (o, k) => {
                  const value = `"${o.writer}${round}.${k}"`;
                  return { ...o, value, round, won: await store.append(id, { index: o.index, kind: 'run', name: 'step', value }) };
                }),
              );
              results.push(...outcomes);
            }
            const journal = (await store.load(id)).journal;
            for (const index of new Set(ops.map((o) => o.index))) {
              const attempts = results.filter((r) => r.index === index);
              const winners = attempts.filter((r) => r.won);
              expect(winners).toHaveLength(1);
              expect(journal.get(index)?.value).toBe(winners[0]!.value);
              // Nobody wins after the round in which the index was first written.
              expect(winners[0]!.round).toBe(attempts[0]!.round);
            }
            expect(journal.size).toBe(new Set(ops.map((o) => o.index)).size);
          }),
          { numRuns: subject.propertyRuns },
        );
      });
    });

    describe('suspend, release and finish are fenced by epoch and status', () => {
      it('suspend records what is awaited (timers, awakeables, callees) and drops the lease', async () => {
        const meta = await running();

        await expect(
          store.suspend(meta.id, {
            epoch: 1,
            now: T0 + 5,
            awaiting: ['C#00000001', 'C#00000002', 'C#00000003'],
            timers: [{ key: 'C#00000002', at: T0 + 1000 }],
            awakeables: { 'C#00000001': 'awk_a' },
            callees: { 'C#00000003': 'inv_callee' },
          }),
        ).resolves.toBe(true);

        const { lease: _lease, ...rest } = meta;
        await expect(store.getInvocation(meta.id)).resolves.toEqual({
          ...rest,
          status: 'suspended',
          awaiting: ['C#00000001', 'C#00000002', 'C#00000003'],
          timers: [{ key: 'C#00000002', at: T0 + 1000 }],
          awakeables: { 'C#00000001': 'awk_a' },
          callees: { 'C#00000003': 'inv_callee' },
          updatedAt: T0 + 5,
        });
      });

      it('suspend for a retry keeps the retry count and failure; empty timers, awakeables and callees are left out', async () => {
        const meta = await running();
        const lastFailure = { name: 'Error', message: 'flaky', code: 500 };

        await store.suspend(meta.id, {
          epoch: 1,
          now: T0 + 5,
          awaiting: ['C#r00000001'],
          timers: [],
          awakeables: {},
          callees: {},
          retries: 1,
          lastFailure,
        });

        const stored = await store.getInvocation(meta.id);
        expect(stored).toMatchObject({ status: 'suspended', awaiting: ['C#r00000001'], retries: 1, lastFailure });
        expect(stored).not.toHaveProperty('timers');
        expect(stored).not.toHaveProperty('awakeables');
        expect(stored).not.toHaveProperty('callees');
        expect(stored).not.toHaveProperty('lease');
      });

      it('release hands a running invocation back as pending', async () => {
        const meta = await running();

        await expect(store.release(meta.id, { epoch: 1, now: T0 + 5 })).resolves.toBe(true);

        const { lease: _lease, ...rest } = meta;
        await expect(store.getInvocation(meta.id)).resolves.toEqual({ ...rest, status: 'pending', updatedAt: T0 + 5 });
      });

      it('finish records the output or the failure, and the expiry', async () => {
        const ok = await running();
        const bad = await running();
        const failure = { name: 'TerminalError', message: 'declined', code: 409 };

        await expect(store.finish(ok.id, { epoch: 1, now: T0 + 5, output: '"done"', ttl: 1_800_000_000 })).resolves.toBe(true);
        await expect(store.finish(bad.id, { epoch: 1, now: T0 + 5, failure, ttl: 1_800_000_001 })).resolves.toBe(true);

        const { lease: _a, ...okRest } = ok;
        const { lease: _b, ...badRest } = bad;
        await expect(store.getInvocation(ok.id)).resolves.toEqual({
          ...okRest,
          status: 'completed',
          output: '"done"',
          updatedAt: T0 + 5,
          ttl: 1_800_000_000,
        });
        await expect(store.getInvocation(bad.id)).resolves.toEqual({
          ...badRest,
          status: 'failed',
          failure,
          updatedAt: T0 + 5,
          ttl: 1_800_000_001,
        });
      });

      it('a wrong epoch, or an invocation not running, is refused and nothing changes', async () => {
        const meta = await running();

        await expect(store.suspend(meta.id, { epoch: 2, now: T0 + 5, awaiting: ['C#00000001'], timers: [] })).resolves.toBe(false);
        await expect(store.release(meta.id, { epoch: 0, now: T0 + 5 })).resolves.toBe(false);
        await expect(store.finish(meta.id, { epoch: 2, now: T0 + 5, output: '1', ttl: 1 })).resolves.toBe(false);
        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);

        await store.suspend(meta.id, { epoch: 1, now: T0 + 6, awaiting: ['C#00000001'], timers: [] });
        const suspended = await store.getInvocation(meta.id);
        await expect(store.suspend(meta.id, { epoch: 1, now: T0 + 7, awaiting: ['C#00000009'], timers: [] })).resolves.toBe(false);
        await expect(store.finish(meta.id, { epoch: 1, now: T0 + 7, output: '1', ttl: 1 })).resolves.toBe(false);
        await expect(store.release(meta.id, { epoch: 1, now: T0 + 7 })).resolves.toBe(false);
        await expect(store.getInvocation(meta.id)).resolves.toEqual(suspended);
      });

      it('an attempt whose lease was taken over is fenced out of suspend, release and finish', async () => {
        const meta = await running();
        const newer = await store.acquire(meta.id, { seenEpoch: 0, now: meta.lease! + 1, leaseMs: LEASE });
        expect(newer?.epoch).toBe(2);

        await expect(store.suspend(meta.id, { epoch: 1, now: T0 + 5, awaiting: ['C#00000001'], timers: [] })).resolves.toBe(false);
        await expect(store.release(meta.id, { epoch: 1, now: T0 + 5 })).resolves.toBe(false);
        await expect(store.finish(meta.id, { epoch: 1, now: T0 + 5, output: '"zombie"', ttl: 1 })).resolves.toBe(false);

        await expect(store.getInvocation(meta.id)).resolves.toEqual(newer);
      });

      it('refuses an output that cannot fit in the meta item, before writing', async () => {
        const meta = await running();

        await expect(store.finish(meta.id, { epoch: 1, now: T0 + 5, output: 'o'.repeat(400 * 1024), ttl: 1 })).rejects.toThrow(
          PayloadTooLargeError,
        );

        await expect(store.getInvocation(meta.id)).resolves.toEqual(meta);
      });
    });

    describe('complete', () => {
      it('writes a completion once; the loser gets the standing one back', async () => {
        const meta = await running();
        const first: Completion = { key: completionKey(1), value: '"yes"', at: T0 + 5 };

        await expect(store.complete(meta.id, first)).resolves.toEqual({ won: true });
        const second = await store.complete(meta.id, {
          key: completionKey(1),
          failure: { name: 'TerminalError', message: 'no', code: 500 },
          at: T0 + 6,
        });

        expect(second.won).toBe(false);
        expect(!second.won && strip(second.existing)).toEqual(first);
        expect(strip(await store.getCompletion(meta.id, completionKey(1)))).toEqual(first);
      });

      it('writes a workflow promise before its run invocation exists', async () => {
        const id = newInvocationId();
        const promise: Completion = { key: promiseKey('review'), value: '"ok"', at: T0 };

        await expect(store.complete(id, promise)).resolves.toEqual({ won: true });

        expect(strip((await store.load(id)).completions.get(promiseKey('review')))).toEqual(promise);
        await expect(store.getInvocation(id)).resolves.toBeUndefined();
      });

      it('getCompletion of a missing key is undefined', async () => {
        await expect(store.getCompletion(newInvocationId(), completionKey(0))).resolves.toBeUndefined();
      });

      it('getEntry reads one journal entry as appended (a webhook and its options), undefined when absent', async () => {
        const meta = await running();
        const entry = { index: 2, kind: 'webhook' as const, id: 'whk_x', value: '{"respond":{"status":204}}' };
        await store.append(meta.id, { index: 0, kind: 'run', name: 'a', value: '1' });
        await store.append(meta.id, entry);

        await expect(store.getEntry(meta.id, 2)).resolves.toEqual(entry);
        await expect(store.getEntry(meta.id, 1)).resolves.toBeUndefined();
        await expect(store.getEntry(newInvocationId(), 0)).resolves.toBeUndefined();
      });

      it('refuses a completion over 400 KB with PayloadTooLargeError and writes nothing', async () => {
        const meta = await running();

        await expect(store.complete(meta.id, { key: completionKey(1), value: 'v'.repeat(400 * 1024), at: T0 })).rejects.toThrow(
          PayloadTooLargeError,
        );

        await expect(store.getCompletion(meta.id, completionKey(1))).resolves.toBeUndefined();
      });
    });

    describe('addCaller and kill', () => {
      it('adds callers to an unfinished invocation, in order; refuses finished and unknown ones', async () => {
        const meta = await running();
        const a = { invocationId: 'inv_a', key: 'C#00000003' };
        const b = { invocationId: 'inv_b', key: 'C#00000001' };

        await expect(store.addCaller(meta.id, a)).resolves.toBe(true);
        await expect(store.addCaller(meta.id, b)).resolves.toBe(true);
        expect((await store.getInvocation(meta.id))?.callers).toEqual([a, b]);

        await store.finish(meta.id, { epoch: 1, now: T0 + 5, output: '1', ttl: 9 });
        await expect(store.addCaller(meta.id, b)).resolves.toBe(false);
        await expect(store.addCaller(newInvocationId(), b)).resolves.toBe(false);
        expect((await store.getInvocation(meta.id))?.callers).toEqual([a, b]);
      });

      it('kill fails an unfinished invocation and bumps its epoch, fencing the running attempt', async () => {
        const meta = await running();
        const failure = { name: 'CancelledError', message: 'killed', code: 409 };

        await expect(store.kill(meta.id, { now: T0 + 5, failure, ttl: 77 })).resolves.toBe(true);

        await expect(store.finish(meta.id, { epoch: 1, now: T0 + 6, output: '"late"', ttl: 1 })).resolves.toBe(false);
        const { lease: _lease, ...rest } = meta;
        await expect(store.getInvocation(meta.id)).resolves.toEqual({
          ...rest,
          status: 'failed',
          epoch: 2,
          failure,
          updatedAt: T0 + 5,
          ttl: 77,
        });
        await expect(store.kill(meta.id, { now: T0 + 7, failure, ttl: 78 })).resolves.toBe(false);
        await expect(store.kill(newInvocationId(), { now: T0 + 7, failure, ttl: 78 })).resolves.toBe(false);
      });
    });

    describe('promise waiters', () => {
      it('records each waiter once, lists one promise’s waiters in key order, and keeps them out of the journal load', async () => {
        // Prepare
        const run = await running({ kind: 'workflow', key: 'doc' });
        const a = { invocationId: 'inv_AAAAAAAAAAAAAAAAAAAAAA', key: completionKey(0) };
        const b = { invocationId: 'inv_BBBBBBBBBBBBBBBBBBBBBB', key: completionKey(3) };

        // Act
        await store.addPromiseWaiter(run.id, 'review', b);
        await store.addPromiseWaiter(run.id, 'review', a);
        await store.addPromiseWaiter(run.id, 'review', a); // a replayed step records itself again
        await store.addPromiseWaiter(run.id, 'review#2', b);

        // Assess
        await expect(store.promiseWaiters(run.id, 'review')).resolves.toEqual([a, b]);
        await expect(store.promiseWaiters(run.id, 'review#2')).resolves.toEqual([b]);
        await expect(store.promiseWaiters(run.id, 'other')).resolves.toEqual([]);
        await expect(store.promiseWaiters(newInvocationId(), 'review')).resolves.toEqual([]);
        const loaded = await store.load(run.id);
        expect([loaded.journal.size, loaded.completions.size]).toEqual([0, 0]);
        await expect(store.hasJournal(run.id)).resolves.toBe(false);
      });
    });

    describe('events and event waiters', () => {
      it('stores an event once per delivery id, lists a key’s events oldest first and its waiters in key order, each key apart', async () => {
        // Prepare
        const partition = eventPartition('stripe', 'body.data.object.id', `pi_${newInvocationId()}`);
        const other = eventPartition('stripe', 'body.data.object.id', `pi_${newInvocationId()}`);
        const values = { 'body.data.object.id': 'pi' };
        const later: StoredEvent = {
          partition,
          endpoint: 'stripe',
          id: 'evt_2',
          at: T0 + 20,
          until: T0 + 60_000,
          values,
          value: '{"n":2}',
        };
        const earlier: StoredEvent = {
          ...later,
          id: 'evt_1',
          at: T0 + 10,
          value: undefined,
          failure: { name: 'TerminalError', message: 'too large', code: 413 },
        };
        const a = { invocationId: 'inv_AAAAAAAAAAAAAAAAAAAAAA', key: completionKey(0), match: values, until: T0 + 1_000 };
        const b = { invocationId: 'inv_BBBBBBBBBBBBBBBBBBBBBB', key: completionKey(4), match: values, until: T0 + 1_000 };

        // Act
        const first = await store.putEvent(later);
        const redelivered = await store.putEvent({ ...later, at: T0 + 30, value: '{"n":3}' });
        await store.putEvent(earlier);
        await store.addEventWaiter(partition, b);
        await store.addEventWaiter(partition, a);
        await store.addEventWaiter(partition, a); // a replayed step records itself again

        // Assess
        expect([first, redelivered]).toEqual([true, false]);
        await expect(store.findEvents(partition)).resolves.toEqual(
          [earlier, later].map(({ value, failure, ...e }) => ({
            ...e,
            ...(value === undefined ? {} : { value }),
            ...(failure === undefined ? {} : { failure }),
          })),
        );
        await expect(store.eventWaiters(partition)).resolves.toEqual([a, b]);
        await expect(store.findEvents(other)).resolves.toEqual([]);
        await expect(store.eventWaiters(other)).resolves.toEqual([]);
      });
    });

    describe('existingCompletions', () => {
      it('names which of the keys exist, in the order asked, across C# and P# keys', async () => {
        const id = newInvocationId();
        await store.complete(id, { key: completionKey(2), at: T0 });
        await store.complete(id, { key: promiseKey('p'), value: '1', at: T0 });

        await expect(store.existingCompletions(id, [])).resolves.toEqual([]);
        await expect(store.existingCompletions(id, [completionKey(1)])).resolves.toEqual([]);
        await expect(store.existingCompletions(id, [completionKey(2)])).resolves.toEqual([completionKey(2)]);
        await expect(store.existingCompletions(id, [promiseKey('p'), completionKey(1), completionKey(2)])).resolves.toEqual([
          promiseKey('p'),
          completionKey(2),
        ]);
        await expect(store.existingCompletions(newInvocationId(), [completionKey(2)])).resolves.toEqual([]);
      });

      it('handles more keys than one batch read takes', async () => {
        const id = newInvocationId();
        const keys = [...Array(150).keys()].map((i) => completionKey(i));
        await store.complete(id, { key: completionKey(3), at: T0 });
        await store.complete(id, { key: completionKey(140), at: T0 });

        await expect(store.existingCompletions(id, keys)).resolves.toEqual([completionKey(3), completionKey(140)]);
      });
    });

    describe('state', () => {
      it('writes, overwrites with an equal or newer fence, and refuses an older one', async () => {
        const scope = stateScope('ledger', newInvocationId());

        await expect(store.readState(scope)).resolves.toEqual(new Map());
        await expect(store.writeState(scope, 'total', '1', 'f2')).resolves.toBe(true);
        await expect(store.writeState(scope, 'total', '2', 'f2')).resolves.toBe(true);
        await expect(store.writeState(scope, 'total', '3', 'f3')).resolves.toBe(true);
        await expect(store.writeState(scope, 'total', 'old', 'f1')).resolves.toBe(false);
        await expect(store.writeState(scope, 'other', '"x"', 'f1')).resolves.toBe(true);

        await expect(store.readState(scope)).resolves.toEqual(
          new Map([
            ['total', '3'],
            ['other', '"x"'],
          ]),
        );
      });

      it('a cleared value stays as a tombstone: hidden from reads, still fencing older writers', async () => {
        const scope = stateScope('ledger', newInvocationId());
        await store.writeState(scope, 'total', '1', 'f1');

        await expect(store.writeState(scope, 'total', undefined, 'f3')).resolves.toBe(true);
        await expect(store.writeState(scope, 'total', 'zombie', 'f2')).resolves.toBe(false);

        await expect(store.readState(scope)).resolves.toEqual(new Map());
        await expect(store.writeState(scope, 'total', 'again', 'f4')).resolves.toBe(true);
        await expect(store.readState(scope)).resolves.toEqual(new Map([['total', 'again']]));
      });

      it('property: the value that stands is the last one written with the largest fence', async () => {
        const write = fc.record({
          fence: fc.constantFrom('f1', 'f2', 'f3', 'f4'),
          value: fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 8 }), async (writes) => {
            const scope = stateScope('prop', newInvocationId());
            for (const w of writes) await store.writeState(scope, 'v', w.value, w.fence);
            const top = writes.reduce((max, w) => (w.fence > max ? w.fence : max), 'f0');
            const standing = writes.filter((w) => w.fence === top).at(-1)!.value;
            expect((await store.readState(scope)).get('v')).toBe(standing);
          }),
          { numRuns: subject.propertyRuns },
        );
      });
    });

    describe('purge', () => {
      it("deletes a finished invocation's journal, completions, input and meta; a workflow run takes its state; an object's state stays", async () => {
        // Prepare: a finished workflow run with a big input, journal, a completion, a promise and state; an object's state
        const run = pendingMeta({
          kind: 'workflow',
          service: 'flow',
          handler: 'run',
          key: 'doc-1',
          input: JSON.stringify('i'.repeat(2_000)),
        });
        await store.createInvocation(run);
        const acquired = (await store.acquire(run.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE }))!;
        for (let i = 0; i < 30; i++) await store.append(run.id, { index: i, kind: 'set', name: `s${i}`, value: '"secret"' });
        await store.complete(run.id, { key: completionKey(40), value: '"personal data"', at: T0 });
        await store.complete(run.id, { key: promiseKey('review'), value: '"approved"', at: T0 });
        await store.writeState(stateScope('flow', 'doc-1'), 'total', '"secret"', '1');
        await store.writeState(stateScope('ledger', 'alice'), 'total', '7', '1');
        await store.finish(run.id, { epoch: acquired.epoch, now: T0 + 2, output: '"the output"', ttl: 9_999_999_999 });

        // Act
        const result = await store.purge(run.id);

        // Assess: 30 entries, 2 completions, the input, one state value, meta
        expect(result).toEqual({ purged: 35 });
        await expect(store.getInvocation(run.id)).resolves.toBeUndefined();
        const left = await store.load(run.id);
        expect([...left.journal.keys(), ...left.completions.keys(), left.input]).toEqual([undefined]);
        await expect(store.hasJournal(run.id)).resolves.toBe(false);
        expect((await store.readState(stateScope('flow', 'doc-1'))).size).toBe(0);
        expect(await store.readState(stateScope('ledger', 'alice'))).toEqual(new Map([['total', '7']]));
        await expect(store.purge(run.id)).resolves.toBe('unknown');
      });

      it('deletes nothing of an invocation that has not finished', async () => {
        const meta = pendingMeta();
        await store.createInvocation(meta);
        await store.append(meta.id, { index: 0, kind: 'run', name: 'r', value: '1' });

        await expect(store.purge(meta.id)).resolves.toBe('unfinished');

        await expect(store.getInvocation(meta.id)).resolves.toMatchObject({ status: 'pending' });
        expect((await store.load(meta.id)).journal.size).toBe(1);
      });
    });

    describe('object locks', () => {
      it('the first caller holds a free key, later ones queue, each idempotently', async () => {
        const scope = stateScope('counter', newInvocationId());

        await expect(store.enqueueLock(scope, 'inv_a', '1#a')).resolves.toBe('held');
        await expect(store.enqueueLock(scope, 'inv_b', '2#b')).resolves.toBe('queued');
        await expect(store.enqueueLock(scope, 'inv_a', '1#a')).resolves.toBe('held');
        await expect(store.enqueueLock(scope, 'inv_b', '2#b')).resolves.toBe('queued');

        await expect(store.readLock(scope)).resolves.toEqual({ holder: 'inv_a', seq: 1, waiting: { inv_b: '2#b' } });
      });

      it('release frees the lock and returns its waiters; a grant hands it to one and bumps seq', async () => {
        const scope = stateScope('counter', newInvocationId());
        await store.enqueueLock(scope, 'inv_a', '1#a');
        await store.enqueueLock(scope, 'inv_b', '2#b');
        await store.enqueueLock(scope, 'inv_c', '3#c');

        // Neither holder nor waiter: nothing to release.
        await expect(store.releaseLock(scope, 'inv_z')).resolves.toBeUndefined();
        expect(await store.releaseLock(scope, 'inv_a')).toEqual({ seq: 1, waiting: { inv_b: '2#b', inv_c: '3#c' } });
        await expect(store.grantLock(scope, 'inv_x')).resolves.toBe(false);
        await expect(store.grantLock(scope, 'inv_b')).resolves.toBe(true);
        await expect(store.grantLock(scope, 'inv_c')).resolves.toBe(false);

        await expect(store.readLock(scope)).resolves.toEqual({ holder: 'inv_b', seq: 2, waiting: { inv_c: '3#c' } });
        await expect(store.readLock(stateScope('counter', 'never'))).resolves.toBeUndefined();
      });

      it('a waiter that ended before its turn leaves the queue on release, and is never granted', async () => {
        const scope = stateScope('counter', newInvocationId());
        await store.enqueueLock(scope, 'inv_a', '1#a');
        await store.enqueueLock(scope, 'inv_b', '2#b');
        await store.enqueueLock(scope, 'inv_c', '3#c');

        expect(await store.releaseLock(scope, 'inv_b')).toEqual({ holder: 'inv_a', seq: 1, waiting: { inv_c: '3#c' } });
        await store.releaseLock(scope, 'inv_a');
        await expect(store.grantLock(scope, 'inv_b')).resolves.toBe(false);
        await expect(store.grantLock(scope, 'inv_c')).resolves.toBe(true);
      });

      it('a free key with waiters is not taken by a newcomer: it queues behind them', async () => {
        const scope = stateScope('counter', newInvocationId());
        await store.enqueueLock(scope, 'inv_a', '1#a');
        await store.enqueueLock(scope, 'inv_b', '2#b');
        await store.releaseLock(scope, 'inv_a');

        await expect(store.enqueueLock(scope, 'inv_c', '3#c')).resolves.toBe('queued');

        await expect(store.readLock(scope)).resolves.toEqual({ seq: 1, waiting: { inv_b: '2#b', inv_c: '3#c' } });
      });

      it('a full queue refuses a newcomer (LockQueueFullError, 429) and changes nothing; holder and waiters stay idempotent', async () => {
        const scope = stateScope('counter', newInvocationId());
        await store.enqueueLock(scope, 'inv_a', '1#a', 2);
        await store.enqueueLock(scope, 'inv_b', '2#b', 2);
        await store.enqueueLock(scope, 'inv_c', '3#c', 2);
        const before = await store.readLock(scope);

        await expect(store.enqueueLock(scope, 'inv_d', '4#d', 2)).rejects.toMatchObject({ name: 'LockQueueFullError', code: 429 });

        await expect(store.enqueueLock(scope, 'inv_b', '2#b', 2)).resolves.toBe('queued');
        await expect(store.enqueueLock(scope, 'inv_a', '1#a', 2)).resolves.toBe('held');
        await expect(store.readLock(scope)).resolves.toEqual(before);
        await store.releaseLock(scope, 'inv_a');
        await store.grantLock(scope, 'inv_b');
        await expect(store.enqueueLock(scope, 'inv_d', '4#d', 2)).resolves.toBe('queued');
      });

      it('refuses a lock partition over 2,048 bytes before any request (KeyTooLongError)', async () => {
        await expect(store.enqueueLock(stateScope('counter', 'k'.repeat(3_000)), 'inv_a', '1#a')).rejects.toMatchObject({
          name: 'KeyTooLongError',
          code: 400,
        });
      });
    });

    describe('change feed (the table stream)', () => {
      it('emits INSERT and MODIFY records with both images for each write, none for a lost condition', async () => {
        const meta = pendingMeta();
        const pk = invocationPk(meta.id);
        await store.createInvocation(meta);
        const acquired = (await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE }))!;
        await store.acquire(meta.id, { seenEpoch: 0, now: T0 + 1, leaseMs: LEASE }); // lost: no record
        const entry: JournalEntry = { index: 0, kind: 'awakeable', id: 'awk_1' };
        await store.append(meta.id, entry);
        await store.append(meta.id, { ...entry, id: 'awk_2' }); // lost: no record
        const completion: Completion = { key: completionKey(0), value: '"v"', at: T0 + 2 };
        await store.complete(meta.id, completion);
        await store.complete(meta.id, { ...completion, value: '"w"' }); // lost: no record
        await store.suspend(meta.id, {
          epoch: 1,
          now: T0 + 3,
          awaiting: [completionKey(0)],
          timers: [],
          awakeables: { [completionKey(0)]: 'awk_1' },
        });
        const suspended = (await store.getInvocation(meta.id))!;

        const changes = await subject.changes(pk, (c) => c.length >= 5);

        expect(changes.map((c) => ({ ...c, newItem: strip(c.newItem), oldItem: strip(c.oldItem) }))).toEqual([
          { eventName: 'INSERT', pk, sk: META, newItem: metaToItem(meta), oldItem: undefined },
          { eventName: 'MODIFY', pk, sk: META, oldItem: metaToItem(meta), newItem: metaToItem(acquired) },
          { eventName: 'INSERT', pk, sk: journalSk(0), newItem: { pk, sk: journalSk(0), ...entry }, oldItem: undefined },
          {
            eventName: 'INSERT',
            pk,
            sk: completionKey(0),
            newItem: { pk, sk: completionKey(0), value: '"v"', at: T0 + 2 },
            oldItem: undefined,
          },
          { eventName: 'MODIFY', pk, sk: META, oldItem: metaToItem(acquired), newItem: metaToItem(suspended) },
        ]);
      });

      it('emits state and lock writes in their key partition', async () => {
        const scope = stateScope('ledger', newInvocationId());
        await store.writeState(scope, 'total', '5', 'f1');
        await store.writeState(scope, 'total', undefined, 'f2');
        await store.enqueueLock(scope, 'inv_a', '1#a');

        const changes = await subject.changes(scope, (c) => c.length >= 3);

        expect(changes.map((c) => [c.eventName, c.sk, c.newItem])).toEqual([
          ['INSERT', stateSk('total'), { pk: scope, sk: stateSk('total'), value: '5', fence: 'f1' }],
          ['MODIFY', stateSk('total'), { pk: scope, sk: stateSk('total'), fence: 'f2' }],
          ['INSERT', LOCK, { pk: scope, sk: LOCK, holder: 'inv_a', seq: 1, waiting: {} }],
        ]);
      });
    });

    describe('list index', () => {
      /** `n` invocations of a service of their own, one a second from T0, oldest first. */
      async function created(n: number, service = `list${newInvocationId().slice(4, 12)}`): Promise<InvocationMeta[]> {
        const metas = Array.from({ length: n }, (_, i) => pendingMeta({ service, createdAt: T0 + i * 1000, updatedAt: T0 + i * 1000 }));
        for (const meta of metas) await store.createInvocation(meta);
        return metas;
      }

      it('lists a service newest first, a page at a time, each row once', async () => {
        const metas = await created(7);
        const service = metas[0]!.service;
        await created(2); // another service's: never listed here

        const seen: string[] = [];
        let before: string | undefined;
        for (let page = 0; page < 10; page++) {
          const { rows, more } = await store.listIndex({ services: [service], before, limit: 3 });
          seen.push(...rows.map((r) => r.id));
          before = rows.at(-1)?.position ?? before;
          if (!more) break;
        }

        expect(seen).toEqual(metas.map((m) => m.id).reverse());
      });

      it('serves the creation-time window (both ends inclusive) and several services at once', async () => {
        const a = await created(5);
        const b = await created(3);

        const window = await store.listIndex({ services: [a[0]!.service], since: T0 + 1000, until: T0 + 3000, limit: 10 });
        const both = await store.listIndex({ services: [a[0]!.service, b[0]!.service], limit: 100 });

        expect(window).toEqual({
          rows: [a[3], a[2], a[1]].map((m) => ({ id: m!.id, position: listPosition(m!.createdAt, m!.id) })),
          more: false,
        });
        expect(both.rows.map((r) => r.id).sort()).toEqual([...a, ...b].map((m) => m.id).sort());
        expect(both.rows.map((r) => r.position)).toEqual(
          both.rows
            .map((r) => r.position)
            .sort()
            .reverse(),
        );
      });

      it('is written once: later updates of meta keep the row, and a purge removes it', async () => {
        const [meta] = await created(1);
        const acquired = await store.acquire(meta!.id, { seenEpoch: 0, now: T0 + 5, leaseMs: LEASE });
        await store.finish(meta!.id, { epoch: acquired!.epoch, now: T0 + 6, output: '1', ttl: 1 });

        expect((await store.listIndex({ services: [meta!.service], limit: 5 })).rows.map((r) => r.id)).toEqual([meta!.id]);
        expect(await store.getInvocation(meta!.id)).not.toHaveProperty('lpk');
        await store.purge(meta!.id);
        expect((await store.listIndex({ services: [meta!.service], limit: 5 })).rows).toEqual([]);
      });

      it('reads many metas at once, in the order asked, leaving out the missing', async () => {
        const metas = await created(3);
        const ids = [metas[2]!.id, newInvocationId(), metas[0]!.id];

        const read = await store.getInvocations(ids);

        expect(read.map((m) => [m.id, m.status, m.service])).toEqual([
          [metas[2]!.id, 'pending', metas[2]!.service],
          [metas[0]!.id, 'pending', metas[0]!.service],
        ]);
        expect(read[0]).not.toHaveProperty('lsk');
      });
    });
  });
}
