/**
 * Dormant's CDK constructs.
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
  WAKE_FILTER_PATTERNS,
  WAKE_SORT_KEY_PREFIXES,
  type AddServiceOptions,
  type DurableRuntimeProps,
  type RuntimeEntries,
} from './durable-runtime.ts';
export { DormantEnv, type DormantEnvName } from './environment.ts';
export { DormantExampleStack, EXAMPLE_SERVICES, type DormantExampleStackProps } from './example-stack.ts';
export { buildDormantApp, type DormantAppOptions } from './app.ts';
