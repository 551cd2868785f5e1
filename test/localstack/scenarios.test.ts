/**
 * The end-to-end scenarios against a DEPLOYED stack (LocalStack via
 * `npm run deploy:local`, or AWS): the same HTTP conversations the local-plane
 * tests hold, through API Gateway, the Lambdas, the table's stream and SQS.
 *
 * Target: `DORMANT_E2E_URL` (the stack's `ApiUrl` output), else the `ApiUrl`
 * in `.dormant/localstack-outputs.json` written by `npm run deploy:local`.
 * Without an answering target the suite is skipped, and says why: LocalStack
 * needs Docker, which CI and our development machines do not have.
 */
import { existsSync, readFileSync } from 'node:fs';
import { IdSigner, newInvocationId } from 'dormant-lambda/internal';
import { describe, expect, it } from 'vitest';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, send, untilOutput, untilStatus } from '../e2e/support.ts';

function targetUrl(): string | undefined {
  if (process.env.DORMANT_E2E_URL) return process.env.DORMANT_E2E_URL.replace(/\/+$/, '');
  const outputs = '.dormant/localstack-outputs.json';
  if (!existsSync(outputs)) return undefined;
  const stacks = JSON.parse(readFileSync(outputs, 'utf8')) as Record<string, Record<string, string>>;
  const url = Object.values(stacks)
    .map((o) => o.ApiUrl)
    .find(Boolean);
  return url?.replace(/\/+$/, '');
}

async function answers(url: string | undefined): Promise<boolean> {
  if (!url) return false;
  try {
    const response = await fetch(`${url}/restate/invocation/inv_AAAAAAAAAAAAAAAAAAAAAA`, { signal: AbortSignal.timeout(3_000) });
    return response.status === 404;
  } catch {
    return false;
  }
}

const url = targetUrl();
const reachable = await answers(url);
if (!reachable) {
  console.log(
    url
      ? `test/localstack: skipped: ${url} does not answer like a Dormant API (is LocalStack running and the stack deployed with npm run deploy:local?)`
      : 'test/localstack: skipped: no deployed stack (set DORMANT_E2E_URL, or run LocalStack with docker compose up and npm run deploy:local)',
  );
}

// The helpers only use `url`; a deployed stack is addressed the same way as a plane.
const target = { url: url ?? '' } as LocalPlane;

describe.skipIf(!reachable)(`deployed stack at ${url ?? '(none)'}`, () => {
  const timeout = 60_000; // cold starts, stream polling and SQS delays on LocalStack

  it('a review suspends on its awakeable, is resolved over HTTPS, and completes', { timeout }, async () => {
    const id = await send(target, '/review/request', { title: 'LocalStack' });
    const view = await untilStatus(target, id, 'suspended', timeout);
    const awakeableId = view.awaiting[0].awakeableId as string;
    expect(awakeableId).toMatch(/^awk_/);
    expect((await call(target, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true}')).status).toBe(202);
    const second = await call(target, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":false}');
    expect(second.status).toBe(409);
    const output = await untilOutput(target, id, timeout);
    expect(output.json).toMatchObject({ title: 'LocalStack', approved: true });
  });

  it('refuses forged, malformed and unknown ids, invalid JSON and wrong methods', { timeout }, async () => {
    const forged = new IdSigner('not-the-deployed-key-0123456').awakeableId(newInvocationId(), 0);
    expect((await call(target, 'POST', `/restate/awakeables/${forged}/resolve`, '""')).status).toBe(403);
    expect((await call(target, 'POST', '/restate/awakeables/awk_nope/resolve', '""')).status).toBe(400);
    expect((await call(target, 'GET', `/restate/invocation/${newInvocationId()}`)).status).toBe(404);
    expect((await call(target, 'POST', '/review/request/send', '{not json')).status).toBe(400);
    expect((await call(target, 'POST', '/no-such-service/x/send', '{}')).status).toBe(404);
  });

  it('a workflow run waits on its durable promise until the shared handler resolves it', { timeout }, async () => {
    const key = `doc-${Date.now()}`;
    const id = await send(target, `/reviewFlow/${key}/run`, { title: 'flow' });
    await untilStatus(target, id, 'suspended', timeout);
    const submit = await call(target, 'POST', `/reviewFlow/${key}/submitReview`, '{"approved":true}');
    expect(submit.status).toBeLessThan(300);
    expect((await untilOutput(target, id, timeout)).status).toBe(200);
  });
});
