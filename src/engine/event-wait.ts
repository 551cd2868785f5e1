/**
 * `ctx.waitForEvent`'s arguments, checked before its journal index is
 * taken, and where its waiter is recorded: under the correlation key of
 * one of its match's paths (events are stored under every correlation path
 * of their endpoint, so any one of the match's paths finds them).
 */
import { durationMs, show } from '../api/duration.ts';
import type { WaitForEventOptions } from '../api/events.ts';
import { eventPartition } from '../store/events.ts';

/** Endpoint names: what `/webhooks/{name}` and `/restate/events/{name}` accept. */
export const ENDPOINT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Most paths one match may name. */
export const MAX_MATCH_PATHS = 8;

/** Longest value one match path may hold, in characters (it is hashed into the key; the waiter item holds it). */
export const MAX_MATCH_VALUE_CHARS = 1_024;

/**
 * A path of an event a match or a correlation names: `body.` or `headers.`
 * then dotted names.
 *
 * @example
 * ```ts
 * isEventPath('body.data.object.id') // true
 * isEventPath('data.object.id')      // false: say where in the event
 * ```
 */
export function isEventPath(path: unknown): path is string {
  return typeof path === 'string' && path.length <= 256 && /^(body|headers)(\.[^.]+)+$/.test(path);
}

/**
 * A checked `ctx.waitForEvent` call: the match as text by path, where the
 * waiter is recorded, and its timeout.
 *
 * @example
 * ```ts
 * const wait = checkEventWait('stripe', { match: { 'body.data.object.id': 'pi_1' } });
 * if ('problem' in wait) throw new TerminalError(wait.problem, { code: 400 });
 * ```
 */
export type CheckedEventWait = { match: Record<string, string>; partition: string; timeoutMs: number | undefined } | { problem: string };

/** Checks `ctx.waitForEvent(name, options)`'s arguments. */
export function checkEventWait(name: unknown, options: unknown): CheckedEventWait {
  if (typeof name !== 'string' || !ENDPOINT_NAME.test(name)) {
    return { problem: `the endpoint name must be 1 to 64 letters, digits, '-' or '_' (as declared in webhooks: { … }), got ${show(name)}` };
  }
  if (typeof options !== 'object' || options === null)
    return { problem: `expected { match: { 'body.…': value }, timeout? }, got ${show(options)}` };
  const { match, timeout } = options as WaitForEventOptions;
  if (typeof match !== 'object' || match === null || Array.isArray(match)) {
    return { problem: `match must map event paths to values ({ 'body.data.object.id': id }), got ${show(match)}` };
  }
  const entries = Object.entries(match);
  if (entries.length === 0 || entries.length > MAX_MATCH_PATHS) {
    return { problem: `match must name 1 to ${MAX_MATCH_PATHS} paths, got ${entries.length}` };
  }
  const text: Record<string, string> = {};
  for (const [path, value] of entries) {
    if (!isEventPath(path)) return { problem: `match path ${show(path)} must start with 'body.' or 'headers.' (a path of the event)` };
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { problem: `match value at '${path}' must be a string, number or boolean, got ${show(value)}` };
    }
    const t = String(value);
    if (t.length > MAX_MATCH_VALUE_CHARS) return { problem: `match value at '${path}' is over ${MAX_MATCH_VALUE_CHARS} characters` };
    text[path] = t;
  }
  let timeoutMs: number | undefined;
  if (timeout !== undefined) {
    try {
      timeoutMs = durationMs(timeout, 'ctx.waitForEvent timeout');
    } catch (error) {
      return { problem: (error as Error).message };
    }
  }
  // One path keys the waiter: the match's first (list the most selective
  // first: a path with few values, an event type, would gather every wait
  // on it into one partition). Any one works, since an event is stored
  // under each correlation path it has a value for.
  const keyPath = Object.keys(text)[0]!;
  return { match: text, partition: eventPartition(name, keyPath, text[keyPath]!), timeoutMs };
}
