/**
 * A `fetch` that signs every request with AWS Signature Version 4, for
 * clients of a Dormant stack whose invocation routes are behind IAM
 * authorization (`ingressAuth` IAM, the default): API Gateway checks the
 * signature against `execute-api:Invoke` on the method. Restate's ingress
 * client takes it as is:
 *
 * ```ts
 * const ingress = restate.connect({ url: apiUrl, fetch: sigv4Fetch({ region: 'eu-west-1' }) });
 * ```
 *
 * Callback routes need no signature (the awakeable id is the capability);
 * a signed request to one is accepted all the same.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * AWS credentials, or a function that finds them (refreshed as they near
 * expiry by the SDK's providers).
 *
 * @example
 * ```ts
 * const credentials: SigningCredentials = { accessKeyId: 'AKIA…', secretAccessKey: '…' };
 * ```
 */
export type SigningCredentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }>);

/**
 * Options of {@link sigv4Fetch}.
 *
 * @example
 * ```ts
 * const options: SigV4FetchOptions = { region: 'eu-west-1' };
 * ```
 */
export interface SigV4FetchOptions {
  /** The API's region, e.g. `eu-west-1`. */
  region: string;
  /** Default: the AWS SDK's default chain (environment, profile, SSO, container or instance role). */
  credentials?: SigningCredentials;
  /** The signing name. Default `execute-api` (API Gateway). */
  service?: string;
  /** The `fetch` that sends the signed request. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
}

/** SHA-256 (and HMAC-SHA256, given a secret) as the signer wants it, on node:crypto. */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : ArrayBuffer.isView(secret) ? view(secret) : Buffer.from(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : ArrayBuffer.isView(data) ? view(data) : Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

function view(data: ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A `fetch` that signs each request (method, path, query, headers, body)
 * with SigV4 before sending it.
 *
 * @example
 * ```ts
 * const signed = sigv4Fetch({ region: 'eu-west-1' });
 * await signed(`${apiUrl}/greeter/greet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"Ada"' });
 * ```
 */
export function sigv4Fetch(options: SigV4FetchOptions): typeof globalThis.fetch {
  const credentials = options.credentials ?? defaultProvider();
  const signer = new SignatureV4({
    credentials: typeof credentials === 'function' ? credentials : async () => credentials,
    region: options.region,
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  const send = options.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    headers.host = url.host;
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const seen = query[name];
      query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers,
      body,
    });
    const { host: _host, ...sent } = signed.headers as Record<string, string>;
    return send(url, { method: request.method, headers: sent, body, signal: request.signal, redirect: request.redirect });
  };
}
