/**
 * Dormant: durable TypeScript handlers on AWS Lambda with awakeables and
 * durable promises. This entry is what handlers are written against: the
 * programming model (`service`, `object`, `workflow`, the context types),
 * errors, serde, and `lambdaHandler`, which a Lambda function exports.
 * The CDK constructs are `dormant-lambda/cdk`, the testing kit
 * `dormant-lambda/testing`.
 *
 * @example
 * ```ts
 * import { lambdaHandler, service, type Context } from 'dormant-lambda';
 *
 * export const review = service({ name: 'review', handlers: {
 *   request: async (ctx: Context, doc: string) => {
 *     const { id, promise } = ctx.awakeable<string>();
 *     await ctx.run('notify', () => notifyReviewer(doc, id));
 *     return promise;
 *   },
 * } });
 *
 * export const handler = lambdaHandler({ services: [review] });
 * ```
 */
export { service, object, workflow, handlers, isDefinition, definitionOf } from './api/definitions.ts';
export type {
  AnyDefinition,
  DefinitionInput,
  Definition,
  HandlerFn,
  HandlerOptions,
  HandlerSpec,
  HandlersOf,
  InputOf,
  OutputOf,
  ServiceKind,
  ServiceDefinition,
  VirtualObjectDefinition,
  WorkflowDefinition,
} from './api/definitions.ts';
export type {
  Awakeable,
  Client,
  ClientTarget,
  Context,
  GenericCall,
  RestateGenericCall,
  RestateGenericSend,
  InvocationHandle,
  InvocationId,
  InvocationPromise,
  InvocationReference,
  SendClient,
  SendOptions,
  DurablePromise,
  ObjectContext,
  ObjectSharedContext,
  Rand,
  Request,
  RetryPolicy,
  RunAction,
  RunOptions,
  TypedState,
  UntypedState,
  WorkflowContext,
  WorkflowPromise,
  WorkflowSharedContext,
} from './api/context.ts';
export { TerminalError, TimeoutError, CancelledError, RetryableError, NonDeterminismError } from './api/errors.ts';
export { InvocationIdParser } from './api/context.ts';
export type { Failure } from './api/errors.ts';
export { json, bytes, empty, serde, schemaSerde, type Serde, type StandardSchema } from './api/serde.ts';
export { rpc, Opts, SendOpts, type CallOptions, type SendCallOptions } from './api/rpc.ts';
export { RestatePromise } from './api/promise.ts';
export type { Webhook, WebhookOptions, WebhookRequest, WebhookResponse } from './api/webhook.ts';
export type { ReceivedEvent, WaitForEventOptions, WebhookEndpoint } from './api/events.ts';
export { github, stripe, slack, standardWebhooks, twilio, hmac, type Verifier, type HmacAlgorithm } from './api/verifiers.ts';
export type { Duration } from './api/duration.ts';
export {
  serve,
  endpoint,
  createEndpointHandler,
  type Endpoint,
  type EndpointHandler,
  type EndpointOptions,
  type ServeOptions,
} from './endpoint.ts';
export {
  createServiceHandler,
  createObjectHandler,
  createObjectSharedHandler,
  createWorkflowHandler,
  createWorkflowSharedHandler,
} from './api/definitions.ts';

export {
  MAX_PAYLOAD_BYTES,
  MAX_OBJECT_KEY_BYTES,
  MAX_IDEMPOTENCY_KEY_BYTES,
  MAX_NAME_BYTES,
  MAX_LOCK_QUEUE,
  KeyTooLongError,
  LockQueueFullError,
} from './store/limits.ts';

export {
  lambdaHandler,
  type LambdaHandlerOptions,
  type HandlerRuntime,
  type HandlerResult,
  type LambdaContextLike,
} from './runtime/lambda-handler.ts';
export { DEFAULT_TRACE_FLUSH_MS, type OtelTracingOptions } from './runtime/tracing.ts';

export { sigv4Fetch, type SigV4FetchOptions, type SigningCredentials } from './client/sigv4-fetch.ts';
