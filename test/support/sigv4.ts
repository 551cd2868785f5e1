/**
 * An independent SigV4 verifier, written from AWS's description of the
 * signing process (canonical request → string to sign → HMAC chain), to
 * check what `sigv4Fetch` sends the way API Gateway's IAM authorization
 * would: a test of the signer with the signer itself could not fail.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 unreserved characters stay; everything else is %XX (upper case). */
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * What a request to verify holds, as the server saw it.
 *
 * @example
 * ```ts
 * const r: SignedRequest = { method: 'GET', rawPath: '/', rawQuery: '', headers: { host: 'example.amazonaws.com', 'x-amz-date': '…' }, body: Buffer.alloc(0) };
 * ```
 */
export interface SignedRequest {
  method: string;
  /** The path as sent (percent-encoded). */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Checks a request's `Authorization` header against the secret: `ok`, or why not.
 *
 * @example
 * ```ts
 * verifySigV4(request, { secretAccessKey, region: 'us-east-1', service: 'execute-api' })
 * ```
 */
export function verifySigV4(
  request: SignedRequest,
  key: { secretAccessKey: string; region: string; service: string },
): { ok: true; accessKeyId: string } | { ok: false; reason: string } {
  const auth =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      request.headers.authorization ?? '',
    );
  if (!auth) return { ok: false, reason: 'no SigV4 Authorization header' };
  const [, accessKeyId, day, region, service, signedHeaders, signature] = auth as unknown as string[];
  const amzDate = request.headers['x-amz-date'] ?? '';
  if (!amzDate.startsWith(day!) || region !== key.region || service !== key.service) return { ok: false, reason: 'wrong scope' };
  // Non-S3 services: each path segment is encoded once more (the path was sent encoded once).
  const path =
    request.rawPath
      .split('/')
      .map((segment) => encode(decodeURIComponent(segment)))
      .join('/') || '/';
  const canonicalPath = path
    .split('/')
    .map((segment) => encode(segment))
    .join('/');
  const query = request.rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => pair.split('=').map((part) => encode(decodeURIComponent(part.replace(/\+/g, ' ')))))
    .sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : av! > bv! ? 1 : 0))
    .map(([name, value]) => `${name}=${value ?? ''}`)
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names.map((name) => `${name}:${(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [request.method, canonicalPath, query, canonicalHeaders, signedHeaders, hex(request.body)].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, day!), region), service), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(toSign).digest();
  return timingSafeEqual(expected, Buffer.from(signature!, 'hex'))
    ? { ok: true, accessKeyId: accessKeyId! }
    : { ok: false, reason: 'signature mismatch' };
}
