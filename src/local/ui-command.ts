/**
 * `dormant ui`: the web page of a deployed stack (or of a plane with an API
 * key) in the developer's browser. A browser cannot sign SigV4 requests nor
 * be trusted with an API key, so this runs a proxy on the loopback
 * interface that forwards each request to the API, signed with the
 * developer's AWS credentials (`--iam`) or with the key added, and opens
 * `/ui/` through it.
 *
 * The proxy acts with the developer's authority, so it guards itself as the
 * open local plane does: it answers only requests addressed to a loopback
 * host (DNS rebinding) and refuses state changes from another origin (CSRF).
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foreignness } from '../runtime/same-machine.ts';
import { API_OPTIONS_USAGE, apiArguments, type ApiReach } from './api-client.ts';

/** The usage lines of `dormant ui`. */
export const UI_USAGE = `dormant ui [--url URL] [--api-key KEY | --iam [--region R]] [--port N] [--no-open]
  opens the web page of a deployed stack or a plane started with --api-key,
  through a proxy on 127.0.0.1 that authenticates each request as asked
${API_OPTIONS_USAGE}
  --port     the proxy's port on 127.0.0.1 (default: a free one)
  --no-open  print the page's address without opening a browser`;

/** The largest request body the proxy forwards (the API's own limit is lower). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Headers of an answer the proxy does not pass on (its own transport's, or already decoded by fetch). */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);

/**
 * A running proxy.
 *
 * @example
 * ```ts
 * const proxy = await startUiProxy(api, { port: 0 });
 * console.log(`${proxy.url}/ui/`);
 * await proxy.close();
 * ```
 */
export interface UiProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the proxy in front of `api`.
 *
 * @example
 * ```ts
 * const api = apiArguments(['--url', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', '--iam'], process.env);
 * if (!('problem' in api)) await startUiProxy(api, { port: 8081 });
 * ```
 */
export async function startUiProxy(api: ApiReach, options: { port?: number } = {}): Promise<UiProxy> {
  const server: Server = createServer((req, res) => {
    forward(api, req, res).catch((error: unknown) => {
      answer(res, 502, { code: 'bad_gateway', message: `${api.url} did not answer: ${(error as Error).message}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function forward(api: ApiReach, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refusal = foreign(req);
  if (refusal) return answer(res, 403, refusal);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      return answer(res, 413, { code: 'payload_too_large', message: `the proxy forwards at most ${MAX_BODY_BYTES} bytes` });
    chunks.push(chunk);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  // Only what the API reads; never the browser's cookies or its own credentials.
  for (const name of ['content-type', 'accept']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const response = await api.request(method, req.url ?? '/', hasBody ? Buffer.concat(chunks) : undefined, headers);
  const body = Buffer.from(await response.arrayBuffer());
  response.headers.forEach((value, name) => {
    if (!HOP_HEADERS.has(name)) res.setHeader(name, value);
  });
  res.statusCode = response.status;
  res.end(body);
}

/** Why a request may not use the developer's authority: another host's name, or a change from another origin. */
function foreign(req: IncomingMessage): { code: string; message: string } | undefined {
  const host = req.headers.host ?? '';
  const secFetchSite = req.headers['sec-fetch-site'];
  const why = foreignness({
    method: req.method ?? 'GET',
    host,
    origin: req.headers.origin,
    secFetchSite: typeof secFetchSite === 'string' ? secFetchSite : undefined,
  });
  if (why === 'foreign_host') return { code: why, message: `this proxy answers requests to 127.0.0.1 only, not '${host.slice(0, 100)}'` };
  if (why === 'cross_origin') return { code: why, message: 'a page from another origin may not act through this proxy' };
  return undefined;
}

function answer(res: ServerResponse, status: number, body: { code: string; message: string }): void {
  if (res.headersSent) return void res.end();
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

/**
 * Runs `dormant ui`: starts the proxy, prints the page's address, opens a
 * browser on it (unless `--no-open`), and runs until interrupted.
 *
 * @example
 * ```ts
 * await uiCommand(['--url', apiUrl, '--iam', '--region', 'eu-west-1']);
 * ```
 */
export async function uiCommand(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  out: Pick<Console, 'log' | 'error'> = console,
): Promise<number> {
  const rest: string[] = [];
  let port: number | undefined;
  let open = true;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--no-open') open = false;
    else if (argv[i] === '--port' || argv[i]?.startsWith('--port=')) {
      const text = argv[i] === '--port' ? argv[++i] : argv[i]!.slice('--port='.length);
      port = Number(text);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        out.error(`dormant ui: --port must be a port number, not '${text ?? ''}'\n\n${UI_USAGE}`);
        return 2;
      }
    } else rest.push(argv[i]!);
  }
  const api = apiArguments(rest, env, 'http://localhost:8080');
  if ('problem' in api || api.positionals.length > 0) {
    out.error(`dormant ui: ${'problem' in api ? api.problem : `unexpected argument '${api.positionals[0]}'`}\n\n${UI_USAGE}`);
    return 2;
  }
  let proxy: UiProxy;
  try {
    proxy = await startUiProxy(api, port === undefined ? {} : { port });
  } catch (error) {
    out.error(`dormant ui: could not listen on 127.0.0.1:${port ?? 0}: ${(error as Error).message}`);
    return 1;
  }
  const page = `${proxy.url}/ui/`;
  out.log(`dormant ui: ${page} → ${api.url} (Ctrl-C stops)`);
  if (open) openBrowser(page);
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await proxy.close();
  return 0;
}

/** Opens `url` in the desktop's browser, if there is one; the address is printed either way. */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No desktop: the printed address is enough.
  }
}
