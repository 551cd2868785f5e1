import { Annotations, CfnResource, Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type IApiKey,
  type IResource,
  type Method,
  type MethodDeploymentOptions,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigateway';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Alias,
  CfnEventInvokeConfig,
  FilterCriteria,
  Function as LambdaFunction,
  StartingPosition,
  type IFunction,
} from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AnyDefinition } from '../../src/api/definitions.ts';
import { catalogOf, type Catalog, type CatalogEntry } from '../../src/runtime/registry.ts';
import { WAKE_FILTER_PATTERNS } from '../../src/runtime/wake-filter.ts';
import { LONG_TIMER_QUEUE_MAX_RECEIVES } from '../../src/runtime/dispatch.ts';
import { LIVE_ALIAS } from '../../src/runtime/versions.ts';
import { CALLBACK_API_VERSION } from '../../src/runtime/http.ts';
import { checkEndpoints } from '../../src/runtime/endpoints.ts';
import type { WebhookEndpoint } from '../../src/api/events.ts';
import { LIST_INDEX, LIST_PK, LIST_SK } from '../../src/store/keys.ts';
import { RuntimeAlarms, type RuntimeAlarmsOptions } from './alarms.ts';
import { ApiBaseUrl } from './api-base-url.ts';
import { BundledFunction, PROJECT_ROOT, PrebuiltFunction, prebuiltFunctionDirectory } from './bundled-function.ts';
import { DormantEnv } from './environment.ts';
import { IngressAuth } from './ingress-auth.ts';

/**
 * The item-level DynamoDB actions every Dormant role gets, on the table only:
 * exactly the requests the DynamoDB store (`src/store/dynamodb.ts`) makes.
 * Never `dynamodb:*`, never `Scan`; no `DeleteItem` (cleared state is a
 * tombstone and expiry is TTL's). A test checks this list against the
 * store's commands, so a new kind of request cannot ship without its grant.
 *
 * @example
 * table.grant(fn, ...TABLE_ITEM_ACTIONS);
 */
export const TABLE_ITEM_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/**
 * What a purge of a finished invocation needs besides the item actions
 * (`DELETE` of its items, `PATCH /restate/invocation/{id}/purge`): granted
 * to the function serving invocation routes only, never to handlers, the
 * wake, the timer or the callback function.
 *
 * @example
 * table.grant(ingress, ...TABLE_ITEM_ACTIONS, ...PURGE_ITEM_ACTIONS);
 */
export const PURGE_ITEM_ACTIONS: readonly string[] = ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/**
 * Entry files of the runtime's own Lambda functions, each exporting
 * `handler`, to bundle instead of the package's (for a fork or a wrapper).
 * Relative paths are taken from `projectRoot`. The callback function runs
 * the ingress's entry.
 *
 * @example
 * const entries: RuntimeEntries = { wake: 'src/my-wake.ts' };
 */
export interface RuntimeEntries {
  /** API Gateway proxy events → HTTP responses. @default the package's pre-bundled ingress (`lambda/ingress.ts`) */
  readonly ingress?: string;
  /** DynamoDB stream batches → `{ batchItemFailures }`. @default the package's pre-bundled wake (`lambda/wake.ts`) */
  readonly wake?: string;
  /** SQS batches (timers and recovery) → `{ batchItemFailures }`. @default the package's pre-bundled timer (`lambda/timer.ts`) */
  readonly timer?: string;
}

/**
 * Props of {@link DurableRuntime}. All are optional.
 *
 * @example
 * new DurableRuntime(this, 'Runtime', { retention: Duration.days(7), removalPolicy: RemovalPolicy.DESTROY });
 */
