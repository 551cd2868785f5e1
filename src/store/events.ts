/**
 * Events and the waits they complete, in the table. Events are kept by
 * correlation key, so both lookups are a keyed Query of one partition,
 * never a Scan:
 *
 * | item         | pk                                             | sk                           |
 * |--------------|------------------------------------------------|------------------------------|
 * | event        | `E#<endpoint>#<SHA-256 of path and value>`     | `E#<SHA-256 of delivery id>` |
 * | event waiter | `E#<endpoint>#<SHA-256 of path and value>`     | `W#<invocationId>#<key>`     |
 *
 * An event is stored once per correlation path that has a value in it (its
 * `values`); a waiter once, under its match's first path, the others
 * checked on the event's `values`. The first
 * event of a delivery id wins (a redelivery writes nothing), and its
 * insert is what the wake relays to the waiters.
 */
import { createHash } from 'node:crypto';
import type { Failure } from '../api/errors.ts';
import type { Item } from './items.ts';

/**
 * An event as stored for its lookback window, under one correlation key.
 *
 * @example
 * ```ts
 * const e: StoredEvent = { partition: eventPartition('stripe', 'body.data.object.id', 'pi_1'), endpoint: 'stripe', id: 'evt_1',
 *   at: Date.now(), until: Date.now() + 86_400_000, values: { 'body.data.object.id': 'pi_1' }, value: '{"endpoint":"stripe",…}' };
 * ```
 */
export interface StoredEvent {
  /** Its correlation key ({@link eventPartition}). */
  partition: string;
  endpoint: string;
  /** The provider's delivery id, else the body's SHA-256: a redelivery is the same event. */
  id: string;
  /** When the ingress received it, epoch ms. */
  at: number;
  /** End of its lookback window, epoch ms: a wait that starts later does not see it (its TTL follows). */
  until: number;
  /** The event's value at each of the endpoint's correlation paths that has one, as text. */
  values: Record<string, string>;
  /** The `ReceivedEvent` as JSON; absent when it was too large to keep (then `failure` says so). */
  value?: string | undefined;
  failure?: Failure | undefined;
}

/**
 * A `ctx.waitForEvent` registered under one correlation key: the
 * completion of its invocation that a matching event becomes.
 *
 * @example
 * ```ts
 * const w: EventWaiter = { invocationId: 'inv_…', key: 'C#00000002', match: { 'body.data.object.id': 'pi_1' }, until: Date.now() + 3_600_000 };
 * ```
 */
export interface EventWaiter {
  invocationId: string;
  key: string;
  /** Every path and value of its match, as text. */
  match: Record<string, string>;
  /** Until when it waits, epoch ms (its TTL follows; the wait's own timeout ends it earlier). */
  until: number;
}

/** The partition prefix of events and their waiters. */
export const EVENT_PK_PREFIX = 'E#';
/** The sort-key prefix of stored events (a stream insert the wake relays). */
export const EVENT_SK_PREFIX = 'E#';
/** The sort-key prefix of event waiters. */
export const EVENT_WAITER_SK_PREFIX = 'W#';

/**
 * The correlation key of an endpoint's events with `value` at `path`.
 *
 * @example
 * ```ts
 * eventPartition('stripe', 'body.data.object.id', 'pi_1') // 'E#stripe#<43 base64url characters>'
 * ```
 */
export function eventPartition(endpoint: string, path: string, value: string): string {
  return `${EVENT_PK_PREFIX}${endpoint}#${createHash('sha256').update(`${path}\n${value}`, 'utf8').digest('base64url')}`;
}

/** Sort key of a stored event. @example eventSk('evt_1') // 'E#<43 base64url characters>' */
export function eventSk(id: string): string {
  return `${EVENT_SK_PREFIX}${createHash('sha256').update(id, 'utf8').digest('base64url')}`;
}

/** Sort key of an event waiter. @example eventWaiterSk({ invocationId: 'inv_a', key: 'C#00000001' }) // 'W#inv_a#C#00000001' */
export function eventWaiterSk(waiter: Pick<EventWaiter, 'invocationId' | 'key'>): string {
  return `${EVENT_WAITER_SK_PREFIX}${waiter.invocationId}#${waiter.key}`;
}

/** Whether a key pair is a stored event's. */
export function isEventKey(pk: string, sk: string): boolean {
  return pk.startsWith(EVENT_PK_PREFIX) && sk.startsWith(EVENT_SK_PREFIX);
}

/** Whether an event satisfies a waiter's match (every path equal, as text). @example matchesEvent({ a: '1' }, { a: '1', b: '2' }) // true */
export function matchesEvent(match: Record<string, string>, values: Record<string, string>): boolean {
  return Object.entries(match).every(([path, value]) => Object.hasOwn(values, path) && values[path] === value);
}

/** TTL (epoch seconds) of an item kept until `until` (ms). */
function ttlOf(until: number): number {
  return Math.ceil(until / 1000);
}

/** A stored event's item. @example eventToItem(e).sk // 'E#…' */
export function eventToItem(event: StoredEvent): Item {
  const { partition, ...rest } = event;
  const item: Item = { pk: partition, sk: eventSk(event.id), ...rest, ttl: ttlOf(event.until) };
  for (const k of Object.keys(item)) if (item[k] === undefined) delete item[k];
  return item;
}

/** A stored event from its item (or its stream image). */
export function itemToEvent(item: Item): StoredEvent {
  return {
    partition: String(item.pk),
    endpoint: String(item.endpoint),
    id: String(item.id),
    at: Number(item.at),
    until: Number(item.until),
    values: (item.values ?? {}) as Record<string, string>,
    ...(typeof item.value === 'string' ? { value: item.value } : {}),
    ...(item.failure ? { failure: item.failure as Failure } : {}),
  };
}

/** An event waiter's item. @example eventWaiterToItem(p, w).sk // 'W#inv_…#C#00000001' */
export function eventWaiterToItem(partition: string, waiter: EventWaiter): Item {
  return {
    pk: partition,
    sk: eventWaiterSk(waiter),
    waiter: waiter.invocationId,
    waiterKey: waiter.key,
    match: waiter.match,
    until: waiter.until,
    ttl: ttlOf(waiter.until),
  };
}

/** An event waiter from its item. */
export function itemToEventWaiter(item: Item): EventWaiter {
  return {
    invocationId: String(item.waiter),
    key: String(item.waiterKey),
    match: (item.match ?? {}) as Record<string, string>,
    until: Number(item.until),
  };
}
