/**
 * Configuration of the Lambda entry points: one loader for the environment
 * the CDK constructs set (`cdk/lib/environment.ts` names the same variables),
 * the signing key read once per cold start, and AWS clients built lazily.
 *
 * Nothing here runs at import time: a module-level client would read its
 * configuration before a test or the local plane could set it.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { IdSigner, type SigningKeys } from '../engine/ids.ts';
import type { Catalog } from './registry.ts';

/**
 * The environment variables Dormant reads.
 *
 * @example
 * ```ts
 * process.env[ENV.TABLE_NAME] = 'dormant-journal';
 * ```
 */
export const ENV = {
  /** Name of the DynamoDB table. */
  TABLE_NAME: 'DORMANT_TABLE_NAME',
  /** URL of the timer queue (SQS). */
  TIMER_QUEUE_URL: 'DORMANT_TIMER_QUEUE_URL',
  /** URL of the queue where timers due in more than 15 minutes are parked (SQS). Optional: without it they hop on the timer queue. */
  LONG_TIMER_QUEUE_URL: 'DORMANT_LONG_TIMER_QUEUE_URL',
  /**
   * ARN of a Secrets Manager secret whose string is the signing secret of
   * awakeable ids (AWS). Its `AWSCURRENT` version mints ids; ids minted under
   * `AWSPREVIOUS` still verify, so the secret can be rotated.
   */
  SIGNING_SECRET_ARN: 'DORMANT_SIGNING_SECRET_ARN',
  /** The signing secret itself (local and development use). Setting it beside `DORMANT_SIGNING_SECRET_ARN` is an error. */
  SIGNING_KEY: 'DORMANT_SIGNING_KEY',
  /** With `DORMANT_SIGNING_KEY`: the secret it replaced, whose ids still verify (a rotation by hand). */
  SIGNING_KEY_PREVIOUS: 'DORMANT_SIGNING_KEY_PREVIOUS',
  /** JSON: service name → name or ARN of the Lambda function that runs it. */
  ROUTES: 'DORMANT_ROUTES',
  /** JSON: the catalog of services (`catalogOf(definitions)`), for the ingress. */
  SERVICES: 'DORMANT_SERVICES',
  /** Base URL of the API, no trailing slash; awakeables report their resolve URL under it. */
  API_URL: 'DORMANT_API_URL',
  /** Hours a finished invocation stays readable. Default 24. */
  RETENTION_HOURS: 'DORMANT_RETENTION_HOURS',
  /** How long `POST /{service}/{handler}` waits for the output before answering 202. Default 10 000. */
  INGRESS_WAIT_MS: 'DORMANT_INGRESS_WAIT_MS',
  /**
   * How API Gateway authorizes the invocation routes in front of this
   * ingress: `iam`, `api-key`, `authorizer`, or `none`. Anything but `none`
   * means every invocation caller was authorized before the request got here
   * (a status then shows capability ids). Unset counts as `none`.
   */
  INGRESS_AUTH: 'DORMANT_INGRESS_AUTH',
  /** Which routes this ingress function answers: `all` (default), `callbacks` or `invocations`. */
  INGRESS_SERVES: 'DORMANT_INGRESS_SERVES',
  /** `true`: the ingress invokes the handler a start, resolve, reject or cancel makes runnable (the direct wake). */
  DIRECT_WAKE: 'DORMANT_DIRECT_WAKE',
  /** JSON: the name a webhook verifier gives its secret → ARN of the Secrets Manager secret holding it (the callback function). */
  WEBHOOK_SECRETS: 'DORMANT_WEBHOOK_SECRETS',
  /** JSON: the provider endpoints (`/webhooks/{name}`, `/restate/events/{name}`) by name, as `checkEndpoints` reads them (lookbackMs). */
  WEBHOOK_ENDPOINTS: 'DORMANT_WEBHOOK_ENDPOINTS',
} as const;

