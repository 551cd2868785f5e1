/**
 * Restarting a failed invocation from the start with its input
 * (`PATCH /restate/invocation/{id}/restart-as-new`, Restate's admin route
 * and answer): a new invocation under a new id, so the old journal cannot
 * leak into it and the failed one stays readable as it was until it
 * expires.
 */
import { IngressError, checkInvocationId, startInvocation, statusOf, type IngressDeps } from './invocations.ts';

/**
 * Starts a failed invocation again from the start, with its input, headers
 * and key, as a new invocation whose id is derived from the failed one's: a
 * restart sent twice starts it once (`created: false` the second time).
 * 409 unless it failed (running, suspended, completed…), and for a
 * workflow's `run` (it runs once per key: submit the workflow under a new
 * key); 404 when it never existed or was purged; 410 when it finished and
 * expired (its journal outlives it; its input does not).
 *
 * @example
 * ```ts
 * const { newInvocationId } = await restartInvocation(deps, 'inv_…');
 * ```
 */
export async function restartInvocation(deps: IngressDeps, invocationId: string): Promise<{ newInvocationId: string; created: boolean }> {
  checkInvocationId(invocationId);
  const meta = await deps.store.getInvocation(invocationId);
  if (!meta) {
    if (await deps.store.hasJournal(invocationId)) {
      throw new IngressError(
        410,
        'expired',
        `invocation ${invocationId} finished and expired: its input is gone, so it cannot be restarted; start a new invocation`,
      );
    }
    throw new IngressError(404, 'unknown_invocation', `no invocation ${invocationId} (it never existed, or it was purged)`);
  }
  if (meta.status !== 'failed') {
    const status = statusOf(meta);
    throw new IngressError(
      409,
      'not_failed',
      `invocation ${invocationId} is ${status}: only a failed invocation can be restarted${status === 'completed' ? '' : ' (cancel or kill it first)'}`,
      { status },
    );
  }
  if (meta.kind === 'workflow' && meta.handler === 'run') {
    throw new IngressError(
      409,
      'workflow_run',
      `invocation ${invocationId} is workflow ${meta.service} '${meta.key}', whose run executes once per key: submit the workflow again under a new key`,
    );
  }
  const input = meta.input ?? (await deps.store.load(invocationId)).input ?? '';
  const started = await startInvocation(deps, {
    service: meta.service,
    handler: meta.handler,
    key: meta.key,
    body: input,
    headers: meta.headers,
    restartOf: invocationId,
  });
  return { newInvocationId: started.invocationId, created: started.created };
}
