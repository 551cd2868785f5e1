/**
 * The two kinds of route in the ingress role (DESIGN rules 9 and 10): which
 * function answers which, and what an unauthenticated caller may see. On
 * AWS, API Gateway authorizes invocation routes; with `ingressAuth: 'none'`
 * it does not, and the ingress then keeps capabilities and other
 * invocations' ids out of status answers, and service names out of 404s.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { object, service, type Context, type ObjectContext } from 'dormant-lambda';
import { describe, expect, it } from 'vitest';
import { routeKind } from '../../src/runtime/http.ts';
import { createIngressHandler, type IngressAccess } from '../../src/runtime/ingress.ts';
import { MemoryRuntime } from 'dormant-lambda/testing';

const waiter = service({ name: 'waiter', handlers: { request: async (ctx: Context) => ctx.awakeable<string>().promise } });
const defs = [
  waiter,
  service({
    name: 'review',
    handlers: {
      request: async (ctx: Context) => ctx.awakeable<string>().promise,
      delegate: async (ctx: Context) => ctx.serviceClient(waiter).request(),
    },
  }),
  object({ name: 'sheet', handlers: { sign: async (ctx: ObjectContext) => ctx.awakeable<string>().promise } }),
];

function event(method: string, path: string, body = ''): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    path,
    body,
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

async function setup(access: IngressAccess) {
  const rt = new MemoryRuntime(defs);
  const ingress = createIngressHandler({ ...rt.ingress, waitMs: 0, access });
  const ask = async (method: string, path: string, body = '') => {
    const answer = await ingress(event(method, path, body));
    return { status: answer.statusCode, json: answer.body ? JSON.parse(answer.body) : undefined, text: answer.body };
  };
  return { rt, ask };
}

describe('route kinds', () => {
  it('reads the kind from the path as the router reads it: encoded separators and extra slashes are no way into the callback kind', () => {
    expect(routeKind('/restate/awakeables/awk_x/resolve')).toBe('callback');
    expect(routeKind('/restate/a/awk_x/reject')).toBe('callback');
    expect(routeKind('//restate/awakeables/awk_x/resolve')).toBe('callback');
    expect(routeKind('/2025-12-01/durable-execution-callbacks/awk_x/succeed')).toBe('callback');
    expect(routeKind('/restate/%61wakeables/awk_x/resolve')).toBe('callback');
    expect(routeKind('/restate%2Fawakeables/awk_x/resolve')).toBe('invocation');
    expect(routeKind('/restate//awakeables/awk_x/resolve')).toBe('invocation');
    expect(routeKind('/restate/invocation/inv_x')).toBe('invocation');
    expect(routeKind('/review/request')).toBe('invocation');
    expect(routeKind('/%E0%A4%A')).toBe('invocation');
  });
});

describe("a deployed ingress with ingressAuth 'none' (callers not authenticated)", () => {
  it('leaves awakeableId, callee and lockHeldBy out of status, and service names out of 404s', async () => {
    // Prepare
    const { rt, ask } = await setup({ callersAuthenticated: false });
    const waiting = await rt.start('review', 'request');
    const delegating = await rt.start('review', 'delegate');
    const holder = await rt.start('sheet', 'sign', '', 'doc-1');
    const queued = await rt.start('sheet', 'sign', '', 'doc-1');
    await rt.settle();

    // Act
    const views = await Promise.all([waiting, delegating, queued].map((id) => ask('GET', `/restate/invocation/${id}`)));
    const unknown = await ask('POST', '/nope/x');
    const unknownHandler = await ask('POST', '/review/nope');

    // Assess
    const text = views.map((v) => v.text).join('\n');
    expect(text).not.toContain('awk_');
    expect(text).not.toContain(holder);
    expect(views[0]!.json.awaiting).toEqual([{ key: 'C#00000000' }]);
    expect(views[1]!.json.awaiting).toEqual([{ key: 'C#00000000' }]);
    expect(views[2]!.json.awaiting).toEqual([{ key: 'C#lock', queuePosition: 1 }]);
    expect(unknown.json).toEqual({ code: 'unknown_service', message: "no service named 'nope'" });
    expect(unknownHandler.json.message).toBe("service 'review' has no handler 'nope'");
  });

  it('refuses to list invocations (every id of the deployment) with 403 and the fix; an authenticated one lists them', async () => {
    const open = await setup({ callersAuthenticated: false });
    const owned = await setup({ callersAuthenticated: true });
    await open.rt.start('review', 'request');
    const id = await owned.rt.start('review', 'request');
    await Promise.all([open.rt.settle(), owned.rt.settle()]);

    const refused = await open.ask('GET', '/restate/invocations');
    const listed = await owned.ask('GET', '/restate/invocations');

    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('list_needs_authorization');
    expect(refused.json.message).toContain('ingressAuth');
    expect(listed.json.invocations.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[id, 'suspended']]);
  });

  it('an authenticated deployment (IAM, API key, authorizer) shows them to its callers', async () => {
    const { rt, ask } = await setup({ callersAuthenticated: true });
    const holder = await rt.start('sheet', 'sign', '', 'doc-1');
    const queued = await rt.start('sheet', 'sign', '', 'doc-1');
    await rt.settle();

    expect((await ask('GET', `/restate/invocation/${holder}`)).json.awaiting[0].awakeableId).toMatch(/^awk_/);
    expect((await ask('GET', `/restate/invocation/${queued}`)).json.awaiting[0]).toMatchObject({ lockHeldBy: holder });
    expect((await ask('POST', '/nope/x')).json.message).toContain('review, sheet, waiter');
  });
});

describe('two functions, one for each kind of route', () => {
  it("the callback function answers only callback routes; the ingress only invocation routes; each 404s the other's", async () => {
    const callbacks = await setup({ serves: 'callbacks' });
    const invocations = await setup({ serves: 'invocations' });
    const id = await callbacks.rt.start('review', 'request');
    await callbacks.rt.settle();
    const [awk] = await callbacks.rt.awaitedAwakeables(id);

    expect((await callbacks.ask('GET', `/restate/invocation/${id}`)).json).toMatchObject({ code: 'not_found' });
    expect((await callbacks.ask('POST', '/review/request')).status).toBe(404);
    expect((await callbacks.ask('POST', `/restate/awakeables/${awk}/resolve`, '"ok"')).status).toBe(202);
    expect((await callbacks.ask('GET', `/restate/awakeables/${awk}/resolve`)).status).toBe(405);
    expect((await invocations.ask('POST', `/restate/awakeables/${awk}/resolve`, '"ok"')).json).toMatchObject({ code: 'not_found' });
    expect((await invocations.ask('POST', '/review/request/send')).status).toBe(202);
  });
});
