/**
 * What the ingress does, apart from HTTP: start invocations, complete
 * awakeables, report status and output. Every refusal is an `IngressError`
 * with an HTTP status, raised before anything is written.
 */
import { TerminalError, toFailure, type Failure } from '../api/errors.ts';
import type { Clock } from '../engine/clock.ts';
import { derivedInvocationId, newInvocationId, workflowInvocationId, isInvocationId, type IdSigner } from '../engine/ids.ts';
import { CANCEL, LOCK_GRANTED, START, completionKey, heartbeatKey, isRetryKey } from '../store/keys.ts';
import { lockOrder, waitsForLock } from './wake.ts';
import { newInvocationMeta } from '../store/invocation.ts';
import { sameInput } from '../store/items.ts';
import {
  LockQueueFullError,
  MAX_IDEMPOTENCY_KEY_BYTES,
  MAX_LOCK_QUEUE,
  MAX_OBJECT_KEY_BYTES,
  MAX_PAYLOAD_BYTES,
  KeyTooLongError,
  checkKeyBytes,
  payloadBytes,
} from '../store/limits.ts';
import type { Completion, InvocationMeta, Store } from '../store/store.ts';
import type { Catalog } from './registry.ts';
import type { Dispatch } from './dispatch.ts';
import { directWakeTarget, wakeDirectly } from './direct-wake.ts';
import type { Log } from './log.ts';

/**
 * A refused request: an HTTP status, a stable code, and a message that says
 * what to fix.
 *
 * @example
 * ```ts
 * throw new IngressError(404, 'unknown_service', "no service named 'gretter' (known: greeter)");
 * ```
 */
