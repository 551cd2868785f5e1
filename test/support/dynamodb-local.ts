/**
 * DynamoDB Local for tests: the run-wide instance started by
 * `global-setup.ts`, plus the harness itself for tests that need a private
 * one (for example to stop it mid-test).
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { localClientConfig, type LocalClientConfig } from '../../src/local/dynamodb-local.ts';

export {
  DynamoDbLocalError,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  localClientConfig,
  startDynamoDbLocal,
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  type LocalClientConfig,
} from '../../src/local/dynamodb-local.ts';

/**
 * Endpoint of the run-wide DynamoDB Local.
 *
 * @example
 * const client = new DynamoDBClient({ ...localClientConfig(dynamoDbEndpoint()) });
 */
export function dynamoDbEndpoint(): string {
  return inject('dynamoDbEndpoint');
}

/**
 * Client configuration for the run-wide DynamoDB Local.
 *
 * @example
 * const client = new DynamoDBClient(dynamoDbConfig());
 * const streams = new DynamoDBStreamsClient(dynamoDbConfig());
 */
export function dynamoDbConfig(): LocalClientConfig {
  return localClientConfig(dynamoDbEndpoint());
}

/**
 * A table name no other test uses: the run-wide database is shared by all
 * test files, which run in parallel.
 *
 * @example
 * const TableName = uniqueTableName('journal'); // 'journal-3f2a9c1e0b7d'
 */
export function uniqueTableName(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
