/**
 * Dormant: durable TypeScript handlers on AWS Lambda with awakeables and
 * durable promises.
 *
 * @example
 * ```ts
 * import { service, type Context } from 'dormant-lambda';
 * export const review = service({ name: 'review', handlers: {
 *   request: async (ctx: Context, doc: string) => {
 *     const { id, promise } = ctx.awakeable<string>();
 *     await ctx.run('notify', () => notifyReviewer(doc, id));
 *     return promise;
 *   },
 * } });
 * ```
 */
export { service, object, workflow, handlers } from './api/definitions.ts';
export type { Definition, HandlerFn, HandlerOptions, HandlerSpec, HandlersOf, InputOf, OutputOf, ServiceKind } from './api/definitions.ts';
export type {
  Awakeable,
  Client,
  Context,
  GenericCall,
  SendClient,
  SendOptions,
  DurablePromise,
  ObjectContext,
  ObjectSharedContext,
  Rand,
  Request,
  RetryPolicy,
  RunOptions,
  WorkflowContext,
  WorkflowPromise,
  WorkflowSharedContext,
} from './api/context.ts';
export { TerminalError, TimeoutError, CancelledError, NonDeterminismError } from './api/errors.ts';
export type { Failure } from './api/errors.ts';
export { json, type Serde } from './api/serde.ts';

export { AttemptInterruptedError, runAttempt, type AttemptDeps, type AttemptOutcome, type AttemptRequest } from './engine/attempt.ts';
export { systemClock, type Clock } from './engine/clock.ts';
export { IdSigner, newInvocationId, workflowInvocationId, isInvocationId, type SigningKeys, type IdSignerOptions } from './engine/ids.ts';

export type { Store, InvocationMeta, InvocationStatus, JournalEntry, Completion, ItemChange, ObjectLock, Timer } from './store/store.ts';
export { MemoryStore } from './store/memory.ts';
export {
  MAX_PAYLOAD_BYTES,
  MAX_OBJECT_KEY_BYTES,
  MAX_IDEMPOTENCY_KEY_BYTES,
  MAX_NAME_BYTES,
  MAX_LOCK_QUEUE,
  KeyTooLongError,
  LockQueueFullError,
} from './store/limits.ts';
export { newInvocationMeta } from './store/invocation.ts';
export { decodeChange, type ChangeFeed, type StoreChange } from './store/changes.ts';

export { registry, catalogOf, type Catalog, type CatalogEntry } from './runtime/registry.ts';
export { decideWake, executeWake, type WakeAction, type WakeEffects } from './runtime/wake.ts';
export {
  IngressError,
  startInvocation,
  resolveAwakeable,
  rejectAwakeable,
  getStatus,
  getOutput,
  cancelInvocation,
  killInvocation,
  purgeInvocation,
  type IngressDeps,
  type StartRequest,
  type InvocationStatusView,
  type CompletionAnswer,
} from './runtime/invocations.ts';

export {
  lambdaHandler,
  type LambdaHandlerOptions,
  type HandlerRuntime,
  type HandlerResult,
  type LambdaContextLike,
} from './runtime/lambda-handler.ts';

export { sigv4Fetch, type SigV4FetchOptions, type SigningCredentials } from './client/sigv4-fetch.ts';
