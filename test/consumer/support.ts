/**
 * Helpers of the consumer test: commands in a clean environment (none of
 * this repository's npm, vitest or AWS settings leak into the consumer's
 * project), a `dormant dev` process and its stop, and one awakeable round
 * trip over HTTP.
 */
import { createHmac } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root. */
export const REPO = join(import.meta.dirname, '..', '..');

/**
 * The environment of a user's shell on a clean machine: no npm settings
 * from the `npm test` that runs us, no vitest or source condition, no AWS
 * credentials, profile or endpoint (synth must work offline).
 */
export function consumerEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|NODE_OPTIONS$|VITEST|AWS_|CDK_DEFAULT_|INIT_CWD$|PORT$)/i.test(name)),
  );
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    CI: 'true',
    NO_COLOR: '1',
  };
}

/** The version of `name` in the repository's lockfile: the consumer installs exactly what the repository tests with. */
export function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.[`node_modules/${name}`]?.version as string | undefined;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/** Runs a command; on failure the error carries its output, so a broken step says why. */
export async function sh(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string; code?: unknown };
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed (${String(e.code)}):\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

/** A running `dormant dev` (or `npm start`), in a process group of its own. */
export interface DevProcess {
  readonly url: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a command that runs the local plane and resolves once it prints
 * `listening on <url>`. Stops the whole process group (npm, node, java).
 */
export async function startDev(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<DevProcess> {
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  const stop = async () => {
    if (done || child.pid === undefined) return;
    process.kill(-child.pid, 'SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!killed) process.kill(-child.pid, 'SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (url) return { url, output: () => output, stop };
    if (done || Date.now() > deadline) {
      await stop();
      throw new Error(`${command} ${args.join(' ')} did not start listening:\n${output}`);
    }
    await sleep(100);
  }
}

async function poll<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * One awakeable round trip over HTTP: start the handler (`/send`), wait until
 * it is suspended on its awakeable, resolve that by id, and return the output.
 */
export async function awakeableRoundTrip(url: string, path: string, input: unknown, resolution: unknown): Promise<unknown> {
  const json = { 'content-type': 'application/json' };
  const sent = await fetch(`${url}/${path}/send`, { method: 'POST', headers: json, body: JSON.stringify(input) });
  const { invocationId } = (await sent.json()) as { invocationId: string };
  if (!sent.ok || !invocationId) throw new Error(`send answered ${sent.status}`);
  const awakeableId = await poll('the invocation to suspend on its awakeable', async () => {
    const status = (await (await fetch(`${url}/restate/invocation/${invocationId}`)).json()) as {
      status: string;
      awaiting?: { awakeableId?: string }[];
    };
    return status.status === 'suspended' ? status.awaiting?.find((a) => a.awakeableId)?.awakeableId : undefined;
  });
  const resolved = await fetch(`${url}/restate/awakeables/${awakeableId}/resolve`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify(resolution),
  });
  if (resolved.status !== 202) throw new Error(`resolve answered ${resolved.status}: ${await resolved.text()}`);
  return poll('the output', async () => {
    const answer = await fetch(`${url}/restate/invocation/${invocationId}/output`);
    if (answer.status !== 200) return undefined;
    const output: unknown = await answer.json();
    return output;
  });
}

/**
 * One webhook round trip over HTTP: start the handler (`/send`), wait until
 * it is suspended on its webhook, post a GitHub-signed body to the webhook's
 * URL (an unsigned one first, which must get 401), and return the output.
 */
export async function webhookRoundTrip(url: string, path: string, secret: string, body: string): Promise<unknown> {
  const sent = await fetch(`${url}/${path}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' });
  const { invocationId } = (await sent.json()) as { invocationId: string };
  if (!sent.ok || !invocationId) throw new Error(`send answered ${sent.status}`);
  const webhookId = await poll('the invocation to suspend on its webhook', async () => {
    const status = (await (await fetch(`${url}/restate/invocation/${invocationId}`)).json()) as {
      status: string;
      awaiting?: { awakeableId?: string }[];
    };
    return status.status === 'suspended' ? status.awaiting?.find((a) => a.awakeableId)?.awakeableId : undefined;
  });
  const unsigned = await fetch(`${url}/restate/webhooks/${webhookId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (unsigned.status !== 401) throw new Error(`an unsigned delivery answered ${unsigned.status}, not 401`);
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const delivered = await fetch(`${url}/restate/webhooks/${webhookId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
  if (delivered.status !== 200) throw new Error(`the signed delivery answered ${delivered.status}: ${await delivered.text()}`);
  return poll('the output', async () => {
    const answer = await fetch(`${url}/restate/invocation/${invocationId}/output`);
    if (answer.status !== 200) return undefined;
    const output: unknown = await answer.json();
    return output;
  });
}

/**
 * A provider endpoint round trip: a GitHub-signed delivery to
 * `/webhooks/{endpoint}` (an unsigned one first, which must get 401), then
 * a handler that waits for it starts after it (the event is kept for the
 * lookback) and finishes with it.
 *
 * @example
 * ```ts
 * await endpointRoundTrip(dev.url, 'github', 'deploy/gate', 'secret', 'abc123')
 * ```
 */
export async function endpointRoundTrip(url: string, endpoint: string, path: string, secret: string, sha: string): Promise<unknown> {
  const body = JSON.stringify({ action: 'completed', check_run: { head_sha: sha, conclusion: 'success' } });
  const unsigned = await fetch(`${url}/webhooks/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (unsigned.status !== 401) throw new Error(`an unsigned delivery answered ${unsigned.status}, not 401`);
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const delivered = await fetch(`${url}/webhooks/${endpoint}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'check_run',
      'x-github-delivery': `d-${sha}`,
      'x-hub-signature-256': signature,
    },
    body,
  });
  if (delivered.status !== 200) throw new Error(`the signed delivery answered ${delivered.status}: ${await delivered.text()}`);
  const sent = await fetch(`${url}/${path}/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(sha),
  });
  const { invocationId } = (await sent.json()) as { invocationId: string };
  if (!sent.ok || !invocationId) throw new Error(`send answered ${sent.status}`);
  return poll('the output', async () => {
    const answer = await fetch(`${url}/restate/invocation/${invocationId}/output`);
    if (answer.status !== 200) return undefined;
    const output: unknown = await answer.json();
    return output;
  });
}
