/**
 * Helpers for the end-to-end tests: a local plane on free ports (in memory,
 * on the run-wide DynamoDB Local unless a test needs its own), HTTP calls to
 * it, and waiting for an invocation to reach a state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AnyDefinition } from 'dormant-lambda';
import { localClientConfig } from '../../src/local/dynamodb-local.ts';
import { startLocalPlane, type LocalPlane, type LocalPlaneOptions } from '../../src/local/plane.ts';
import { dynamoDbEndpoint, uniqueTableName } from '../support/dynamodb-local.ts';

/** The key the test planes sign awakeable ids with, so tests can mint ids of their own. */
export const E2E_SIGNING_KEY = 'e2e-signing-key-0123456789abcdef';

/**
 * A plane for one test file: free port, in memory, its own table in the
 * run-wide DynamoDB Local, and a short wait for request-response calls.
 *
 * @example
 * ```ts
 * const plane = await startTestPlane([review]);
 * ```
 */
export function startTestPlane(services: readonly AnyDefinition[], options: Partial<LocalPlaneOptions> = {}): Promise<LocalPlane> {
  return startLocalPlane({
    services,
    port: 0,
    inMemory: true,
    dynamoDbEndpoint: dynamoDbEndpoint(),
    tableName: uniqueTableName('e2e'),
    signingKey: E2E_SIGNING_KEY,
    ingressWaitMs: 3_000,
    log: process.env.DORMANT_E2E_LOG ? (level, message, details) => console.log(`[${level}] ${message}`, details ?? '') : undefined,
    ...options,
  });
}

/** Headers every request through a plane view sends (see {@link withHeaders}). */
const viewHeaders = new WeakMap<LocalPlane, Record<string, string>>();

/**
 * The same plane, seen by a caller who sends `headers` on every request
 * (the owner's API key): every helper here takes it where it takes a plane.
 *
 * @example
 * ```ts
 * const owner = withHeaders(plane, { 'x-api-key': KEY });
 * await untilStatus(owner, id, 'suspended'); // with the key; untilStatus(plane, …) without
 * ```
 */
export function withHeaders(plane: LocalPlane, headers: Record<string, string>): LocalPlane {
  const view = Object.create(plane) as LocalPlane;
  viewHeaders.set(view, headers);
  return view;
}

/** An HTTP answer: status, headers, raw body and the body parsed as JSON (if it is JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/**
 * Sends a request to the plane.
 *
 * @example
 * ```ts
 * const a = await call(plane, 'POST', '/review/request/send', '{"title":"x"}');
 * a.status // 202
 * ```
 */
export async function call(
  plane: LocalPlane,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const sent = { ...viewHeaders.get(plane), ...headers };
  const response = await fetch(plane.url + path, {
    method,
    body,
    headers: body === undefined ? sent : { 'content-type': 'application/json', ...sent },
  });
  const text = await response.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * Polls until `check` returns a value (not `undefined`), or fails after `timeoutMs`.
 *
 * @example
 * ```ts
 * const s = await eventually(async () => { const a = await status(plane, id); return a.status === 'suspended' ? a : undefined; });
 * ```
 */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(50);
  }
}

/**
 * Waits until an invocation's status is `status`; returns the status view.
 *
 * @example
 * ```ts
 * const view = await untilStatus(plane, id, 'suspended');
 * view.awaiting[0].awakeableId
 * ```
 */
export function untilStatus(plane: LocalPlane, invocationId: string, status: string, timeoutMs?: number): Promise<any> {
  return eventually(
    async () => {
      const a = await call(plane, 'GET', `/restate/invocation/${invocationId}`);
      return a.json?.status === status ? a.json : undefined;
    },
    `invocation ${invocationId} to be ${status}`,
    timeoutMs,
  );
}

/**
 * Waits for an invocation's output endpoint to stop answering 470; returns that answer.
 *
 * @example
 * ```ts
 * const out = await untilOutput(plane, id);
 * out.json // { title: 'Q3', approved: true }
 * ```
 */
