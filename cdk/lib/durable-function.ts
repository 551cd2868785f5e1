import { Duration } from 'aws-cdk-lib';
import type { AnyDefinition } from '../../src/api/definitions.ts';
import type { Construct } from 'constructs';
import { BundledFunction, type BundledFunctionProps } from './bundled-function.ts';
import type { DurableRuntime } from './durable-runtime.ts';

/**
 * Props of {@link DurableFunction}: a `NodejsFunction`'s (minus runtime,
 * role and log group, which are decided for you) plus where it runs and what
 * it serves.
 *
 * @example
 * const props: DurableFunctionProps = { runtime, entry: 'src/lambda.ts', services: [greeter] };
 */
export interface DurableFunctionProps extends BundledFunctionProps {
  /** The runtime that routes to, wakes and grants this function. */
  readonly runtime: DurableRuntime;
  /**
   * The definitions the entry's `lambdaHandler({ services })` serves (or their
   * names; see `AddServiceOptions.services`).
   */
  readonly services: readonly (AnyDefinition | string)[];
}

/**
 * A handler Lambda: the entry, a file of your project, exports
 * `handler = lambdaHandler({ services })`. Bundled from your project (the
 * nearest directory up from the CDK app's with a lock file, or
 * `projectRoot`) by its esbuild, as an ES module for `nodejs22.x` on arm64,
 * with its own log group and role, and registered on the runtime in one
 * step (environment, routes, grants, async retries and recovery), as
 * {@link DurableRuntime.addService} does.
 *
 * Its timeout is also the lease of an attempt: another attempt may take over
 * an invocation whose lease has run out, so set it above the longest
 * `ctx.run` step.
 *
 * @example
 * const runtime = new DurableRuntime(this, 'Runtime');
 * new DurableFunction(this, 'Greeter', { runtime, entry: 'src/lambda.ts', services: [greeter] });
 */
export class DurableFunction extends BundledFunction {
  constructor(scope: Construct, id: string, props: DurableFunctionProps) {
    const { runtime, services, ...functionProps } = props;
    super(scope, id, {
      timeout: Duration.minutes(5),
      memorySize: 512,
      description: `Dormant handler: ${services.map((s) => (typeof s === 'string' ? s : s.name)).join(', ')}`.slice(0, 256),
      ...functionProps,
    });
    runtime.addService(this, { services });
  }
}
