/**
 * API Gateway (REST API, Lambda proxy integration), locally: an HTTP server
 * that turns each request into the `APIGatewayProxyEvent` API Gateway would
 * send (raw percent-encoded path, headers in both shapes, text bodies as
 * strings and other bodies base64-encoded) and writes the handler's result
 * back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

/** API Gateway's own limit on a request body. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * Options of {@link startApiGateway}.
 *
 * @example
 * ```ts
 * await startApiGateway({ port: 8080, handler: createIngressHandler(deps) });
 * ```
 */
export interface ApiGatewayOptions {
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  /** 0 picks a free port. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Told about each request once answered. */
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
}

/**
 * A listening API.
 *
 * @example
 * ```ts
 * const api = await startApiGateway({ port: 0, handler });
 * fetch(`${api.url}/greeter/greet`, { method: 'POST', body: '"Ada"' });
 * ```
 */
export interface ApiGateway {
  /** `http://localhost:<port>` */
  readonly url: string;
  readonly port: number;
  /** Replaces the handler (the plane listens before its handler exists, to know its URL). */
  setHandler(handler: ApiGatewayOptions['handler']): void;
  stop(): Promise<void>;
}

/**
 * Starts the local API.
 *
 * @example
 * ```ts
 * const api = await startApiGateway({ port: 0, handler: async () => ({ statusCode: 204, body: '' }) });
 * await api.stop();
 * ```
 */
export async function startApiGateway(options: ApiGatewayOptions): Promise<ApiGateway> {
  let handler = options.handler;
  const server: Server = createServer((req, res) => {
    const started = performance.now();
    void serve(req, res)
      .catch(() => {
        if (!res.headersSent) writeJson(res, 502, { code: 'bad_gateway', message: 'the ingress handler failed' });
        else res.destroy();
      })
      .finally(() =>
        options.onRequest?.({
          method: req.method ?? '?',
          path: req.url ?? '/',
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        }),
      );
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === undefined) {
      writeJson(res, 413, { code: 'payload_too_large', message: `the request body is over API Gateway's ${MAX_REQUEST_BYTES}-byte limit` });
      return;
    }
    const result = await handler(toProxyEvent(req, body));
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    for (const [k, vs] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = vs.map(String);
    res.writeHead(result.statusCode, headers);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
  }

  // A request the HTTP parser refuses (headers or URL over 16 KB, a malformed
  // request line) gets a JSON {code, message} too, as every refusal does.
  server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
    if (!socket.writable) return;
    // An answer to HEAD has no body (a client would read one as the next response's bytes).
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify(
      tooLarge
        ? { code: 'request_too_large', message: 'the request line and headers are over 16 KB' }
        : { code: 'bad_request', message: 'the request is not valid HTTP' },
    );
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}`,
    port,
    setHandler: (next) => {
      handler = next;
    },
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.closeIdleConnections();
        server.close(() => resolve());
        // Connections still busy after a moment are cut.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      })),
  };
}

/**
 * The proxy event API Gateway would send for a request.
 *
 * @example
 * ```ts
 * toProxyEvent(req, Buffer.from('{"title":"Q3"}')).path // '/review/request/send'
 * ```
 */
export function toProxyEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const contentType = String(req.headers['content-type'] ?? '');
  const text = body.length === 0 || isText(contentType, body);
  const method = req.method ?? 'GET';
  return {
    resource: '/{proxy+}',
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: url.searchParams.size > 0 ? query : null,
    multiValueQueryStringParameters: url.searchParams.size > 0 ? multiQuery : null,
    pathParameters: url.pathname === '/' ? null : { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body: body.length === 0 ? null : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: String(req.headers['user-agent'] ?? ''),
        userArn: null,
      },
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: '/{proxy+}',
    },
  };
}

/** Bodies API Gateway passes as text without binary media types: anything that decodes as UTF-8, unless declared binary. */
function isText(contentType: string, body: Buffer): boolean {
  if (/^(application\/octet-stream|image\/|audio\/|video\/)/i.test(contentType)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
    return true;
  } catch {
    return false;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function writeJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(value));
}
