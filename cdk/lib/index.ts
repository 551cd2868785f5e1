/**
 * Dormant's CDK constructs (the example stack and app live in
 * `example-stack.ts` and `app.ts`, apart, since they load `examples/`).
 *
 * @example
 * import { DurableRuntime, DurableFunction } from './cdk/lib/index.ts';
 */
export { ApiBaseUrl } from './api-base-url.ts';
export { BundledFunction, DORMANT_NODE_RUNTIME, PROJECT_ROOT, type BundledFunctionProps } from './bundled-function.ts';
export { DurableFunction, type DurableFunctionProps } from './durable-function.ts';
export {
  DurableRuntime,
  TABLE_ITEM_ACTIONS,
  type AddServiceOptions,
  type DurableRuntimeProps,
  type RuntimeEntries,
} from './durable-runtime.ts';
export { DormantEnv, type DormantEnvName } from './environment.ts';
export { IngressAuth } from './ingress-auth.ts';
export { WAKE_FILTER_PATTERNS } from '../../src/runtime/wake-filter.ts';
