/**
 * Service, virtual object and workflow definitions: plain data the runtime
 * reads to route an invocation to its handler.
 *
 * Their static types are Restate's (`ServiceDefinition<'name', Handlers>`
 * and the others, from `@restatedev/restate-sdk-core`, types only), so
 * Restate's ingress client takes its handler types from a Dormant
 * definition as it does from a Restate one. What the runtime reads (kind,
 * handlers with their options) is checked at run time: {@link definitionOf}.
 */
import type { ServiceDefinition, VirtualObjectDefinition, WorkflowDefinition } from '@restatedev/restate-sdk-core';
import type { Context, ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext } from './context.ts';
import { json, type Serde } from './serde.ts';

export type { ServiceDefinition, VirtualObjectDefinition, WorkflowDefinition };

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
 * Options of one handler. Of Restate's handler options, `description`,
 * `metadata` and `enableLazyState` are accepted (Dormant reads state lazily
 * anyway) and `serde` sets both serdes; any other is refused when the
 * handler is defined, since Dormant would not apply it.
 *
 * @example
 * ```ts
 * handlers.object.shared({ output: json }, async (ctx) => ctx.get('v'))
 * ```
 */
export interface HandlerOptions<I = any, O = any> {
  /** Serde of the handler's input (JSON by default). */
  input?: Serde<I>;
  /** Serde of the handler's output (JSON by default). */
  output?: Serde<O>;
  /** Serde of both, where `input` or `output` is not given (Restate's). */
  serde?: Serde<any>;
  /** Documentation only. */
  description?: string;
  /** Documentation only. */
  metadata?: Record<string, string>;
  /** Restate's hint; Dormant always reads state when first asked. */
  enableLazyState?: boolean;
}

const HANDLER_OPTIONS = new Set(['input', 'output', 'serde', 'description', 'metadata', 'enableLazyState']);

/** Refuses options Dormant would not apply, naming them (a silently ignored retry policy or timeout is worse). */
function checkOptions(what: string, given: object, known: ReadonlySet<string>): void {
  const unknown = Object.keys(given).filter((k) => !known.has(k) && (given as Record<string, unknown>)[k] !== undefined);
  if (unknown.length > 0)
    throw new TypeError(
      `${what}: Dormant does not apply ${unknown.map((k) => `'${k}'`).join(', ')} (it takes ${[...known].join(', ')}); ` +
        'set retries per ctx.run and retention on the CDK construct, or leave these out',
    );
}

/**
 * A handler with its options, as a definition holds it (read with
 * {@link definitionOf}).
 *
 * @example
 * ```ts
 * definitionOf(counter).handlers.read?.shared // true
 * ```
 */
export interface HandlerSpec<C = any> {
  readonly fn: HandlerFn<C>;
  /** Shared handlers of objects and workflows run concurrently and only read state. */
  readonly shared: boolean;
  readonly input: Serde<any>;
  readonly output: Serde<any>;
}

/** Where a wrapped handler function carries its options (as Restate's wrappers do). */
const HANDLER = Symbol('dormant.handler');
type Wrapped = { [HANDLER]?: { shared: boolean; options: HandlerOptions } };

function spec<C>(fn: HandlerFn<C>, shared: boolean, options: HandlerOptions = {}): HandlerSpec<C> {
  checkOptions('handler options', options, HANDLER_OPTIONS);
  return { fn, shared, input: options.input ?? options.serde ?? json, output: options.output ?? options.serde ?? json };
}

/**
 * A wrapper returns the handler function itself (a copy, so the original
 * can be used elsewhere unwrapped) with its options attached: a definition's
 * handler map then holds functions only, which is what typed clients, and
 * Restate's ingress client, read handler types from.
 */