/** Which entry point loads the configuration; each needs different variables. */
export type Role = 'ingress' | 'wake' | 'timer' | 'handler';

/**
 * Where the signing secret of awakeable ids comes from: given (with the one
 * it replaced, if any), or a Secrets Manager secret.
 *
 * @example
 * ```ts
 * const s: SigningSource = { key: 'a-long-random-development-key' };
 * ```
 */
export type SigningSource =
  { key: string; previousKey?: string | undefined; secretArn?: never } | { secretArn: string; key?: never; previousKey?: never };

/**
 * The configuration of a Dormant deployment, as the entry points see it.
 *
 * @example
 * ```ts
 * const config = loadConfig('wake'); // throws ConfigError naming every missing variable
 * config.routes.review // 'MyStack-ExamplesFn-AbC123'
 * ```
 */
export interface DormantConfig {
  tableName: string;
  timerQueueUrl: string | undefined;
  /** Where long timers are parked; `undefined` re-sends them on the timer queue instead. */
  longTimerQueueUrl: string | undefined;
  signing: SigningSource | undefined;
  /** Service name → Lambda function name or ARN. */
  routes: Readonly<Record<string, string>>;
  /** What the ingress routes by (it does not load user code). */
  catalog: Catalog | undefined;
  apiUrl: string | undefined;
  /** How long a finished invocation stays readable, in milliseconds. */
  retentionMs: number;
  /** How long a request-response call waits for the output, in milliseconds. */
  ingressWaitMs: number;
  /** Which routes the ingress answers, and whether API Gateway authorized its invocation callers. */
  ingressAccess: { serves: 'all' | 'callbacks' | 'invocations'; callersAuthenticated: boolean };
  /** Whether the ingress wakes directly what it makes runnable (it needs `routes` too). Default true; `DORMANT_DIRECT_WAKE=false` turns it off. */
  directWake: boolean;
}

/**
 * The environment is missing something or holds something unusable. The
 * message names every problem at once, and the variable of each.
 *
 * @example
 * ```ts
 * try { loadConfig('ingress', {}); } catch (e) { if (e instanceof ConfigError) console.error(e.problems); }
 * ```
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly role: Role,
    readonly problems: readonly string[],
  ) {
    super(`dormant ${role}: invalid configuration:\n- ${problems.join('\n- ')}`);
  }
}

const DEFAULT_RETENTION_HOURS = 24;
const DEFAULT_INGRESS_WAIT_MS = 10_000;

/**
 * What each role cannot run without, by field of {@link DormantConfig}. The
 * loader refuses a configuration that lacks one, and {@link RoleConfig}
 * declares the same fields present, so the two cannot drift apart.
 */
const REQUIRES = {
  ingress: ['signing', 'catalog'],
  wake: ['timerQueueUrl', 'routes'],
  timer: ['timerQueueUrl', 'routes'],
  handler: ['signing'],
} as const satisfies Record<Role, readonly (keyof DormantConfig)[]>;

/**
 * The configuration as one role sees it: what that role requires is
 * present (`loadConfig('ingress').catalog` is a `Catalog`, not
 * `Catalog | undefined`). For the union `Role`, the union of the roles'
 * configurations.
 *
 * @example
 * ```ts
 * const config: RoleConfig<'wake'> = loadConfig('wake');
 * config.timerQueueUrl.length // a string: the loader refused its absence
 * ```
 */
export type RoleConfig<R extends Role> = R extends Role
  ? DormantConfig & { [K in (typeof REQUIRES)[R][number]]-?: NonNullable<DormantConfig[K]> }
  : never;

/**
 * Reads and checks the configuration an entry point needs. A variable the
 * role requires that is missing or unusable is a {@link ConfigError} naming
 * it (every problem at once); the result types what the role requires as
 * present.
 *
 * @example
 * ```ts
 * const config = loadConfig('ingress', { DORMANT_TABLE_NAME: 't', DORMANT_SIGNING_KEY: 'k'.repeat(32), DORMANT_SERVICES: '{}' });
 * config.catalog // {}: typed Catalog, no `!` needed
 * ```
 */