export interface DurableRuntimeProps {
  /**
   * Directory with the lock file and `node_modules` where `entries` are
   * bundled.
   * @default the nearest directory up from the working directory with a lock file
   */
  readonly projectRoot?: string;
  /**
   * Entry files to bundle for the ingress, wake and timer functions.
   * @default the functions the package ships pre-bundled (`dist/functions/`); from the repository's sources, `lambda/*.ts`
   */
  readonly entries?: RuntimeEntries;
  /**
   * How long a finished invocation is kept before its items expire through
   * the table's TTL (`DORMANT_RETENTION_HOURS`); whole hours.
   * @default Duration.hours(24)
   */
  readonly retention?: Duration;
  /** Retention of every log group of the runtime. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the table and the generated signing secret when the
   * stack is deleted. Log groups are always deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A secret whose string value is the signing secret of awakeable ids (rotate by putting a new version).
   * @default a secret generated at deploy time (64 random alphanumerics)
   */
  readonly signingSecret?: ISecret;
  /** How awakeables spell the API's base URL. @default ApiBaseUrl.executeApi() */
  readonly apiBaseUrl?: ApiBaseUrl;
  /** Stage of the REST API. @default 'prod' */
  readonly stageName?: string;
  /**
   * Stage-wide request throttling, a guard on cost.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: ThrottleSettings;
  /**
   * Create the account-wide role API Gateway needs to write logs
   * (`AWS::ApiGateway::Account`). Set `false` if the account already has one.
   * @default true
   */
  readonly apiCloudWatchRole?: boolean;
  /** Retries of a failing stream batch before it goes to the recovery queue. @default 5 */
  readonly wakeRetryAttempts?: number;
  /** Stream records older than this go to the recovery queue instead of being retried. @default Duration.hours(1) */
  readonly wakeMaxRecordAge?: Duration;
  /** Lambda's asynchronous retries of a failed handler attempt (0–2). @default 2 */
  readonly handlerRetryAttempts?: number;
  /**
   * How the invocation routes (start, status, output, attach, cancel, kill,
   * purge, shared handlers) are authorized. Callback routes are open in every
   * mode: the awakeable id in their URL is their authorization.
   * @default IngressAuth.iam()
   */
  readonly ingressAuth?: IngressAuth | 'none';
  /**
   * Reserved concurrency of the function serving invocation routes, a cap on
   * what a flood of calls can cost (and keep from other functions). Off by
   * default: a new account's concurrency quota is 10, and reserving from it
   * would fail the deploy.
   * @default none
   */
  readonly ingressReservedConcurrency?: number;
  /**
   * Reserved concurrency of the function serving callback routes, so that
   * webhooks always find room, whatever the invocation routes use.
   * @default none
   */
  readonly callbackReservedConcurrency?: number;
  /**
   * Throttling of each callback method (awakeable resolve and reject, the AWS
   * callback API), apart from the stage's default for the invocation routes.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly callbackThrottle?: ThrottleSettings;
  /**
   * A KMS customer managed key for the table (and its stream), the queues
   * and the generated signing secret; every function is granted its use.
   * @default AWS owned and managed keys
   */
  readonly encryptionKey?: IKey;
  /**
   * CloudWatch alarms on the dead-letter queue, the wake's iterator age, wake
   * and timer errors and failed invocations ({@link RuntimeAlarms}), with
   * their thresholds and an SNS topic to notify; `false` for none.
   * @default the alarms with default thresholds, notifying nobody
   */
  readonly alarms?: RuntimeAlarmsOptions | false;
  /**
   * The direct wake: the ingress and callback functions invoke the handler a
   * start, resolve, reject or cancel makes runnable at once (the stream stays
   * the backstop), granted `lambda:InvokeFunction` on exactly the registered
   * handlers. A duplicate wake (the stream's beside the direct one) stops
   * at its failed acquire. `false` leaves every wake to the stream and
   * grants the ingress no invoke.
   * @default true
   */
  readonly directWake?: boolean;
  /**
   * Secrets that webhook verifiers name (`twilio({ authToken: 'TWILIO_AUTH_TOKEN' })`),
   * by that name: the callback function may read exactly these, and looks
   * a name up here when its environment has no variable of that name.
   * @default none
   */
  readonly webhookSecrets?: Readonly<Record<string, ISecret>>;
  /**
   * Provider endpoints, served at `/webhooks/{name}` (public: the signature
   * is the authorization) and `POST /restate/events/{name}` (an invocation
   * route). Each names its verifier's secret, which the callback function
   * reads from `webhookSecrets` (or its environment).
   * @default none
   *
   * @example
   * ```ts
   * new DurableRuntime(this, 'Dormant', {
   *   webhookSecrets: { STRIPE_WEBHOOK_SECRET: stripeSecret },
   *   webhooks: { stripe: { verify: stripe({ secret: 'STRIPE_WEBHOOK_SECRET' }), correlate: ['body.data.object.id'] } },
   * });
   * ```
   */
  readonly webhooks?: Readonly<Record<string, WebhookEndpoint>>;
}

/** Where the callback routes live: their own resources, so they can be open while everything else is authorized. */
const CALLBACK_RESOURCES = [
  ['restate', 'awakeables'],
  ['restate', 'a'],
  ['restate', 'webhooks'],
  [CALLBACK_API_VERSION],
  ['webhooks'],
] as const;

/**
 * Options of {@link DurableRuntime.addService}.
 *
 * @example
 * import { greeter, cart } from '../../examples/services.ts';
 * runtime.addService(fn, { services: [greeter, cart] });
 */
export interface AddServiceOptions {
  /**
   * What the function serves: the definitions its entry passes to
   * `lambdaHandler({ services })` (made by `service()`, `object()`,
   * `workflow()`), or their names. A definition also tells the ingress its
   * kind and handlers (`DORMANT_SERVICES`); a service given by name only is
   * routed by the wake and timer (calls from other handlers reach it) but
   * the ingress answers 404 for it, unless `catalog` describes it.
   */
  readonly services: readonly (AnyDefinition | string)[];
  /**
   * Ingress catalog entries for services given by name, as `catalogOf()`
   * makes them.
   * @default none
   */
  readonly catalog?: Catalog;
}

