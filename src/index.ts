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
export { MAX_PAYLOAD_BYTES } from './store/limits.ts';

export {
  lambdaHandler,
  type LambdaHandlerOptions,
  type HandlerRuntime,
  type HandlerResult,
  type LambdaContextLike,
} from './runtime/lambda-handler.ts';
