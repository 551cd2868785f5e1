/**
 * Vitest global setup: one DynamoDB Local for the whole run, stopped at the
 * end. Tests get its endpoint with `inject('dynamoDbEndpoint')` (or the
 * helpers in `./dynamodb-local.ts`); the database is shared, so each test
 * creates its own uniquely named tables.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../src/local/dynamodb-local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the run's DynamoDB Local (in memory, sharedDb). */
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = performance.now();
  const dynamoDb = await startDynamoDbLocal();
  console.log(`DynamoDB Local ready at ${dynamoDb.endpoint} in ${Math.round(performance.now() - startedAt)} ms`);
  project.provide('dynamoDbEndpoint', dynamoDb.endpoint);
  return () => dynamoDb.stop();
}
