/**
 * Names of the environment variables the Dormant Lambda entry points read.
 * The constructs set them; `src/` reads them at cold start. Keep both sides
 * on these names.
 *
 * @example
 * fn.addEnvironment(DormantEnv.TABLE_NAME, table.tableName);
 */
export const DormantEnv = {
  /** Name of the DynamoDB table holding journals, completions and state. */
  TABLE_NAME: 'DORMANT_TABLE_NAME',
  /** URL of the SQS queue that carries durable timers as delayed messages. */
  TIMER_QUEUE_URL: 'DORMANT_TIMER_QUEUE_URL',
  /** URL of the SQS queue where timers due in more than 15 minutes are parked until due. */
  LONG_TIMER_QUEUE_URL: 'DORMANT_LONG_TIMER_QUEUE_URL',
  /** ARN of the Secrets Manager secret whose string is the signing secret of awakeable ids (AWSCURRENT mints, AWSPREVIOUS still verifies). */
  SIGNING_SECRET_ARN: 'DORMANT_SIGNING_SECRET_ARN',
  /**
   * JSON object mapping a service name to the name of the Lambda function
   * that runs it, e.g. `{"greeter":"MyStack-GreeterFn-AbC123"}`. Set on the
   * ingress, wake and timer functions (not on handler functions: a handler
   * does not invoke other handlers, it writes the call to the table).
   */
  ROUTES: 'DORMANT_ROUTES',
  /**
   * JSON catalog of the services the ingress exposes, as `catalogOf()` in
   * `src/runtime/registry.ts` makes it: service name → `{ kind, handlers }`.
   * Set on the ingress only (it does not load user code).
   */
  SERVICES: 'DORMANT_SERVICES',
  /** JSON object mapping the name a webhook verifier gives its secret to the ARN of the Secrets Manager secret holding it; set on the callback function. */
  WEBHOOK_SECRETS: 'DORMANT_WEBHOOK_SECRETS',
  /** JSON: the provider endpoints (`/webhooks/{name}`) by name, checked and with their lookback in ms; set on the ingress and callback functions. */
  WEBHOOK_ENDPOINTS: 'DORMANT_WEBHOOK_ENDPOINTS',
  /**
   * Base URL of the REST API with its stage and no trailing slash, e.g.
   * `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`. An awakeable's
   * resolve URL is `${DORMANT_API_URL}/restate/awakeables/${id}/resolve`.
   */
  API_URL: 'DORMANT_API_URL',
  /** Hours a finished invocation is kept before its items expire (TTL). */
  RETENTION_HOURS: 'DORMANT_RETENTION_HOURS',
  /** How API Gateway authorizes the invocation routes (`iam`, `api-key`, `authorizer`, `none`); set on the ingress functions. */
  INGRESS_AUTH: 'DORMANT_INGRESS_AUTH',
  /** Which routes an ingress function answers: `invocations` or `callbacks`. */
  INGRESS_SERVES: 'DORMANT_INGRESS_SERVES',
  /** `true` (the default) or `false`: whether the ingress functions wake the handlers they make runnable directly (`directWake`). */
  DIRECT_WAKE: 'DORMANT_DIRECT_WAKE',
} as const;

/** One of the environment variable names in {@link DormantEnv}. */
export type DormantEnvName = (typeof DormantEnv)[keyof typeof DormantEnv];
