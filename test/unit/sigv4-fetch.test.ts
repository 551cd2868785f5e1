/**
 * `sigv4Fetch` against an independent verifier (test/support/sigv4.ts, which
 * first passes AWS's published test vector): what it sends is what API
 * Gateway's IAM authorization checks (method, encoded path, query, headers,
 * body), and a request it did not sign, or signed with another secret, fails.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigv4Fetch } from '../../src/client/sigv4-fetch.ts';
import { verifySigV4, type SignedRequest } from '../support/sigv4.ts';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('the independent SigV4 verifier', () => {
  it("passes AWS's get-vanilla test vector, and fails it with one byte changed", () => {
    const request: SignedRequest = {
      method: 'GET',
      rawPath: '/',
      rawQuery: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
      },
      body: Buffer.alloc(0),
    };
    const key = { secretAccessKey: KEYS.secretAccessKey, region: 'us-east-1', service: 'service' };
    expect(verifySigV4(request, key)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(verifySigV4({ ...request, rawPath: '/x' }, key)).toEqual({ ok: false, reason: 'signature mismatch' });
  });
});

describe('sigv4Fetch', () => {
  let url: string;
  let seen: (SignedRequest & { verdict: ReturnType<typeof verifySigV4> })[];
  const server = createServer((req, res) => {
    void read(req).then((body) => {
      const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?') as [string, string?];
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const request = { method: req.method ?? 'GET', rawPath, rawQuery, headers, body };
      const verdict = verifySigV4(request, { secretAccessKey: KEYS.secretAccessKey, region: 'eu-west-1', service: 'execute-api' });
      seen.push({ ...request, verdict });
      res.writeHead(verdict.ok ? 200 : 403, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
    });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('signs method, encoded path, query, headers and body so that IAM authorization accepts them', async () => {
    seen = [];
    const signed = sigv4Fetch({ region: 'eu-west-1', credentials: { ...KEYS, sessionToken: 'the-session-token' } });

    const post = await signed(`${url}/ledger/${encodeURIComponent('alice é/2')}/add/send?delay=1500ms&a=2&a=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'order-7' },
      body: JSON.stringify({ amount: 5, note: 'ünïcode' }),
    });
    const get = await signed(new URL(`${url}/restate/invocation/inv_x/output`));
    const request = await signed(new Request(`${url}/restate/invocation/inv_x`, { method: 'DELETE' }));

    expect([post.status, get.status, request.status]).toEqual([200, 200, 200]);
    expect(seen.map((s) => s.verdict)).toEqual(Array(3).fill({ ok: true, accessKeyId: 'AKIDEXAMPLE' }));
    expect(seen[0]!.body.toString('utf8')).toBe('{"amount":5,"note":"ünïcode"}');
    expect(seen[0]!.headers['x-amz-security-token']).toBe('the-session-token');
    expect(seen[0]!.headers['idempotency-key']).toBe('order-7');
    expect(seen[0]!.headers.authorization).toMatch(/SignedHeaders=[^,]*idempotency-key/);
  });

  it('is refused when unsigned or signed with another secret', async () => {
    seen = [];
    const unsigned = await fetch(`${url}/greeter/greet`, { method: 'POST', body: '"x"' });
    const wrongSecret = await sigv4Fetch({ region: 'eu-west-1', credentials: { ...KEYS, secretAccessKey: 'not-the-secret' } })(
      `${url}/greeter/greet`,
      { method: 'POST', body: '"x"' },
    );
    const wrongRegion = await sigv4Fetch({ region: 'us-east-1', credentials: KEYS })(`${url}/greeter/greet`, {
      method: 'POST',
      body: '"x"',
    });

    expect([unsigned.status, wrongSecret.status, wrongRegion.status]).toEqual([403, 403, 403]);
    expect(seen.map((s) => s.verdict)).toEqual([
      { ok: false, reason: 'no SigV4 Authorization header' },
      { ok: false, reason: 'signature mismatch' },
      { ok: false, reason: 'wrong scope' },
    ]);
  });
});

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