/** As `service({ name })` accepts: one URL path segment, no `/`, no `#` (names end up in keys). */
const SERVICE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Lambda allows 4 KB of environment per function; the ingress carries the
 * catalog beside the routes and the rest, so the catalog gets at most this.
 */
const MAX_CATALOG_CHARS = 2_500;

/**
 * The Dormant runtime: everything a durable handler needs besides its own
 * Lambda function.
 *
 * - a DynamoDB table (`pk`/`sk`, on-demand, TTL on `ttl`, point-in-time
 *   recovery, stream with new and old images);
 * - the ingress Lambda behind a REST API (v1) with a catch-all proxy;
 * - the wake Lambda on the table's stream (event filter, batch item failures,
 *   bisection, bounded retries, SQS on-failure destination);
 * - the timer queue and the timer Lambda, which also drains the recovery
 *   queue (failed stream batches and failed handler attempts);
 * - a dead-letter queue behind both queues (redrive with
 *   `aws sqs start-message-move-task`);
 * - the signing secret of awakeable ids in Secrets Manager;
 * - a second function for the callback routes, open while the invocation
 *   routes are behind `ingressAuth` (IAM by default);
 * - log groups with retention and least-privilege roles.
 *
 * Register handler functions with {@link addService} or build them with
 * `DurableFunction`.
 *
 * @example
 * const runtime = new DurableRuntime(this, 'Runtime');
 * const fn = new DurableFunction(this, 'Greeter', { runtime, entry: 'src/lambda.ts', services: [greeter] });
 * new CfnOutput(this, 'ApiUrl', { value: runtime.apiUrl });
 */
export class DurableRuntime extends Construct {
  /** Journals, completions, promises, state and locks. */
  readonly table: Table;
  /** Its string value is the signing secret of awakeable ids. */
  readonly signingSecret: ISecret;
  /** Durable timers as delayed messages (at most 15 minutes each, chained). */
  readonly timerQueue: Queue;
  /**
   * On-failure destination of the wake's stream mapping and of every handler
   * function's asynchronous invocations; the timer Lambda drains it and
   * re-invokes whatever is runnable (DESIGN.md, "Lost attempts").
   */
  readonly recoveryQueue: Queue;
  /** Timers due in more than 15 minutes, parked until due; consumed by the timer Lambda. */
  readonly longTimerQueue: Queue;
  /** Messages the timer Lambda failed on repeatedly, from any of its queues. */
  readonly deadLetterQueue: Queue;
  /** The REST API in front of the ingress. */
  readonly api: RestApi;
  /** Serves the invocation routes of the API (behind {@link ingressAuth}). */
  readonly ingress: LambdaFunction;
  /**
   * Serves the callback routes (awakeable resolve and reject, AWS's callback
   * API): the same code as the ingress, its own function, so a flood of
   * 29-second synchronous calls cannot starve webhooks.
   */
  readonly callbacks: LambdaFunction;
  /** How the invocation routes are authorized. */
  readonly ingressAuth: IngressAuth;
  /** The API key of the invocation routes, with `IngressAuth.apiKey()`. */
  readonly apiKey: IApiKey | undefined;
  /** The customer managed key of the table, queues and secret, if one was given. */
  readonly encryptionKey: IKey | undefined;
  /** The runtime's alarms, unless `alarms: false`. */
  readonly alarms: RuntimeAlarms | undefined;
  /** Whether the ingress and callback functions wake handlers directly (`directWake`). */
  readonly directWake: boolean;
  /** Triggered by the table's stream; invokes handler functions. */
  readonly wake: LambdaFunction;
  /** Consumes the timer, long-timer and recovery queues. */
  readonly timer: LambdaFunction;
  /** Base URL of the API with its stage, no trailing slash (`DORMANT_API_URL`). */
  readonly apiUrl: string;
  /** `${apiUrl}/restate/awakeables/{id}/resolve`: where a webhook resolves an awakeable. */
  readonly resolveUrlTemplate: string;

  private readonly routes = new Map<string, IFunction>();
  /** Each registered handler function's `live` alias, which new invocations are invoked through. */
  private readonly aliases = new Map<IFunction, Alias>();
  private readonly catalog = new Map<string, CatalogEntry>();
  private readonly registered = new Set<IFunction>();
  private readonly retentionHours: number;
  private readonly handlerRetryAttempts: number;

