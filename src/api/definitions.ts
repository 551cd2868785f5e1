/**
 * Service, virtual object and workflow definitions: plain data the runtime
 * reads to route an invocation to its handler.
 */
import type { Context, ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext } from './context.ts';
import { json, type Serde } from './serde.ts';

/** The three kinds of durable service. */
export type ServiceKind = 'service' | 'object' | 'workflow';

/**
 * A handler function as users write it: a context and one input.
 *
 * @example
 * ```ts
 * const greet: HandlerFn<Context, string, string> = async (ctx, name) => `hi ${name}`;
 * ```
 */
export type HandlerFn<C, I = any, O = any> = (ctx: C, input: I) => Promise<O> | O;

/**
 * Options of one handler.
 *
 * @example
 * ```ts
 * handlers.object.shared({ output: json }, async (ctx) => ctx.get('v'))
 * ```
 */
export interface HandlerOptions {
  /** Serde of the handler's input (JSON by default). */
  input?: Serde<any>;
  /** Serde of the handler's output (JSON by default). */
  output?: Serde<any>;
}

/**
 * A handler wrapped with its options, as stored in a definition.
 *
 * @example
 * ```ts
 * const h: HandlerSpec = handlers.object.exclusive(async (ctx: ObjectContext) => 1);
 * h.shared // false
 * ```
 */
export interface HandlerSpec<C = any> {
  readonly fn: HandlerFn<C>;
  /** Shared handlers of objects and workflows run concurrently and only read state. */
  readonly shared: boolean;
  readonly input: Serde<any>;
  readonly output: Serde<any>;
}

const SPEC = Symbol('dormant.handler');
type Tagged<C> = HandlerSpec<C> & { [SPEC]: true };

function spec<C>(fn: HandlerFn<C>, shared: boolean, options: HandlerOptions = {}): Tagged<C> {
  return { fn, shared, input: options.input ?? json, output: options.output ?? json, [SPEC]: true };
}

function wrap<C>(shared: boolean) {
  function make<F extends HandlerFn<C>>(fn: F): HandlerSpec<C> & { readonly fn: F };
  function make<F extends HandlerFn<C>>(options: HandlerOptions, fn: F): HandlerSpec<C> & { readonly fn: F };
  function make(a: HandlerOptions | HandlerFn<C>, b?: HandlerFn<C>): HandlerSpec<C> {
    return typeof a === 'function' ? spec(a, shared) : spec(b!, shared, a);
  }
  return make;
}

/**
 * Handler wrappers that set options, after Restate's `handlers` namespace.
 * Object handlers are exclusive unless wrapped with `shared`; workflow
 * handlers other than `run` are always shared.
 *
 * @example
 * ```ts
 * const counter = object({ name: 'counter', handlers: {
 *   add: async (ctx: ObjectContext, n: number) => { ctx.set('n', ((await ctx.get<number>('n')) ?? 0) + n); },
 *   get: handlers.object.shared(async (ctx: ObjectSharedContext) => ctx.get<number>('n')),
 * } });
 * ```
 */
export const handlers = {
  handler: wrap<Context>(false),
  // `any` state: a handler may declare its own (`ObjectContext<Cart>`).
  object: { exclusive: wrap<ObjectContext<any>>(false), shared: wrap<ObjectSharedContext<any>>(true) },
  workflow: {
    shared: wrap<WorkflowSharedContext<any>>(true),
    run: wrap<WorkflowContext<any>>(false),
    workflow: wrap<WorkflowContext<any>>(false),
  },
};

type HandlerEntry<C> = HandlerFn<C> | HandlerSpec<C>;

type FnOf<E> = E extends { fn: infer F } ? F : E;
/** The input type of a handler as written. */
export type InputOf<E> = FnOf<E> extends (ctx: any, input: infer I) => any ? I : never;
/** The output type of a handler as written. */
export type OutputOf<E> = FnOf<E> extends (...args: any[]) => infer R ? Awaited<R> : never;
/**
 * The handlers a client of `D` offers: a definition's handlers, or, for a
 * Restate-style API type (an interface of handler functions, or a
 * `ServiceDefinition<'name', Api>`), the API itself.
 */
export type HandlersOf<D> = D extends { readonly types?: infer H }
  ? IsAny<H> extends true
    ? H
    : unknown extends H
      ? Omit<D, 'name' | 'types'>
      : H
  : D;
type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * Restate's stub of a service: its name, and its handlers as a type only.
 * `{ name: 'greeter' }` is one; clients made from it find the service by
 * name among those this function serves.
 *
 * @example
 * ```ts
 * type Greeter = ServiceDefinition<'greeter', { greet(ctx: Context, name: string): Promise<string> }>;
 * const Greeter: Greeter = { name: 'greeter' };
 * const hi = await ctx.serviceClient(Greeter).greet('Ada');
 * ```
 */
export interface ServiceDefinition<P extends string = string, M = unknown> {
  readonly name: P;
  /** The handler types (never set at run time). */
  readonly types?: M;
}

