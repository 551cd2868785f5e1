/**
 * An SQS emulator in this process, for the local plane and the tests.
 *
 * Wraps `fauxqs` (an in-memory SQS/SNS/S3 emulator on Fastify) through its
 * programmatic API, so there is no child process and start-up takes
 * milliseconds.
 */
import { LOCAL_REGION, localClientConfig, type LocalClientConfig } from './dynamodb-local.ts';
import { importPeer } from './peers.ts';

/**
 * Options of {@link startSqsLocal}.
 *
 * @example
 * await startSqsLocal({ port: 4566 });
 */
export interface SqsLocalOptions {
  /** Port to listen on (all interfaces). Default: a free port chosen by the operating system. */
  readonly port?: number;
}

/**
 * A running SQS emulator.
 *
 * @example
 * const sqsLocal = await startSqsLocal();
 * const sqs = new SQSClient(sqsLocal.clientConfig);
 * // ...
 * await sqsLocal.stop();
 */
export interface SqsLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Ready-made configuration for `new SQSClient(...)`. */
  readonly clientConfig: LocalClientConfig;
  /** Closes the server; queued messages are lost. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts the SQS emulator in this process on a free port. Messages are kept
 * in memory only.
 *
 * Queue URLs look like AWS's: `http://sqs.us-east-1.localhost:<port>/000000000000/<name>`.
 * That host does not resolve on every machine, so give clients an explicit
 * `endpoint` (as `clientConfig` does): the SDK then sends requests there. A
 * client configured only through `AWS_ENDPOINT_URL(_SQS)` instead sends them
 * to the queue URL's host and fails with ENOTFOUND, unless it is created with
 * `useQueueUrlAsEndpoint: false`.
 *
 * @example
 * const sqsLocal = await startSqsLocal();
 * try {
 *   const sqs = new SQSClient(sqsLocal.clientConfig);
 *   const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'timers' }));
 * } finally {
 *   await sqsLocal.stop();
 * }
 */
export async function startSqsLocal(options: SqsLocalOptions = {}): Promise<SqsLocal> {
  // An optional peer of the package: imported when used (peers.ts).
  const { startFauxqs } = await importPeer<typeof import('fauxqs')>('fauxqs');
  const server = await startFauxqs({
    port: options.port ?? 0,
    // Explicit, so FAUXQS_* environment variables cannot change them.
    logger: false,
    host: 'localhost',
    defaultRegion: LOCAL_REGION,
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  let stopped: Promise<void> | null = null;
  return {
    endpoint,
    port: server.port,
    clientConfig: localClientConfig(endpoint),
    stop: () => (stopped ??= server.stop()),
  };
}
