/**
 * How the wake and timer roles reach the outside: a handler Lambda invoked
 * asynchronously, a timer riding the queue in hops (SQS delays are at most
 * 15 minutes; long timers are parked), and the queue's message formats.
 * Clients are passed in; nothing is created at import time.
 */
import { randomBytes } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityCommand, GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../engine/clock.ts';
import type { Timer } from '../store/store.ts';

/**
 * What a handler Lambda is invoked with: ids only, never payloads.
 *
 * @example
 * ```ts
 * const p: InvokePayload = { invocationId: 'inv_…', epoch: 3 };
 * ```
 */
export interface InvokePayload {
  invocationId: string;
  epoch: number;
  /**
   * The function version the invocation is pinned to (its `meta.version`):
   * the invoke goes to that version; without one, to the route (the alias).
   */
  version?: string | undefined;
  /**
   * A random id of this invoke (Lambda's retries of it carry the same one).
   * The attempt records it on `meta` when it acquires, so a second wake of
   * the same epoch (the stream's beside a direct one) stops at once instead
   * of waiting out the first one's lease. Absent in payloads of earlier
   * releases (they wait out any live lease, as before).
   */
  invokeId?: string | undefined;
}

/**
 * The invoke payload of an invocation: its id, the epoch seen, its pin
 * when it has one (left out otherwise, so an unpinned payload is the same
 * as before pinning existed), and a fresh invoke id.
 *
 * @example
 * ```ts
 * invokePayload({ invocationId: meta.id, epoch: meta.epoch, version: meta.version })
 * // { invocationId: 'inv_…', epoch: 3, invokeId: 'q3V…' }
 * ```
 */
export function invokePayload(o: { invocationId: string; epoch: number; version?: string | undefined }): InvokePayload {
  const payload: InvokePayload = { invocationId: o.invocationId, epoch: o.epoch };
  if (o.version !== undefined) payload.version = o.version;
  payload.invokeId = randomBytes(9).toString('base64url');
  return payload;
}

/**
 * The function (name or ARN) an invoke goes to: the route (the alias, for
 * new work) or, for a pinned invocation, the same function qualified by its
 * version. Whatever qualifier the route carries is replaced.
 *
 * @example
 * ```ts
 * invokeTarget('arn:aws:lambda:eu-west-1:123456789012:function:handlers:live', '7')
 * // 'arn:aws:lambda:eu-west-1:123456789012:function:handlers:7'
 * invokeTarget('handlers:live', undefined) // 'handlers:live'
 * ```
 */
export function invokeTarget(route: string, version: string | undefined): string {
  if (version === undefined) return route;
  if (!/^[0-9]+$/.test(version))
    throw new Error(`'${version}' is not a published function version (a number): refusing to invoke ${route} with it`);
  const at = route.indexOf(':function:');
  const prefix = at >= 0 ? route.slice(0, at + ':function:'.length) : '';
  const name = (at >= 0 ? route.slice(prefix.length) : route).split(':')[0];
  return `${prefix}${name}:${version}`;
}

/**
 * Whom a completion's writer may wake directly once it has won the write:
 * the function serving `service`, at the epoch the invocation was suspended
 * with. A stale epoch costs one failed acquire; the stream still wakes.
 *
 * @example
 * ```ts
 * const target: WakeTarget = { service: 'review', epoch: 2 };
 * ```
 */
export interface WakeTarget {
  service: string;
  epoch: number;
  /** The version the invocation is pinned to, if it is (the invoke goes there, not to the alias). */
  version?: string | undefined;
}

/**
 * Messages on the timer queue.
 *
 * - `timer`: write completion `key` of `invocationId` once `at` (epoch ms)
 *   has come; re-sent with the next hop while it has not (SQS delays are at
 *   most 15 minutes).
 * - `recover`: re-check an invocation and re-invoke it if runnable (a lost
 *   attempt whose lease had not run out yet when it was first checked).
 *
 * @example
 * ```ts
 * const m: TimerMessage = { type: 'timer', invocationId: 'inv_…', key: 'C#00000004', at: 1767225600000 };
 * ```
 */
export type TimerMessage =
  | {
      type: 'timer';
      invocationId: string;
      key: string;
      at: number;
      /** Set by this release: the timer invokes the suspended handler itself once it has written the completion. */
      service?: string;
      epoch?: number;
    }
  | { type: 'recover'; invocationId: string; at: number };

/** SQS's largest message delay, in seconds. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The longest park, in seconds. SQS caps a message's visibility at 12 hours
 * counted from its receive, and refuses a longer change; a quarter of an
 * hour is left for the time between the receive and the park.
 */
