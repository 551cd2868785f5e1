/**
 * An invocation's journal over HTTP on the local plane
 * (`GET /restate/invocation/{id}/journal`) and as `dormant invocations
 * describe` prints it: entries in order with when they were written, what
 * they recorded, and for what they awaited, when and how it completed and by
 * whom; a finished journal stays readable; a closed plane shows it only to
 * its owner; bad requests get precise answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review } from '../../examples/review.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { invocationsCommand } from '../../src/local/invocations-command.ts';
import { MAX_SHOWN_VALUE_CHARS } from '../../src/runtime/journal-view.ts';
import { service, type Context } from 'dormant-lambda';
import { call, send, startTestPlane, untilAwakeable, untilOutput, untilStatus, withHeaders } from './support.ts';

const API_KEY = 'journal-owner-key-0123456789';

/** A step with a large result, then a short sleep. */
const bulky = service({
  name: 'bulky',
  handlers: {
    run: async (ctx: Context) => {
      const big = await ctx.run('big', () => 'x'.repeat(5_000));
      await ctx.sleep(50);
      return big.length;
    },
  },
});

let plane: LocalPlane;
let closed: LocalPlane;

beforeAll(async () => {
  [plane, closed] = await Promise.all([startTestPlane([review, bulky]), startTestPlane([review], { apiKey: API_KEY })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([plane?.stop(), closed?.stop()]);
});

describe('the journal of an invocation', () => {
  it('shows each entry with when it was written, what it recorded and how its wait ended', async () => {
    // Prepare: a review waiting for its reviewer
    const id = await send(plane, '/review/request', { title: 'Q3 report' });
    const awakeableId = await untilAwakeable(plane, id);

    // Act: read the journal while it waits, then after the resolve
    const waiting = (await call(plane, 'GET', `/restate/invocation/${id}/journal`)).json;
    expect((await call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, '{"approved":true,"comment":"ship it"}')).status).toBe(
      202,
    );
    await untilOutput(plane, id);
    const done = (await call(plane, 'GET', `/restate/invocation/${id}/journal`)).json;

    // Assess: the awakeable awaited, then resolved by the ingress with the reviewer's value
    expect(waiting.status).toBe('suspended');
    expect(waiting.entries.map((e: { kind: string }) => e.kind)).toEqual(['awakeable', 'run']);
    expect(waiting.entries[0]).toMatchObject({ index: 0, kind: 'awakeable', awakeableId });
    expect(waiting.entries[0].completion).toBeUndefined();
    expect(waiting.entries[1]).toMatchObject({ index: 1, kind: 'run', name: 'ask reviewer' });
    for (const entry of waiting.entries) expect(Date.parse(entry.writtenAt)).toBeGreaterThan(Date.now() - 60_000);

    expect(done.status).toBe('completed');
    expect(done.entries[0].completion).toMatchObject({
      how: 'resolved',
      by: 'ingress',
      value: '{"approved":true,"comment":"ship it"}',
      bytes: 37,
    });
    expect(Date.parse(done.entries[0].completion.at)).toBeGreaterThanOrEqual(Date.parse(done.entries[0].writtenAt));
  });

  it('cuts long values, giving their size, and shows a sleep that fired', async () => {
    const id = await send(plane, '/bulky/run', null);
    await untilOutput(plane, id);

    const { entries } = (await call(plane, 'GET', `/restate/invocation/${id}/journal`)).json;

    expect(entries[0]).toMatchObject({ kind: 'run', name: 'big', outcome: { bytes: 5_002, truncated: true } });
    expect(entries[0].outcome.value).toHaveLength(MAX_SHOWN_VALUE_CHARS);
    expect(entries[1]).toMatchObject({ kind: 'sleep', completion: { how: 'fired', by: 'timer' } });
    expect(Date.parse(entries[1].wakesAt)).toBeGreaterThan(Date.parse(entries[1].writtenAt));
  });

  it('is answered precisely for bad requests', async () => {
    expect((await call(plane, 'GET', '/restate/invocation/inv_AAAAAAAAAAAAAAAAAAAAAA/journal')).status).toBe(404);
    const malformed = await call(plane, 'GET', '/restate/invocation/nope/journal');
    expect(malformed.status).toBe(400);
    expect(malformed.json.code).toBe('malformed_invocation_id');
    const wrongMethod = await call(plane, 'POST', '/restate/invocation/inv_AAAAAAAAAAAAAAAAAAAAAA/journal');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('is an invocation route: a closed plane shows it to its owner only', async () => {
    const id = await send(closed, '/review/request', { title: 'Q4' }, { 'x-api-key': API_KEY });
    await untilStatus(withHeaders(closed, { 'x-api-key': API_KEY }), id, 'suspended');

    const stranger = await call(closed, 'GET', `/restate/invocation/${id}/journal`);
    const owner = await call(closed, 'GET', `/restate/invocation/${id}/journal`, undefined, { 'x-api-key': API_KEY });

    expect(stranger.status).toBe(401);
    expect(owner.status).toBe(200);
  });
});

describe('dormant invocations describe', () => {
  it('prints the status, what it awaits and the timeline', async () => {
    const id = await send(plane, '/review/request', { title: 'timeline' });
    const awakeableId = await untilAwakeable(plane, id);
    const printed: string[] = [];
    const out = { log: (line: string) => printed.push(line), error: (line: string) => printed.push(`error: ${line}`) };

    const code = await invocationsCommand(['describe', id, '--url', plane.url], {}, out);

    expect(code).toBe(0);
    const text = printed.join('\n');
    expect(text).toContain(`${id}  review.request  suspended`);
    expect(text).toContain(`awaiting C#00000000: awakeable ${awakeableId}`);
    expect(text).toMatch(/^0\s+awakeable\s+\+\d+ ms\s+awk_/m);
    expect(text).toMatch(/^1\s+run\s+ask reviewer\s+\+[\d.]+ (ms|s)/m);
  });

  it('names what is wrong', async () => {
    const printed: string[] = [];
    const out = { log: (line: string) => printed.push(line), error: (line: string) => printed.push(line) };
    expect(await invocationsCommand(['describe'], {}, out)).toBe(2);
    expect(printed.join('\n')).toContain('name one invocation id');
    expect(await invocationsCommand(['lsit'], {}, out)).toBe(2);
    expect(printed.join('\n')).toContain("no command 'lsit'");
    expect(await invocationsCommand(['describe', 'inv_AAAAAAAAAAAAAAAAAAAAAA', '--url', plane.url], {}, out)).toBe(1);
    expect(printed.join('\n')).toContain('404');
  });
});
