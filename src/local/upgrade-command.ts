/**
 * `dormant upgrade <invocationId> [--url URL] [--api-key KEY | --iam [--region R]]`:
 * moves a suspended invocation off the function version it is pinned to,
 * deliberately, through the deployment's authorized upgrade route
 * (`PATCH /restate/invocation/{id}/upgrade`): its next attempt replays its
 * journal on the current version (the alias), accepting the risk that the
 * changed code does not replay it. With `--iam` the request is signed with
 * the AWS credentials of the environment (SigV4, `execute-api`).
 */
import { API_OPTIONS_USAGE, sendForInvocation } from './api-client.ts';

/** How `dormant upgrade` is used. */
export const UPGRADE_USAGE = `usage: dormant upgrade <invocationId> [--url URL] [--api-key KEY | --iam [--region REGION]]

  moves a suspended invocation to the current version of its handler
  function: its next attempt replays its journal on the new code
${API_OPTIONS_USAGE}`;

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
  const sent = await sendForInvocation({ command: 'upgrade', usage: UPGRADE_USAGE, method: 'PATCH', action: 'upgrade' }, argv, env, out);
  if (typeof sent === 'number') return sent;
  const { invocationId, text } = sent;
  if (sent.status === 200) {
    const answer = JSON.parse(text) as { upgraded: boolean; from?: string };
    out.log(
      answer.upgraded
        ? `dormant upgrade: ${invocationId} moved off version ${answer.from}; its next attempt runs the current version`
        : `dormant upgrade: ${invocationId} is not pinned; its next attempt runs the current version already`,
    );
    return 0;
  }
  out.error(`dormant upgrade: ${sent.status} ${text}`);
  return 1;
}