/**
 * Restate's stub of a virtual object.
 *
 * @example
 * ```ts
 * const Counter: VirtualObjectDefinition<'counter', { add(ctx: ObjectContext, n: number): Promise<number> }> = { name: 'counter' };
 * ```
 */
export type VirtualObjectDefinition<P extends string = string, M = unknown> = ServiceDefinition<P, M>;

/**
 * Restate's stub of a workflow.
 *
 * @example
 * ```ts
 * const Signup: WorkflowDefinition<'signup', { run(ctx: WorkflowContext, email: string): Promise<boolean> }> = { name: 'signup' };
 * ```
 */
export type WorkflowDefinition<P extends string = string, M = unknown> = ServiceDefinition<P, M>;

/**
 * A registered service, object or workflow.
 *
 * @example
 * ```ts
 * const def: Definition = service({ name: 'greeter', handlers: { greet: async (ctx, n: string) => n } });
 * def.handlers.greet?.shared // false
 * ```
 */
export interface Definition<K extends ServiceKind = ServiceKind, H = Record<string, unknown>> {
  readonly name: string;
  readonly kind: K;
  readonly handlers: Readonly<Record<string, HandlerSpec>>;
  /** The handler functions as written, kept for typed clients. */
  readonly types?: H;
}

/**
 * Whether a value is a definition made by `service()`, `object()` or
 * `workflow()` (and not a `{ name }` stub).
 *
 * @example
 * ```ts
 * isDefinition(service({ name: 'a', handlers: {} })) // true
 * isDefinition({ name: 'a' })                        // false
 * ```
 */
export function isDefinition(value: unknown): value is Definition {
  const v = value as Partial<Definition> | null;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.name === 'string' &&
    (v.kind === 'service' || v.kind === 'object' || v.kind === 'workflow') &&
    !!v.handlers &&
    typeof v.handlers === 'object'
  );
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

function define<K extends ServiceKind, H>(
  kind: K,
  name: string,
  entries: Record<string, HandlerEntry<any>>,
  isShared: (handler: string, entry: HandlerEntry<any>) => boolean,
): Definition<K, H> {
  if (!NAME.test(name))
    throw new TypeError(`invalid ${kind} name '${name}': use letters, digits, '_', '.', '-' (at most 128), starting with a letter or '_'`);
  const specs: Record<string, HandlerSpec> = {};
  for (const [handler, entry] of Object.entries(entries)) {
    if (!NAME.test(handler)) throw new TypeError(`invalid handler name '${name}.${handler}'`);
    if (typeof entry === 'function') specs[handler] = spec(entry, isShared(handler, entry));
    else if (entry && typeof entry.fn === 'function') specs[handler] = { ...entry, shared: isShared(handler, entry) };
    else throw new TypeError(`handler '${name}.${handler}' is not a function`);
  }
  return Object.freeze({ name, kind, handlers: Object.freeze(specs) });
}

/**
 * Defines a stateless service; every handler runs independently.
 *
 * @example
 * ```ts
 * export const review = service({ name: 'review', handlers: {
 *   request: async (ctx: Context, doc: string) => {
 *     const { id, promise } = ctx.awakeable<string>();
 *     await ctx.run('notify', () => notifyReviewer(doc, id));
 *     return promise;
 *   },
 * } });
 * ```
 */
export function service<H extends Record<string, HandlerEntry<Context>>>(def: { name: string; handlers: H }): Definition<'service', H> {
  return define('service', def.name, def.handlers, () => false);
}

/**
 * Defines a virtual object: state per key; exclusive handlers run one at a
 * time per key, shared ones concurrently.
 *
 * @example
 * ```ts
 * export const ledger = object({ name: 'ledger', handlers: {
 *   add: async (ctx: ObjectContext, n: number) => { const v = ((await ctx.get<number>('v')) ?? 0) + n; ctx.set('v', v); return v; },
 *   balance: handlers.object.shared(async (ctx: ObjectSharedContext) => (await ctx.get<number>('v')) ?? 0),
 * } });
 * ```
 */
export function object<H extends Record<string, HandlerEntry<ObjectContext<any>> | HandlerEntry<ObjectSharedContext<any>>>>(def: {
  name: string;
  handlers: H;
}): Definition<'object', H> {
  return define('object', def.name, def.handlers, (_h, e) => typeof e !== 'function' && e.shared);
}

/**
 * Defines a workflow: `run` executes once per key; the other handlers are
 * shared and signal `run` through durable promises.
 *
 * @example
 * ```ts
 * export const reviewFlow = workflow({ name: 'reviewFlow', handlers: {
 *   run: async (ctx: WorkflowContext, doc: string) => ctx.promise<string>('review').get(),
 *   submitReview: async (ctx: WorkflowSharedContext, verdict: string) => ctx.promise<string>('review').resolve(verdict),
 * } });
 * ```
 */
export function workflow<H extends { run: HandlerEntry<WorkflowContext<any>> } & Record<string, HandlerEntry<any>>>(def: {
  name: string;
  handlers: H;
}): Definition<'workflow', H> {
  if (!('run' in def.handlers)) throw new TypeError(`workflow '${def.name}' needs a 'run' handler`);
  return define('workflow', def.name, def.handlers, (h) => h !== 'run');
}
