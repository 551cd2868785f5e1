/**
 * `dormant versions <function> --table TABLE [--prune] [--region R]`: lists a
 * handler function's published versions with the unfinished invocations
 * pinned to each (rule 12), and with `--prune` deletes the versions older
 * than its `live` alias that nothing is pinned to. Uses the AWS credentials
 * of the environment (lambda:ListVersionsByFunction, lambda:GetAlias,
 * lambda:DeleteFunction on the function, dynamodb:Scan on the table).
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteFunctionCommand, GetAliasCommand, LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import { pruneVersions, type FunctionVersions } from '../runtime/versions.ts';
import { pinnedVersionCounts } from './version-use.ts';

/** How `dormant versions` is used. */
export const VERSIONS_USAGE = `usage: dormant versions <function> --table TABLE [--prune] [--region REGION]

  lists a handler function's versions and the unfinished invocations pinned
  to each; --prune deletes the versions older than its live alias that no
  unfinished invocation is pinned to
  --table   the runtime's table (the stack's TableName output; default: $DORMANT_TABLE_NAME)
  --region  default: $AWS_REGION`;

/**
 * {@link FunctionVersions} over Lambda's API.
 *
 * @example
 * ```ts
 * const versions = lambdaFunctionVersions(new LambdaClient({}));
 * ```
 */
export function lambdaFunctionVersions(lambda: LambdaClient): FunctionVersions {
  return {
    async published(functionName) {
      const versions: string[] = [];
      let marker: string | undefined;
      do {
        const page = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker: marker }));
        for (const v of page.Versions ?? []) if (v.Version && v.Version !== '$LATEST') versions.push(v.Version);
        marker = page.NextMarker;
      } while (marker);
      return versions;
    },
    async aliasVersion(functionName, alias) {
      const out = await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
      return out.FunctionVersion ?? '';
    },
    async remove(functionName, version) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: functionName, Qualifier: version }));
    },
  };
}

/**
 * Runs `dormant versions` with its arguments (after `versions`); returns the exit code.
 *
 * @example
 * ```ts
 * await versionsCommand(['shop-orders', '--table', 'Shop-RuntimeTable…', '--prune']);
 * ```
 */
export async function versionsCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
  clients?: { lambda: FunctionVersions; dynamodb: DynamoDBClient },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { table: { type: 'string' }, prune: { type: 'boolean' }, region: { type: 'string' } },
    });
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${VERSIONS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [functionName, ...extra] = positionals;
  const table = values.table ?? env.DORMANT_TABLE_NAME;
  const problem =
    functionName === undefined || extra.length > 0 ? 'name one handler function' : !table ? 'give the table with --table' : undefined;
  if (problem) {
    out.error(`dormant versions: ${problem}\n\n${VERSIONS_USAGE}`);
    return 2;
  }
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const own = clients ? undefined : { lambda: new LambdaClient({ region }), dynamodb: new DynamoDBClient({ region }) };
  try {
    const lambda = clients?.lambda ?? lambdaFunctionVersions(own!.lambda);
    const pinned = await pinnedVersionCounts(clients?.dynamodb ?? own!.dynamodb, table!);
    const report = await pruneVersions({ functionName: functionName!, lambda, pinned, dryRun: !values.prune });
    for (const v of report.versions) {
      const note = v.version === report.aliasVersion ? 'live' : v.prunable ? (values.prune ? 'deleted' : 'prunable') : 'kept';
      out.log(`${functionName}:${v.version}  ${v.invocations} unfinished invocation(s) pinned  ${note}`);
    }
    if (!values.prune)
      out.log(`dormant versions: ${report.versions.filter((v) => v.prunable).length} prunable; run with --prune to delete them`);
    return 0;
  } catch (error) {
    out.error(`dormant versions: ${(error as Error).message}`);
    return 1;
  } finally {
    own?.lambda.destroy();
    own?.dynamodb.destroy();
  }
}
