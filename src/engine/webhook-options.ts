/**
 * The options of `ctx.webhook()` as they are journaled: checked when the
 * handler calls it (a misuse fails the invocation once, naming the option),
 * and read back by the callback route that receives the provider's request.
 */
import type { WebhookResponse } from '../api/webhook.ts';
import { isVerifier, type Verifier } from '../api/verifiers.ts';

/** The parts of a request `pick` paths may start with. */
const PICK_ROOTS = ['method', 'headers', 'query', 'body', 'contentType'];
const MAX_PICKS = 32;
const MAX_RESPONSE_BODY = 16 * 1024;

/**
 * What a webhook entry records: the options, validated.
 *
 * @example
 * ```ts
 * const o: RecordedWebhookOptions = { verify: github({ secret: 'S' }), respond: { status: 204 } };
 * ```
 */
export interface RecordedWebhookOptions {
  verify?: Verifier;
  respond?: WebhookResponse;
  pick?: string[];
}

/**
 * Checks webhook options: `{ text }` to journal (empty options: no text), or `{ problem }`.
 *
 * @example
 * ```ts
 * checkWebhookOptions({ pick: ['body.ref'] }) // { text: '{"pick":["body.ref"]}' }
 * ```
 */
export function checkWebhookOptions(options: unknown): { text: string | undefined } | { problem: string } {
  if (options === undefined) return { text: undefined };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return { problem: `expected { verify?, respond?, pick? }, got ${typeof options}` };
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['verify', 'respond', 'pick'].includes(key) && o[key] !== undefined)
      return { problem: `unknown option '${key}' (options: verify, respond, pick)` };
  }
  const recorded: RecordedWebhookOptions = {};
  if (o.verify !== undefined) {
    if (!isVerifier(o.verify)) {
      return {
        problem:
          'verify must be a verifier made by github(), stripe(), slack(), standardWebhooks(), twilio() or hmac() from dormant-lambda',
      };
    }
    recorded.verify = o.verify;
  }
  if (o.respond !== undefined) {
    const r = o.respond as Record<string, unknown>;
    if (typeof r !== 'object' || r === null) return { problem: 'respond must be { status?, body?, contentType? }' };
    if (r.status !== undefined && (typeof r.status !== 'number' || !Number.isInteger(r.status) || r.status < 200 || r.status > 299)) {
      return { problem: `respond.status must be a 2xx status, got ${String(r.status)}` };
    }
    if (r.body !== undefined && (typeof r.body !== 'string' || Buffer.byteLength(r.body) > MAX_RESPONSE_BODY)) {
      return { problem: `respond.body must be a string of at most ${MAX_RESPONSE_BODY} bytes` };
    }
    if (r.contentType !== undefined && (typeof r.contentType !== 'string' || !/^[\x21-\x7e][\x20-\x7e]{0,199}$/.test(r.contentType))) {
      return { problem: 'respond.contentType must be a media type such as text/xml' };
    }
    recorded.respond = {
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.body !== undefined ? { body: r.body } : {}),
      ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
    };
  }
  if (o.pick !== undefined) {
    const picks = o.pick;
    if (!Array.isArray(picks) || picks.length === 0 || picks.length > MAX_PICKS) {
      return { problem: `pick must be a list of 1 to ${MAX_PICKS} dotted paths such as 'body.ref'` };
    }
    for (const path of picks) {
      if (typeof path !== 'string' || !PICK_ROOTS.includes(path.split('.')[0]!) || path.split('.').some((part) => part === '')) {
        return {
          problem: `pick path ${JSON.stringify(path)} must start with one of ${PICK_ROOTS.join(', ')} (e.g. 'body.data.object.id')`,
        };
      }
    }
    recorded.pick = picks as string[];
  }
  return { text: Object.keys(recorded).length === 0 ? undefined : JSON.stringify(recorded) };
}

/**
 * Reads journaled webhook options back (`{}` for none or for text this
 * release cannot read, which then verifies nothing, so it is refused by the
 * caller instead).
 *
 * @example
 * ```ts
 * readWebhookOptions('{"respond":{"status":204}}') // { respond: { status: 204 } }
 * ```
 */
export function readWebhookOptions(text: string | undefined): RecordedWebhookOptions | undefined {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    const checked = checkWebhookOptions(parsed);
    return 'problem' in checked ? undefined : (parsed as RecordedWebhookOptions);
  } catch {
    return undefined;
  }
}

/**
 * Keeps only the named dotted paths of a value, in the same nesting.
 *
 * @example
 * ```ts
 * pickPaths({ body: { ref: 'main', commits: [] }, method: 'POST' }, ['body.ref']) // { body: { ref: 'main' } }
 * ```
 */
export function pickPaths(value: unknown, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const parts = path.split('.');
    let from: unknown = value;
    for (const part of parts) from = typeof from === 'object' && from !== null ? (from as Record<string, unknown>)[part] : undefined;
    if (from === undefined) continue;
    let into = out;
    parts.slice(0, -1).forEach((part) => {
      const next = into[part];
      into = (typeof next === 'object' && next !== null ? next : (into[part] = {})) as Record<string, unknown>;
    });
    into[parts[parts.length - 1]!] = from;
  }
  return out;
}
