import { App, Validations, type AppProps } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { DormantExampleStack, type DormantExampleStackProps } from './example-stack.ts';

const { AwsSolutionsChecks } = cdkNag;

/**
 * Options of {@link buildDormantApp}.
 *
 * @example
 * buildDormantApp({ appProps: { outdir: '/tmp/out' }, stack: { localStack: true } });
 */
export interface DormantAppOptions {
  /** Props of the CDK `App` (context, outdir). @default {} */
  readonly appProps?: AppProps;
  /** Props of the example stack. @default {} */
  readonly stack?: DormantExampleStackProps;
}

/**
 * The CDK app of this repository: the example stack, checked by cdk-nag's
 * AwsSolutions pack, a CDK policy-validation plugin in cdk-nag v3: an
 * unacknowledged finding of level error fails synth.
 * `cdk/bin/dormant.ts` and the tests build it the same way.
 *
 * @example
 * const { app, stack } = buildDormantApp();
 * app.synth();
 */
export function buildDormantApp(options: DormantAppOptions = {}): { app: App; stack: DormantExampleStack } {
  const app = new App(options.appProps);
  const localStack = String(app.node.tryGetContext('dormant:localstack') ?? 'false') === 'true';
  const stack = new DormantExampleStack(app, 'DormantExamples', { localStack, ...options.stack });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
