/**
 * Logs never print a whole capability id (issue 14): the plane's request
 * lines, the ingress's and the roles' error lines, and failures that name an
 * awakeable show its first characters only. Logs are read by more people
 * than hold the ids.
 */
import { service, type Context } from 'dormant-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, send, startTestPlane, untilAwakeable, untilOutput } from './support.ts';

/** Resolves an awakeable id it is given; a bad one fails the invocation with a message naming it. */
const relay = service({
  name: 'relay',
  handlers: {
    resolve: async (ctx: Context, id: string) => {
      ctx.resolveAwakeable(id, { approved: true });
      return 'relayed';
    },
  },
});

describe('logs (rule 10)', () => {
  let plane: LocalPlane;
  const lines: string[] = [];

  beforeAll(async () => {
    plane = await startTestPlane([review, relay], {
      log: (level, message, details) =>
        lines.push(`${level} ${message} ${details instanceof Error ? details.message : JSON.stringify(details ?? '')}`),
    });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('show no whole awakeable id, through requests, refusals, handler failures and completions', async () => {
    // Prepare: a review waiting on its awakeable
    const id = await send(plane, '/review/request', { title: 'logs' });
    const awakeableId = await untilAwakeable(plane, id);
    const altered = awakeableId.slice(0, 30) + (awakeableId[30] === 'A' ? 'B' : 'A') + awakeableId.slice(31);

    // Act: a forged resolve, a handler resolving a forged id, the real resolve, a late one
    await call(plane, 'POST', `/restate/awakeables/${altered}/resolve`, '{}');
    const relayed = await send(plane, '/relay/resolve', altered);
    await call(plane, 'POST', `/restate/a/${awakeableId}/resolve`, '{"approved":true}');
    await call(plane, 'POST', `/restate/awakeables/${awakeableId}/reject`, 'late', { 'content-type': 'text/plain' });
    await untilOutput(plane, id);
    const failure = await untilOutput(plane, relayed);

    // Assess: the lines were written, and none holds a whole id (82 characters after awk_)
    expect(lines.some((line) => line.includes('/restate/awakeables/awk_'))).toBe(true);
    expect(failure.json.message).toMatch(/awakeable id is forged: awk_\S{6}…$/);
    for (const whole of [awakeableId, altered]) expect(lines.join('\n')).not.toContain(whole);
    expect(lines.join('\n')).not.toMatch(/awk_[A-Za-z0-9_-]{20}/);
  });
});