export function untilOutput(plane: LocalPlane, invocationId: string, timeoutMs?: number): Promise<Answer> {
  return eventually(
    async () => {
      const a = await call(plane, 'GET', `/restate/invocation/${invocationId}/output`);
      return a.status === 470 ? undefined : a;
    },
    `the output of ${invocationId}`,
    timeoutMs,
  );
}

/**
 * Starts a handler with `/send` and returns the invocation id.
 *
 * @example
 * ```ts
 * const id = await send(plane, '/review/request', { title: 'Q3' });
 * ```
 */
export async function send(plane: LocalPlane, path: string, input: unknown, headers: Record<string, string> = {}): Promise<string> {
  const a = await call(plane, 'POST', `${path}/send`, JSON.stringify(input), headers);
  if (a.status !== 202) throw new Error(`POST ${path}/send answered ${a.status}: ${a.text}`);
  return a.json.invocationId as string;
}

/**
 * Waits until an invocation is suspended on an awakeable (not on an object
 * key's lock); returns the awakeable's id.
 *
 * @example
 * ```ts
 * const awakeableId = await untilAwakeable(plane, id);
 * ```
 */
export function untilAwakeable(plane: LocalPlane, invocationId: string, timeoutMs?: number): Promise<string> {
  return eventually(
    async () => {
      const a = await call(plane, 'GET', `/restate/invocation/${invocationId}`);
      const awakeableId =
        a.json?.status === 'suspended' ? a.json.awaiting?.find((w: { awakeableId?: string }) => w.awakeableId)?.awakeableId : undefined;
      return awakeableId as string | undefined;
    },
    `invocation ${invocationId} to await an awakeable`,
    timeoutMs,
  );
}

/**
 * Asserts the "zero compute while waiting" rule for a suspended invocation:
 * its handler execution ends (it returned its suspension marker), and none
 * starts again during `quietMs`, while the invocation stays suspended.
 *
 * @example
 * ```ts
 * await expectDormant(plane, id);
 * ```
 */
export async function expectDormant(plane: LocalPlane, invocationId: string, quietMs = 300): Promise<void> {
  await eventually(
    async () => (plane.inflight().includes(invocationId) ? undefined : true),
    `the handler of ${invocationId} to return`,
    5_000,
  );
  const until = Date.now() + quietMs;
  while (Date.now() < until) {
    if (plane.inflight().includes(invocationId)) throw new Error(`a handler execution started for ${invocationId} while it was suspended`);
    await sleep(20);
  }
  const view = (await call(plane, 'GET', `/restate/invocation/${invocationId}`)).json;
  // Waiting without compute: suspended, or queued for its key, or scheduled, or backing off.
  if (!['suspended', 'pending', 'scheduled', 'backing-off'].includes(view?.status))
    throw new Error(`${invocationId} is ${view?.status}, not waiting`);
}

/**
 * A snapshot of the table once the plane is quiet: no handler running and
 * the table the same over `quietMs` (earlier work has settled), so a later
 * snapshot that differs was changed by what happened in between.
 *
 * @example
 * ```ts
 * const before = await quietSnapshot(plane);
 * ```
 */
export async function quietSnapshot(plane: LocalPlane, quietMs = 300): Promise<string[]> {
  let last = await tableSnapshot(plane);
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    await sleep(quietMs);
    const next = await tableSnapshot(plane);
    if (plane.inflight().length === 0 && JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  throw new Error('the plane did not settle within 20 s');
}

/**
 * Every item of the plane's table, sorted by key, as JSON lines: compare two
 * snapshots to show a refused request wrote nothing.
 *
 * @example
 * ```ts
 * const before = await tableSnapshot(plane);
 * await call(plane, 'POST', '/signoff/' + 'x'.repeat(3000) + '/sign/send', '{}');
 * expect(await tableSnapshot(plane)).toEqual(before);
 * ```
 */
export async function tableSnapshot(plane: LocalPlane): Promise<string[]> {
  const client = new DynamoDBClient(localClientConfig(plane.endpoints.dynamodb));
  try {
    const items: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: plane.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) {
        const plain = unmarshall(item);
        items.push(JSON.stringify(Object.fromEntries(Object.entries(plain).sort(([a], [b]) => a.localeCompare(b)))));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort();
  } finally {
    client.destroy();
  }
}
