/**
 * `dormant-lambda/cdk`: the AWS CDK constructs that deploy Dormant into your
 * account. {@link DurableRuntime} is everything a durable handler needs
 * besides its own Lambda function (the table with its stream, the ingress
 * API, the wake and timer functions, which the package ships pre-bundled,
 * the queues, the signing secret, least-privilege roles);
 * {@link DurableFunction} bundles your handler's entry file from your
 * project and registers it on a runtime. Needs `aws-cdk-lib` and
 * `constructs` (peer dependencies: `npm install aws-cdk-lib constructs`).
 *
 * @example
 * ```ts
 * // cdk/app.ts (cdk.json: { "app": "npx tsx cdk/app.ts" })
 * import { App, CfnOutput, Stack } from 'aws-cdk-lib';
 * import { DurableFunction, DurableRuntime } from 'dormant-lambda/cdk';
 * import { review } from '../src/services.ts';
 *
 * const app = new App();
 * const stack = new Stack(app, 'Reviews');
 * const runtime = new DurableRuntime(stack, 'Runtime');
 * // src/lambda.ts: export const handler = lambdaHandler({ services: [review] });
 * new DurableFunction(stack, 'Handlers', { runtime, entry: 'src/lambda.ts', services: [review] });
 * new CfnOutput(stack, 'ApiUrl', { value: runtime.apiUrl });
 * ```
 */
export { RuntimeAlarms, type RuntimeAlarmsOptions, type RuntimeAlarmsProps } from './alarms.ts';
export { ApiBaseUrl } from './api-base-url.ts';
export {
  BundledFunction,
  DORMANT_NODE_RUNTIME,
  PrebuiltFunction,
  findProjectRoot,
  type BundledFunctionProps,
  type PrebuiltFunctionProps,
} from './bundled-function.ts';
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