export class IngressError extends Error {
  override name = 'IngressError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Headers of the answer (`retry-after`, `www-authenticate`). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/**
 * What the ingress needs.
 *
 * @example
 * ```ts
 * const deps: IngressDeps = { store, signer, clock: systemClock, catalog: catalogOf([greeter]) };
 * ```
 */
export interface IngressDeps {
  store: Store;
  signer: IdSigner;
  clock: Clock;
  catalog: Catalog;
  /**
   * The direct wake (./direct-wake.ts): with it, a start, a resolve, a
   * reject or a cancel invokes the handler it makes runnable at once, and
   * the table's stream is only the backstop. Without it the stream wakes
   * alone, as before.
   */
  dispatch?: Pick<Dispatch, 'invoke'> | undefined;
  /** Where a failed direct wake is reported. */
  log?: Log | undefined;
}

/**
 * A request to start a handler.
 *
 * @example
 * ```ts
 * const req: StartRequest = { service: 'ledger', key: 'alice', handler: 'add', body: '5' };
 * ```
 */
export interface StartRequest {
  service: string;
  handler: string;
  key?: string | undefined;
  /** The raw request body; empty means no input. */
  body: string;
  idempotencyKey?: string | undefined;
  /** Start this much later, through a durable timer. */
  delayMs?: number | undefined;
  /** Request headers the handler may read (`ctx.request().headers`). */
  headers?: Record<string, string> | undefined;
  /**
   * A workflow's `run` submitted again for the same key: `attach` (the
   * default) returns the existing invocation, `fail` refuses with 409
   * `workflow_already_submitted`.
   */
  ifExists?: 'attach' | 'fail' | undefined;
  /**
   * A restart of this failed invocation (`restartInvocation`): the new id
   * is derived from it, so a restart sent twice starts one invocation.
   */
  restartOf?: string | undefined;
}

/**
 * Starts an invocation, or finds the one this request already started (a
 * workflow's `run` for its key, or the same idempotency key). With
 * `ifExists: 'fail'`, a workflow's `run` already submitted for the key is
 * refused with 409 instead, and nothing is written.
 *
 * @example
 * ```ts
 * const { invocationId, created } = await startInvocation(deps, { service: 'greeter', handler: 'greet', body: '"Ada"' });
 * await startInvocation(deps, { service: 'reviewFlow', handler: 'run', key: 'doc-7', body: '{}', ifExists: 'fail' }); // IngressError 409 the second time
 * ```
 */
export async function startInvocation(
  deps: IngressDeps,
  req: StartRequest,
): Promise<{ invocationId: string; created: boolean; meta: InvocationMeta }> {
  const entry = deps.catalog[req.service];
  if (!entry) {
    throw new IngressError(
      404,
      'unknown_service',
      `no service named '${req.service}' (this deployment has: ${Object.keys(deps.catalog).sort().join(', ') || 'none'})`,
    );
  }
  const handler = entry.handlers[req.handler];
  if (!handler) {
    throw new IngressError(
      404,
      'unknown_handler',
      `${entry.kind} '${req.service}' has no handler '${req.handler}' (it has: ${Object.keys(entry.handlers).sort().join(', ')})`,
    );
  }
  if (entry.kind === 'service' && req.key !== undefined) {
    throw new IngressError(400, 'unexpected_key', `'${req.service}' is a service and takes no key: POST /${req.service}/${req.handler}`);
  }
  if (entry.kind !== 'service' && (req.key === undefined || req.key === '')) {
    throw new IngressError(
      400,
      'missing_key',
      `'${req.service}' is ${entry.kind === 'object' ? 'a virtual object' : 'a workflow'} and needs a key: POST /${req.service}/{key}/${req.handler}`,
    );
  }
  const workflowRun = entry.kind === 'workflow' && req.handler === 'run';
  const ifExistsRefused = ifExistsProblem(req.ifExists, { kind: entry.kind, service: req.service, handler: req.handler });
  if (ifExistsRefused) throw ifExistsRefused;
  // Every limit before the first read or write: a key the table cannot hold
  // would be written into meta and then fail every wake-up (DESIGN rule 11).
  if (req.key !== undefined) checkKey(`${entry.kind} key`, req.key, MAX_OBJECT_KEY_BYTES);
  if (req.idempotencyKey !== undefined) checkKey('Idempotency-Key', req.idempotencyKey, MAX_IDEMPOTENCY_KEY_BYTES);
  if (req.delayMs !== undefined) checkDelay(req.delayMs);
  checkPayload(req.body, 'request body');
  if (handler.json && req.body !== '') {
    try {
      JSON.parse(req.body);
    } catch (e) {
      throw new IngressError(400, 'invalid_json', `the request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  const now = deps.clock.now();
  const id = workflowRun
    ? workflowInvocationId(req.service, req.key!)
    : req.restartOf !== undefined
      ? derivedInvocationId('restart', req.restartOf)
      : req.idempotencyKey !== undefined
        ? derivedInvocationId('idempotency', req.service, req.handler, req.key ?? '', req.idempotencyKey)
        : newInvocationId();
  if (workflowRun || req.idempotencyKey !== undefined || req.restartOf !== undefined) await refuseExpiredReuse(deps, id, req, workflowRun);
  const meta = newInvocationMeta({
    id,
    service: req.service,
    handler: req.handler,
    kind: entry.kind,
    shared: handler.shared,
    key: req.key,
    input: req.body,
    now,
    delayMs: req.delayMs,
    idempotencyKey: req.idempotencyKey,
    headers: req.headers,
  });
  // Runnable at once: the ingress invokes it itself, and marks it so the wake looks before invoking again.
  const direct = deps.dispatch !== undefined && meta.status === 'pending';
  if (direct) meta.directWake = true;
  if (waitsForLock(meta)) await refuseFullQueue(deps, meta);
  // The create is conditional: a refused second submit has written nothing.
  const created = await deps.store.createInvocation(meta);
  if (created.created && direct) await wakeDirectly(deps.dispatch, id, { service: meta.service, epoch: meta.epoch }, deps.log);
  const existing = created.created ? meta : created.existing;
  // A client retrying its own submit (same Idempotency-Key and body) gets its run back, not a 409.
  const ownRetry = req.idempotencyKey !== undefined && existing.idempotencyKey === req.idempotencyKey && sameInput(existing, req.body);
  if (!created.created && workflowRun && req.ifExists === 'fail' && !ownRetry) {
    throw new IngressError(
      409,
      'workflow_already_submitted',
      `workflow ${req.service} '${req.key}' was already submitted as invocation ${id}, which is ${existing.status}; its run executes once per key. Read it at GET /restate/workflow/${req.service}/${encodeURIComponent(req.key!)}/attach|output, or submit without ifExists=fail to get the existing invocation`,
      { invocationId: id, status: existing.status },
    );
  }
  // Queue in request order here; the wake rule repeats it (idempotently) in
  // case this Lambda dies between the two writes.
  if (waitsForLock(existing)) await enqueue(deps, existing, created.created);
  if (created.created) return { invocationId: id, created: true, meta };
  if (req.idempotencyKey !== undefined && !sameInput(existing, req.body)) {
    throw new IngressError(
      409,
      'idempotency_key_reused',
      `Idempotency-Key '${req.idempotencyKey}' was used for invocation ${id} with a different request body; use a new key for a new request`,
      { invocationId: id },
    );
  }
  return { invocationId: id, created: false, meta: existing };
}

/**
 * Why an `ifExists` is refused (400), if it is: a value other than `fail`
 * or `attach`, or any value on something other than a workflow's `run`
 * (only that has one invocation per key to find). The router and
 * `startInvocation` both ask.
 *
 * @example
 * ```ts
 * ifExistsProblem('replace', { kind: 'workflow', service: 'reviewFlow', handler: 'run' })?.code // 'invalid_if_exists'
 * ifExistsProblem('fail', { kind: 'workflow', service: 'reviewFlow', handler: 'run' })          // undefined
 * ```
 */
export function ifExistsProblem(
  ifExists: string | undefined,
  target: { kind: 'service' | 'object' | 'workflow'; service: string; handler: string },
): IngressError | undefined {
  if (ifExists === undefined) return undefined;
  if (ifExists !== 'fail' && ifExists !== 'attach') {
    return new IngressError(
      400,
      'invalid_if_exists',
      `?ifExists=${ifExists} is not understood; use ifExists=fail (refuse a second submit with 409) or ifExists=attach (return the existing invocation, the default)`,
    );
  }
  if (target.kind !== 'workflow' || target.handler !== 'run') {
    return new IngressError(
      400,
      'if_exists_needs_workflow_run',
      `?ifExists= only applies to a workflow's run (POST /{workflow}/{key}/run[/send]), not to ${target.kind} '${target.service}' handler '${target.handler}'; use an Idempotency-Key header for other handlers`,
    );
  }
  return undefined;
}

/**
 * An exclusive call on a key whose queue is full is refused (429) before
 * anything is written: one key's flood cannot grow its lock item without
 * bound (one read of the lock, 1 read unit while the queue is short). A
 * client retrying a call already queued (same id) is not refused.
 */
async function refuseFullQueue(deps: Pick<IngressDeps, 'store'>, meta: InvocationMeta): Promise<void> {
  const lock = await deps.store.readLock(meta.lockScope!);
  if (!lock || Object.keys(lock.waiting).length < MAX_LOCK_QUEUE || lock.waiting[meta.id] !== undefined) return;
  throw queueFull(meta);
}

/**
 * Queues a new exclusive call. The lock item refuses a full queue itself
 * (`LockQueueFullError`), which only concurrent starts past the check above
 * can meet; the call just created then fails at once (429), so it never
 * waits for a turn it cannot get.
 */
async function enqueue(deps: Pick<IngressDeps, 'store' | 'clock'>, meta: InvocationMeta, created: boolean): Promise<void> {
  try {
    await deps.store.enqueueLock(meta.lockScope!, meta.id, lockOrder(meta));
  } catch (error) {
    if (!(error instanceof LockQueueFullError)) throw error;
    if (created) {
      const now = deps.clock.now();
      await deps.store.kill(meta.id, { now, failure: toFailure(error), ttl: Math.floor(now / 1000) + 24 * 3_600 });
    }
    throw queueFull(meta);
  }
}

function queueFull(meta: InvocationMeta): IngressError {
  return new IngressError(
    429,
    'lock_queue_full',
    `${MAX_LOCK_QUEUE} calls already wait for ${meta.service} '${meta.key}' (its handlers run one at a time per key); try again once some have run`,
    { limit: MAX_LOCK_QUEUE },
    { 'retry-after': '1' },
  );
}

/**
 * A derived id (workflow key, Idempotency-Key) names the same partition
 * every time. Once a finished run's `meta` has expired, its journal lives on
 * (it must outlive any suspension), and a new invocation under the id would
 * replay it as its own. Refuse that reuse clearly; it costs one keys-only
 * read per derived start, and one more when a journal is found.
 */
async function refuseExpiredReuse(deps: Pick<IngressDeps, 'store'>, id: string, req: StartRequest, workflowRun: boolean): Promise<void> {
  if (!(await deps.store.hasJournal(id)) || (await deps.store.getInvocation(id))) return;
  const what = workflowRun
    ? `workflow ${req.service} '${req.key}'`
    : req.restartOf !== undefined
      ? `the restart of invocation ${req.restartOf}`
      : `Idempotency-Key '${req.idempotencyKey}' of ${req.service}/${req.handler}`;
  throw new IngressError(
    409,
    'key_reused_after_expiry',
    `${what} was used by invocation ${id}, whose result has expired while its journal is still kept (up to 365 days after it was written); a new invocation under it would replay the old one. Use a new key`,
    { invocationId: id },
  );
}

/**
 * The longest delay of a delayed send: 365 days, as long as its journal
 * items live (a longer wait would outlive what it needs).
 */
export const MAX_DELAY_MS = 365 * 86_400_000;

/**
 * Parses a `?delay=` of a send: Restate's client sends `<n>ms`; plain
 * milliseconds and `s`, `m`, `h`, `d` suffixes are accepted too. At most
 * {@link MAX_DELAY_MS}, in whole milliseconds (a safe integer); anything
 * else is a 400.
 *
 * @example
 * ```ts
 * parseDelay('1500ms') // 1500
 * parseDelay('2m')     // 120000
 * parseDelay('400d')   // IngressError 400 invalid_delay
 * ```
 */
export function parseDelay(text: string): number {
  const match = /^(\d{1,16}(?:\.\d{1,9})?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new IngressError(
      400,
      'invalid_delay',
      `?delay=${text.slice(0, 40)} is not a duration; use milliseconds like 1500ms (or s, m, h, d), at most 365 days`,
    );
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 'ms') as 'ms'];
  const ms = Math.round(Number(match[1]) * unit);
  checkDelay(ms);
  return ms;
}

function checkDelay(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) {
    throw new IngressError(
      400,
      'invalid_delay',
      `delay must be a whole number of milliseconds from 0 to ${MAX_DELAY_MS} (365 days), got ${String(ms).slice(0, 40)}`,
    );
  }
}