export const MAX_PARK_SECONDS = 43_200 - 900;

/**
 * Parked messages are in flight, and a standard queue serves at most
 * 120,000 in-flight messages (then receives fail with OverLimit, stalling
 * every timer). Past this many the timer stops parking and re-sends instead,
 * which costs more but never stalls.
 */
export const MAX_IN_FLIGHT_TO_PARK = 100_000;

/**
 * How old a timer message may grow before it is sent afresh. SQS counts a
 * message's 14-day retention from its first send, in the dead-letter queue
 * too: at 4 days, a timer that ends up dead-lettered stays there at least
 * 10 days for someone to redrive it.
 */
export const TIMER_MESSAGE_MAX_AGE_MS = 4 * 86_400_000;

/**
 * How many times a timer message is parked before it is sent afresh. Each
 * park is a receive, and the long-timer queue dead-letters a message after
 * {@link LONG_TIMER_QUEUE_MAX_RECEIVES}; the rest of that budget is for real failures.
 */
export const MAX_PARKS = 50;

/** The long-timer queue's `maxReceiveCount`: {@link MAX_PARKS} parks plus 50 failed tries. */
export const LONG_TIMER_QUEUE_MAX_RECEIVES = 100;

/**
 * The delay of the next hop towards `at`: whole seconds, rounded up, at most
 * 15 minutes (or `maxSeconds`, when a test clock runs faster than SQS).
 *
 * @example
 * ```ts
 * hopDelaySeconds(now + 3_600_000, now) // 900
 * hopDelaySeconds(now + 1_200, now)     // 2
 * ```
 */
export function hopDelaySeconds(at: number, now: number, maxSeconds = MAX_DELAY_SECONDS): number {
  return Math.min(MAX_DELAY_SECONDS, maxSeconds, Math.max(0, Math.ceil((at - now) / 1000)));
}

/**
 * What to do with a timer message that is not due yet.
 *
 * - `park`: keep the same message and hide it for `seconds` (ChangeMessageVisibility,
 *   then report it failed so SQS hands it back later). Up to 11¾ hours a
 *   hop, so a 30-day sleep is about 69 receives of 8 messages, not 2,880
 *   sends.
 * - `resend`: a new message delayed up to 15 minutes, when the old one is
 *   too old to park again (SQS would drop it at the retention period), has
 *   been received {@link MAX_PARKS} times (the dead-letter redrive counts
 *   receives), or cannot be parked.
 *
 * @example
 * ```ts
 * nextHop({ at: now + 30 * 86_400_000, now, ageMs: 0 })             // { kind: 'park', seconds: 42300 }
 * nextHop({ at: now + 30 * 86_400_000, now, ageMs: 12.9 * 86_400_000 }) // { kind: 'resend', delaySeconds: 900 }
 * ```
 */
export function nextHop(hop: {
  at: number;
  now: number;
  ageMs: number;
  receives?: number;
  maxSeconds?: number;
}): { kind: 'park'; seconds: number } | { kind: 'resend'; delaySeconds: number } {
  const cap = hop.maxSeconds ?? MAX_PARK_SECONDS;
  const seconds = Math.min(MAX_PARK_SECONDS, cap, Math.max(1, Math.ceil((hop.at - hop.now) / 1000)));
  if (hop.ageMs + seconds * 1000 <= TIMER_MESSAGE_MAX_AGE_MS && (hop.receives ?? 1) <= MAX_PARKS) return { kind: 'park', seconds };
  return { kind: 'resend', delaySeconds: hopDelaySeconds(hop.at, hop.now, cap) };
}

/**
 * How the wake and timer reach the outside: invoke a handler Lambda
 * asynchronously, put a message on the timer queue.
 *
 * @example
 * ```ts
 * const dispatch = awsDispatch({ lambda, sqs, routes: config.routes, timerQueueUrl: config.timerQueueUrl, clock: systemClock });
 * await dispatch.invoke('review', { invocationId, epoch: 2 });
 * ```
 */
