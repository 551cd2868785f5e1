/**
 * The store's change decoding over the in-memory store's feed: every write
 * the runtime makes comes back as the typed change it means, with the port's
 * types (InvocationMeta, Completion, ObjectLock, JournalEntry), never a raw
 * item. The same decoding of DynamoDB Local's stream is in
 * test/e2e/plane-parts.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeChange, type ChangeFeed, type StoreChange } from '../../src/store/changes.ts';
import { newInvocationMeta } from '../../src/store/invocation.ts';
import { META, heartbeatKey, invocationPk, stateScope } from '../../src/store/keys.ts';
import { MemoryStore } from '../../src/store/memory.ts';

const NOW = Date.UTC(2026, 0, 1);
const ID = 'inv_AAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'inv_BBBBBBBBBBBBBBBBBBBBBB';

/** Collects the decoded changes a feed reports while `act` runs. */
async function decoded(feed: ChangeFeed, act: () => Promise<unknown>): Promise<StoreChange[]> {
  const seen: StoreChange[] = [];
  const stop = feed.onChange((change) => seen.push(decodeChange(change)));
  try {
    await act();
  } finally {
    stop();
  }
  return seen;
}

const meta = (id = ID) =>
  newInvocationMeta({ id, service: 'review', handler: 'request', kind: 'service', shared: false, input: '1', now: NOW });

describe('decodeChange', () => {
  it('reads an invocation meta inserted and then modified, with its state before', async () => {
    // Prepare
    const store = new MemoryStore();

    // Act
    const changes = await decoded(store, async () => {
      await store.createInvocation(meta());
      await store.acquire(ID, { seenEpoch: 0, now: NOW, leaseMs: 1_000 });
    });

    // Assess
    expect(changes).toEqual([
      { kind: 'meta', event: 'INSERT', pk: invocationPk(ID), sk: META, meta: meta(), old: undefined },
      {
        kind: 'meta',
        event: 'MODIFY',
        pk: invocationPk(ID),
        sk: META,
        meta: expect.objectContaining({ id: ID, status: 'running', epoch: 1, lease: NOW + 1_000 }),
        old: meta(),
      },
    ]);
  });

  it('reads completions and promises with their key, written first or overwritten (a heartbeat moving on)', async () => {
    // Prepare
    const store = new MemoryStore();
    await store.createInvocation(meta());

    // Act
    const changes = await decoded(store, async () => {
      await store.complete(ID, { key: 'C#00000002', value: '"ok"', at: NOW });
      await store.complete(ID, { key: 'P#review', value: '1', at: NOW });
      await store.heartbeat(ID, heartbeatKey('C#00000003'), NOW);
      await store.heartbeat(ID, heartbeatKey('C#00000003'), NOW + 1);
    });

    // Assess
    expect(changes.map((c) => (c.kind === 'completion' ? [c.event, c.invocationId, c.completion.key] : c.kind))).toEqual([
      ['INSERT', ID, 'C#00000002'],
      ['INSERT', ID, 'P#review'],
      ['INSERT', ID, 'C#00000003.beat'],
      ['MODIFY', ID, 'C#00000003.beat'],
    ]);
    expect(changes[0]).toMatchObject({ completion: { key: 'C#00000002', value: '"ok"', at: NOW } });
  });

  it('reads an object lock taken, queued for and handed on, with the lock before', async () => {
    // Prepare
    const store = new MemoryStore();
    const scope = stateScope('ledger', 'alice');

    // Act
    const changes = await decoded(store, async () => {
      await store.enqueueLock(scope, ID, '1');
      await store.enqueueLock(scope, OTHER, '2');
      await store.releaseLock(scope, ID);
      await store.grantLock(scope, OTHER);
    });

    // Assess
    expect(changes.map((c) => (c.kind === 'lock' ? { scope: c.scope, lock: c.lock, old: c.old } : c.kind))).toEqual([
      { scope, lock: { holder: ID, seq: 1, waiting: {} }, old: undefined },
      { scope, lock: { holder: ID, seq: 1, waiting: { [OTHER]: '2' } }, old: { holder: ID, seq: 1, waiting: {} } },
      { scope, lock: { holder: undefined, seq: 1, waiting: { [OTHER]: '2' } }, old: { holder: ID, seq: 1, waiting: { [OTHER]: '2' } } },
      { scope, lock: { holder: OTHER, seq: 2, waiting: {} }, old: { holder: undefined, seq: 1, waiting: { [OTHER]: '2' } } },
    ]);
  });

  it('reads journal entries, leaves state values as other, and removals as removed', async () => {
    // Prepare
    const store = new MemoryStore();
    await store.createInvocation(meta());

    // Act
    const changes = await decoded(store, async () => {
      await store.append(ID, { index: 0, kind: 'run', name: 'charge', value: '1' });
      await store.writeState(stateScope('ledger', 'alice'), 'total', '5', 'f1');
      store.expire(invocationPk(ID), META);
    });

    // Assess
    expect(changes).toEqual([
      {
        kind: 'entry',
        event: 'INSERT',
        pk: invocationPk(ID),
        sk: 'J#00000000',
        invocationId: ID,
        entry: { index: 0, kind: 'run', name: 'charge', value: '1' },
      },
      { kind: 'other', event: 'INSERT', pk: stateScope('ledger', 'alice'), sk: 'S#total' },
      { kind: 'removed', event: 'REMOVE', pk: invocationPk(ID), sk: META },
    ]);
  });

  it('keeps an item outside an invocation partition, or without a new image, out of the typed kinds', () => {
    expect(decodeChange({ eventName: 'INSERT', pk: 'X#elsewhere', sk: META, newItem: { status: 'pending' } }).kind).toBe('other');
    expect(decodeChange({ eventName: 'MODIFY', pk: invocationPk(ID), sk: META }).kind).toBe('other');
  });
});