function checkKey(what: string, value: string, limit: number): void {
  try {
    checkKeyBytes(what, value, limit);
  } catch (error) {
    if (error instanceof KeyTooLongError) throw new IngressError(400, 'key_too_long', error.message, { limit, bytes: error.bytes });
    throw error;
  }
}

function checkPayload(text: string, what: string): void {
  const bytes = payloadBytes(text);
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new IngressError(
      413,
      'payload_too_large',
      `${what} is ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit; store large data elsewhere (e.g. S3) and pass a reference`,
    );
  }
}

/**
 * What a resolve or reject did: completed the awakeable, or met exactly the
 * same completion already there (a webhook's or SDK's redelivery), which is
 * answered as a success too (DESIGN rule 2).
 */
export type CompletionAnswer = 'completed' | 'redelivered';

/**
 * Resolves an awakeable with a JSON body (empty means `undefined`). A second,
 * different completion is refused with 409 naming whether the awakeable was
 * resolved or rejected, and when, never the value; the same resolve again
 * answers `'redelivered'`.
 *
 * @example
 * ```ts
 * await resolveAwakeable(deps, 'awk_…', '{"approved":true}'); // 'completed'; IngressError 409 if completed otherwise
 * ```
 */
export function resolveAwakeable(deps: IngressDeps, awakeableId: string, body: string): Promise<CompletionAnswer> {
  return completeAwakeable(deps, awakeableId, () => {
    checkPayload(body, 'resolve body');
    if (body !== '') {
      try {
        JSON.parse(body);
      } catch (e) {
        throw new IngressError(400, 'invalid_json', `the resolve body is not valid JSON: ${(e as Error).message}`);
      }
    }
    return { value: body };
  });
}

