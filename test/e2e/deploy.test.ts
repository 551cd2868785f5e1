/**
 * Deploying changed handler code while invocations are suspended (rule 12):
 * invocations started on v1 finish on v1's code, new ones run v2, an
 * operator's deliberate upgrade replays one on v2 (here into a
 * `NonDeterminismError` naming both versions), and an invocation written
 * before pinning existed (no version on its `meta`) still wakes and finishes.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service, type Context } from 'dormant-lambda';
import { localClientConfig } from '../../src/local/dynamodb-local.ts';
import type { LocalPlane } from '../../src/local/plane.ts';
import { upgradeCommand } from '../../src/local/upgrade-command.ts';
import { versionsCommand } from '../../src/local/versions-command.ts';
import type { FunctionVersions } from '../../src/runtime/versions.ts';
import { pinnedVersionCounts } from '../../src/local/version-use.ts';
import { call, eventually, send, startTestPlane, untilAwakeable, untilOutput, untilStatus, withHeaders } from './support.ts';

const KEY = 'deploy-test-api-key-0000';

// v1 awaits an approval at once.
const v1 = service({
  name: 'orders',
  handlers: {
    place: async (ctx: Context, order: string) => {
      const approval = ctx.awakeable<string>();
      return `v1 ${order}: ${await approval.promise}`;
    },
  },
});

// v2 adds a step before the await: replaying a v1 journal on it meets a run where v1 made an awakeable.
const v2 = service({
  name: 'orders',
  handlers: {
    place: async (ctx: Context, order: string) => {
      const checked = await ctx.run('check stock', () => 'in stock');
      const approval = ctx.awakeable<string>();
      return `v2 ${order} (${checked}): ${await approval.promise}`;
    },
  },
});

describe('deploying while invocations are suspended', () => {
  let plane: LocalPlane;
  let owner: LocalPlane;

  beforeAll(async () => {
    plane = await startTestPlane([v1], { apiKey: KEY, asyncRetryDelaysMs: [50, 50] });
    owner = withHeaders(plane, { 'x-api-key': KEY });
  });

  afterAll(async () => {
    await plane?.stop();
  });

  const resolve = (awakeableId: string, value: string) =>
    call(plane, 'POST', `/restate/awakeables/${awakeableId}/resolve`, JSON.stringify(value));

  it('an invocation written before pinning (no version on meta) wakes on the alias, finishes, and is pinned from then on', async () => {
    // Prepare: a suspended invocation, its pin removed: meta as the previous release wrote it
    const id = await send(owner, '/orders/place', 'legacy');
    const awakeableId = await untilAwakeable(owner, id);
    const client = new DynamoDBClient(localClientConfig(plane.endpoints.dynamodb));
    await client.send(
      new UpdateItemCommand({
        TableName: plane.tableName,
        Key: { pk: { S: `I#${id}` }, sk: { S: 'meta' } },
        UpdateExpression: 'REMOVE #v',
        ExpressionAttributeNames: { '#v': 'version' },
      }),
    );
    client.destroy();
    expect((await call(owner, 'GET', `/restate/invocation/${id}`)).json.version).toBeUndefined();

    // Act
    await resolve(awakeableId, 'ok');

    // Assess
    expect((await untilOutput(owner, id)).json).toBe('v1 legacy: ok');
    expect((await call(owner, 'GET', `/restate/invocation/${id}`)).json.version).toBe('1');
  });

  it('v1 invocations finish on v1 after v2 is deployed; new ones run v2; an upgrade replays one on v2', async () => {
    // Prepare: two invocations suspended on v1
    const a = await send(owner, '/orders/place', 'a');
    const b = await send(owner, '/orders/place', 'b');
    const [awkA, awkB] = await Promise.all([untilAwakeable(owner, a), untilAwakeable(owner, b)]);
    expect((await call(owner, 'GET', `/restate/invocation/${a}`)).json.version).toBe('1');

    // Act: deploy v2, start one on it, upgrade b deliberately
    expect(await plane.deploy([v2])).toBe('2');
    expect(plane.liveVersion()).toBe('2');
    const c = await send(owner, '/orders/place', 'c');
    const awkC = await untilAwakeable(owner, c);
    const stranger = await call(plane, 'PATCH', `/restate/invocation/${b}/upgrade`);
    const upgraded = await call(owner, 'PATCH', `/restate/invocation/${b}/upgrade`);
    await Promise.all([resolve(awkA, 'yes'), resolve(awkC, 'yes'), resolve(awkB, 'yes')]);

    // Assess: a finished on v1's code, c on v2's
    expect(stranger.status).toBe(401);
    expect(upgraded.status).toBe(200);
    expect(upgraded.json).toEqual({ invocationId: b, upgraded: true, from: '1' });
    expect((await untilOutput(owner, a)).json).toBe('v1 a: yes');
    expect((await untilOutput(owner, c)).json).toBe('v2 c (in stock): yes');
    expect((await call(owner, 'GET', `/restate/invocation/${c}`)).json.version).toBe('2');
    // b replayed its v1 journal on v2: the error names both versions, and it stays retrying (journal untouched)
    const failing = await eventually(async () => {
      const status = (await call(owner, 'GET', `/restate/invocation/${b}`)).json;
      return status.lastFailure ? status : undefined;
    }, 'b to fail its replay on v2');
    expect(failing.lastFailure.name).toBe('NonDeterminismError');
    expect(failing.lastFailure.message).toContain('journal written on function version 1, replayed on version 2');
    expect(failing).toMatchObject({ version: '2', upgradedFrom: '1' });
    await call(owner, 'PATCH', `/restate/invocation/${b}/kill`);
  });

  it('refuses upgrades it cannot make, precisely, and changes nothing', async () => {
    const done = await send(owner, '/orders/place', 'done');
    await resolve(await untilAwakeable(owner, done), 'ok');
    await untilOutput(owner, done);
    const before = (await call(owner, 'GET', `/restate/invocation/${done}`)).json;

    expect((await call(owner, 'PATCH', `/restate/invocation/${done}/upgrade`)).status).toBe(409);
    expect((await call(owner, 'PATCH', `/restate/invocation/${done}/upgrade`)).json.code).toBe('not_suspended');
    expect((await call(owner, 'PATCH', '/restate/invocation/inv_nope/upgrade')).status).toBe(400);
    expect((await call(owner, 'PATCH', '/restate/invocation/inv_AAAAAAAAAAAAAAAAAAAAAA/upgrade')).status).toBe(404);
    expect((await call(owner, 'GET', `/restate/invocation/${done}/upgrade`)).status).toBe(405);
    expect((await call(owner, 'GET', `/restate/invocation/${done}`)).json).toEqual(before);
  });

  it('dormant upgrade moves a suspended invocation with the API key, and says why when it cannot', async () => {
    const id = await send(owner, '/orders/place', 'cli');
    await untilStatus(owner, id, 'suspended');
    const lines: string[] = [];
    const out = { log: (line: string) => void lines.push(line), error: (line: string) => void lines.push(`error: ${line}`) };

    expect(await upgradeCommand([id, '--url', plane.url, '--api-key', KEY], {}, out)).toBe(0);
    expect(await upgradeCommand([id, '--url', plane.url, '--api-key', KEY], {}, out)).toBe(0);
    expect(await upgradeCommand([id, '--url', plane.url], {}, out)).toBe(1);
    expect(await upgradeCommand([], { DORMANT_API_URL: plane.url }, out)).toBe(2);

    expect(lines[0]).toBe(`dormant upgrade: ${id} moved off version 2; its next attempt runs the current version`);
    expect(lines[1]).toBe(`dormant upgrade: ${id} is not pinned; its next attempt runs the current version already`);
    expect(lines[2]).toMatch(/^error: dormant upgrade: 401 /);
    expect(lines[3]).toMatch(/^error: dormant upgrade: name one invocation id/);
    await call(owner, 'PATCH', `/restate/invocation/${id}/kill`);
  });

  it('counts the unfinished invocations pinned to each version; dormant versions --prune deletes only versions nothing needs', async () => {
    // Prepare: two suspended on the live version (2); everything on version 1 has finished or was killed
    const waiting = [await send(owner, '/orders/place', 'w1'), await send(owner, '/orders/place', 'w2')];
    for (const id of waiting) await untilStatus(owner, id, 'suspended');
    const client = new DynamoDBClient(localClientConfig(plane.endpoints.dynamodb));
    const removed: string[] = [];
    const lambda: FunctionVersions = {
      published: async () => ['1', '2'],
      aliasVersion: async () => plane.liveVersion(),
      remove: async (_fn, version) => void removed.push(version),
    };
    const lines: string[] = [];
    const out = { log: (line: string) => void lines.push(line), error: (line: string) => void lines.push(`error: ${line}`) };

    // Act
    const pinned = await pinnedVersionCounts(client, plane.tableName);
    const listed = await versionsCommand(['handlers', '--table', plane.tableName], {}, out, { lambda, dynamodb: client });
    const pruned = await versionsCommand(['handlers', '--table', plane.tableName, '--prune'], {}, out, { lambda, dynamodb: client });
    client.destroy();

    // Assess
    expect(pinned.get('2')).toBeGreaterThanOrEqual(2);
    expect(pinned.has('1')).toBe(false);
    expect([listed, pruned]).toEqual([0, 0]);
    expect(lines[0]).toMatch(/^handlers:1 {2}0 unfinished invocation\(s\) pinned {2}prunable$/);
    expect(lines[1]).toMatch(/^handlers:2 {2}\d+ unfinished invocation\(s\) pinned {2}live$/);
    expect(removed).toEqual(['1']);
    expect(await versionsCommand(['handlers'], {}, out)).toBe(2);
    for (const id of waiting) await call(owner, 'PATCH', `/restate/invocation/${id}/kill`);
  });
});
