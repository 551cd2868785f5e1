import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * The repository root: the directory holding `package.json`,
 * `package-lock.json`, `lambda/` and `examples/`. Bundling runs esbuild from
 * here, so the local `node_modules/.bin/esbuild` is found without Docker.
 *
 * @example
 * const entry = join(PROJECT_ROOT, 'lambda', 'wake.ts');
 */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Lambda runtime of every Dormant function.
 *
 * @example
 * new NodejsFunction(this, 'Fn', { runtime: DORMANT_NODE_RUNTIME, entry });
 */
export const DORMANT_NODE_RUNTIME = Runtime.NODEJS_22_X;

/** Bundles are ES modules; this shim gives bundled CommonJS code a `require`. */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __dormantCreateRequire } from 'node:module'; const require = __dormantCreateRequire(import.meta.url);";

/**
 * Props of {@link BundledFunction}: those of `NodejsFunction`, minus the ones
 * it decides (runtime, role, log group).
 *
 * @example
 * const props: BundledFunctionProps = { entry: 'lambda/wake.ts', timeout: Duration.minutes(1) };
 */
export interface BundledFunctionProps extends Omit<NodejsFunctionProps, 'runtime' | 'role' | 'logGroup' | 'logRetention' | 'entry'> {
  /** Path of the TypeScript entry file exporting `handler`; relative paths are taken from {@link projectRoot}. */
  readonly entry: string;
  /**
   * Directory with `package-lock.json` and `node_modules`, where esbuild runs.
   * The entry must be inside it.
   * @default the Dormant repository root
   */
  readonly projectRoot?: string;
  /**
   * How long the function's log group keeps events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A `NodejsFunction` set up the Dormant way: `nodejs22.x` on arm64, bundled
 * as an ES module by the local esbuild (never Docker), with its own log
 * group (with retention) and a role that may write only to that log group.
 * Grants are added by the caller.
 *
 * The log group and role are created next to the function, as `${id}Logs`
 * and `${id}Role`, because the function needs them at construction.
 *
 * @example
 * const fn = new BundledFunction(this, 'Greeter', { entry: 'examples/lambda.ts' });
 * table.grantReadData(fn);
 */
export class BundledFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const entry = props.entry.startsWith('/') ? props.entry : join(projectRoot, props.entry);
    const depsLockFilePath = join(projectRoot, 'package-lock.json');
    if (!existsSync(depsLockFilePath)) {
      throw new Error(`${id}: no package-lock.json in projectRoot ${projectRoot}; bundling needs it to find the local esbuild`);
    }
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs are diagnostics; state lives in the table, whose policy is separate.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of our own instead of the default one, whose managed policy
    // (AWSLambdaBasicExecutionRole) lets it write to every log group.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id} (dormant)`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );

    const { logRetention: _logRetention, projectRoot: _projectRoot, bundling, environment, ...rest } = props;
    super(scope, id, {
      memorySize: 256,
      timeout: Duration.seconds(30),
      architecture: Architecture.ARM_64,
      ...rest,
      entry,
      handler: 'handler',
      runtime: DORMANT_NODE_RUNTIME,
      role,
      logGroup,
      projectRoot,
      depsLockFilePath,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_SHIM,
        // Bundle the pinned AWS SDK rather than trusting the runtime's copy.
        bundleAwsSDK: true,
        minify: true,
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        logLevel: LogLevel.WARNING,
        ...bundling,
        // Synth must work offline on machines without Docker.
        forceDockerBundling: false,
      },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Dormant targets nodejs22.x on purpose: the runtime it is built and tested against (DORMANT_NODE_RUNTIME); moving to a newer runtime is a tested change, not a default.',
    });
  }
}