/**
 * Rejects an awakeable with a reason; the awaiting handler sees a `TerminalError`.
 *
 * @example
 * ```ts
 * await rejectAwakeable(deps, 'awk_…', 'the reviewer declined');
 * ```
 */
export function rejectAwakeable(deps: IngressDeps, awakeableId: string, reason: string): Promise<CompletionAnswer> {
  return completeAwakeable(deps, awakeableId, () => {
    checkPayload(reason, 'reject reason');
    return { failure: toFailure(new TerminalError(reason || 'rejected')) };
  });
}

async function verifiedAwakeable(deps: IngressDeps, awakeableId: string): Promise<{ invocationId: string; index: number }> {
  // Checked before any read: a forged id costs no table access (at most a
  // rate-limited re-read of the signing secrets, for an unknown key id).
  const verified = await deps.signer.verify(awakeableId);
  if (!verified.ok) {
    throw verified.problem === 'forged'
      ? new IngressError(
          403,
          'forged_awakeable_id',
          'the awakeable id has a valid shape but does not authenticate: it was not issued by this deployment (under its current or previous signing secret), or it was altered',
        )
      : new IngressError(
          400,
          'malformed_awakeable_id',
          "not an awakeable id: ids look like 'awk_' followed by base64url characters, as ctx.awakeable() returns them",
        );
  }
  return verified.target;
}

/**
 * The awakeable an id names, if it can still be completed: its invocation
 * exists (else 404) and has not finished (else 409 with the completion that
 * finished it, or 410). One read of `meta`, one more only when finished.
 * Nothing in these answers names the invocation: the id's holder learns
 * nothing but the fate of its own awakeable (DESIGN rule 10).
 */
