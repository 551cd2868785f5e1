/**
 * The list index on DynamoDB Local: a table of the earlier release (no
 * index) gets it from `ensureTable`; its invocations appear once the
 * backfill has run (rule 13); what a listed invocation costs to read; and
 * the listing's filters and cursor through the ingress core.
 */
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../../src/index.ts';
import { catalogOf } from '../../src/internal.ts';
import { newInvocationId } from '../../src/engine/ids.ts';
import { DynamoDbStore, backfillListIndex, ensureTable, tableDefinition } from '../../src/store/dynamodb.ts';
import { metaToItem } from '../../src/store/items.ts';
import { LIST_PK, LIST_SK } from '../../src/store/keys.ts';
import type { InvocationMeta } from '../../src/store/store.ts';
import { listInvocations, parseListQuery } from '../../src/runtime/list.ts';
import { CapacityLedger } from '../contract/harness.ts';
import { localClientConfig, startDynamoDbLocal, uniqueTableName, type DynamoDbLocal } from '../support/dynamodb-local.ts';

const noop = async () => undefined;
const catalog = catalogOf([
  service({ name: 'orders', handlers: { place: noop, refund: noop } }),
  service({ name: 'mailer', handlers: { send: noop } }),
]);
const T0 = Date.UTC(2026, 11, 1);

function meta(service: string, handler: string, at: number, overrides: Partial<InvocationMeta> = {}): InvocationMeta {
  return {
    id: newInvocationId(),
    service,
    handler,
    kind: 'service',
    status: 'pending',
    epoch: 0,
    input: '{"n":1}',
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

describe('the list index on DynamoDB Local', () => {
  const tableName = uniqueTableName('list');
  const ledger = new CapacityLedger();
  // A private instance: adding an index to a table is slow in DynamoDB Local,
  // and slower still in the run-wide instance, whose other tables' stream
  // records it carries (over 280 s in a full run on 2 cores).
  let local: DynamoDbLocal;
  let client: DynamoDBClient;
  let store: DynamoDbStore;
  const old: InvocationMeta[] = [];

  beforeAll(async () => {
    local = await startDynamoDbLocal();
    client = new DynamoDBClient(localClientConfig(local.endpoint));
    store = new DynamoDbStore({ client, tableName, onCapacity: ledger.record });
    // The earlier release's table: no list index, and meta items without its keys.
    const { GlobalSecondaryIndexes: _gsi, AttributeDefinitions, ...before } = tableDefinition(tableName);
    await client.send(new CreateTableCommand({ ...before, AttributeDefinitions: AttributeDefinitions!.slice(0, 2) }));
    for (let i = 0; i < 3; i++) {
      const m = meta('orders', 'place', T0 + i, { status: 'completed', output: '1' });
      const { [LIST_PK]: _p, [LIST_SK]: _s, ...item } = metaToItem(m);
      await client.send(new PutItemCommand({ TableName: tableName, Item: marshall(item, { removeUndefinedValues: true }) }));
      old.push(m);
    }
    // Adding an index to a table is the slowest thing DynamoDB Local does: on a busy machine it took over two minutes once.
    await ensureTable(client, tableName, { timeoutMs: 280_000 });
  }, 300_000);
  afterAll(async () => {
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    await local?.stop();
  });

  it('ensureTable gives an earlier table the index; its invocations are listed once the backfill has run, and a second run changes nothing', async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType, i.IndexStatus])).toEqual([
      ['list', 'KEYS_ONLY', 'ACTIVE'],
    ]);
    const fresh = meta('orders', 'place', T0 + 10);
    await store.createInvocation(fresh);
    const deps = { store, catalog };

    const beforeBackfill = await listInvocations(deps, parseListQuery({ service: 'orders' }));
    const progress: { scanned: number; updated: number }[] = [];
    const first = await backfillListIndex(client, tableName, { onPage: (p) => progress.push(p) });
    const afterBackfill = await listInvocations(deps, parseListQuery({ service: 'orders' }));
    const second = await backfillListIndex(client, tableName);

    expect(beforeBackfill.invocations.map((r) => r.id)).toEqual([fresh.id]);
    expect(first.updated).toBe(3);
    expect(progress.at(-1)).toEqual(first);
    expect(afterBackfill.invocations.map((r) => [r.id, r.status])).toEqual([
      [fresh.id, 'pending'],
      ...old.map((m) => [m.id, 'completed']).reverse(),
    ]);
    expect(second.updated).toBe(0);
    // The old invocations still read as they did (rule 13).
    expect(await store.getInvocation(old[0]!.id)).toEqual(old[0]);
  });

  it('costs: one write unit more per invocation, at its creation only; a listed invocation about half a read unit', async () => {
    const metas = Array.from({ length: 40 }, (_, i) => meta(i % 2 ? 'mailer' : 'orders', i % 2 ? 'send' : 'place', T0 + 1000 + i));
    ledger.take();
    for (const m of metas) await store.createInvocation(m);
    const created = ledger.total(ledger.take());

    const page = await listInvocations({ store, catalog }, parseListQuery({ service: 'orders', limit: '20' }));
    const reads = ledger.take();
    const index = ledger.total(reads.filter((e) => e.operation === 'listIndex'));
    const metaReads = ledger.total(reads.filter((e) => e.operation === 'getInvocations'));
    const perRow = (index.read + metaReads.read) / page.invocations.length;
    console.log(
      `list: creation ${created.write / metas.length} W per invocation; a page of ${page.invocations.length}: index ${index.read} R (${reads.filter((e) => e.operation === 'listIndex').length} Queries), meta ${metaReads.read} R (BatchGetItem); ${perRow.toFixed(3)} R per listed invocation`,
    );

    expect(created.write).toBe(2 * metas.length);
    expect(page.invocations).toHaveLength(20);
    expect(metaReads.read).toBe(10); // eventually consistent: half a unit per meta under 4 KB
    expect(index.read).toBeLessThanOrEqual(4 * 0.5 + 1); // keys-only rows: one small Query per bucket
    expect(perRow).toBeLessThanOrEqual(0.65);
  });

  it('pages through every service newest first, filters by handler and status after reading, and carries the cursor', async () => {
    const deps = { store, catalog };
    const all: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await listInvocations(deps, parseListQuery({ limit: '7', ...(cursor ? { cursor } : {}) }));
      all.push(...page.invocations.map((r) => r.createdAt + ' ' + r.id));
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    const refunds = await listInvocations(deps, parseListQuery({ service: 'orders', handler: 'refund' }));
    const completed = await listInvocations(deps, parseListQuery({ status: 'completed' }));

    expect(all).toHaveLength(44);
    expect(new Set(all).size).toBe(44);
    expect(all).toEqual([...all].sort().reverse());
    expect(refunds).toEqual({ invocations: [], cursor: null });
    expect(completed.invocations.map((r) => r.id)).toEqual(old.map((m) => m.id).reverse());
  });
});