export function loadConfig<R extends Role>(role: R, env: Readonly<Record<string, string | undefined>> = process.env): RoleConfig<R> {
  const requires: readonly (keyof DormantConfig)[] = REQUIRES[role];
  const needs = (field: keyof DormantConfig): boolean => requires.includes(field);
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (name: string, needed: boolean): string | undefined => {
    const value = text(name);
    if (value === undefined && needed) problems.push(`${name} is not set`);
    return value;
  };
  const jsonObject = <T>(name: string, needed: boolean, check: (value: Record<string, unknown>) => string | undefined): T | undefined => {
    const raw = required(name, needed);
    if (raw === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (e) {
      problems.push(`${name} is not valid JSON: ${(e as Error).message}`);
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`${name} must be a JSON object`);
      return undefined;
    }
    const problem = check(parsed as Record<string, unknown>);
    if (problem) problems.push(`${name}: ${problem}`);
    return problem ? undefined : (parsed as T);
  };
  const number = (name: string, fallback: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) {
      problems.push(`${name} must be a non-negative number, not '${raw}'`);
      return fallback;
    }
    return value;
  };

  const tableName = required(ENV.TABLE_NAME, true);
  const timerQueueUrl = required(ENV.TIMER_QUEUE_URL, needs('timerQueueUrl'));
  const longTimerQueueUrl = text(ENV.LONG_TIMER_QUEUE_URL);
  const key = text(ENV.SIGNING_KEY);
  const previousKey = text(ENV.SIGNING_KEY_PREVIOUS);
  const secretArn = text(ENV.SIGNING_SECRET_ARN);
  let signing: SigningSource | undefined;
  // Two sources would make one silently win: a function could mint under one
  // secret and its neighbour verify under the other.
  if (key !== undefined && secretArn !== undefined)
    problems.push(
      `both ${ENV.SIGNING_KEY} and ${ENV.SIGNING_SECRET_ARN} are set: set exactly one (the key for local use, the secret on AWS)`,
    );
  else if (key !== undefined) signing = { key, previousKey };
  else if (secretArn !== undefined) signing = { secretArn };
  else if (needs('signing'))
    problems.push(`neither ${ENV.SIGNING_SECRET_ARN} nor ${ENV.SIGNING_KEY} is set (awakeable ids need the signing key)`);
  if (previousKey !== undefined && key === undefined)
    problems.push(`${ENV.SIGNING_KEY_PREVIOUS} is set without ${ENV.SIGNING_KEY} (a secret ARN keeps its previous version itself)`);
  const routes =
    jsonObject<Record<string, string>>(ENV.ROUTES, needs('routes'), (o) =>
      Object.entries(o).find(([, fn]) => typeof fn !== 'string' || fn === '') ? 'every value must be a function name or ARN' : undefined,
    ) ?? {};
  const catalog = jsonObject<Catalog>(ENV.SERVICES, needs('catalog'), (o) => {
    for (const [name, entry] of Object.entries(o)) {
      const e = entry as { kind?: unknown; handlers?: unknown } | null;
      if (!e || !['service', 'object', 'workflow'].includes(String(e.kind)) || typeof e.handlers !== 'object' || e.handlers === null) {
        return `entry '${name}' is not a catalog entry (expected { kind, handlers }, as catalogOf() makes)`;
      }
    }
    return undefined;
  });
  const retentionHours = number(ENV.RETENTION_HOURS, DEFAULT_RETENTION_HOURS);
  const ingressWaitMs = number(ENV.INGRESS_WAIT_MS, DEFAULT_INGRESS_WAIT_MS);
  const apiUrl = text(ENV.API_URL)?.replace(/\/+$/, '');
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    problems.push(`${name} must be one of ${allowed.join(', ')}, not '${raw}'`);
    return fallback;
  };
  const ingressAuth = oneOf(ENV.INGRESS_AUTH, ['iam', 'api-key', 'authorizer', 'none'] as const, 'none');
  const serves = oneOf(ENV.INGRESS_SERVES, ['all', 'callbacks', 'invocations'] as const, 'all');
  const directWake = oneOf(ENV.DIRECT_WAKE, ['true', 'false'] as const, 'true') === 'true';

  if (problems.length > 0) throw new ConfigError(role, problems);
  const config: DormantConfig = {
    tableName: tableName!,
    timerQueueUrl,
    longTimerQueueUrl,
    signing,
    routes,
    catalog,
    apiUrl,
    retentionMs: retentionHours * 3_600_000,
    ingressWaitMs,
    ingressAccess: { serves, callersAuthenticated: ingressAuth !== 'none' },
    directWake,
  };
  // Every field REQUIRES names for this role was checked present above.
  return config as RoleConfig<R>;
}