async function openAwakeable(
  deps: IngressDeps,
  invocationId: string,
  index: number,
  mine?: Pick<Completion, 'value' | 'failure'>,
): Promise<{ key: string; meta: InvocationMeta } | 'redelivered'> {
  const meta = await deps.store.getInvocation(invocationId);
  if (!meta)
    throw new IngressError(
      404,
      'unknown_awakeable',
      'nothing awaits this awakeable: its invocation does not exist (it finished and its record expired, or it was purged)',
    );
  const key = completionKey(index);
  if (meta.status === 'completed' || meta.status === 'failed') {
    // Finished since an earlier completion of this awakeable woke it: that
    // completion is what this one lost to (409), not a 410.
    const earlier = await deps.store.getCompletion(invocationId, key);
    if (earlier && mine && sameCompletion(earlier, mine)) return 'redelivered';
    if (earlier) throw alreadyCompleted(earlier);
    throw new IngressError(
      410,
      'invocation_finished',
      'the invocation that awaited this awakeable has finished; nothing awaits it any more',
    );
  }
  return { key, meta };
}

async function completeAwakeable(
  deps: IngressDeps,
  awakeableId: string,
  result: () => { value: string } | { failure: Failure },
): Promise<CompletionAnswer> {
  const { invocationId, index } = await verifiedAwakeable(deps, awakeableId);
  const payload = result();
  const open = await openAwakeable(deps, invocationId, index, payload);
  if (open === 'redelivered') return open;
  const completion: Completion = { key: open.key, at: deps.clock.now(), ...payload };
  const written = await deps.store.complete(invocationId, completion);
  if (written.won) {
    // meta as read above: suspended on this key means nothing else can run it before this wake.
    await wakeDirectly(deps.dispatch, invocationId, directWakeTarget(open.meta, open.key), deps.log);
    return 'completed';
  }
  // Two deliveries of one webhook: the second finds the first, the same.
  //
  //   delivery 1 ── Put C#2 ✓ ─────────────────────────────▶ 202
  //   delivery 2 ──────── Put C#2 ✗ (ALL_OLD: same value) ───▶ 202, redelivered
  //   other party ─────────── Put C#2 ✗ (ALL_OLD: differs) ──▶ 409 resolved at …
  if (sameCompletion(written.existing, payload)) return 'redelivered';
  throw alreadyCompleted(written.existing);
}

/** Whether a completion is exactly the outcome another delivery carries: same kind, same body or reason. */
function sameCompletion(existing: Pick<Completion, 'value' | 'failure'>, mine: Pick<Completion, 'value' | 'failure'>): boolean {
  if (existing.failure || mine.failure) {
    return (
      existing.failure !== undefined &&
      mine.failure !== undefined &&
      existing.failure.name === mine.failure.name &&
      existing.failure.message === mine.failure.message
    );
  }
  return (existing.value ?? '') === (mine.value ?? '');
}

/**
 * Records a heartbeat of an awakeable (AWS's `SendDurableExecutionCallbackHeartbeat`):
 * an awakeable made with `heartbeatTimeoutMs` stays open until that long
 * after its last heartbeat. Refused like a resolve when the awakeable is
 * already completed (409) or its invocation finished (410).
 *
 * @example
 * ```ts
 * await heartbeatAwakeable(deps, 'awk_…');
 * ```
 */
export async function heartbeatAwakeable(deps: IngressDeps, awakeableId: string): Promise<void> {
  const { invocationId, index } = await verifiedAwakeable(deps, awakeableId);
  const open = await openAwakeable(deps, invocationId, index);
  if (open === 'redelivered') return;
  const key = open.key;
  // A heartbeat writes no completion, so it looks for one itself: a closed callback refuses it (409).
  const earlier = await deps.store.getCompletion(invocationId, key);
  if (earlier) throw alreadyCompleted(earlier);
  await deps.store.heartbeat(invocationId, heartbeatKey(key), deps.clock.now());
}

/**
 * The 409 of a completion that lost: whether the awakeable was resolved or
 * rejected, and when; never the winner's value or reason (DESIGN rule 2).
 */
function alreadyCompleted(lost: Completion): IngressError {
  const outcome = lost.failure ? 'rejected' : 'resolved';
  const completedAt = new Date(lost.at).toISOString();
  return new IngressError(409, 'already_completed', `the awakeable was already ${outcome} at ${completedAt}; the first completion stands`, {
    outcome,
    completedAt,
  });
}

