import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../cdk/lib/bundled-function.ts';
import { PURGE_ITEM_ACTIONS, TABLE_ITEM_ACTIONS } from '../../cdk/lib/durable-runtime.ts';

/**
 * Commands the code may send only from the local plane's helpers in the
 * DynamoDB store (DynamoDB Local): `ensureTable`'s table administration (on
 * AWS the stack creates the table, and no role may alter it) and the restart
 * sweep's Scan (`unfinishedInvocationIds`) and the one-off list index backfill
 * (`backfillListIndex`, run by an operator's CLI); no role reads the whole table.
 */
const LOCAL_ONLY = new Set(['CreateTable', 'DescribeTable', 'DescribeTimeToLive', 'UpdateTimeToLive', 'UpdateTable', 'ListTables', 'Scan']);

/**
 * Requests IAM authorizes by the actions inside them, not by a name of their
 * own: the store's transactions only Put (a new invocation's meta and its
 * input item), which `dynamodb:PutItem` governs.
 */
const GOVERNED_BY: Record<string, string> = { TransactWriteItems: 'dynamodb:PutItem' };

/** TypeScript files that run in a Lambda function: `lambda/` and `src/` outside the local plane. */
function lambdaSources(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  return [...walk(join(PROJECT_ROOT, 'src')), ...walk(join(PROJECT_ROOT, 'lambda'))].filter(
    (f) => !relative(PROJECT_ROOT, f).startsWith('src/local/'),
  );
}

/**
 * Commands of `@aws-sdk/client-dynamodb` constructed in `files`
 * (`new GetItemCommand(` → `GetItem`), with the files that construct them.
 */
function dynamoDbRequests(files: string[]): Map<string, string[]> {
  const requests = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const imported = [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-dynamodb'/g)]
      .flatMap(([, names]) => names!.split(','))
      .map((n) => n.trim())
      .filter((n) => !n.startsWith('type ') && n.endsWith('Command'));
    for (const command of imported) {
      if (!new RegExp(`new ${command}\\(`).test(text)) continue;
      const name = command.slice(0, -'Command'.length);
      requests.set(name, [...(requests.get(name) ?? []), relative(PROJECT_ROOT, file)]);
    }
  }
  return requests;
}

describe('table grants against the code', () => {
  it('grants exactly the item requests the Lambda code makes', () => {
    // Prepare
    const requests = dynamoDbRequests(lambdaSources());
    expect(requests.size).toBeGreaterThan(0);

    // Act
    const used = [...requests.keys()].filter((name) => !LOCAL_ONLY.has(name)).map((name) => GOVERNED_BY[name] ?? `dynamodb:${name}`);

    // Assess: nothing used without a grant (it would fail only on AWS), and
    // nothing granted that no code uses.
    const granted = [...TABLE_ITEM_ACTIONS, ...PURGE_ITEM_ACTIONS];
    const ungranted = used.filter((action) => !granted.includes(action));
    expect(
      ungranted,
      `add these to TABLE_ITEM_ACTIONS in cdk/lib/durable-runtime.ts (used in ${ungranted.map((a) => requests.get(a.slice(9))).join('; ')})`,
    ).toEqual([]);
    expect(granted.sort()).toEqual([...new Set(used)].sort());
    // The deletes are the purge's only: no other store operation may need them.
    const deleting = [...requests].filter(([name]) => ['DeleteItem', 'BatchWriteItem'].includes(name)).flatMap(([, files]) => files);
    expect([...new Set(deleting)]).toEqual(['src/store/dynamodb.ts']);
  });

  it('never lets a role run table-admin requests or scans outside the local plane', () => {
    const adminOutsideStoreSetup = [...dynamoDbRequests(lambdaSources())]
      .filter(([name]) => LOCAL_ONLY.has(name))
      .flatMap(([, files]) => files)
      .filter((file) => file !== 'src/store/dynamodb.ts');
    expect(adminOutsideStoreSetup).toEqual([]);
  });
});
