/**
 * Restate's ways to serve definitions, on Dormant: `serve({ services })` and
 * `endpoint().bind(svc).listen()` start the local plane on them (as
 * `dormant dev` would), and `createEndpointHandler({ services })` and
 * `endpoint().bind(svc).handler()` make the handler Lambda (as
 * `lambdaHandler` does).
 *
 * The local plane (DynamoDB Local, the SQS emulator, the pollers) is loaded
 * only when a file actually serves locally, by a dynamic import that
 * bundlers leave alone, so a handler Lambda never carries it.
 */
import { TerminalError } from './api/errors.ts';
import { isDefinition, type AnyDefinition, type Definition } from './api/definitions.ts';
import { lambdaHandler, type HandlerResult, type LambdaContextLike, type LambdaHandlerOptions } from './runtime/lambda-handler.ts';

/**
 * Options of {@link serve} and {@link createEndpointHandler}: Restate's
 * endpoint options, of which Dormant uses `services`.
 *
 * @example
 * ```ts
 * const options: EndpointOptions = { services: [greeter, cart] };
 * ```
 */
export interface EndpointOptions {
  /** The services, objects and workflows to serve. */
  services: readonly AnyDefinition[];
  /**
   * Restate's request signing keys. A Dormant handler Lambda is invoked only
   * by the deployment's own wake and timer functions (IAM), so there is
   * nothing to verify: giving keys is refused, so nobody believes they are checked.
   */
  identityKeys?: string[];
  /** Restate's defaults for every service (retention, timeouts…): refused, since Dormant does not apply them. */
  defaultServiceOptions?: Record<string, unknown>;
  /** Restate's logger: ignored (`ctx.console` prints through the console). */
  logger?: unknown;
}

/**
 * Options of {@link serve}: Restate's, with the port its endpoint listens on.
 *
 * @example
 * ```ts
 * serve({ services: [greeter], port: 9080 });
 * ```
 */
export interface ServeOptions extends EndpointOptions {
  /**
   * Where Restate's endpoint would listen for the Restate server. Dormant has
   * no server in between: the API (what Restate's ingress serves) listens on
   * `PORT`, else 8080, so the curl lines of Restate's docs work as written.
   */
  port?: number;
}

/** The handler Lambda {@link createEndpointHandler} makes. */
export type EndpointHandler = (event: unknown, context?: LambdaContextLike) => Promise<HandlerResult>;

/**
 * Set while `dormant dev` imports an entry module: a module that calls
 * `serve()` then hands its services over instead of starting a plane of
 * its own (there would be two on one port). Keyed by `Symbol.for`, so it is
 * found whichever copy of this module the entry imports.
 */
const ENTRY_COLLECTOR = Symbol.for('dormant-lambda.entry-collector');

/**
 * What `dormant dev` sets while it imports an entry module: it takes the
 * services a `serve()` call names, and resolves to the API's port once the
 * plane is up.
 *
 * @example
 * ```ts
 * const collected: Definition[] = [];
 * await collectingServe((services) => { collected.push(...services); return started; }, () => import(entryUrl));
 * ```
 */
export type EntryCollector = (services: readonly Definition[]) => Promise<number>;

/**
 * Runs `load` with `collect` receiving what every `serve()` call in it names.
 *
 * @example
 * ```ts
 * await collectingServe(collect, () => import(pathToFileURL(entry).href));
 * ```
 */
export async function collectingServe<T>(collect: EntryCollector, load: () => Promise<T>): Promise<T> {
  const global = globalThis as { [ENTRY_COLLECTOR]?: EntryCollector };
  const previous = global[ENTRY_COLLECTOR];
  global[ENTRY_COLLECTOR] = collect;
  try {
    return await load();
  } finally {
    global[ENTRY_COLLECTOR] = previous;
  }
}

function checkedServices(call: string, options: EndpointOptions): Definition[] {
  if (!options || typeof options !== 'object' || !Array.isArray(options.services))
    throw new TypeError(`${call} takes { services: [...] }: the definitions made by service(), object() or workflow()`);
  const notDefinition = options.services.findIndex((s) => !isDefinition(s));
  if (notDefinition >= 0)
    throw new TypeError(
      `${call}: services[${notDefinition}] is not a definition made by service(), object() or workflow() (a { name } stub cannot be served)`,
    );
  const services = options.services as readonly Definition[];
  if (options.identityKeys !== undefined)
    throw new TerminalError(
      `${call}: identityKeys verify requests signed by a Restate server; Dormant's handler Lambda is invoked only by its own wake and timer functions (IAM), so leave them out`,
      { code: 400 },
    );
  if (options.defaultServiceOptions !== undefined)
    throw new TerminalError(
      `${call}: defaultServiceOptions are Restate server settings Dormant does not apply; set retention and retries on the CDK construct (DurableRuntime, DurableFunction) or per ctx.run`,
      { code: 400 },
    );
  return [...services];
}

