/**
 * A data owner's purge over HTTP: a finished invocation's journal,
 * completions, input and output are deleted through an authorized route,
 * for data that must not stay until it expires.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../../examples/review.ts';
import { reviewFlow } from '../../examples/review-flow.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { purgeCommand } from '../../src/local/purge-command.ts';
import { call, send, startTestPlane, tableSnapshot, untilAwakeable, untilOutput, untilStatus, withHeaders } from './support.ts';

const KEY = 'purge-test-api-key-0000';

describe('purge (a data owner’s control)', () => {
  let plane: LocalPlane;
  let owner: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([review, reviewFlow], { apiKey: KEY });
    owner = withHeaders(plane, { authorization: `Bearer ${KEY}` });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('deletes every item of a finished invocation; its awakeable then names nothing; only the owner may', async () => {
    // Prepare: a review with personal data in its input and its completion, finished
    const id = await send(owner, '/review/request', { title: 'medical record 17' });
    const awakeableId = await untilAwakeable(owner, id);
    await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true,"comment":"patient notes"}');
    await untilOutput(owner, id);
    expect((await tableSnapshot(plane)).some((item) => item.includes(id))).toBe(true);

    // Act
    const stranger = await call(plane, 'PATCH', `/restate/invocation/${id}/purge`);
    const purged = await call(owner, 'PATCH', `/restate/invocation/${id}/purge`);

    // Assess
    expect(stranger.status).toBe(401);
    expect(purged.status).toBe(200);
    expect(purged.json).toEqual({ invocationId: id, status: 'Purged', purged: expect.any(Number) });
    expect(purged.json.purged).toBeGreaterThanOrEqual(4); // meta, 2 journal entries, the completion
    expect((await tableSnapshot(plane)).filter((item) => item.includes(id))).toEqual([]);
    expect((await call(owner, 'GET', `/restate/invocation/${id}`)).status).toBe(404);
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{}')).json).toMatchObject({
      code: 'unknown_awakeable',
    });
    expect((await call(owner, 'PATCH', `/restate/invocation/${id}/purge`)).status).toBe(404);
  });

  it('the CLI purges with the API key, and says why when it cannot', async () => {
    const id = await send(owner, '/review/request', { title: 'cli' });
    const awakeableId = await untilAwakeable(owner, id);
    await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'no', { 'content-type': 'text/plain' });
    await untilOutput(owner, id);
    const lines: string[] = [];
    const out = { log: (line: string) => void lines.push(line), error: (line: string) => void lines.push(`error: ${line}`) };

    const withoutKey = await purgeCommand([id, '--url', plane.url], {}, out);
    const withKey = await purgeCommand([id, '--url', plane.url, '--api-key', KEY], {}, out);
    const usage = await purgeCommand([], {}, out);

    expect([withoutKey, withKey, usage]).toEqual([1, 0, 2]);
    expect(lines[0]).toMatch(/^error: dormant purge: 401 .*unauthorized/);
    expect(lines[1]).toMatch(new RegExp(`^dormant purge: ${id} purged \\(\\d+ items deleted\\)$`));
    expect(lines[2]).toMatch(/name one invocation id/);
    expect((await call(owner, 'GET', `/restate/invocation/${id}`)).status).toBe(404);
  });

  it('refuses an unfinished invocation (409) and deletes nothing; a purged workflow key starts afresh', async () => {
    const run = await send(owner, '/reviewFlow/doc-p/run', { title: 'first' });
    await untilStatus(owner, run, 'suspended');
    const before = await tableSnapshot(plane);

    const refused = await call(owner, 'PATCH', `/restate/invocation/${run}/purge`);

    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ code: 'not_finished' });
    expect(await tableSnapshot(plane)).toEqual(before);

    // Finished and purged, the key is free: a new run does not replay the old one.
    await call(owner, 'POST', '/reviewFlow/doc-p/submitReview', '{"approved":false}');
    expect((await untilOutput(owner, run)).json).toEqual({ title: 'first', approved: false });
    expect((await call(owner, 'PATCH', `/restate/invocation/${run}/purge`)).status).toBe(200);
    expect((await call(owner, 'POST', '/reviewFlow/doc-p/status')).json).toBe('not started');
    const again = await send(owner, '/reviewFlow/doc-p/run', { title: 'second' });
    expect(again).toBe(run);
    await untilStatus(owner, again, 'suspended');
    await call(owner, 'POST', '/reviewFlow/doc-p/submitReview', '{"approved":true}');
    expect((await untilOutput(owner, again)).json).toEqual({ title: 'second', approved: true });
  });
});
