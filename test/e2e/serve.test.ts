/**
 * A Restate-style file that ends in `restate.serve({ services, port })`,
 * run with `tsx` as Restate's examples are: it starts the local plane on
 * those services, answers over HTTP, and stops cleanly on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamoDbEndpoint, uniqueTableName } from '../support/dynamodb-local.ts';

describe('a file that calls restate.serve(), run with tsx', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('serves its services on the local plane until Ctrl-C, then stops and exits 0', async () => {
    // Prepare: the plane on a free port, in memory, on the run's DynamoDB Local
    let output = '';
    // tsx's loader in node itself: the tsx command relays Ctrl-C to its
    // child and SIGKILLs it when the child does not acknowledge within 30 ms,
    // which a loaded machine misses (exit 130); a terminal's Ctrl-C reaches
    // both processes and does not hit that path.
    child = spawn(process.execPath, ['--import', 'tsx', '--conditions=dormant-source', 'test/compat/app.ts'], {
      env: {
        ...process.env,
        PORT: '0',
        DORMANT_IN_MEMORY: '1',
        DORMANT_QUIET: '1',
        DORMANT_DYNAMODB_ENDPOINT: dynamoDbEndpoint(),
        DORMANT_TABLE_NAME: uniqueTableName('serve'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening on" line within 60 s:\n${output}`)), 60_000);
      const look = () => {
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      };
      child!.stdout!.on('data', look);
      child!.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    });

    // Act
    const answer = await fetch(`${url}/greeterObject/kim/greet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"greeting":"Hello"}',
    });
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];

    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.json()).toBe('Hello kim #1');
    expect(output).toContain("port 9080 is where Restate's endpoint would listen for its server");
    expect(output).toContain('greeterObject (object): POST');
    expect(code, output).toBe(0);
  }, 90_000);
});