/**
 * The public view of an invocation, as `GET /restate/invocation/{id}` returns it.
 *
 * @example
 * ```ts
 * const s: InvocationStatusView = await getStatus(deps, id);
 * s.status // 'suspended'; s.awaiting // [{ key: 'C#00000001', awakeableId: 'awk_…' }]
 * // a caller waiting on a call: [{ key: 'C#00000002', callee: 'inv_…' }]
 * ```
 */
export interface InvocationStatusView {
  id: string;
  service: string;
  handler: string;
  key?: string | undefined;
  /** Where it stands, in Restate's words: see {@link InvocationStatusName}. */
  status: InvocationStatusName;
  /** When a delayed send runs (`scheduled`). */
  scheduledAt?: string | undefined;
  /** When the next attempt runs after a retryable failure (`backing-off`); `lastFailure` says why. */
  nextRetryAt?: string | undefined;
  /**
   * What it waits for, by completion key: the awakeable, the timer's due
   * time, the callee invocation whose result it awaits, or (an exclusive
   * object call) the key's holder and its place in the queue.
   */
  awaiting: {
    key: string;
    awakeableId?: string | undefined;
    /** The endpoint a `ctx.waitForEvent` waits on (not a capability: shown to anyone who may read the status). */
    event?: string | undefined;
    timerAt?: string | undefined;
    callee?: string | undefined;
    lockHeldBy?: string | undefined;
    queuePosition?: number | undefined;
  }[];
  /** The handler function version it is pinned to (absent before its first attempt, on `$LATEST`, and on invocations older than pinning). */
  version?: string | undefined;
  /** The version an operator upgraded it from. */
  upgradedFrom?: string | undefined;
  attempts: number;
  retries: number;
  lastFailure?: Failure | undefined;
  failure?: Failure | undefined;
  createdAt: string;
  updatedAt: string;
}

/**
 * Where an invocation stands, in Restate's vocabulary:
 *
 * - `pending`: not started yet: waiting for its first attempt, or (an
 *   exclusive object call) queued behind another call on its key, with its
 *   `queuePosition` under `awaiting`;
 * - `scheduled`: a delayed send, until `scheduledAt`;
 * - `running`: an attempt holds it;
 * - `backing-off`: its last attempt failed and may be retried; the next
 *   runs at `nextRetryAt`, `lastFailure` says why;
 * - `suspended`: it started and waits for what `awaiting` lists (an
 *   awakeable, a timer, a callee, a promise), with no compute running;
 * - `completed`, `failed`: finished.
 *
 * @example
 * ```ts
 * const s: InvocationStatusName = 'backing-off';
 * ```
 */
export type InvocationStatusName = 'pending' | 'scheduled' | 'running' | 'backing-off' | 'suspended' | 'completed' | 'failed';

/**
 * The status an invocation shows, from its stored meta: meta's `suspended`
 * also stands for a call that never started (queued for its object key, or
 * a delayed send) and for a retry's backoff, which read as what they are.
 *
 * @example
 * ```ts
 * statusOf({ ...meta, status: 'suspended', awaiting: ['C#lock'] }) // 'pending'
 * ```
 */
export function statusOf(meta: Pick<InvocationMeta, 'status' | 'awaiting'>): InvocationStatusName {
  if (meta.status !== 'suspended') return meta.status;
  const awaiting = meta.awaiting ?? [];
  if (awaiting.includes(LOCK_GRANTED)) return 'pending';
  if (awaiting.includes(START)) return 'scheduled';
  if (awaiting.some(isRetryKey)) return 'backing-off';
  return 'suspended';
}

/**
 * Reads an invocation's status. What it waits for names capabilities and
 * other invocations (an awakeable's id, the callee, the call holding its
 * object key): those are shown only with `reveal` (the caller was
 * authenticated as the deployment's owner, or the plane is its developer's
 * own); otherwise they are left out (DESIGN rule 10).
 *
 * @example
 * ```ts
 * (await getStatus(deps, 'inv_…')).status // 'completed'
 * (await getStatus(deps, 'inv_…', { reveal: false })).awaiting[0].awakeableId // undefined
 * ```
 */
export async function getStatus(
  deps: Pick<IngressDeps, 'store'>,
  invocationId: string,
  options: { reveal?: boolean } = {},
): Promise<InvocationStatusView> {
  return statusView(deps, await readMeta(deps, invocationId), options);
}

/**
 * The status view of an invocation's `meta` already read (a listing reads
 * many at once): one more read only for an exclusive object call queued for
 * its key (its place in the queue).
 *
 * @example
 * ```ts
 * const view = await statusView(deps, meta, { reveal: false });
 * ```
 */
