/**
 * How the CLI's commands reach a deployment's API: its URL, and an API key
 * or SigV4 signing with the environment's AWS credentials (`--iam`).
 */
import { parseArgs } from 'node:util';
import { sigv4Fetch } from '../client/sigv4-fetch.ts';

/** The options every API command takes, for their usage lines. */
export const API_OPTIONS_USAGE = `  --url      the API's base URL (default: $DORMANT_API_URL)
  --api-key  for a stack with API key auth, or a plane started with --api-key (default: $DORMANT_API_KEY)
  --iam      sign with the AWS credentials of the environment (IAM auth, the default of a deployed stack)
  --region   the API's region, with --iam (default: $AWS_REGION)`;

/**
 * A command's reach of the API, parsed from its arguments.
 *
 * @example
 * ```ts
 * const api = apiArguments(['inv_…', '--url', url], process.env);
 * if ('problem' in api) console.error(api.problem);
 * else await api.request('GET', `/restate/invocation/${api.positionals[0]}`);
 * ```
 */
export interface ApiReach {
  readonly url: string;
  readonly positionals: string[];
  /** The command's own options (those given to `apiArguments` as `extra`), as parsed. */
  readonly options: Record<string, string | boolean | undefined>;
  /**
   * Sends a request to `path` under the API's URL, authenticated as asked. A
   * body is sent as JSON unless `headers` name its content type.
   */
  request(method: string, path: string, body?: string | Uint8Array, headers?: Record<string, string>): Promise<Response>;
}

/**
 * Parses `[positionals] [--url URL] [--api-key KEY | --iam [--region R]]`.
 *
 * @example
 * ```ts
 * apiArguments(['inv_…', '--iam'], { DORMANT_API_URL: url, AWS_REGION: 'eu-west-1' });
 * ```
 */
export function apiArguments(
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  defaultUrl?: string,
  /** Options of the command itself besides the API's (`dormant invocations list --service …`). */
  extra: Record<string, { type: 'string' | 'boolean' }> = {},
): ApiReach | { problem: string; positionals?: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...extra, url: { type: 'string' }, 'api-key': { type: 'string' }, iam: { type: 'boolean' }, region: { type: 'string' } },
    });
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const { values, positionals } = parsed;
  const url = (values.url ?? env.DORMANT_API_URL ?? defaultUrl)?.replace(/\/+$/, '');
  const apiKey = values['api-key'] ?? env.DORMANT_API_KEY;
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!url) return { problem: 'give the API URL with --url (or DORMANT_API_URL)', positionals };
  if (values.iam && apiKey) return { problem: '--iam and an API key are two ways to authenticate: give one', positionals };
  if (values.iam && !region) return { problem: '--iam needs the region: --region (or AWS_REGION)', positionals };
  const send = values.iam ? sigv4Fetch({ region: region! }) : fetch;
  const options = Object.fromEntries(
    Object.keys(extra).map((name) => [name, (values as Record<string, string | boolean | undefined>)[name]]),
  );
  return {
    url,
    positionals,
    options,
    request: (method, path, body, headers = {}) =>
      send(`${url}${path}`, {
        method,
        body,
        // An answer's redirect is the caller's to follow (the page's /ui → ui/ must stay relative).
        redirect: 'manual',
        headers: {
          ...(body === undefined || Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
            ? {}
            : { 'content-type': 'application/json' }),
          ...headers,
          ...(apiKey ? { 'x-api-key': apiKey } : {}),
        },
      }),
  };
}

/**
 * What is wrong with a command's arguments that name one invocation id: a
 * bad option first, then the id, then the API's reach.
 *
 * @example
 * ```ts
 * const problem = oneIdProblem(apiArguments(argv, env)); // 'name one invocation id'
 * ```
 */
export function oneIdProblem(api: ApiReach | { problem: string; positionals?: string[] }): string | undefined {
  if (!api.positionals) return 'problem' in api ? api.problem : undefined;
  if (api.positionals.length !== 1) return 'name one invocation id';
  return 'problem' in api ? api.problem : undefined;
}

/**
 * Runs a command that names one invocation and sends one request about it
 * (`dormant purge`, `dormant upgrade`): parses the arguments, prints what is
 * wrong (exit 2) or that the API did not answer (exit 1), else hands back
 * the answer for the command to read.
 *
 * @example
 * ```ts
 * const sent = await sendForInvocation({ command: 'purge', usage: PURGE_USAGE, method: 'PATCH', action: 'purge' }, argv, env, console);
 * if (typeof sent === 'number') return sent;
 * ```
 */
export async function sendForInvocation(
  command: { command: string; usage: string; method: string; action: string; defaultUrl?: string },
  argv: string[],
  env: Readonly<Record<string, string | undefined>>,
  out: Pick<Console, 'log' | 'error'>,
): Promise<number | { invocationId: string; status: number; text: string }> {
  const api = apiArguments(argv, env, command.defaultUrl);
  const problem = oneIdProblem(api);
  if (problem || 'problem' in api) {
    out.error(`dormant ${command.command}: ${problem}\n\n${command.usage}`);
    return 2;
  }
  const invocationId = api.positionals[0]!;
  const response = await api
    .request(command.method, `/restate/invocation/${encodeURIComponent(invocationId)}/${command.action}`)
    .catch((error: unknown) => error as Error);
  if (response instanceof Error) {
    out.error(`dormant ${command.command}: ${api.url} did not answer: ${response.message}`);
    return 1;
  }
  return { invocationId, status: response.status, text: await response.text() };
}
