/**
 * Per-call options of the typed clients, after Restate's `rpc` namespace:
 * `rpc.opts(...)` or `rpc.sendOpts(...)` as a client method's last argument.
 */
import type { Duration } from './duration.ts';
import type { Serde } from './serde.ts';

/**
 * Options of one request-response call.
 *
 * @example
 * ```ts
 * await ctx.serviceClient(payments).charge(order, rpc.opts({ idempotencyKey: order.id }));
 * ```
 */
export interface CallOptions<I = unknown, O = unknown> {
  /** Serde of this call's input (the handler's by default). */
  input?: Serde<I>;
  /** Serde of this call's output (the handler's by default). */
  output?: Serde<O>;
  /**
   * The callee is the one invocation of its handler (and key) with this
   * key: a second call with it, from anywhere (the ingress's
   * `Idempotency-Key` too), gets the same invocation's result.
   */
  idempotencyKey?: string;
  /** Headers the callee reads from `ctx.request().headers`. */
  headers?: Record<string, string>;
  /** A label for the call (Restate shows it in its UI); Dormant does not store it. */
  name?: string;
}

/**
 * Options of one one-way send.
 *
 * @example
 * ```ts
 * ctx.objectSendClient(reminders, user).remind(text, rpc.sendOpts({ delay: { hours: 1 } }));
 * ```
 */
export interface SendCallOptions<I = unknown> {
  /** Start the target this much later (milliseconds or a duration), through a durable timer. */
  delay?: Duration | number;
  input?: Serde<I>;
  /** As for a call: one invocation per handler, key and idempotency key. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
  name?: string;
}

/**
 * Options of a call, wrapped so a client tells them from the input.
 *
 * @example
 * ```ts
 * const opts = Opts.from({ headers: { tenant: 'acme' } });
 * ```
 */
export class Opts<I = unknown, O = unknown> {
  static from<I, O>(opts: CallOptions<I, O>): Opts<I, O> {
    return new Opts(opts);
  }
  private constructor(private readonly opts: CallOptions<I, O>) {}
  getOpts(): CallOptions<I, O> {
    return this.opts;
  }
}

/**
 * Options of a send, wrapped so a client tells them from the input.
 *
 * @example
 * ```ts
 * const opts = SendOpts.from({ delay: 60_000 });
 * ```
 */
export class SendOpts<I = unknown> {
  static from<I>(opts: SendCallOptions<I>): SendOpts<I> {
    return new SendOpts(opts);
  }
  private constructor(private readonly opts: SendCallOptions<I>) {}
  getOpts(): SendCallOptions<I> {
    return this.opts;
  }
}

/**
 * Makers of per-call options, as Restate's `rpc` namespace has them.
 *
 * @example
 * ```ts
 * ctx.serviceSendClient(mailer).send(mail, rpc.sendOpts({ delay: { minutes: 5 }, idempotencyKey: mail.id }));
 * ```
 */
export const rpc = {
  opts: <I, O>(opts: CallOptions<I, O>): Opts<I, O> => Opts.from(opts),
  sendOpts: <I>(opts: SendCallOptions<I>): SendOpts<I> => SendOpts.from(opts),
};

/**
 * A client method's arguments read as Restate reads them: the input, then
 * optionally `Opts` or `SendOpts` (alone, they are the options of a handler
 * without input).
 *
 * @example
 * ```ts
 * clientArguments([order, rpc.opts({ idempotencyKey: 'o1' })]) // { input: order, options: { idempotencyKey: 'o1' } }
 * ```
 */
export function clientArguments(
  args: readonly unknown[],
): { input: unknown; options: CallOptions & SendCallOptions } | { problem: string } {
  const optionsOf = (value: unknown) => (value instanceof Opts || value instanceof SendOpts ? value.getOpts() : undefined);
  if (args.length === 0) return { input: undefined, options: {} };
  if (args.length === 1) {
    const options = optionsOf(args[0]);
    return options ? { input: undefined, options } : { input: args[0], options: {} };
  }
  if (args.length === 2) {
    const options = optionsOf(args[1]);
    if (options) return { input: args[0], options };
    if (args[1] === undefined) return { input: args[0], options: {} };
    return { problem: 'the second argument must be rpc.opts(...) or rpc.sendOpts(...)' };
  }
  return { problem: `a client method takes the input and optionally rpc.opts(...), got ${args.length} arguments` };
}
