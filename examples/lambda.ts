/**
 * The examples as one handler Lambda (what `cdk deploy` runs them in).
 *
 * @example
 * ```ts
 * // cdk: new DurableFunction(this, 'Examples', { runtime, entry: 'examples/lambda.ts', services: ['greeter', 'review', 'reviewFlow', 'signoff'] })
 * ```
 */
import { lambdaHandler } from 'dormant-lambda';
import examples from './index.ts';

export const handler = lambdaHandler({ services: examples });
