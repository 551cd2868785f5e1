/**
 * `ctx.waitForEvent` and named endpoints in memory: the testing kit's
 * `publishEvent` and `deliverToEndpoint`, the wait's arguments checked
 * before its journal index is taken, endpoint declarations checked, and
 * the routes' kinds (a provider endpoint public, the events route the
 * owner's).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { github, service, type Context } from '../../src/index.ts';
import { TestRuntime } from '../../src/testing/index.ts';
import { checkEndpoints, endpointsFromEnvironment } from '../../src/runtime/endpoints.ts';
import { checkEventWait } from '../../src/engine/event-wait.ts';
import { route, routeKind } from '../../src/runtime/http.ts';

const shop = service({
  name: 'shop',
  handlers: {
    awaitShipment: async (ctx: Context, orderId: string) => {
      const event = await ctx.waitForEvent<{ orderId: string; status: string }>('orders', { match: { 'body.orderId': orderId } });
      return event.body.status;
    },
    misuse: async (ctx: Context, match: unknown) => ctx.waitForEvent('orders', { match } as never),
  },
});
const webhooks = { orders: { verify: github({ secret: 'ORDERS_SECRET' }), correlate: ['body.orderId'] } };

describe('ctx.waitForEvent in the testing kit', () => {
  it('a published event completes the wait; the status lists the endpoint while it waits', async () => {
    const rt = new TestRuntime([shop], { webhooks });
    const run = await rt.start(shop, 'awaitShipment', 'o-1');
    expect(await run.status()).toBe('suspended');
    await rt.publishEvent('orders', { orderId: 'o-2', status: 'lost' });
    expect(await run.status()).toBe('suspended');
    await rt.publishEvent('orders', { orderId: 'o-1', status: 'shipped' });
    expect(await run.output()).toBe('shipped');
  });

  it('a signed delivery to the endpoint completes it; a forged one is refused with 401', async () => {
    const rt = new TestRuntime([shop], { webhooks, secrets: { ORDERS_SECRET: 's3cret' } });
    const run = await rt.start(shop, 'awaitShipment', 'o-9');
    const body = JSON.stringify({ orderId: 'o-9', status: 'delivered' });
    const signed = (secret: string) => ({
      headers: {
        'content-type': 'application/json',
        'x-github-delivery': 'd-1',
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      },
    });
    await expect(rt.deliverToEndpoint('orders', body, signed('wrong'))).rejects.toMatchObject({ status: 401, code: 'bad_signature' });
    expect(await run.status()).toBe('suspended');
    expect(await rt.deliverToEndpoint('orders', body, signed('s3cret'))).toMatchObject({ status: 200 });
    expect(await run.output()).toBe('delivered');
  });

  it.each([
    [{}, /1 to 8 paths/],
    [{ 'data.id': 'x' }, /must start with 'body.' or 'headers.'/],
    [{ 'body.id': { nested: 1 } }, /string, number or boolean/],
    [{ 'body.id': 'x'.repeat(1_025) }, /over 1024 characters/],
  ])('a match of the wrong shape (%j) fails the invocation once with a 400 naming the call', async (match, why) => {
    const rt = new TestRuntime([shop], { webhooks });
    const run = await rt.start(shop, 'misuse', match);
    await expect(run.output()).rejects.toMatchObject({ code: 400, message: expect.stringMatching(why) });
    await expect(run.output()).rejects.toThrow(/ctx\.waitForEvent/);
  });

  it('keys a wait by its match’s first path, whatever the values', () => {
    const a = checkEventWait('orders', { match: { 'body.orderId': 'o-1', 'body.status': 'paid' } });
    const b = checkEventWait('orders', { match: { 'body.orderId': 'o-1' } });
    const c = checkEventWait('orders', { match: { 'body.status': 'paid', 'body.orderId': 'o-1' } });
    expect('partition' in a && 'partition' in b && a.partition === b.partition).toBe(true);
    expect('partition' in c && 'partition' in a && c.partition !== a.partition).toBe(true);
    expect(checkEventWait('no spaces', { match: { 'body.a': 1 } })).toMatchObject({ problem: expect.stringMatching(/endpoint name/) });
    expect(checkEventWait('orders', { match: { 'body.a': 1 }, timeout: '5s' })).toMatchObject({
      problem: expect.stringMatching(/timeout/),
    });
  });
});

describe('endpoint declarations and routes', () => {
  it('checks declarations, naming the endpoint and the fix; reads them back from the environment', () => {
    expect(() => checkEndpoints({ 'a b': webhooks.orders })).toThrow(/webhooks\.a b: an endpoint name/);
    expect(() => checkEndpoints({ x: { correlate: ['body.id'] } })).toThrow(/webhooks\.x: verify must be a verifier/);
    expect(() => checkEndpoints({ x: { ...webhooks.orders, correlate: [] } })).toThrow(/correlate must list/);
    expect(() => checkEndpoints({ x: { ...webhooks.orders, pick: ['ref'] } })).toThrow(/pick must list/);
    expect(() => checkEndpoints({ x: { ...webhooks.orders, lookback: { days: 400 } } })).toThrow(/lookback must be between/);
    const checked = checkEndpoints(webhooks);
    expect(endpointsFromEnvironment({ DORMANT_WEBHOOK_ENDPOINTS: JSON.stringify(checked) })).toEqual(checked);
    expect(endpointsFromEnvironment({})).toEqual({});
    expect(() => endpointsFromEnvironment({ DORMANT_WEBHOOK_ENDPOINTS: '{' })).toThrow(/not JSON/);
  });

  it('a provider endpoint is a public callback route; publishing an event acts for the owner', () => {
    expect(routeKind('/webhooks/stripe')).toBe('callback');
    expect(routeKind('/restate/events/stripe')).toBe('invocation');
    expect(route('POST', '/webhooks/stripe', {})).toEqual({ kind: 'endpoint', name: 'stripe' });
    expect(route('POST', '/restate/events/orders', {})).toEqual({ kind: 'publish', name: 'orders' });
    expect(route('GET', '/restate/events/orders', {})).toMatchObject({ status: 405 });
    expect(route('POST', '/webhooks/stripe/extra', {})).toMatchObject({ status: 404 });
  });
});
