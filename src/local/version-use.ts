/**
 * How many unfinished invocations are pinned to each handler function
 * version (rule 12), read from the table: what pruning old versions must
 * not take away. One Scan of the table's `meta` items, for an operator's
 * occasional command, never on a request's path.
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { META } from '../store/keys.ts';

/**
 * Unfinished invocations (pending, running, suspended) by the version they
 * are pinned to; invocations without a pin (not yet run, or written before
 * pinning) run the alias and are not counted.
 *
 * @example
 * ```ts
 * const pinned = await pinnedVersionCounts(dynamodb, 'dormant'); // Map { '3' => 12, '4' => 1 }
 * ```
 */
export async function pinnedVersionCounts(client: DynamoDBClient, tableName: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'sk = :meta AND #status IN (:pending, :running, :suspended) AND attribute_exists(#version)',
        ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
        ExpressionAttributeValues: {
          ':meta': { S: META },
          ':pending': { S: 'pending' },
          ':running': { S: 'running' },
          ':suspended': { S: 'suspended' },
        },
        ProjectionExpression: '#version',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const version = item.version?.S;
      if (version !== undefined) counts.set(version, (counts.get(version) ?? 0) + 1);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return counts;
}
