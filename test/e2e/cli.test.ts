/**
 * The `dormant` command (bin/dormant.mjs, run as a separate process) against
 * a running local plane: `invocations list`, `awakeables resolve|reject`,
 * `invocations cancel|kill|restart`, and `invocations backfill` on the
 * plane's table; errors name the id and the fix, with exit code 2 for what
 * the command line got wrong and 1 for what the API refused.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, service, type Context } from 'dormant-lambda';
import { review } from '../../examples/review.ts';
import { newInvocationId } from '../../src/engine/ids.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { awakeablesCommand } from '../../src/local/awakeables-command.ts';
import { invocationsCommand } from '../../src/local/invocations-command.ts';
import { metaToItem } from '../../src/store/items.ts';
import { LIST_PK, LIST_SK } from '../../src/store/keys.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, dynamoDbConfig, dynamoDbEndpoint, uniqueTableName } from '../support/dynamodb-local.ts';
import { call, send, startTestPlane, untilAwakeable, untilOutput, untilStatus } from './support.ts';

let broken = true;
const payments = service({
  name: 'payments',
  handlers: {
    charge: async (ctx: Context, amount: number) => {
      const ok = await ctx.run('card', () => !broken);
      if (!ok) throw new TerminalError(`card declined for ${amount}`);
      return amount;
    },
  },
});

let plane: LocalPlane;
const tableName = uniqueTableName('cli');

beforeAll(async () => {
  plane = await startTestPlane([review, payments], { tableName });
}, 120_000);

afterAll(async () => {
  await plane?.stop();
});

type Ran = { code: number; stdout: string; stderr: string };

/** Runs `dormant …` as a process (bin/dormant.mjs, from the sources), against the plane. */
async function dormantProcess(args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--conditions=dormant-source', 'bin/dormant.mjs', ...args], {
      env: { ...process.env, DORMANT_API_URL: plane.url },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The same commands in this process (each process start costs seconds): what `main` runs for them. */
async function dormant(args: string[]): Promise<Ran> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = { log: (line: string) => stdout.push(line), error: (line: string) => stderr.push(line) };
  const env = { DORMANT_API_URL: plane.url };
  const [command, ...rest] = args;
  const code = command === 'invocations' ? await invocationsCommand(rest, env, out) : await awakeablesCommand(rest, env, out);
  return { code, stdout: stdout.join('\n') + '\n', stderr: stderr.join('\n') };
}