function wrap<C>(shared: boolean) {
  function make<F extends HandlerFn<C>>(fn: F): F;
  function make<I, O, F extends HandlerFn<C, I, O> = HandlerFn<C, I, O>>(options: HandlerOptions<I, O>, fn: F): F;
  function make(a: HandlerOptions | HandlerFn<C>, b?: HandlerFn<C>): HandlerFn<C> {
    const fn = typeof a === 'function' ? a : b;
    const options = typeof a === 'function' ? {} : a;
    if (typeof fn !== 'function')
      throw new TypeError('a handler wrapper takes (options, fn): the second argument must be the handler function');
    spec(fn, shared, options); // refuses options Dormant would not apply, here and not later
    const copy = function (this: unknown, ctx: C, input: unknown) {
      return fn.call(this, ctx, input);
    };
    return Object.assign(copy, { [HANDLER]: { shared, options } });
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

/**
 * Restate's names for the handler wrappers: `createServiceHandler` is
 * `handlers.handler`, `createObjectHandler` `handlers.object.exclusive`,
 * and so on.
 *
 * @example
 * ```ts
 * greet: createServiceHandler({ input: serde.schema(Greeting) }, async (ctx: Context, { name }) => `hi ${name}`),
 * ```
 */
export const createServiceHandler = handlers.handler;
/** `handlers.object.exclusive`. @example add: createObjectHandler(async (ctx: ObjectContext, n: number) => n) */
export const createObjectHandler = handlers.object.exclusive;
/** `handlers.object.shared`. @example get: createObjectSharedHandler(async (ctx: ObjectSharedContext) => ctx.get('n')) */
export const createObjectSharedHandler = handlers.object.shared;
/** `handlers.workflow.run`. @example run: createWorkflowHandler(async (ctx: WorkflowContext) => 'done') */
export const createWorkflowHandler = handlers.workflow.run;
/** `handlers.workflow.shared`. @example status: createWorkflowSharedHandler(async (ctx: WorkflowSharedContext) => ctx.get('status')) */
export const createWorkflowSharedHandler = handlers.workflow.shared;

type HandlerEntry<C> = HandlerFn<C>;

/** The input type of a handler as written. */
export type InputOf<E> = E extends (ctx: any, input: infer I) => any ? I : never;
/** The output type of a handler as written. */
export type OutputOf<E> = E extends (...args: any[]) => infer R ? Awaited<R> : never;

type IsAny<T> = 0 extends 1 & T ? true : false;
type Known<T, Else> = IsAny<T> extends true ? T : unknown extends T ? Else : T;
/**
 * The handlers a client of `D` offers: a definition's (service, object or
 * workflow, Restate's types all three), or, for a Restate-style API type
 * (an interface of handler functions), the API itself.
 */
export type HandlersOf<D> =
  D extends ServiceDefinition<string, infer S>
    ? Known<
        S,
        D extends VirtualObjectDefinition<string, infer O>
          ? Known<
              O,
              D extends WorkflowDefinition<string, infer W>
                ? Known<W, D extends Definition<any, infer H> ? Known<H, Omit<D, 'name'>> : Omit<D, 'name'>>
                : never
            >
          : never
      >
    : D;

/**
 * Any of the three definitions, as the functions that serve them take
 * them (`lambdaHandler({ services })`, `serve`, the CDK constructs). Which
 * one it is, and that it is one, is checked at run time.
 *
 * @example
 * ```ts
 * const services: AnyDefinition[] = [greeter, cart, signup];
 * ```
 */
export type AnyDefinition = { readonly name: string };

/**
 * A registered service, object or workflow, as the runtime reads it.
 *
 * @example
 * ```ts
 * const def: Definition = definitionOf(greeter);
 * def.kind // 'service'
 * ```
 */
export interface Definition<K extends ServiceKind = ServiceKind, H = Record<string, unknown>> {
  readonly name: string;
  readonly kind: K;
  readonly handlers: Readonly<Record<string, HandlerSpec>>;
  /** The handler functions as written, for typed clients (never set at run time). */
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

/**
 * What the runtime reads of a definition: its kind and its handlers with
 * their options. A `{ name }` stub, or anything else, is refused by name.
 *
 * @example
 * ```ts
 * definitionOf(greeter).handlers.greet?.shared // false
 * ```
 */
export function definitionOf(value: unknown): Definition {
  if (isDefinition(value)) return value;
  const name = (value as { name?: unknown } | null)?.name;
  throw new TypeError(
    typeof name === 'string'
      ? `'${name}' is a { name } stub, not a definition: serve the value service(), object() or workflow() returned`
      : 'expected a definition made by service(), object() or workflow()',
  );
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * What `service()`, `object()` and `workflow()` take: a name and handlers;
 * Restate's `description` and `metadata` are accepted as documentation, and
 * its service `options` (retention, timeouts, retry policy…) are refused
 * when given, since Dormant does not apply them.
 *
 * @example
 * ```ts
 * const def: DefinitionInput<{ greet: (ctx: Context, n: string) => Promise<string> }> = { name: 'greeter', handlers: { greet: async (ctx, n) => n } };
 * ```
 */
export interface DefinitionInput<H, P extends string = string> {
  name: P;
  handlers: H;
  description?: string;
  metadata?: Record<string, string>;
  options?: Record<string, unknown>;
}

function define<K extends ServiceKind, H>(
  kind: K,
  def: DefinitionInput<Record<string, HandlerEntry<any>>, string>,
  /** Whether a handler is shared, by its name and what its wrapper said (if any). */
  isShared: (handler: string, wrappedShared: boolean | undefined) => boolean,
): Definition<K, H> {
  if (!def || typeof def !== 'object' || !def.handlers || typeof def.handlers !== 'object')
    throw new TypeError(`${kind}() takes { name, handlers: { … } }`);
  const { name, handlers: entries } = def;
  checkOptions(
    `${kind} '${name}'`,
    { description: def.description, metadata: def.metadata, ...(def.options ?? {}) },
    new Set(['description', 'metadata']),
  );
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(`invalid ${kind} name '${name}': use letters, digits, '_', '.', '-' (at most 128), starting with a letter or '_'`);
  const specs: Record<string, HandlerSpec> = {};
  for (const [handler, entry] of Object.entries(entries)) {
    if (!NAME.test(handler)) throw new TypeError(`invalid handler name '${name}.${handler}'`);
    if (typeof entry !== 'function') throw new TypeError(`handler '${name}.${handler}' is not a function`);
    const wrapped = (entry as Wrapped)[HANDLER];
    specs[handler] = spec(entry, isShared(handler, wrapped?.shared), wrapped?.options);
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
export function service<P extends string, H extends Record<string, HandlerEntry<Context>>>(
  def: DefinitionInput<H, P>,
): ServiceDefinition<P, H> {
  return define('service', def, () => false) as unknown as ServiceDefinition<P, H>;
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
export function object<
  P extends string,
  H extends Record<string, HandlerEntry<ObjectContext<any>> | HandlerEntry<ObjectSharedContext<any>>>,
>(def: DefinitionInput<H, P>): VirtualObjectDefinition<P, H> {
  return define('object', def, (_h, shared) => shared === true) as unknown as VirtualObjectDefinition<P, H>;
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
export function workflow<P extends string, H extends { run: HandlerEntry<WorkflowContext<any>> } & Record<string, HandlerEntry<any>>>(
  def: DefinitionInput<H, P>,
): WorkflowDefinition<P, H> {
  if (!def?.handlers || !('run' in def.handlers)) throw new TypeError(`workflow '${def?.name}' needs a 'run' handler`);
  return define('workflow', def, (h) => h !== 'run') as unknown as WorkflowDefinition<P, H>;
}
