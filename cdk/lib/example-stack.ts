import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import examples from '../../examples/index.ts';
import type { AnyDefinition } from '../../src/api/definitions.ts';
import { ApiBaseUrl } from './api-base-url.ts';
import { PROJECT_ROOT } from './bundled-function.ts';
import { DurableFunction } from './durable-function.ts';
import { DurableRuntime, type RuntimeEntries } from './durable-runtime.ts';

/**
 * The definitions `examples/lambda.ts` serves (the default export of
 * `examples/index.ts`): the wake routes each to the example function, and
 * the ingress learns their handlers from them.
 *
 * @example
 * EXAMPLE_SERVICES.map((d) => d.name) // ['greeter', 'review', 'reviewFlow', 'signoff']
 */
export const EXAMPLE_SERVICES: readonly AnyDefinition[] = examples;

/**
 * Props of {@link DormantExampleStack}.
 *
 * @example
 * new DormantExampleStack(app, 'DormantExamples', { localStack: true });
 */
export interface DormantExampleStackProps extends StackProps {
  /** Spell the API URL for LocalStack (`cdklocal`) instead of AWS. @default false */
  readonly localStack?: boolean;
  /** Directory with `package-lock.json`, `node_modules` and the entries. @default the repository root */
  readonly projectRoot?: string;
  /** Entry files of the runtime's functions. @default the files in `lambda/` */
  readonly entries?: RuntimeEntries;
  /** Entry of the example handler function. @default 'examples/lambda.ts' */
  readonly examplesEntry?: string;
}

/**
 * The examples deployed on a Dormant runtime: what `cdk deploy` creates from
 * this repository. Everything is deleted with the stack (the table too),
 * since it only holds example runs.
 *
 * Outputs: `ApiUrl`, `ResolveUrlTemplate` (point a webhook at it with the
 * awakeable id in place of `{id}`), `TableName`, `DeadLetterQueueUrl`, `TimerQueueUrl`.
 *
 * @example
 * const app = new App();
 * new DormantExampleStack(app, 'DormantExamples');
 */
export class DormantExampleStack extends Stack {
  /** The runtime the examples run on. */
  readonly runtime: DurableRuntime;
  /** The Lambda function serving {@link EXAMPLE_SERVICES}. */
  readonly examples: DurableFunction;

  constructor(scope: Construct, id: string, props: DormantExampleStackProps = {}) {
    super(scope, id, { description: 'Dormant: durable handlers on Lambda, with the examples', ...props });
    this.runtime = new DurableRuntime(this, 'Runtime', {
      projectRoot: props.projectRoot,
      entries: props.entries,
      removalPolicy: RemovalPolicy.DESTROY,
      apiBaseUrl: props.localStack ? ApiBaseUrl.localStack() : ApiBaseUrl.executeApi(),
    });
    this.examples = new DurableFunction(this, 'Examples', {
      runtime: this.runtime,
      projectRoot: props.projectRoot ?? PROJECT_ROOT,
      entry: props.examplesEntry ?? 'examples/lambda.ts',
      services: EXAMPLE_SERVICES,
      // The examples import `dormant-lambda` by name: bundle the repository's
      // sources, as its tests run them, not a build in dist/.
      bundling: { esbuildArgs: { '--conditions': 'dormant-source' } },
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.runtime.apiUrl,
      description: 'Base URL of the ingress (POST {ApiUrl}/{service}/{handler})',
    });
    new CfnOutput(this, 'ResolveUrlTemplate', {
      value: this.runtime.resolveUrlTemplate,
      description: 'POST here to resolve an awakeable; replace {id} with its id (reject: .../reject)',
    });
    new CfnOutput(this, 'TableName', { value: this.runtime.table.tableName });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.runtime.deadLetterQueue.queueUrl,
      description: 'Messages the timer Lambda gave up on; redrive with dormant dlq redrive --queue-url <this> --to <TimerQueueUrl>',
    });
    new CfnOutput(this, 'TimerQueueUrl', {
      value: this.runtime.timerQueue.queueUrl,
      description: 'Where dormant dlq redrive moves dead letters back to (the timer Lambda reads every kind of them there)',
    });
  }
}
