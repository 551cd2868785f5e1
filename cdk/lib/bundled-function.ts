import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime, type FunctionOptions } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * The Dormant repository root (the directory holding `package.json`,
 * `lambda/` and `examples/`) when the constructs run from its sources; in
 * the installed package, the package's own directory. The repository's
 * example stack bundles from here.
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

/** Bundles are ES modules; this shim gives bundled CommonJS code a `require`. (scripts/build.mjs bundles the runtime's functions the same way.) */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __dormantCreateRequire } from 'node:module'; const require = __dormantCreateRequire(import.meta.url);";

/** Lock files NodejsFunction understands, in the order it looks for them. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lockb', 'bun.lock', 'package-lock.json'];

/**
 * The project a relative entry belongs to: the nearest directory, from
 * `from` up, with a lock file (where esbuild is installed and bundling
 * runs). A CDK app runs in the directory of its `cdk.json`, so this is the
 * user's project.
 *
 * @example
 * findProjectRoot(process.cwd()) // '/home/ada/shop'
 */
export function findProjectRoot(from: string = process.cwd()): { root: string; lockFile: string } | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const lockFile = lockFileIn(dir);
    if (lockFile) return { root: dir, lockFile };
    if (dirname(dir) === dir) return undefined;
  }
}

function lockFileIn(dir: string): string | undefined {
  return LOCK_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
}

/**
 * Props of {@link BundledFunction}: those of `NodejsFunction`, minus the ones
 * it decides (runtime, role, log group).
 *
 * @example
 * const props: BundledFunctionProps = { entry: 'src/lambda.ts', timeout: Duration.minutes(1) };
 */
export interface BundledFunctionProps extends Omit<NodejsFunctionProps, 'runtime' | 'role' | 'logGroup' | 'logRetention' | 'entry'> {
  /** Path of the TypeScript entry file exporting `handler`; relative paths are taken from {@link projectRoot}. */
  readonly entry: string;
  /**
   * Directory with the lock file and `node_modules`, where esbuild runs.
   * The entry must be inside it.
   * @default the nearest directory up from the working directory (the CDK app's) with a lock file
   */
  readonly projectRoot?: string;
  /**
   * How long the function's log group keeps events.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The log group (with retention) and the role (that may write only to that
 * log group) every Dormant function gets, created next to it as `${id}Logs`
 * and `${id}Role`, because the function needs them at construction.
 */
function logsAndRole(scope: Construct, id: string, retention: RetentionDays): { logGroup: LogGroup; role: Role } {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention,
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
  return { logGroup, role };
}

function acknowledgeRuntime(fn: LambdaFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Dormant targets nodejs22.x on purpose: the runtime it is built and tested against (DORMANT_NODE_RUNTIME); moving to a newer runtime is a tested change, not a default.',
  });
}

/** What every Dormant function shares, whatever its code. */
const FUNCTION_DEFAULTS = { memorySize: 256, timeout: Duration.seconds(30), architecture: Architecture.ARM_64 };

/**
 * A `NodejsFunction` set up the Dormant way: `nodejs22.x` on arm64, bundled
 * as an ES module by the project's own esbuild (never Docker), with its own
 * log group (with retention) and a role that may write only to that log
 * group. Grants are added by the caller.
 *
 * @example
 * const fn = new BundledFunction(this, 'Reports', { entry: 'src/reports-lambda.ts' });
 * table.grantReadData(fn);
 */
export class BundledFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    const project = props.projectRoot ? { root: resolve(props.projectRoot), lockFile: lockFileIn(props.projectRoot) } : findProjectRoot();
    if (!project?.lockFile) {
      throw new Error(
        `${id}: no lock file (package-lock.json, yarn.lock, pnpm-lock.yaml) in ${props.projectRoot ?? `${process.cwd()} or above`}; bundling runs the esbuild of the project that has one (run npm install there, or pass projectRoot)`,
      );
    }
    const entry = isAbsolute(props.entry) ? props.entry : join(project.root, props.entry);
    const { logGroup, role } = logsAndRole(scope, id, props.logRetention ?? RetentionDays.ONE_MONTH);

    const { logRetention: _logRetention, projectRoot: _projectRoot, bundling, environment, ...rest } = props;
    super(scope, id, {
      ...FUNCTION_DEFAULTS,
      ...rest,
      entry,
      handler: 'handler',
      runtime: DORMANT_NODE_RUNTIME,
      role,
      logGroup,
      projectRoot: project.root,
      depsLockFilePath: project.lockFile,
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
    acknowledgeRuntime(this);
  }
}

/**
 * Props of {@link PrebuiltFunction}: a function's options plus the
 * directory of its bundle.
 *
 * @example
 * const props: PrebuiltFunctionProps = { directory: 'node_modules/dormant-lambda/dist/functions/wake' };
 */
export interface PrebuiltFunctionProps extends Omit<FunctionOptions, 'role' | 'logGroup' | 'logRetention'> {
  /** A directory whose `index.mjs` exports `handler` (with its source map beside it). */
  readonly directory: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * A Dormant function whose code is already bundled: the installed package
 * ships the ingress, wake and timer functions built (`dist/functions/`), so
 * a user's `cdk synth` bundles only the user's own handler. Same runtime,
 * architecture, log group and role as {@link BundledFunction}.
 *
 * @example
 * new PrebuiltFunction(this, 'Wake', { directory: prebuiltFunctionDirectory('wake')! });
 */
export class PrebuiltFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: PrebuiltFunctionProps) {
    const { logGroup, role } = logsAndRole(scope, id, props.logRetention ?? RetentionDays.ONE_MONTH);
    const { logRetention: _logRetention, directory, environment, ...rest } = props;
    super(scope, id, {
      ...FUNCTION_DEFAULTS,
      ...rest,
      code: Code.fromAsset(directory),
      handler: 'index.handler',
      runtime: DORMANT_NODE_RUNTIME,
      role,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...environment },
    });
    acknowledgeRuntime(this);
  }
}

/**
 * Where the package's pre-bundled function `name` is, or `undefined` when
 * these constructs run from the repository's sources (no build beside
 * them): then the runtime bundles `lambda/<name>.ts` itself.
 *
 * @example
 * prebuiltFunctionDirectory('wake') // '/home/ada/shop/node_modules/dormant-lambda/dist/functions/wake'
 */
export function prebuiltFunctionDirectory(name: 'ingress' | 'wake' | 'timer'): string | undefined {
  // From dist/cdk/lib/ in the package: dist/functions/<name>/. From cdk/lib/
  // in the repository: functions/<name>/, which does not exist.
  const directory = fileURLToPath(new URL(`../../functions/${name}/`, import.meta.url));
  return existsSync(join(directory, 'index.mjs')) ? directory : undefined;
}