/**
 * Serves definitions on this machine: the local plane (API, DynamoDB
 * Local, SQS emulator, wake and timers) on `PORT`, else 8080, with data kept
 * in `.dormant/` (`DORMANT_IN_MEMORY=1` keeps nothing), as `dormant dev`
 * does. Run the file with `tsx`. Resolves with the API's port. In a Lambda
 * it refuses: export `handler = createEndpointHandler({ services })` there.
 *
 * @example
 * ```ts
 * import * as restate from 'dormant-lambda';
 * restate.serve({ services: [greeter], port: 9080 }); // curl localhost:8080/greeter/greet -d '"Ada"'
 * ```
 */
export async function serve(options: ServeOptions): Promise<number> {
  const services = checkedServices('serve()', options);
  const collect = (globalThis as { [ENTRY_COLLECTOR]?: EntryCollector })[ENTRY_COLLECTOR];
  if (collect) return collect(services);
  if (process.env.AWS_LAMBDA_FUNCTION_NAME)
    throw new TerminalError(
      'serve() starts the local plane, which does not run in a Lambda: export handler = createEndpointHandler({ services }) (or lambdaHandler) from this file instead',
      { code: 400 },
    );
  // Beside this module: src/local/serve.ts here, local/serve.js in a build.
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const local = (await import(new URL(`./local/serve${extension}`, import.meta.url).href)) as {
    serveLocally: (o: { services: Definition[]; requestedPort?: number | undefined }) => Promise<number>;
  };
  return local.serveLocally({ services, requestedPort: options.port });
}

/**
 * The handler Lambda for definitions, as Restate's Lambda shape: the same as
 * `lambdaHandler({ services })`.
 *
 * @example
 * ```ts
 * export const handler = createEndpointHandler({ services: [greeter] });
 * ```
 */
export function createEndpointHandler(options: EndpointOptions & Omit<LambdaHandlerOptions, 'services'>): EndpointHandler {
  const services = checkedServices('createEndpointHandler()', options);
  const { identityKeys: _keys, defaultServiceOptions: _defaults, logger: _logger, ...rest } = options;
  return lambdaHandler({ ...rest, services });
}

/**
 * Restate's endpoint builder: bind definitions, then `listen()` (the local
 * plane) or `handler()` (the Lambda).
 *
 * @example
 * ```ts
 * export const handler = endpoint().bind(greeter).bind(cart).handler();
 * ```
 */
export interface Endpoint {
  /** Adds a service, object or workflow. */
  bind(definition: AnyDefinition): Endpoint;
  /** Serves what is bound on this machine; see {@link serve}. */
  listen(port?: number): Promise<number>;
  /** The handler Lambda for what is bound; see {@link createEndpointHandler}. */
  handler(): EndpointHandler;
  /** Refused: see `EndpointOptions.identityKeys`. */
  withIdentityV1(...keys: string[]): Endpoint;
  /** Refused: see `EndpointOptions.defaultServiceOptions`. */
  defaultServiceOptions(options: Record<string, unknown>): Endpoint;
}

/**
 * Starts an endpoint builder.
 *
 * @example
 * ```ts
 * endpoint().bind(greeter).listen(9080);
 * ```
 */
export function endpoint(): Endpoint {
  const services: AnyDefinition[] = [];
  const builder: Endpoint = {
    bind(definition) {
      if (!isDefinition(definition))
        throw new TypeError(
          'endpoint().bind() takes a definition made by service(), object() or workflow() (a { name } stub cannot be served)',
        );
      services.push(definition);
      return builder;
    },
    listen: (port) => serve({ services, port }),
    handler: () => createEndpointHandler({ services }),
    withIdentityV1: (...identityKeys) => {
      checkedServices('endpoint().withIdentityV1()', { services, identityKeys });
      return builder;
    },
    defaultServiceOptions: (defaultServiceOptions) => {
      checkedServices('endpoint().defaultServiceOptions()', { services, defaultServiceOptions });
      return builder;
    },
  };
  return builder;
}