export async function statusView(
  deps: Pick<IngressDeps, 'store'>,
  meta: InvocationMeta,
  options: { reveal?: boolean } = {},
): Promise<InvocationStatusView> {
  const reveal = options.reveal ?? true;
  const timers = new Map((meta.timers ?? []).map((t) => [t.key, t.at]));
  const status = statusOf(meta);
  const lock = meta.lockScope && meta.awaiting?.includes(LOCK_GRANTED) ? await deps.store.readLock(meta.lockScope) : undefined;
  const queue = lock
    ? Object.entries(lock.waiting)
        .sort(([, a], [, b]) => a.localeCompare(b))
        .map(([id]) => id)
    : [];
  return {
    id: meta.id,
    service: meta.service,
    handler: meta.handler,
    key: meta.key,
    status,
    ...(status === 'scheduled' && timers.has(START) ? { scheduledAt: new Date(timers.get(START)!).toISOString() } : {}),
    ...(status === 'backing-off' ? { nextRetryAt: nextRetry(meta.awaiting ?? [], timers) } : {}),
    awaiting: (meta.awaiting ?? [])
      .filter((key) => key !== CANCEL)
      .map((key) => ({
        key,
        // An event wait is noted among the awakeables as `event:<endpoint>` (no store format of its own).
        ...(meta.awakeables?.[key]?.startsWith('event:')
          ? { event: meta.awakeables[key].slice('event:'.length) }
          : { awakeableId: reveal ? meta.awakeables?.[key] : undefined }),
        callee: reveal ? meta.callees?.[key] : undefined,
        timerAt: timers.has(key) ? new Date(timers.get(key)!).toISOString() : undefined,
        ...(key === LOCK_GRANTED && lock
          ? { lockHeldBy: reveal ? lock.holder : undefined, queuePosition: queue.indexOf(meta.id) + 1 || undefined }
          : {}),
      })),
    version: meta.version,
    upgradedFrom: meta.upgradedFrom,
    attempts: meta.epoch,
    retries: meta.retries ?? 0,
    lastFailure: meta.lastFailure,
    failure: meta.failure,
    createdAt: new Date(meta.createdAt).toISOString(),
    updatedAt: new Date(meta.updatedAt).toISOString(),
  };
}

/**
 * An invocation's result: its output once completed, its failure once failed,
 * `ready: false` before.
 *
 * @example
 * ```ts
 * const r = await getOutput(deps, id);
 * if (r.ready && 'output' in r) JSON.parse(r.output);
 * ```
 */
export async function getOutput(
  deps: Pick<IngressDeps, 'store'>,
  invocationId: string,
  /** The 404 message when it does not exist (a workflow never submitted). */
  unknown?: string,
): Promise<{ ready: false; status: InvocationMeta['status'] } | { ready: true; output: string } | { ready: true; failure: Failure }> {
  const meta = await readMeta(deps, invocationId, unknown);
  if (meta.status === 'completed') return { ready: true, output: meta.output ?? '' };
  if (meta.status === 'failed') return { ready: true, failure: meta.failure ?? { name: 'TerminalError', message: 'failed', code: 500 } };
  return { ready: false, status: meta.status };
}

/** When the retry timer an invocation backs off on is due. */
function nextRetry(awaiting: string[], timers: Map<string, number>): string | undefined {
  const key = awaiting.find(isRetryKey);
  return key && timers.has(key) ? new Date(timers.get(key)!).toISOString() : undefined;
}

/**
 * Refuses (400) what cannot be an invocation id, before any read.
 *
 * @example
 * ```ts
 * checkInvocationId('inv_x'); // IngressError 400 malformed_invocation_id
 * ```
 */
export function checkInvocationId(invocationId: string): void {
  if (!isInvocationId(invocationId)) {
    throw new IngressError(
      400,
      'malformed_invocation_id',
      `not an invocation id: '${invocationId}' (ids look like 'inv_' followed by 22 base64url characters)`,
    );
  }
}

async function readMeta(deps: Pick<IngressDeps, 'store'>, invocationId: string, unknown?: string): Promise<InvocationMeta> {
  checkInvocationId(invocationId);
  const meta = await deps.store.getInvocation(invocationId);
  if (!meta)
    throw new IngressError(
      404,
      'unknown_invocation',
      unknown ?? `no invocation ${invocationId} (it never existed, or it finished and expired)`,
    );
  return meta;
}

