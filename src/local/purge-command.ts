/**
 * `dormant purge <invocationId> [--url URL] [--api-key KEY | --iam [--region R]]`:
 * deletes a finished invocation's data (journal, completions, input,
 * output) through the deployment's authorized purge route
 * (`PATCH /restate/invocation/{id}/purge`), for data that must not stay until
 * it expires. With `--iam` the request is signed with the AWS credentials
 * of the environment (SigV4, `execute-api`), as a stack with IAM
 * authorization (the default) requires.
 */
import { parseArgs } from 'node:util';
import { sigv4Fetch } from '../client/sigv4-fetch.ts';

/** How `dormant purge` is used. */
export const PURGE_USAGE = `usage: dormant purge <invocationId> [--url URL] [--api-key KEY | --iam [--region REGION]]

  deletes a finished invocation's journal, completions, input and output
  --url      the API's base URL (default: $DORMANT_API_URL)
  --api-key  for a stack with API key auth, or a plane started with --api-key (default: $DORMANT_API_KEY)
  --iam      sign with the AWS credentials of the environment (IAM auth, the default of a deployed stack)
  --region   the API's region, with --iam (default: $AWS_REGION)`;

/**
 * Runs `dormant purge` with its arguments (after `purge`); returns the exit code.
 *
 * @example
 * ```ts
 * await purgeCommand(['inv_…', '--url', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', '--iam']);
 * ```
 */
export async function purgeCommand(
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
    out.error(`${(error as Error).message}\n\n${PURGE_USAGE}`);
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
    out.error(`dormant purge: ${problem}\n\n${PURGE_USAGE}`);
    return 2;
  }
  const send = values.iam ? sigv4Fetch({ region: region! }) : fetch;
  const response = await send(`${url}/restate/invocation/${encodeURIComponent(invocationId!)}/purge`, {
    method: 'PATCH',
    headers: apiKey ? { 'x-api-key': apiKey } : {},
  }).catch((error: unknown) => error as Error);
  if (response instanceof Error) {
    out.error(`dormant purge: ${url} did not answer: ${response.message}`);
    return 1;
  }
  const text = await response.text();
  if (response.status === 200) {
    out.log(`dormant purge: ${invocationId} purged (${(JSON.parse(text) as { purged: number }).purged} items deleted)`);
    return 0;
  }
  out.error(`dormant purge: ${response.status} ${text}`);
  return 1;
}
