/**
 * The `dormant` command (`bin/dormant.mjs`, which registers tsx so the entry
 * may be TypeScript): `dormant dev [entry]` runs the local plane on your
 * services; `dormant init [dir]` writes a starter project.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { DynamoDbLocalError } from './dynamodb-local.ts';
import { initProject } from './init.ts';
import { LATENCY_PROFILES } from './latency.ts';
import { startLocalPlane, type LocalPlane } from './plane.ts';
import { INVOCATIONS_USAGE, invocationsCommand } from './invocations-command.ts';
import { AWAKEABLES_USAGE, awakeablesCommand } from './awakeables-command.ts';
import { DLQ_USAGE, dlqCommand } from './dlq-command.ts';
import { PURGE_USAGE, purgeCommand } from './purge-command.ts';
import { UPGRADE_USAGE, upgradeCommand } from './upgrade-command.ts';
import { VERSIONS_USAGE, versionsCommand } from './versions-command.ts';
import { UI_USAGE, uiCommand } from './ui-command.ts';
import { watchEntry } from './watch.ts';
import type { Catalog } from '../runtime/registry.ts';

const USAGE = `usage: dormant dev [entry] [--port N] [--in-memory] [--data-dir DIR] [--api-key KEY] [--watch] [--latency aws] [--quiet]
       dormant init [dir] [--from <tarball or version>]

dev: serves your services on this machine (DynamoDB Local, an SQS emulator,
the ingress, wake and timer, with the production code path)

  entry        a module exporting your services (named or default export,
               one or an array); default: src/index.ts
  --port N     HTTP port of the API (default: $PORT, else 8080; 0 = any free port)
  --in-memory  keep nothing between runs (default: data in .dormant/)
  --data-dir   where data is kept (default: .dormant)
  --api-key    close the invocation routes (start, status, output, cancel,
               kill, purge) to callers without x-api-key: KEY or
               Authorization: Bearer KEY (default: $DORMANT_API_KEY, else
               open); callback routes never need it
  --watch      deploy the services again as a new version when their files
               change; invocations started earlier finish on their version
  --latency    aws: add AWS's own delays (stream to wake p50 213 ms, p99
               552 ms; invoke to handler p50 30 ms, p99 120 ms, a cold start
               now and then), from a seeded generator (default: none)
  --quiet      print only warnings and errors

init: writes a starter project into dir (default: the current directory,
which must be empty): a service with an awakeable, its Lambda entry, a unit
test, a CDK app; then npm install && npm start, or npm install && npm test
  --from       what the project depends on: a packed tarball
               (./dormant-lambda-0.2.0.tgz) or a version (default: this one)

${PURGE_USAGE}

${INVOCATIONS_USAGE}

${AWAKEABLES_USAGE}

${DLQ_USAGE}

${UPGRADE_USAGE}

${VERSIONS_USAGE}

${UI_USAGE}`;

/**
 * Runs the CLI with `argv` (without `node` and the script).
 *
 * @example
 * ```ts
 * await main(['dev', 'examples/index.ts', '--port', '8080']);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'purge') return purgeCommand(argv.slice(1));
  if (argv[0] === 'invocations') return invocationsCommand(argv.slice(1));
  if (argv[0] === 'awakeables') return awakeablesCommand(argv.slice(1));
  if (argv[0] === 'dlq') return dlqCommand(argv.slice(1));
  if (argv[0] === 'upgrade') return upgradeCommand(argv.slice(1));
  if (argv[0] === 'versions') return versionsCommand(argv.slice(1));
  if (argv[0] === 'ui') return uiCommand(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        'in-memory': { type: 'boolean' },
        'data-dir': { type: 'string' },
        'api-key': { type: 'string' },
        latency: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        watch: { type: 'boolean', short: 'w' },
        help: { type: 'boolean', short: 'h' },
        from: { type: 'string' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, entry = 'src/index.ts', ...extra] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'init') return init(positionals.slice(1), values.from);
  if (values.from !== undefined) {
    console.error(`--from is an option of dormant init\n\n${USAGE}`);
    return 2;
  }
  if (command !== 'dev' || extra.length > 0) {
    console.error(command === undefined ? USAGE : `unknown command or argument: ${[command, ...extra].join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const portText = values.port ?? process.env.PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`--port must be a port number, not '${portText}'`);
    return 2;
  }

  const latency = values.latency ?? 'none';
  if (!(LATENCY_PROFILES as readonly string[]).includes(latency)) {
    console.error(`--latency must be one of ${LATENCY_PROFILES.join(', ')}, not '${latency}'`);
    return 2;
  }

  const quiet = values.quiet ?? false;
  // Signals are handled from the start: a Ctrl-C while Java is still
  // starting must stop what has started, not orphan DynamoDB Local.
  let plane: LocalPlane | undefined;
  let stopRequested = false;
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = () => {
    void plane!.stop().then(markStopped, (error: unknown) => {
      console.error('dormant: stop failed', error);
      markStopped();
    });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      console.error(`dormant: ${signal} again, exiting at once`);
      process.exit(130);
    }
    stopRequested = true;
    console.log(`\ndormant: stopping${plane ? '' : ' once started'} (Ctrl-C again to force) …`);
    if (plane) stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = performance.now();
  console.log(`dormant: starting the local plane for ${entry} …`);
  try {
    plane = await startLocalPlane({
      entry,
      port,
      inMemory: values['in-memory'] ?? false,
      dataDir: values['data-dir'],
      signingKey: process.env.DORMANT_SIGNING_KEY || undefined,
      previousSigningKeys: process.env.DORMANT_SIGNING_KEY_PREVIOUS ? [process.env.DORMANT_SIGNING_KEY_PREVIOUS] : undefined,
      apiKey: values['api-key'] || process.env.DORMANT_API_KEY || undefined,
      latency: latency as (typeof LATENCY_PROFILES)[number],
      log: (level, message, details) => {
        if (quiet && level === 'info') return;
        const detail =
          details instanceof Error
            ? `: ${details.message}`
            : details === undefined
              ? ''
              : `: ${typeof details === 'string' ? details : JSON.stringify(details)}`;
        (level === 'error' ? console.error : console.log)(`  ${level === 'info' ? '·' : level} ${message}${detail}`);
      },
    });
  } catch (error) {
    if (error instanceof DynamoDbLocalError) console.error(`dormant: cannot start DynamoDB Local.\n${error.message}`);
    else console.error(`dormant: ${(error as Error).message}`);
    return 1;
  }
  if (stopRequested) stop();
  else console.log(banner(plane, Math.round(performance.now() - started), Boolean(values['api-key'] || process.env.DORMANT_API_KEY)));
  const live = plane;
  const unwatch = values.watch
    ? watchEntry(entry, async () => {
        try {
          const version = await live.deploy();
          console.log(`dormant: deployed version ${version}: new invocations run it; those started earlier finish on theirs`);
        } catch (error) {
          console.error(`dormant: the change was not deployed (version ${live.liveVersion()} still serves): ${(error as Error).message}`);
        }
      })
    : undefined;
  await stopped;
  unwatch?.();
  console.log('dormant: stopped');
  return 0;
}

async function init(args: string[], from: string | undefined): Promise<number> {
  if (args.length > 1) {
    console.error(`dormant init takes one directory, not: ${args.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  const dir = args[0] ?? '.';
  try {
    const files = await initProject({ dir, from });
    const cd = dir === '.' ? '' : `cd ${dir} && `;
    console.log(
      [
        `dormant: wrote a starter project in ${dir}:`,
        ...files.map((f) => `  ${f}`),
        '',
        'Next:',
        `  ${cd}npm install && npm start    # serves src/services.ts on http://localhost:8080 (Java 17 for DynamoDB Local)`,
        `  ${cd}npm install && npm test     # unit tests in memory`,
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

/**
 * What the plane prints once it is up: where it listens, its data, its
 * routes, and lines to try.
 *
 * @example
 * ```ts
 * console.log(banner(plane, 2_300));
 * ```
 */
