/**
 * How each client authenticates (README, "Security"), end to end against
 * the local plane:
 *
 * - IAM (the deployed default): a gateway that checks SigV4 the way API
 *   Gateway's IAM authorization does (test/support/sigv4.ts) sits in front
 *   of the plane; Restate's ingress client passes with the package's
 *   `sigv4Fetch`, and is refused (403) without it.
 * - API key: Restate's client with `headers: { 'x-api-key': … }` against a
 *   plane started with `apiKey`.
 * - Callbacks need neither.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as restate from '@restatedev/restate-sdk-clients';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greeter } from '../../examples/greeter.ts';
import { review } from '../../examples/review.ts';
import { sigv4Fetch } from '../../src/client/sigv4-fetch.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { verifySigV4 } from '../support/sigv4.ts';
import { purgeCommand } from '../../src/local/purge-command.ts';
import { call, startTestPlane, untilAwakeable, untilOutput, withHeaders } from './support.ts';

type Fn = (...args: any[]) => Promise<any>;
const greeterApi = { name: 'greeter' } as restate.ServiceDefinition<string, { greet: Fn }>;
const reviewApi = { name: 'review' } as restate.ServiceDefinition<string, { request: Fn }>;
const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'the-callers-secret-access-key' };

/** API Gateway with IAM authorization, locally: verifies SigV4 (execute-api, eu-west-1), then proxies to the plane. */
async function iamGateway(plane: LocalPlane): Promise<{ url: string; server: Server; refused: string[] }> {
  const refused: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?') as [string, string?];
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const verdict = verifySigV4(
        { method: req.method ?? 'GET', rawPath, rawQuery, headers, body },
        { ...CREDENTIALS, region: 'eu-west-1', service: 'execute-api' },
      );
      if (!verdict.ok) {
        refused.push(`${req.method} ${rawPath}: ${verdict.reason}`);
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Missing Authentication Token' }));
        return;
      }
      const { host: _host, 'content-length': _length, ...forwarded } = headers;
      const answer = await fetch(plane.url + (req.url ?? '/'), {
        method: req.method,
        headers: forwarded,
        body: body.length > 0 ? body : undefined,
      });
      res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(Buffer.from(await answer.arrayBuffer()));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, refused };
}

describe("IAM (SigV4): Restate's ingress client with the package's sigv4Fetch", () => {
  let plane: LocalPlane;
  let gateway: Awaited<ReturnType<typeof iamGateway>>;

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review]);
    gateway = await iamGateway(plane);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => gateway?.server.close(() => resolve()));
    await plane?.stop();
  });

  it('calls, sends, reads the result and resolves an awakeable with signed requests; unsigned ones are refused', async () => {
    // Prepare
    const signed = restate.connect({ url: gateway.url, fetch: sigv4Fetch({ region: 'eu-west-1', credentials: CREDENTIALS }) });
    const unsigned = restate.connect({ url: gateway.url });

    // Act
    const greeting = await signed.serviceClient(greeterApi).greet('Ada');
    const handle = await signed.serviceSendClient(reviewApi).request({ title: 'IAM' }, restate.rpc.sendOpts({ idempotencyKey: 'iam-1' }));
    const awakeableId = await untilAwakeable(plane, handle.invocationId);
    await signed.resolveAwakeable(awakeableId, { approved: true });
    const result = await signed.result(handle);
    const refused = await Promise.resolve(unsigned.serviceClient(greeterApi).greet('Mallory')).catch((e: unknown) => e);

    // Assess
    expect(greeting).toBe('Hello, Ada!');
    expect(result).toEqual({ title: 'IAM', approved: true });
    expect(refused).toBeInstanceOf(restate.HttpCallError);
    expect((refused as restate.HttpCallError).status).toBe(403);
    expect(gateway.refused).toEqual(['POST /greeter/greet: no SigV4 Authorization header']);
  });

  it('dormant purge --iam signs with the credentials of the environment', async () => {
    // Prepare: a finished invocation, and the caller's credentials where the AWS SDK looks for them
    const handle = await restate
      .connect({ url: gateway.url, fetch: sigv4Fetch({ region: 'eu-west-1', credentials: CREDENTIALS }) })
      .serviceSendClient(greeterApi)
      .greet('Purge', restate.rpc.sendOpts({ idempotencyKey: 'purge-iam' }));
    await untilOutput(plane, handle.invocationId);
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    const lines: string[] = [];
    const out = { log: (line: string) => void lines.push(line), error: (line: string) => void lines.push(line) };

    // Act
    let code: number;
    try {
      code = await purgeCommand([handle.invocationId, '--url', gateway.url, '--iam', '--region', 'eu-west-1'], {}, out);
    } finally {
      process.env = saved;
    }

    // Assess
    expect(lines).toEqual([expect.stringMatching(/purged \(\d+ items deleted\)/)]);
    expect(code).toBe(0);
    expect((await call(plane, 'GET', `/restate/invocation/${handle.invocationId}`)).status).toBe(404);
  });
});

describe("API key: Restate's ingress client with an x-api-key header", () => {
  let plane: LocalPlane;
  const KEY = 'client-api-key-0123456789';

  beforeAll(async () => {
    plane = await startTestPlane([greeter, review], { apiKey: KEY });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  it('works with the header, is refused (401) without it, and resolves an awakeable with no key at all', async () => {
    const owner = restate.connect({ url: plane.url, headers: { 'x-api-key': KEY } });
    const stranger = restate.connect({ url: plane.url });

    const handle = await owner.serviceSendClient(reviewApi).request({ title: 'key' }, restate.rpc.sendOpts({ idempotencyKey: 'key-1' }));
    const awakeableId = await untilAwakeable(withHeaders(plane, { 'x-api-key': KEY }), handle.invocationId);
    await stranger.resolveAwakeable(awakeableId, { approved: false });
    const refused = await Promise.resolve(stranger.serviceClient(greeterApi).greet('x')).catch((e: unknown) => e);

    expect(await owner.result(handle)).toEqual({ title: 'key', approved: false });
    expect((refused as restate.HttpCallError).status).toBe(401);
    expect(await owner.serviceClient(greeterApi).greet('Grace')).toBe('Hello, Grace!');
  });
});

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