  constructor(scope: Construct, id: string, props: DurableRuntimeProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.directWake = props.directWake ?? true;
    // Stated either way: the roles' own default is on.
    const directWakeEnv: Record<string, string> = { [DormantEnv.DIRECT_WAKE]: this.directWake ? 'true' : 'false' };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const stageName = props.stageName ?? 'prod';
    this.retentionHours = (props.retention ?? Duration.hours(24)).toHours();
    this.handlerRetryAttempts = props.handlerRetryAttempts ?? 2;
    this.ingressAuth = props.ingressAuth === 'none' ? IngressAuth.none() : (props.ingressAuth ?? IngressAuth.iam());
    this.encryptionKey = props.encryptionKey;
    const key = props.encryptionKey;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
      ...(key ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: key } : {}),
    });
    // The list index (docs/table.md, "List index"): sparse (only meta carries its keys), keys only, written once per invocation.
    this.table.addGlobalSecondaryIndex({
      indexName: LIST_INDEX,
      partitionKey: { name: LIST_PK, type: AttributeType.STRING },
      sortKey: { name: LIST_SK, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });

    if (props.signingSecret) {
      this.signingSecret = props.signingSecret;
    } else {
      const secret = new Secret(this, 'SigningSecret', {
        description:
          'Signing secret of awakeable ids (dormant). Rotate by putting a new version (AWSCURRENT): ids minted under the previous one (AWSPREVIOUS) keep working; see the README, "Key rotation".',
        generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
        removalPolicy,
        encryptionKey: key,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotation is by hand (README, "Key rotation"): ids stay outstanding as long as invocations wait, and only the current and previous versions verify, so an automatic schedule would strand ids older than two rotations. It never leaves the functions that sign and verify ids.',
      });
      this.signingSecret = secret;
    }

    const encryption = key ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: QueueEncryption.SQS_MANAGED };
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      ...encryption,
      enforceSSL: true,
    });
    const timerTimeout = Duration.minutes(1);
    const consumedQueue = {
      // Six times the consumer's timeout, as Lambda's SQS guide advises.
      visibilityTimeout: Duration.minutes(6),
      retentionPeriod: Duration.days(4),
      ...encryption,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    };
    this.timerQueue = new Queue(this, 'TimerQueue', consumedQueue);
    // Timers due in more than 15 minutes wait here, parked up to 11¾ hours a
    // receive (src/runtime/timer.ts). Their own queue: parked messages are in
    // flight, and a full queue must not hold up due timers or recovery.
    this.longTimerQueue = new Queue(this, 'LongTimerQueue', {
      ...consumedQueue,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: LONG_TIMER_QUEUE_MAX_RECEIVES },
    });
    this.recoveryQueue = new Queue(this, 'RecoveryQueue', consumedQueue);

    const apiLogs = new LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 200 };
    const callbackThrottle = props.callbackThrottle ?? { rateLimit: 100, burstLimit: 200 };
    // Each callback method gets its own rate, apart from the invocation routes' `{proxy+}`.
    const callbackMethods: Record<string, MethodDeploymentOptions> = {};
    for (const path of CALLBACK_RESOURCES) {
      for (const resource of [`/${path.join('/')}`, `/${path.join('/')}/{proxy+}`]) {
        callbackMethods[`${resource}/*`] = {
          throttlingRateLimit: callbackThrottle.rateLimit,
          throttlingBurstLimit: callbackThrottle.burstLimit,
        };
      }
    }
    this.api = new RestApi(this, 'Api', {
      description: 'Dormant ingress: start invocations, read their output, resolve and reject awakeables',
      endpointTypes: [EndpointType.REGIONAL],
      // Every request body reaches the ingress as base64 of its bytes (it decodes
      // them): a provider's signature is over the raw bytes, which a body that
      // is not UTF-8 would lose as text. Answers with isBase64Encoded false pass as they are.
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: props.apiCloudWatchRole ?? true,
      // The role is account-wide: other APIs' logging would break if it went
      // with this stack, so it stays (CDK's default, stated here on purpose).
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName,
        accessLogDestination: new LogGroupLogDestination(apiLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request bodies carry user data and awakeable payloads: keep them out of logs.
        dataTraceEnabled: false,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
        methodOptions: callbackMethods,
      },
    });
    // API Gateway's own refusals (no or a bad signature, key or token, a throttle) in Dormant's shape: {code, message}.
    for (const type of [ResponseType.DEFAULT_4XX, ResponseType.DEFAULT_5XX]) {
      this.api.addGatewayResponse(type === ResponseType.DEFAULT_4XX ? 'Default4xx' : 'Default5xx', {
        type,
        templates: { 'application/json': '{"code":"$context.error.responseType","message":$context.error.messageString}' },
      });
    }
    // RestApi adds an `Endpoint` output of its own; apiUrl replaces it.
    this.api.node.tryRemoveChild('Endpoint');
    this.apiUrl = (props.apiBaseUrl ?? ApiBaseUrl.executeApi()).bind(this.api, stageName);
    this.resolveUrlTemplate = `${this.apiUrl}/restate/awakeables/{id}/resolve`;

    // Built lazily: services are registered after the runtime exists.
    const routes = Lazy.string({
      produce: () =>
        Stack.of(this).toJsonString(
          // New work goes to each function's alias; a pinned invocation to its version (invokeTarget).
          Object.fromEntries(
            [...this.routes].sort(([a], [b]) => a.localeCompare(b)).map(([service, fn]) => [service, this.aliases.get(fn)!.functionArn]),
          ),
        ),
    });
    const catalog = Lazy.string({ produce: () => this.catalogJson() });
    const runtimeFunction = (
      name: 'ingress' | 'callbacks' | 'wake' | 'timer',
      timeout: Duration,
      memorySize: number,
      description: string,
      extra: { environment?: Record<string, string>; reservedConcurrentExecutions?: number } = {},
    ) => {
      const id = name[0]!.toUpperCase() + name.slice(1);
      // The callback function runs the ingress's code, told to serve callback routes only.
      const code = name === 'callbacks' ? 'ingress' : name;
      const options = {
        logRetention,
        timeout,
        memorySize,
        description,
        reservedConcurrentExecutions: extra.reservedConcurrentExecutions,
        environment: {
          ...this.environment(),
          [DormantEnv.ROUTES]: routes,
          // The ingress does not load user code: it routes by this catalog.
          ...(name === 'ingress' || name === 'callbacks' ? { [DormantEnv.SERVICES]: catalog } : {}),
          ...extra.environment,
        },
      };
      // An entry of the user's own, else the package's pre-bundled function,
      // else (the constructs run from the repository's sources) lambda/ bundled now.
      const entry = props.entries?.[code];
      if (entry) return new BundledFunction(this, id, { ...options, entry, projectRoot: props.projectRoot });
      const prebuilt = prebuiltFunctionDirectory(code);
      if (prebuilt) return new PrebuiltFunction(this, id, { ...options, directory: prebuilt });
      return new BundledFunction(this, id, { ...options, entry: `lambda/${code}.ts`, projectRoot: PROJECT_ROOT });
    };

    // API Gateway gives up after 29 s; running longer would only hide the failure.
    this.ingress = runtimeFunction('ingress', Duration.seconds(29), 512, 'Dormant ingress: invocation routes (authorized)', {
      environment: { [DormantEnv.INGRESS_SERVES]: 'invocations', [DormantEnv.INGRESS_AUTH]: this.ingressAuth.mode, ...directWakeEnv },
      reservedConcurrentExecutions: props.ingressReservedConcurrency,
    });
    this.callbacks = runtimeFunction('callbacks', Duration.seconds(29), 256, 'Dormant callbacks: awakeable resolve, reject and heartbeat', {
      environment: { [DormantEnv.INGRESS_SERVES]: 'callbacks', [DormantEnv.INGRESS_AUTH]: this.ingressAuth.mode, ...directWakeEnv },
      reservedConcurrentExecutions: props.callbackReservedConcurrency,
    });
    this.wake = runtimeFunction('wake', Duration.minutes(1), 256, 'Dormant wake: stream records to handler invocations');
    this.timer = runtimeFunction('timer', timerTimeout, 256, 'Dormant timer: due timers and recovery of lost attempts');
    for (const fn of [this.ingress, this.callbacks, this.wake, this.timer]) this.grantKey(fn);

    // --- ingress: writes to the table, and wakes directly what it makes runnable (the stream is the backstop). It alone may purge.
    this.grantTable(this.ingress, ...TABLE_ITEM_ACTIONS, ...PURGE_ITEM_ACTIONS);
    // The listing (GET /restate/invocations) reads the list index; no other role does.
    this.ingress.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${this.table.tableArn}/index/${LIST_INDEX}`] }),
    );
    this.timerQueue.grantSendMessages(this.ingress);
    this.signingSecret.grantRead(this.ingress);
    // --- callbacks: completes and heartbeats awakeables; reads and writes items, nothing else.
    this.grantTable(this.callbacks, ...TABLE_ITEM_ACTIONS);
    this.signingSecret.grantRead(this.callbacks);
    const webhookSecrets = Object.entries(props.webhookSecrets ?? {});
    for (const [, secret] of webhookSecrets) secret.grantRead(this.callbacks);
    if (webhookSecrets.length > 0) {
      this.callbacks.addEnvironment(
        DormantEnv.WEBHOOK_SECRETS,
        Stack.of(this).toJsonString(Object.fromEntries(webhookSecrets.map(([name, secret]) => [name, secret.secretArn]))),
      );
    }
    // Provider endpoints: checked at synth (a bad declaration fails `cdk synth`, naming it), served by both functions.
    const endpoints = checkEndpoints(props.webhooks);
    if (Object.keys(endpoints).length > 0) {
      const text = JSON.stringify(endpoints);
      this.callbacks.addEnvironment(DormantEnv.WEBHOOK_ENDPOINTS, text);
      this.ingress.addEnvironment(DormantEnv.WEBHOOK_ENDPOINTS, text);
    }
    this.routeApi();
    this.apiKey = this.ingressAuth.bind(this.api);

    // --- wake: TRIM_HORIZON, not LATEST. The mapping can be created (or
    // re-created by a deployment) after completions were written; LATEST
    // would skip those records and strand the invocations that await them.
    // Reads meta and awaited completions; queues, grants and releases object locks.
    this.grantTable(this.wake, ...TABLE_ITEM_ACTIONS);
    // A suspension is the outbox of its timers: the wake schedules them.
    this.timerQueue.grantSendMessages(this.wake);
    this.longTimerQueue.grantSendMessages(this.wake);
    this.wake.addEventSource(
      new DynamoEventSource(this.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(0),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.wakeRetryAttempts ?? 5,
        maxRecordAge: props.wakeMaxRecordAge ?? Duration.hours(1),
        onFailure: new SqsDlq(this.recoveryQueue),
        filters: WAKE_FILTER_PATTERNS.map((pattern) => FilterCriteria.filter(pattern)),
      }),
    );

    // --- timer: due timers become completions; recovery messages are
    // re-checked against `meta` and re-invoked. A stream on-failure message
    // names a shard and sequence range, not the records, so the timer reads
    // them back from the stream (no ListStreams: the message names the stream).
    this.grantTable(this.timer, ...TABLE_ITEM_ACTIONS);
    this.timer.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetShardIterator', 'dynamodb:GetRecords'],
        resources: [this.table.tableStreamArn!],
      }),
    );
    this.timerQueue.grantSendMessages(this.timer);
    this.longTimerQueue.grantSendMessages(this.timer);
    for (const queue of [this.timerQueue, this.longTimerQueue, this.recoveryQueue]) {
      this.timer.addEventSource(
        new SqsEventSource(queue, { batchSize: 10, maxBatchingWindow: Duration.seconds(0), reportBatchItemFailures: true }),
      );
    }

    this.alarms =
      props.alarms === false
        ? undefined
        : new RuntimeAlarms(this, 'Alarms', {
            ...props.alarms,
            deadLetterQueue: this.deadLetterQueue,
            wake: this.wake,
            timer: this.timer,
            tableName: this.table.tableName,
          });

    this.acknowledgeNagFindings();
  }

  /**
   * Registers a handler Lambda (one that exports
   * `handler = lambdaHandler({ services })`) for the given services: sets
   * its environment, adds it to the routes the wake and timer use to invoke,
   * grants it the table, the timer queue and the signing secret, lets the
   * wake and timer invoke it, and sends its failed asynchronous attempts to
   * the recovery queue after bounded retries.
   *
   * A function may be registered several times with different services; a
   * service may be registered once.
   *
   * @example
   * const fn = new NodejsFunction(this, 'Shop', { entry: 'src/shop.ts', runtime: Runtime.NODEJS_22_X });
   * runtime.addService(fn, { services: ['cart', 'checkout'] });
   */
  addService(fn: IFunction, options: AddServiceOptions): void {
    const where = `addService(${fn.node.path})`;
    if (!(fn instanceof LambdaFunction)) {
      throw new Error(`${where}: pass a lambda.Function created in this app; its environment must be set`);
    }
    if (options.services.length === 0) {
      throw new Error(`${where}: name at least one service`);
    }
    for (const service of options.services) {
      const name = typeof service === 'string' ? service : service.name;
      if (!SERVICE_NAME.test(name)) {
        throw new Error(`${where}: service name '${name}' must match ${SERVICE_NAME}`);
      }
      const existing = this.routes.get(name);
      if (existing && existing !== fn) {
        throw new Error(`${where}: service '${name}' is already served by ${existing.node.path}`);
      }
      this.routes.set(name, fn);
      const entry = typeof service === 'string' ? options.catalog?.[name] : catalogOf([service])[name];
      if (entry) this.catalog.set(name, entry);
      else if (!this.catalog.has(name)) {
        Annotations.of(fn).addWarningV2(
          'dormant:service-not-in-catalog',
          `service '${name}' is registered by name only: the wake routes calls to it, but the ingress answers 404 for it. Pass its definition (or a catalog entry) to expose it over HTTP.`,
        );
      }
    }
    if (this.registered.has(fn)) return;
    this.registered.add(fn);

    for (const [name, value] of Object.entries(this.environment())) fn.addEnvironment(name, value);
    this.grantTable(fn, ...TABLE_ITEM_ACTIONS);
    this.timerQueue.grantSendMessages(fn);
    this.signingSecret.grantRead(fn);
    this.grantKey(fn);
    // Rule 12: every deploy that changes the function publishes a version,
    // and the alias takes new work. A version is never deleted by a deploy
    // (RETAIN), nor is its async-invoke configuration (whose on-failure
    // destination is how its invocations' lost attempts are recovered):
    // invocations pinned to it finish on it (cdk/README.md: deleting versions nothing needs).
    const version = fn.currentVersion;
    version.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const alias = new Alias(fn, 'DormantLiveAlias', { aliasName: LIVE_ALIAS, version });
    this.aliases.set(fn, alias);
    // The wake and timer invoke the alias and pinned versions: the function's qualified ARNs.
    const invoke = handlerInvokeStatement(fn);
    this.wake.addToRolePolicy(invoke);
    this.timer.addToRolePolicy(invoke);
    // The direct wake (on unless directWake: false): a start, resolve, reject or cancel invokes the handler it
    // makes runnable at once, rather than after the stream's delivery (cdk/README.md, "Why the ingress may invoke").
    const invokers = [this.wake, this.timer, ...(this.directWake ? [this.ingress, this.callbacks] : [])];
    for (const invoker of invokers.slice(2)) invoker.addToRolePolicy(invoke);
    for (const role of invokers.map((f) => f.role!)) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnResource)}.Arn>:*]`,
        reason:
          "Invoking a handler function's published versions (an invocation runs on the version it started on, DESIGN rule 12) and its alias: the wildcard is the qualifier of that one function.",
      });
    }
    const asyncInvoke = {
      onFailure: new SqsDestination(this.recoveryQueue),
      retryAttempts: this.handlerRetryAttempts,
      maxEventAge: Duration.hours(6),
    };
    // Unqualified ($LATEST: invokes by an earlier release's wake), the alias, and each version.
    fn.configureAsyncInvoke(asyncInvoke);
    alias.configureAsyncInvoke(asyncInvoke);
    version.configureAsyncInvoke(asyncInvoke);
    for (const child of version.node.findAll()) if (child instanceof CfnEventInvokeConfig) child.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }

  /**
   * The table's item actions for a role, on the table alone (CDK's table
   * grant would add every index): the key, if any, is `grantKey`'s.
   */
  private grantTable(fn: LambdaFunction, ...actions: string[]): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.table.tableArn] }));
  }

  /** The customer managed key's use (table, queues, secret), if one was given; CDK's key grants name action wildcards. */
  private grantKey(fn: LambdaFunction): void {
    if (!this.encryptionKey) return;
    this.encryptionKey.grantEncryptDecrypt(fn);
    const reason =
      "CDK's encrypt/decrypt grant on the customer managed key that encrypts Dormant's table, queues and secret (encryptionKey): kms:GenerateDataKey* and kms:ReEncrypt* on that one key only.";
    Validations.of(fn.role!).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason },
    );
  }

  /**
   * Lets a principal call the invocation routes when they are behind IAM
   * (`execute-api:Invoke` on every method of the stage); callers sign with
   * SigV4 (`sigv4Fetch`, `aws-sigv4` in curl).
   *
   * @example
   * runtime.grantInvoke(backendRole);
   */
  grantInvoke(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('*', '/*', this.api.deploymentStage.stageName)],
    });
  }

  /**
   * The API's resources: the invocation routes (the root, a greedy
   * `{proxy+}`, and `/restate/{proxy+}`) to the ingress behind
   * `ingressAuth`; the callback routes to their own function, open, on
   * resources of their own with `ANY` (so a wrong method still gets
   * Dormant's precise 405). Each function answers 404 for the other kind.
   */
  private routeApi(): void {
    const invocations = new LambdaIntegration(this.ingress, { allowTestInvoke: false });
    const callbacks = new LambdaIntegration(this.callbacks, { allowTestInvoke: false });
    const authorized = this.ingressAuth.methodOptions();
    const open = { authorizationType: AuthorizationType.NONE };
    const invocationMethods: Method[] = [];
    const callbackMethods: Method[] = [];
    const both = (resource: IResource, integration: LambdaIntegration, options: typeof authorized, into: Method[]) => {
      into.push(resource.addMethod('ANY', integration, options));
      into.push(resource.addProxy({ defaultIntegration: integration, defaultMethodOptions: options, anyMethod: true }).anyMethod!);
    };
    both(this.api.root, invocations, authorized, invocationMethods);
    const restate = this.api.root.addResource('restate');
    both(restate, invocations, authorized, invocationMethods);
    for (const path of CALLBACK_RESOURCES) {
      const resource = path.reduce<IResource>((parent, part) => parent.getResource(part) ?? parent.addResource(part), this.api.root);
      both(resource, callbacks, open, callbackMethods);
    }
    this.acknowledgeMethodFindings(invocationMethods, callbackMethods);
  }

  /**
   * cdk-nag's authorization findings (AwsSolutions-APIG4: no authorization;
   * -COG4: not a Cognito authorizer) are acknowledged only where they are a
   * decision: on the callback methods (the capability is the authorization),
   * and for invocation methods the kind of authorization that is not
   * Cognito. With `'none'` nothing is acknowledged for invocation methods:
   * the open API stays visible in cdk-nag's report.
   */
  private acknowledgeMethodFindings(invocationMethods: Method[], callbackMethods: Method[]): void {
    for (const method of callbackMethods) {
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'A callback route: webhook senders and @aws-sdk/client-lambda (which signs for lambda, not execute-api) reach it; the awakeable id in the URL (on /webhooks/{name}, the provider signature, checked before any write) is the authorization (AES-256-GCM under the deployment secret, refused without a table read if forged), and it grants completing that one awakeable.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: 'As for APIG4: callback senders have no Cognito identity; the awakeable id in the URL is the capability.',
        },
      );
    }
    const mode = this.ingressAuth.mode;
    if (mode === 'none') {
      Annotations.of(this).addWarningV2(
        'dormant:ingress-open',
        "ingressAuth 'none': anyone with the API URL can start, read, cancel, kill and purge invocations.",
      );
      return;
    }
    const how =
      mode === 'iam'
        ? 'IAM authorization (SigV4, execute-api:Invoke) guards the invocation methods'
        : mode === 'api-key'
          ? 'an API key with a usage plan guards the invocation methods'
          : 'the authorizer passed as ingressAuth guards the invocation methods';
    for (const method of invocationMethods) {
      const cognito =
        mode === 'authorizer' &&
        (method.node.defaultChild as { authorizationType?: string }).authorizationType === AuthorizationType.COGNITO;
      if (!cognito) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason: `Not a Cognito authorizer by choice: ${how} (DurableRuntime ingressAuth).`,
        });
      }
      if (mode === 'api-key') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'ingressAuth IngressAuth.apiKey(): API Gateway refuses a request without a key of the usage plan (apiKeyRequired). Keys identify callers rather than sign requests; IAM or an authorizer is stronger.',
        });
      }
    }
  }

  /** The ingress catalog as JSON, services sorted; refuses one too big for Lambda's environment. */
  private catalogJson(): string {
    const json = JSON.stringify(Object.fromEntries([...this.catalog].sort(([a], [b]) => a.localeCompare(b))));
    if (json.length > MAX_CATALOG_CHARS) {
      throw new Error(
        `DORMANT_SERVICES would be ${json.length} characters; Lambda allows 4 KB of environment per function. Split the services over two runtimes.`,
      );
    }
    return json;
  }

  /** Environment shared by every function: where things are and how long they live. */
  private environment(): Record<string, string> {
    return {
      [DormantEnv.TABLE_NAME]: this.table.tableName,
      [DormantEnv.TIMER_QUEUE_URL]: this.timerQueue.queueUrl,
      [DormantEnv.LONG_TIMER_QUEUE_URL]: this.longTimerQueue.queueUrl,
      [DormantEnv.SIGNING_SECRET_ARN]: this.signingSecret.secretArn,
      [DormantEnv.API_URL]: this.apiUrl,
      [DormantEnv.RETENTION_HOURS]: String(this.retentionHours),
    };
  }

  /**
   * cdk-nag AwsSolutions findings that are decisions, each acknowledged with
   * its reason (cdk-nag v3 reads `Validations.of(...).acknowledge`).
   */
  private acknowledgeNagFindings(): void {
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The ingress validates every request itself so that each bad input gets the precise status and message DESIGN.md rule 7 requires; a gateway validator would answer with generic 400s.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'WAF is a per-deployment choice with its own cost; stage throttling is on by default (and per callback method). Associate a web ACL with the stage to add one.',
      },
    );
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the account-level role API Gateway needs to write access and execution logs.',
      });
    }
    Validations.of(this.wake.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        "dynamodb:ListStreams, which the stream event source mapping needs, has no resource-level permissions; every other stream action is scoped to this table's stream.",
    });
  }
}

/**
 * What a role that invokes a handler function needs: the function's
 * unqualified ARN and its qualified ones (`fnArn:*`: the alias and the
 * published versions invocations are pinned to).
 *
 * @example
 * wakeRole.addToPolicy(handlerInvokeStatement(fn));
 */
export function handlerInvokeStatement(fn: IFunction): PolicyStatement {
  return new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn, `${fn.functionArn}:*`] });
}
