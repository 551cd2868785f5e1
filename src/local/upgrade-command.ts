/**
 * `dormant upgrade <invocationId> [--url URL] [--api-key KEY | --iam [--region R]]`:
 * moves a suspended invocation off the function version it is pinned to,
 * deliberately, through the deployment's authorized upgrade route
 * (`PATCH /restate/invocation/{id}/upgrade`): its next attempt replays its
 * journal on the current version (the alias), accepting the risk that the
 * changed code does not replay it. With `--iam` the request is signed with
 * the AWS credentials of the environment (SigV4, `execute-api`).
 */
import { parseArgs } from 'node:util';
import { sigv4Fetch } from '../client/sigv4-fetch.ts';

/** How `dormant upgrade` is used. */
export const UPGRADE_USAGE = `usage: dormant upgrade <invocationId> [--url URL] [--api-key KEY | --iam [--region REGION]]

  moves a suspended invocation to the current version of its handler
  function: its next attempt replays its journal on the new code
  --url      the API's base URL (default: $DORMANT_API_URL)
  --api-key  for a stack with API key auth, or a plane started with --api-key (default: $DORMANT_API_KEY)
  --iam      sign with the AWS credentials of the environment (IAM auth, the default of a deployed stack)
  --region   the API's region, with --iam (default: $AWS_REGION)`;

/**
 * Runs `dormant upgrade` with its arguments (after `upgrade`); returns the exit code.
 *
 * @example
 * ```ts
 * await upgradeCommand(['inv_…', '--url', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', '--iam']);
 * ```
 */
export async function upgradeCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { url: { type: 'string' }, 'api-key': { type: 'string' }, iam: { type: 'boolean' }, region: { type: 'string' } },
    });
  } catch (error) {
    out.error(`${(error as Error).message}\n\n${UPGRADE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [invocationId, ...extra] = positionals;
  const url = (values.url ?? env.DORMANT_API_URL)?.replace(/\/+$/, '');
  const apiKey = values['api-key'] ?? env.DORMANT_API_KEY;
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const problem =
    invocationId === undefined || extra.length > 0
      ? 'name one invocation id'
      : !url
        ? 'give the API URL with --url (or DORMANT_API_URL)'
        : values.iam && apiKey
          ? '--iam and an API key are two ways to authenticate: give one'
          : values.iam && !region
            ? '--iam needs the region: --region (or AWS_REGION)'
            : undefined;
  if (problem) {
    out.error(`dormant upgrade: ${problem}\n\n${UPGRADE_USAGE}`);
    return 2;
  }
  const send = values.iam ? sigv4Fetch({ region: region! }) : fetch;
  const response = await send(`${url}/restate/invocation/${encodeURIComponent(invocationId!)}/upgrade`, {
    method: 'PATCH',
    headers: apiKey ? { 'x-api-key': apiKey } : {},
  }).catch((error: unknown) => error as Error);
  if (response instanceof Error) {
    out.error(`dormant upgrade: ${url} did not answer: ${response.message}`);
    return 1;
  }
  const text = await response.text();
  if (response.status === 200) {
    const answer = JSON.parse(text) as { upgraded: boolean; from?: string };
    out.log(
      answer.upgraded
        ? `dormant upgrade: ${invocationId} moved off version ${answer.from}; its next attempt runs the current version`
        : `dormant upgrade: ${invocationId} is not pinned; its next attempt runs the current version already`,
    );
    return 0;
  }
  out.error(`dormant upgrade: ${response.status} ${text}`);
  return 1;
}
