/**
 * `GET /restate/invocations` on the local plane (DynamoDB Local with its
 * list index): the issue's done-when: three invocations of two services
 * listed by service and by status, paged; a queued object call listed as
 * `pending` with its place; bad parameters refused with the parameter named;
 * a closed plane lists only for its owner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { review } from '../../examples/review.ts';
import { signoff } from '../../examples/signoff.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { call, send, startTestPlane, untilAwakeable, untilOutput, withHeaders } from './support.ts';

const API_KEY = 'list-owner-key-0123456789';

let plane: LocalPlane;
let closed: LocalPlane;

beforeAll(async () => {
  [plane, closed] = await Promise.all([startTestPlane([review, greeter, signoff]), startTestPlane([greeter], { apiKey: API_KEY })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([plane?.stop(), closed?.stop()]);
});

const ids = (answer: { json: { invocations: { id: string }[] } }) => answer.json.invocations.map((r) => r.id);

describe('listing invocations', () => {
  it('lists three invocations of two services by service and by status, newest first, a page at a time', async () => {
    // Prepare: two reviews waiting for their reviewers, one greeting done
    const first = await send(plane, '/review/request', { title: 'Q3 report' });
    await untilAwakeable(plane, first);
    const second = await send(plane, '/review/request', { title: 'Q4 plan' });
    await untilAwakeable(plane, second);
    const greeting = await send(plane, '/greeter/greet', 'Ada');
    await untilOutput(plane, greeting);

    // Act
    const reviews = await call(plane, 'GET', '/restate/invocations?service=review');
    const completed = await call(plane, 'GET', '/restate/invocations?status=completed');
    const suspended = await call(plane, 'GET', '/restate/invocations?status=suspended&handler=request');
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        plane,
        'GET',
        `/restate/invocations?limit=1&service=review${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      pages.push(ids(page));
      cursor = page.json.cursor;
    } while (cursor && pages.length < 5);
    const journals = await Promise.all(
      [greeting, first].map(async (id) => (await call(plane, 'GET', `/restate/invocation/${id}/journal`)).json),
    );

    // Assess
    expect(reviews.status).toBe(200);
    expect(ids(reviews)).toEqual([second, first]);
    expect(reviews.json.invocations[0]).toEqual({
      id: second,
      service: 'review',
      handler: 'request',
      status: 'suspended',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      attempts: 1,
      awaiting: [{ key: 'C#00000000', awakeableId: expect.stringMatching(/^sign_|^awk_|^prom_/) }],
    });
    expect(reviews.json.cursor).toBeNull();
    expect(ids(completed)).toEqual([greeting]);
    expect(ids(suspended)).toEqual([second, first]);
    expect(pages.filter((p) => p.length > 0)).toEqual([[second], [first]]);
    expect(journals.map((j) => [j.status, j.entries.length > 0])).toEqual([
      ['completed', true],
      ['suspended', true],
    ]);
  });

  it('lists a call queued for its object key as pending, with its place in the queue', async () => {
    const holder = await send(plane, '/signoff/doc-list/sign', { signer: 'ada' });
    await untilAwakeable(plane, holder);
    const queued = await send(plane, '/signoff/doc-list/sign', { signer: 'grace' });

    const pending = await call(plane, 'GET', '/restate/invocations?service=signoff&status=pending&key=doc-list');

    expect(pending.json.invocations).toEqual([
      expect.objectContaining({
        id: queued,
        key: 'doc-list',
        status: 'pending',
        attempts: 0,
        awaiting: [{ key: 'C#lock', lockHeldBy: holder, queuePosition: 1 }],
      }),
    ]);
  });

  it('refuses bad parameters with the parameter named, and changes nothing', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['status=sleeping', 'status'],
      ['since=yesterday', 'since'],
      ['since=2026-12-09T00:00:00Z&until=2026-12-08T00:00:00Z', 'since'],
      ['service=', 'service'],
      ['servce=review', 'servce'],
      ['cursor=bm90LWEtY3Vyc29y.AAAAAAAAAAAAAAAAAAAAAA', 'cursor'],
    ];
    for (const [query, parameter] of cases) {
      const answer = await call(plane, 'GET', `/restate/invocations?${query}`);
      expect([query, answer.status, answer.json.code, answer.json.parameter]).toEqual([query, 400, 'invalid_parameter', parameter]);
      expect(answer.json.message).toContain(parameter);
    }
    // A cursor carried to a listing with other filters, or altered by one character
    const page = await call(plane, 'GET', '/restate/invocations?limit=1');
    const cursor: string = page.json.cursor;
    const elsewhere = await call(plane, 'GET', `/restate/invocations?limit=1&service=greeter&cursor=${encodeURIComponent(cursor)}`);
    const altered = cursor.slice(0, 3) + (cursor[3] === 'A' ? 'B' : 'A') + cursor.slice(4);
    const tampered = await call(plane, 'GET', `/restate/invocations?limit=1&cursor=${encodeURIComponent(altered)}`);
    expect([elsewhere.status, elsewhere.json.parameter, tampered.status, tampered.json.parameter]).toEqual([400, 'cursor', 400, 'cursor']);
    expect((await call(plane, 'POST', '/restate/invocations')).status).toBe(405);
  });

  it('on a closed plane, lists for the owner only', async () => {
    const id = await send(withHeaders(closed, { 'x-api-key': API_KEY }), '/greeter/greet', 'Linus');

    const stranger = await call(closed, 'GET', '/restate/invocations');
    const owner = await call(closed, 'GET', '/restate/invocations', undefined, { 'x-api-key': API_KEY });

    expect(stranger.status).toBe(401);
    expect(ids(owner)).toEqual([id]);
  });
});