/**
 * Asks an invocation to stop: the handler sees a `CancelledError` at its next
 * await, may run compensation steps, and the request propagates to what it
 * called. Answers 409 when it already finished.
 *
 * @example
 * ```ts
 * await cancelInvocation(deps, 'inv_…');
 * ```
 */
export async function cancelInvocation(
  deps: Pick<IngressDeps, 'store' | 'clock' | 'dispatch' | 'log'>,
  invocationId: string,
): Promise<void> {
  const meta = await readMeta(deps, invocationId);
  if (meta.status === 'completed' || meta.status === 'failed') {
    throw new IngressError(409, 'already_finished', `invocation ${invocationId} has already ${meta.status}; there is nothing to cancel`, {
      status: meta.status,
    });
  }
  // A second cancel finds the first in place: still accepted.
  const written = await deps.store.complete(invocationId, { key: CANCEL, at: deps.clock.now() });
  if (written.won) await wakeDirectly(deps.dispatch, invocationId, directWakeTarget(meta, CANCEL), deps.log);
}

/**
 * Ends an invocation at once, without running any more of its code (no
 * compensation). Its object key and its callers are released as usual.
 *
 * @example
 * ```ts
 * await killInvocation(deps, 'inv_…', 24 * 3_600_000);
 * ```
 */
export async function killInvocation(
  deps: Pick<IngressDeps, 'store' | 'clock'>,
  invocationId: string,
  retentionMs = 24 * 3_600_000,
): Promise<void> {
  const meta = await readMeta(deps, invocationId);
  const now = deps.clock.now();
  const failure = toFailure(Object.assign(new TerminalError('killed', { code: 409 }), { name: 'CancelledError' }));
  if (!(await deps.store.kill(meta.id, { now, failure, ttl: Math.floor((now + retentionMs) / 1000) }))) {
    throw new IngressError(409, 'already_finished', `invocation ${invocationId} has already finished; there is nothing to kill`);
  }
}

/**
 * Deletes a finished invocation's data for good: its journal (every step
 * result and state change it recorded), completions, promises, input and
 * output; a workflow's run takes the workflow's state with it. For data that
 * must not stay until it expires. 409 while it has not finished (cancel or
 * kill it first), 404 when there is nothing.
 *
 * @example
 * ```ts
 * await purgeInvocation(deps, 'inv_…'); // { purged: 12 }
 * ```
 */
export async function purgeInvocation(deps: Pick<IngressDeps, 'store'>, invocationId: string): Promise<{ purged: number }> {
  await readMeta(deps, invocationId);
  const result = await deps.store.purge(invocationId);
  if (result === 'unknown')
    throw new IngressError(404, 'unknown_invocation', `no invocation ${invocationId} (it never existed, or it expired or was purged)`);
  if (result === 'unfinished')
    throw new IngressError(409, 'not_finished', `invocation ${invocationId} has not finished; cancel or kill it first, then purge it`);
  return result;
}

/**
 * Moves a suspended invocation off the function version it is pinned to,
 * deliberately (an operator accepting the risk that its journal replays on
 * different code): its next attempt runs the current alias and pins that
 * version. 409 unless it is suspended (a running attempt is on its version
 * until it ends), 404 when there is nothing; an invocation without a pin
 * runs the alias already (`upgraded: false`).
 *
 * A wake already on its way to the old version when the upgrade lands
 * (a completion arrived moments before) finds no pin, and so re-pins the old
 * version: the status page then shows `version` still the old one, and a
 * second upgrade once it suspends again moves it.
 *
 * @example
 * ```ts
 * await upgradeInvocation(deps, 'inv_…'); // { upgraded: true, from: '3' }
 * ```
 */
export async function upgradeInvocation(
  deps: Pick<IngressDeps, 'store' | 'clock'>,
  invocationId: string,
): Promise<{ upgraded: true; from: string } | { upgraded: false }> {
  await readMeta(deps, invocationId);
  const result = await deps.store.unpin(invocationId, { now: deps.clock.now() });
  switch (result.kind) {
    case 'upgraded':
      return { upgraded: true, from: result.from };
    case 'unpinned':
      return { upgraded: false };
    case 'unknown':
      throw new IngressError(404, 'unknown_invocation', `no invocation ${invocationId} (it never existed, or it finished and expired)`);
    case 'not-suspended':
      throw new IngressError(
        409,
        'not_suspended',
        result.status === 'completed' || result.status === 'failed'
          ? `invocation ${invocationId} has finished (${result.status}); there is nothing to upgrade`
          : `invocation ${invocationId} is ${result.status}: an attempt runs on its version until it ends; upgrade it once it is suspended`,
      );
  }
}
