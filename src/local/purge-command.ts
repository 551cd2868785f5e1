/**
 * `dormant purge <invocationId> [--url URL] [--api-key KEY | --iam [--region R]]`:
 * deletes a finished invocation's data (journal, completions, input,
 * output) through the deployment's authorized purge route
 * (`PATCH /restate/invocation/{id}/purge`), for data that must not stay until
 * it expires. With `--iam` the request is signed with the AWS credentials
 * of the environment (SigV4, `execute-api`), as a stack with IAM
 * authorization (the default) requires.
 */
import { API_OPTIONS_USAGE, sendForInvocation } from './api-client.ts';

/** How `dormant purge` is used. */
export const PURGE_USAGE = `usage: dormant purge <invocationId> [--url URL] [--api-key KEY | --iam [--region REGION]]

  deletes a finished invocation's journal, completions, input and output
${API_OPTIONS_USAGE}`;

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
  const sent = await sendForInvocation({ command: 'purge', usage: PURGE_USAGE, method: 'PATCH', action: 'purge' }, argv, env, out);
  if (typeof sent === 'number') return sent;
  const { invocationId, text } = sent;
  if (sent.status === 200) {
    out.log(`dormant purge: ${invocationId} purged (${(JSON.parse(text) as { purged: number }).purged} items deleted)`);
    return 0;
  }
  out.error(`dormant purge: ${sent.status} ${text}`);
  return 1;
}
