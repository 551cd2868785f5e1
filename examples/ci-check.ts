/**
 * A deploy gate that waits for GitHub: the handler asks for a commit to be
 * deployed, and suspends until GitHub reports the commit's check run as
 * completed, through the `github` endpoint (`/webhooks/github`, signed with
 * `X-Hub-Signature-256` under the secret named `GITHUB_WEBHOOK_SECRET`).
 * The check run may finish before the gate starts waiting: the event is
 * kept for the endpoint's lookback (a day) and the wait takes it at once.
 *
 * @example
 * ```sh
 * GITHUB_WEBHOOK_SECRET=dev-secret node --conditions=dormant-source bin/dormant.mjs dev examples/ci-check.ts --in-memory
 * curl -X POST localhost:8080/deployGate/request/send -H 'content-type: application/json' -d '{"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}'
 * # the handler prints the signed curl line GitHub would send when the check run completes; run it, then:
 * curl localhost:8080/restate/invocation/inv_…/output   # {"sha":"6dcb09b…","conclusion":"success","deploy":"deployed"}
 * ```
 */
import { createHmac, randomUUID } from 'node:crypto';
import { TerminalError, github, service, type Context, type WebhookEndpoint } from 'dormant-lambda';

/**
 * The endpoint GitHub posts every event of the repository to (set its
 * webhook's payload URL to `{api}/webhooks/github`, content type JSON).
 * Waits match on the commit and the action; only what the gate reads is kept.
 */
export const webhooks: Record<string, WebhookEndpoint> = {
  github: {
    verify: github({ secret: 'GITHUB_WEBHOOK_SECRET' }),
    correlate: ['body.check_run.head_sha', 'body.action'],
    pick: ['headers.x-github-event', 'body.action', 'body.check_run.head_sha', 'body.check_run.name', 'body.check_run.conclusion'],
  },
};

/** What the check run said about the commit. */
export interface CheckRunEvent {
  action: string;
  check_run: { head_sha: string; name: string; conclusion: string | null };
}

export const deployGate = service({
  name: 'deployGate',
  handlers: {
    request: async (ctx: Context, request: { sha: string }) => {
      if (!request || typeof request.sha !== 'string' || !/^[0-9a-f]{40}$/.test(request.sha)) {
        throw new TerminalError('send {"sha": "<40 hex characters>"}', { code: 400 });
      }
      await ctx.run('announce', () => announce(request.sha));
      const event = await ctx.waitForEvent<CheckRunEvent>('github', {
        match: { 'body.check_run.head_sha': request.sha, 'body.action': 'completed' },
        timeout: { hours: 6 },
      });
      const conclusion = event.body.check_run.conclusion ?? 'none';
      const deploy = conclusion === 'success' ? await ctx.run('deploy', () => 'deployed') : 'held';
      return { sha: request.sha, conclusion, deploy };
    },
  },
});

/**
 * Stands in for the CI that runs the checks: prints the request GitHub
 * would send when the check run completes, signed the way GitHub signs it
 * (with `GITHUB_WEBHOOK_SECRET` from this environment).
 */
function announce(sha: string): void {
  const body = JSON.stringify({
    action: 'completed',
    check_run: { id: 4, name: 'build', head_sha: sha, status: 'completed', conclusion: 'success' },
    repository: { full_name: 'octo/app' },
  });
  const signature =
    'sha256=' +
    createHmac('sha256', process.env.GITHUB_WEBHOOK_SECRET ?? '')
      .update(body)
      .digest('hex');
  console.log(
    `[deployGate] when the check run completes, GitHub posts:\n  curl -X POST 'http://localhost:8080/webhooks/github' -H 'content-type: application/json' -H 'x-github-event: check_run' -H 'x-github-delivery: ${randomUUID()}' -H 'x-hub-signature-256: ${signature}' -d '${body}'`,
  );
}

export default [deployGate];
