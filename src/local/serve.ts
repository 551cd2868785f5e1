/**
 * `serve()` and `endpoint().listen()` run in a user's own file (with tsx):
 * the local plane on the given definitions, as `dormant dev` starts it, until
 * Ctrl-C. Loaded by `src/endpoint.ts` with a dynamic import, so only a file
 * that serves locally loads the plane.
 */
import { banner } from './cli.ts';
import { DynamoDbLocalError } from './dynamodb-local.ts';
import { startLocalPlane, type LocalPlane } from './plane.ts';
import type { Definition } from '../api/definitions.ts';

/**
 * Starts the local plane on `services` and keeps it up until SIGINT or
 * SIGTERM, then stops it and exits. The API listens on `PORT`, else 8080
 * (where Restate's ingress would be); `requestedPort`, Restate's endpoint
 * port, is only mentioned. Data is kept in `.dormant/` (`DORMANT_DATA_DIR`),
 * or nowhere with `DORMANT_IN_MEMORY=1`; `DORMANT_DYNAMODB_ENDPOINT` (and
 * `DORMANT_TABLE_NAME`) use a DynamoDB Local that is already running.
 * Resolves with the API's port.
 *
 * @example
 * ```ts
 * const port = await serveLocally({ services: [greeter], requestedPort: 9080 });
 * ```
 */
export async function serveLocally(options: { services: Definition[]; requestedPort?: number | undefined }): Promise<number> {
  const portText = process.env.PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TypeError(`PORT must be a port number, not '${portText}'`);
  const started = performance.now();
  const names = options.services.map((s) => s.name).join(', ');
  console.log(`dormant: starting the local plane for ${names} …`);
  let plane: LocalPlane;
  try {
    plane = await startLocalPlane({
      services: options.services,
      port,
      inMemory: process.env.DORMANT_IN_MEMORY === '1' || process.env.DORMANT_IN_MEMORY === 'true',
      dataDir: process.env.DORMANT_DATA_DIR || undefined,
      // A DynamoDB (Local) already running, instead of starting one.
      dynamoDbEndpoint: process.env.DORMANT_DYNAMODB_ENDPOINT || undefined,
      tableName: process.env.DORMANT_TABLE_NAME || undefined,
      signingKey: process.env.DORMANT_SIGNING_KEY || undefined,
      previousSigningKeys: process.env.DORMANT_SIGNING_KEY_PREVIOUS ? [process.env.DORMANT_SIGNING_KEY_PREVIOUS] : undefined,
      apiKey: process.env.DORMANT_API_KEY || undefined,
      log: (level, message, details) => {
        if (level === 'info' && process.env.DORMANT_QUIET) return;
        const detail = details instanceof Error ? `: ${details.message}` : details === undefined ? '' : `: ${JSON.stringify(details)}`;
        (level === 'error' ? console.error : console.log)(`  ${level === 'info' ? '·' : level} ${message}${detail}`);
      },
    });
  } catch (error) {
    console.error(
      error instanceof DynamoDbLocalError
        ? `dormant: cannot start DynamoDB Local.\n${error.message}`
        : `dormant: ${(error as Error).message}`,
    );
    throw error;
  }
  if (options.requestedPort !== undefined && options.requestedPort !== plane.port)
    console.log(
      `dormant: port ${options.requestedPort} is where Restate's endpoint would listen for its server; Dormant has none in between, so the API (Restate's ingress) is on ${plane.url}`,
    );
  console.log(banner(plane, Math.round(performance.now() - started), Boolean(process.env.DORMANT_API_KEY)));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`dormant: ${signal} again, exiting at once`);
      process.exit(130);
    }
    stopping = true;
    console.log('\ndormant: stopping (Ctrl-C again to force) …');
    plane.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('dormant: stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return plane.port;
}