describe('dormant invocations and dormant awakeables', () => {
  it('lists, resolves from the command line, and restarts a failed invocation', async () => {
    // Prepare: a review waiting for its reviewer, a payment that failed
    const waiting = await send(plane, '/review/request', { title: 'CLI' });
    const awakeableId = await untilAwakeable(plane, waiting);
    broken = true;
    const failed = await send(plane, '/payments/charge', 42);
    await untilStatus(plane, failed, 'failed');

    // Act + Assess: list as a table and as JSON
    const table = await dormantProcess(['invocations', 'list', '--service', 'review']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^id\s+handler\s+status\s+created\s+attempts\s+awaiting$/m);
    expect(table.stdout).toMatch(
      new RegExp(`^${waiting}\\s+review\\.request\\s+suspended\\s+\\S+\\s+1\\s+C#00000000: awakeable awk_`, 'm'),
    );
    const json = await dormant(['invocations', 'list', '--status', 'failed', '--json']);
    expect(JSON.parse(json.stdout).invocations.map((r: { id: string }) => r.id)).toContain(failed);

    // resolve the awakeable
    const resolved = await dormantProcess(['awakeables', 'resolve', awakeableId, '{"approved":true,"comment":"from the CLI"}']);
    expect([resolved.code, resolved.stdout.trim()]).toEqual([0, `${awakeableId}: resolved`]);
    expect((await untilOutput(plane, waiting)).json).toMatchObject({ approved: true, comment: 'from the CLI' });

    // restart the failed payment once the card works
    broken = false;
    const restarted = await dormant(['invocations', 'restart', failed]);
    expect(restarted.code).toBe(0);
    const newId = /restarted as (inv_\S+)/.exec(restarted.stdout)?.[1];
    expect(newId).toBeDefined();
    expect((await untilOutput(plane, newId!)).json).toBe(42);
  }, 60_000);

  it('cancels and kills', async () => {
    const [toCancel, toKill] = await Promise.all([
      send(plane, '/review/request', { title: 'c' }),
      send(plane, '/review/request', { title: 'k' }),
    ]);
    await Promise.all([untilAwakeable(plane, toCancel), untilAwakeable(plane, toKill)]);

    const cancelled = await dormant(['invocations', 'cancel', toCancel]);
    const killed = await dormant(['invocations', 'kill', toKill]);

    expect([cancelled.code, cancelled.stdout]).toEqual([0, expect.stringContaining(`${toCancel}: cancelling`)]);
    expect([killed.code, killed.stdout.trim()]).toEqual([0, `${toKill}: killed`]);
    // The review catches the CancelledError (a TerminalError) and answers 'not approved'.
    expect((await untilOutput(plane, toCancel)).json).toMatchObject({ approved: false, rejected: expect.stringContaining('cancel') });
    expect((await call(plane, 'GET', `/restate/invocation/${toKill}`)).json.status).toBe('failed');
  }, 60_000);

  it('names the id and the fix when refused, and what the command line got wrong', async () => {
    const done = await send(plane, '/payments/charge', 1);
    await untilOutput(plane, done);

    const restartDone = await dormant(['invocations', 'restart', done]);
    const badStatus = await dormant(['invocations', 'list', '--status', 'asleep']);
    const notJson = await dormant(['awakeables', 'resolve', 'awk_x', 'yes']);
    const forged = await dormant(['awakeables', 'reject', 'awk_forged', 'no thanks']);
    const noId = await dormant(['invocations', 'kill']);

    expect(restartDone.code).toBe(1);
    expect(restartDone.stderr).toContain(
      `dormant invocations restart: ${done}: invocation ${done} is completed: only a failed invocation can be restarted`,
    );
    expect([badStatus.code, badStatus.stderr]).toEqual([2, expect.stringContaining("invalid ?status=: unknown status 'asleep'")]);
    expect([notJson.code, notJson.stderr]).toEqual([
      2,
      expect.stringContaining(`the value is not JSON: yes (a string is quoted: '"yes"')`),
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('dormant awakeables reject: awk_forged:');
    expect([noId.code, noId.stderr]).toEqual([2, expect.stringContaining('name one invocation id')]);
  }, 60_000);

  it('backfill lists invocations written before the list index, once', async () => {
    // Prepare: a finished invocation as the earlier release wrote it (no list index keys)
    const old = metaToItem({
      id: newInvocationId(),
      service: 'payments',
      handler: 'charge',
      kind: 'service',
      status: 'completed',
      epoch: 1,
      input: '7',
      output: '7',
      createdAt: Date.UTC(2026, 10, 1),
      updatedAt: Date.UTC(2026, 10, 1),
    });
    delete old[LIST_PK];
    delete old[LIST_SK];
    const client = new DynamoDBClient(dynamoDbConfig());
    await client.send(new PutItemCommand({ TableName: tableName, Item: marshall(old, { removeUndefinedValues: true }) }));
    // The SDK reads its endpoint and credentials from the environment, as it does for an operator.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: dynamoDbEndpoint(),
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
    const listed = async () =>
      (await call(plane, 'GET', '/restate/invocations?service=payments&limit=100')).json.invocations.map((r: { id: string }) => r.id);
    const oldId = String(old.pk).slice(2);
    expect(await listed()).not.toContain(oldId);

    // Act
    const first = await dormant(['invocations', 'backfill', '--table', tableName]);
    const second = await dormant(['invocations', 'backfill', '--table', tableName]);
    const noTable = await dormant(['invocations', 'backfill']);
    process.env = saved;

    // Assess
    expect([first.code, first.stdout]).toEqual([0, expect.stringContaining(`1 invocations of ${tableName} added to the list index`)]);
    expect(second.stdout).toContain(`0 invocations of ${tableName} added`);
    expect((await listed()).at(-1)).toBe(oldId);
    expect([noTable.code, noTable.stderr]).toEqual([2, expect.stringContaining('--table <name>')]);
    client.destroy();
  }, 60_000);
});