export interface Dispatch {
  /** Asynchronous invoke (`InvocationType: 'Event'`) of the function serving `service`, on `payload.version` when pinned. */
  invoke(service: string, payload: InvokePayload): Promise<void>;
  /**
   * Puts a timer message on the queue, delayed by the next hop towards its
   * due time; with `wake`, the timer invokes the handler directly once due.
   */
  schedule(invocationId: string, timer: Timer, wake?: WakeTarget): Promise<void>;
  /** Puts any timer-queue message on the queue, delayed towards its `at`. */
  send(message: TimerMessage): Promise<void>;
  /**
   * Hides a received long-timer message for `seconds` (its caller then
   * reports it failed, so SQS hands the same message back later). Answers
   * false for a message of another queue or while too many are in flight;
   * absent where messages cannot be parked. The timer re-sends instead.
   */
  park?(message: { receiptHandle: string; eventSourceARN: string }, seconds: number): Promise<boolean>;
  /** The longest hop in seconds; below SQS's limits only under a test clock. */
  readonly maxHopSeconds?: number;
}

/**
 * A {@link Dispatch} over the Lambda and SQS clients.
 *
 * @example
 * ```ts
 * const dispatch = awsDispatch({ lambda: new LambdaClient({}), sqs: new SQSClient({}), routes, timerQueueUrl, clock: systemClock });
 * ```
 */
export function awsDispatch(deps: {
  lambda: LambdaClient;
  /** Absent (with `timerQueueUrl`) where only `invoke` is used: the ingress's direct wake. */
  sqs?: SQSClient | undefined;
  routes: Readonly<Record<string, string>>;
  timerQueueUrl?: string | undefined;
  /** Where timers due in more than 15 minutes go and are parked; without it they hop on the timer queue. */
  longTimerQueueUrl?: string | undefined;
  clock: Clock;
  /** Caps every hop; for a test clock, whose hours pass in moments. */
  maxHopSeconds?: number;
  /** Parks only while the long-timer queue has fewer messages in flight. Default {@link MAX_IN_FLIGHT_TO_PARK}. */
  maxInFlightToPark?: number;
}): Dispatch {
  const long = deps.longTimerQueueUrl;
  const queue = (): { sqs: SQSClient; timerQueueUrl: string } => {
    if (!deps.sqs || !deps.timerQueueUrl) throw new Error('this function has no timer queue (DORMANT_TIMER_QUEUE_URL): it can only invoke');
    return { sqs: deps.sqs, timerQueueUrl: deps.timerQueueUrl };
  };
  const inFlight = long ? inFlightGauge(queue().sqs, long) : async () => 0;
  const send = async (message: TimerMessage): Promise<void> => {
    const { sqs, timerQueueUrl } = queue();
    const now = deps.clock.now();
    const far = message.type === 'timer' && message.at - now > MAX_DELAY_SECONDS * 1000;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: far && long ? long : timerQueueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: hopDelaySeconds(message.at, now, deps.maxHopSeconds),
      }),
    );
  };
  return {
    async invoke(service, payload) {
      const functionName = deps.routes[service];
      if (!functionName) {
        throw new Error(
          `no function serves '${service}': DORMANT_ROUTES names ${Object.keys(deps.routes).sort().join(', ') || 'none'} (register it with runtime.addService)`,
        );
      }
      // A pinned invocation runs on the version it started on (rule 12); new work on the alias.
      const target = invokeTarget(functionName, payload.version);
      const result = await deps.lambda.send(
        new InvokeCommand({ FunctionName: target, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(payload)) }),
      );
      if (result.StatusCode !== 202) throw new Error(`asynchronous invoke of ${target} answered ${result.StatusCode}, not 202`);
    },
    schedule: (invocationId, timer, wake) => send({ type: 'timer', invocationId, key: timer.key, at: timer.at, ...wake }),
    send,
    async park(message, seconds) {
      // Only messages of the long-timer queue: a receipt handle is valid on its own queue alone,
      // and parked messages must not crowd the queue of due timers and recovery.
      if (!long || message.eventSourceARN.split(':').pop() !== long.split('/').pop()) return false;
      if ((await inFlight()) >= (deps.maxInFlightToPark ?? MAX_IN_FLIGHT_TO_PARK)) return false;
      await queue().sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: long, ReceiptHandle: message.receiptHandle, VisibilityTimeout: seconds }),
      );
      return true;
    },
    maxHopSeconds: deps.maxHopSeconds,
  };
}

/**
 * The queue's in-flight count (ApproximateNumberOfMessagesNotVisible), read
 * at most once a minute per Lambda instance: one request per minute, not per
 * message.
 */
function inFlightGauge(sqs: SQSClient, queueUrl: string): () => Promise<number> {
  let cached: { value: number; at: number } | undefined;
  return async () => {
    const now = Date.now();
    if (!cached || now - cached.at > 60_000) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
      );
      cached = { value: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0), at: now };
    }
    return cached.value;
  };
}