export function banner(plane: LocalPlane, ms: number, closed = false): string {
  const u = plane.url;
  const data = plane.dataDir
    ? `data in ${relative(process.cwd(), plane.dataDir) || '.'}/ (kept between runs; --in-memory to start empty)`
    : 'in memory (nothing is kept)';
  const lines = [
    '',
    `dormant: listening on ${u} (ready in ${(ms / 1000).toFixed(1)} s), ${data}`,
    `Web page: ${u}/ui/${closed ? ' (with the API key: dormant ui --url ' + u + ')' : ''}`,
    '',
    'Services:',
    ...routes(plane.catalog, u),
    '',
    'Try it:',
    ...(plane.tryIt ?? [
      `  curl -X POST ${u}/{service}/{handler}/send -H 'content-type: application/json' -d '<input as JSON>'`,
      `  curl ${u}/restate/invocation/<invocationId>                 # status; awaiting[].awakeableId`,
      `  curl -X POST ${u}/restate/awakeables/<awakeableId>/resolve -H 'content-type: application/json' -d '<value as JSON>'`,
      `  curl ${u}/restate/invocation/<invocationId>/output`,
    ]),
    '',
    ...(closed ? ['Invocation routes need the API key: add -H "x-api-key: $DORMANT_API_KEY" (callback routes need none).', ''] : []),
    'Ctrl-C stops.',
  ];
  return lines.join('\n');
}

function routes(catalog: Catalog, url: string): string[] {
  return Object.entries(catalog)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => {
      const path = entry.kind === 'service' ? `${url}/${name}/{handler}` : `${url}/${name}/{key}/{handler}`;
      return `  ${name} (${entry.kind}): POST ${path}[/send]   handlers: ${Object.keys(entry.handlers).sort().join(', ')}`;
    });
}
