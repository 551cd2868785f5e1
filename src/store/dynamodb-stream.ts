/**
 * DynamoDB stream records as the port's `ItemChange`: the images unmarshalled
 * into the same plain items the in-memory store emits, so the wake rule reads
 * a record from Lambda's event source mapping, from the Streams API (the local
 * plane's poller) and from the in-memory store alike.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ItemChange } from './store.ts';

type Image = Record<string, AttributeValue>;

/** The principal of DynamoDB's TTL deletes in a stream record's `userIdentity`. */
export const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';

/**
 * The change a stream record describes, or `undefined` for a record that is
 * not an item change of this table's shape (an event name this code does not
 * know, such as the SDK's `UNKNOWN_TO_SDK_VERSION`, or missing keys).
 *
 * @example
 * ```ts
 * export const handler = async (event: DynamoDBStreamEvent) => {
 *   for (const record of event.Records) {
 *     const change = toItemChange(record);
 *     if (change) for (const action of await decideWake(change, store)) await act(action);
 *   }
 * };
 * ```
 */
export function toItemChange(record: DynamoDBRecord | StreamsRecord): ItemChange | undefined {
  const eventName = record.eventName;
  if (eventName !== 'INSERT' && eventName !== 'MODIFY' && eventName !== 'REMOVE') return undefined;
  const data = record.dynamodb;
  if (!data) return undefined;
  // Lambda's event types and the Streams client describe the same JSON with
  // different declarations of AttributeValue; the wire shape is the same.
  const keys = image(data.Keys) ?? image(data.NewImage) ?? image(data.OldImage);
  const pk = keys?.pk;
  const sk = keys?.sk;
  if (typeof pk !== 'string' || typeof sk !== 'string') return undefined;
  const newItem = image(data.NewImage);
  const oldItem = image(data.OldImage);
  // DynamoDB's TTL deletes as the service principal (a user's delete has no userIdentity).
  const identity = (record as { userIdentity?: { type?: unknown; principalId?: unknown } }).userIdentity;
  const byTtl = eventName === 'REMOVE' && identity?.type === 'Service' && identity.principalId === TTL_PRINCIPAL;
  return { eventName, pk, sk, ...(newItem ? { newItem } : {}), ...(oldItem ? { oldItem } : {}), ...(byTtl ? { byTtl: true } : {}) };
}

function image(attributes: unknown): Record<string, unknown> | undefined {
  if (attributes === undefined || attributes === null || typeof attributes !== 'object') return undefined;
  const repaired = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, repair(value)]));
  return unmarshall(repaired as Image);
}

/**
 * DynamoDB Local's stream writes an empty map as `{}` rather than `{"M":{}}`
 * (an object lock with nobody waiting has one); read it as the empty map it is.
 */
function repair(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const v = value as { M?: Record<string, unknown>; L?: unknown[] };
  if (Object.keys(v).length === 0) return { M: {} };
  if (v.M) return { M: Object.fromEntries(Object.entries(v.M).map(([k, x]) => [k, repair(x)])) };
  if (v.L) return { L: v.L.map(repair) };
  return value;
}

/**
 * The stream record DynamoDB writes for a change (NEW_AND_OLD_IMAGES): the
 * inverse of {@link toItemChange}, for applying the wake's event filters to
 * changes of the in-memory store (the simulator, tests, the benchmark).
 *
 * @example
 * ```ts
 * toStreamRecord({ eventName: 'INSERT', pk: 'I#inv_…', sk: 'C#00000001', newItem: { value: '1' } }).dynamodb.Keys
 * // { pk: { S: 'I#inv_…' }, sk: { S: 'C#00000001' } }
 * ```
 */
export function toStreamRecord(change: ItemChange): {
  eventName: string;
  dynamodb: { Keys: Image; NewImage?: Image; OldImage?: Image };
  userIdentity?: { type: string; principalId: string };
} {
  const image = (item: Record<string, unknown> | undefined) =>
    item ? marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }) : undefined;
  const NewImage = image(change.newItem);
  const OldImage = image(change.oldItem);
  return {
    eventName: change.eventName,
    dynamodb: { Keys: marshall({ pk: change.pk, sk: change.sk }), ...(NewImage ? { NewImage } : {}), ...(OldImage ? { OldImage } : {}) },
    ...(change.byTtl ? { userIdentity: { type: 'Service', principalId: TTL_PRINCIPAL } } : {}),
  };
}