/**
 * The signing secret of awakeable ids: the configured key, or the secret's
 * current string read from Secrets Manager.
 *
 * @example
 * ```ts
 * const key = await signingKey(config.signing, () => new SecretsManagerClient({}));
 * ```
 */
export async function signingKey(
  source: SigningSource,
  secrets: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<string> {
  return String((await signingKeys(source, secrets)).current);
}

/**
 * The signing secrets of awakeable ids: the current one, and the previous
 * one whose ids still verify (`DORMANT_SIGNING_KEY_PREVIOUS`, or the
 * secret's `AWSPREVIOUS` version when it has one).
 *
 * @example
 * ```ts
 * const { current, previous } = await signingKeys({ secretArn }, () => new SecretsManagerClient({}));
 * ```
 */
export async function signingKeys(
  source: SigningSource,
  secrets: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<SigningKeys> {
  if (source.key !== undefined) return { current: source.key, previous: source.previousKey ? [source.previousKey] : [] };
  const client = secrets();
  const read = async (stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<string | undefined> => {
    try {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: source.secretArn, VersionStage: stage }));
      return SecretString || undefined;
    } catch (error) {
      // A secret never rotated has no AWSPREVIOUS version.
      if (stage === 'AWSPREVIOUS' && (error as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };
  const [current, previous] = await Promise.all([read('AWSCURRENT'), read('AWSPREVIOUS')]);
  if (!current) throw new Error(`the signing secret ${source.secretArn} has no string value (store the signing secret as a SecretString)`);
  return { current, previous: previous && previous !== current ? [previous] : [] };
}

/**
 * The id signer of a role: its secrets read once (callers keep the
 * promise), and read again when an id names a key id it does not know
 * (another function saw a rotation first), at most once a minute.
 *
 * @example
 * ```ts
 * const signer = await signerFor(config.signing);
 * ```
 */
export async function signerFor(
  source: SigningSource,
  secrets: () => SecretsManagerClient = () => new SecretsManagerClient({}),
): Promise<IdSigner> {
  return new IdSigner(await signingKeys(source, secrets), { refresh: () => signingKeys(source, secrets) });
}

/**
 * A value built on first use and kept; a failed build is forgotten so the
 * next call tries again (a cold start that met a throttled Secrets Manager
 * should not poison the warm container).
 *
 * @example
 * ```ts
 * const deps = once(async () => buildDeps(loadConfig('wake')));
 * export const handler = async (event) => run(await deps(), event);
 * ```
 */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/**
 * Options for an SQS client that honour `AWS_ENDPOINT_URL(_SQS)`: when an
 * endpoint is configured (LocalStack, the local plane), requests go there and
 * not to the queue URL's host, which emulators spell with names that do not
 * always resolve.
 *
 * @example
 * ```ts
 * const sqs = new SQSClient(sqsClientOptions());
 * ```
 */
export function sqsClientOptions(env: Readonly<Record<string, string | undefined>> = process.env): { useQueueUrlAsEndpoint?: boolean } {
  return env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL ? { useQueueUrlAsEndpoint: false } : {};
}
